#!/usr/bin/env bash
# System tools the tests call that a fresh machine lacks, installed from Debian's packages:
# pdftotext (poppler-utils) reads the invoice PDFs back as text.
set -euo pipefail
command -v pdftotext >/dev/null && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing poppler-utils (pdftotext) for the invoice PDF tests" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
