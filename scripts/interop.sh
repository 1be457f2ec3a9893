#!/usr/bin/env bash
# Build a small period on the simulator and open its Parquet with pyarrow, pandas, DuckDB and
# python polars (installed into .venv by `make .venv/ok`).
set -euo pipefail
bin=${1:?usage: interop.sh BIN}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" --log-format json demo --period 2026-03 --out "$out" --accounts 12 --cdrs-per-account 150 --clean >/dev/null 2>"$out.log" \
  || { cat "$out.log"; exit 1; }
rm -f "$out.log"
.venv/bin/python scripts/check_parquet.py "$out" 2026-03
