#!/usr/bin/env bash
# Extract + normalize throughput and peak memory, release build, against the local simulator:
# ACCOUNTS x CDRS calls over the period and its margins (default 100 x 11,000: ~1.0M CDRs
# fetched, plus ~0.9M ledger rows).
set -euo pipefail
bin=${1:-target/release/vobiz-billing}
accounts=${ACCOUNTS:-100}
cdrs=${CDRS:-11000}
dir=$(mktemp -d)
trap 'kill "$sim" 2>/dev/null || true; du -sh "$dir/out/raw" "$dir/out/parquet" 2>/dev/null | sed "s|$dir/out/||"; rm -rf "$dir"' EXIT

"$bin" --log-format json sim --addr 127.0.0.1:0 --accounts "$accounts" --cdrs-per-account "$cdrs" \
  --period 2026-03 >"$dir/sim.out" 2>/dev/null &
sim=$!
until grep -q '^listening on ' "$dir/sim.out" 2>/dev/null; do sleep 0.2; done
url=$(sed -n 's/^listening on //p' "$dir/sim.out")

# A full run also reconciles and invoices; those stages are timed separately in the manifest.
cat >"$dir/billing.toml" <<'TOML'
[supplier]
legal_name = "Demo Telecom Solutions Private Limited"
address = ["4th Floor, 12 Residency Road", "Bengaluru, Karnataka 560025"]
gstin = "29AAHCD4821K1ZE"
TOML
VOBIZ_AUTH_ID=PA_DEMO0001 VOBIZ_AUTH_TOKEN=sim-partner-token \
  "$bin" --log-format json run --period 2026-03 --base-url "$url" --out "$dir/out" --config "$dir/billing.toml" 2>"$dir/run.log" \
  || { tail -5 "$dir/run.log"; exit 1; }
sim_peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$sim/status")

python3 - "$dir/out/2026-03/manifest.json" "$sim_peak" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
e, n, r = m["extract"], m["normalize"], m["run"]
cdrs = e["cdr_rows"]
print(f"calls fetched        {cdrs:>12,}   ledger rows fetched {e['ledger_rows']:>12,}")
print(f"extract              {e['seconds']:>11.2f}s   requests {e['requests']:,}, {e['bytes'] / 2**20:,.0f} MiB of JSON")
print(f"normalize            {n['seconds']:>11.2f}s   rows written {sum(t['rows'] for t in n['tables'].values()):,}")
print(f"end to end           {r['seconds']:>11.2f}s   {cdrs / r['seconds']:,.0f} CDR rows/s, {r['rows_per_second']:,.0f} rows/s (CDRs + ledger)")
print(f"peak memory          {r['peak_rss_mib']:>9} MiB  (pipeline), {sys.argv[2]} MiB (simulator)")
PY
