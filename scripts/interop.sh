#!/usr/bin/env bash
# Build a small period on the simulator and open its Parquet with pyarrow, pandas, DuckDB and
# python polars, and its exports with jsonschema, openpyxl and LibreOffice headless
# (installed into .venv by `make .venv/ok`, LibreOffice by scripts/ensure-tools.sh).
set -euo pipefail
bin=${1:?usage: interop.sh BIN}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --log-format json demo --period 2026-03 --out "$out" --accounts 12 --cdrs-per-account 150 --clean --hostile-names >/dev/null 2>"$out.log" \
  || { cat "$out.log"; exit 1; }
rm -f "$out.log"
.venv/bin/python scripts/check_parquet.py "$out" 2026-03
# The demo's notes are dated 9 April: April's return files them (the demo's built-in supplier).
cat >"$out/billing.toml" <<'TOML'
[supplier]
legal_name = "Demo Telecom Solutions Private Limited"
address = ["4th Floor, 12 Residency Road", "Bengaluru, Karnataka 560025"]
gstin = "29AAHCD4821K1ZE"
TOML
"$bin" --log-format json gstr1 --period 2026-04 --out "$out" --config "$out/billing.toml" >/dev/null
.venv/bin/python scripts/check_exports.py "$out" 2026-03
