#!/usr/bin/env bash
# docs/report.png: a page (default: the demo month's report.html) as headless Chromium renders
# it; fails if the page logs any console message (errors included). Needs Debian's chromium;
# run `make demo` first.
set -euo pipefail
page=${1:-reports/2026-03/report.html}
shot=${2:-docs/report.png}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1280,2400 \
  --enable-logging=stderr --v=0 --screenshot="$shot" "file://$(realpath "$page")" 2>"$profile/log"
if grep -E 'CONSOLE|Uncaught' "$profile/log"; then
  echo "the page logged console messages" >&2
  exit 1
fi
echo "wrote $shot"
