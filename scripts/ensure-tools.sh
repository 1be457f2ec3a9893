#!/usr/bin/env bash
# System tools the tests call that a fresh machine lacks, installed from Debian's packages:
# pdftotext (poppler-utils) reads the invoice PDFs back as text; LibreOffice (headless Calc)
# opens finance.xlsx and converts its sheets to CSV, as a finance team's spreadsheet would.
set -euo pipefail
missing=()
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v soffice >/dev/null || missing+=(libreoffice-calc-nogui)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} for the invoice PDF and workbook tests" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
