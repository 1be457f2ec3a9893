#!/usr/bin/env bash
# Benchmarks against the local simulator, release build:
#  1. extract + normalize throughput and peak memory: ACCOUNTS x CDRS calls over the period
#     and its margins (default 100 x 11,000: ~1.0M CDRs fetched, plus ~0.9M ledger rows);
#  2. invoice rendering and exports: INVOICES accounts (default 1,040) with EXPORT_CDRS calls
#     each (default 1,180: 1.0M calls in the period); all but the dormant few are billable, so the invoice
#     stage renders over 1,000 HTML + PDF documents, and the export stage writes GSTR-1, the
#     workbook, every table as CSV and a call statement per customer.
set -euo pipefail
bin=${1:-target/release/vobiz-billing}
accounts=${ACCOUNTS:-100}
cdrs=${CDRS:-11000}
invoices=${INVOICES:-1040}
export_cdrs=${EXPORT_CDRS:-1180}
dir=$(mktemp -d)
sim=
trap 'kill "$sim" 2>/dev/null || true; rm -rf "$dir"' EXIT

# A full run also reconciles and invoices; each stage is timed in the manifest.
cat >"$dir/billing.toml" <<'TOML'
[supplier]
legal_name = "Demo Telecom Solutions Private Limited"
address = ["4th Floor, 12 Residency Road", "Bengaluru, Karnataka 560025"]
gstin = "29AAHCD4821K1ZE"
TOML

# start_sim NAME ACCOUNTS CDRS: serve a simulator in the background; sets $sim and $url.
start_sim() {
  "$bin" --log-format json sim --addr 127.0.0.1:0 --accounts "$2" --cdrs-per-account "$3" \
    --period 2026-03 >"$dir/$1.sim" 2>/dev/null &
  sim=$!
  until grep -q '^listening on ' "$dir/$1.sim" 2>/dev/null; do sleep 0.2; done
  url=$(sed -n 's/^listening on //p' "$dir/$1.sim")
}

# run_month NAME: the whole pipeline for 2026-03 into $dir/NAME, as cron runs it on 5 April:
# the invoices are finalized, dated 31 March, and so in March's GSTR-1.
run_month() {
  VOBIZ_BILLING_TODAY=2026-04-05 VOBIZ_AUTH_ID=PA_DEMO0001 VOBIZ_AUTH_TOKEN=sim-partner-token \
    "$bin" --log-format json run --period 2026-03 --base-url "$url" --out "$dir/$1" \
    --config "$dir/billing.toml" >"$dir/$1.out" 2>"$dir/$1.log" || { tail -5 "$dir/$1.log"; exit 1; }
}

# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_sim etl "$accounts" "$cdrs"
sim_ticks=$(cpu_ticks "$sim")
run_month etl
sim_cpu=$(( $(cpu_ticks "$sim") - sim_ticks ))
sim_peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$sim/status")
kill "$sim"
du -sh "$dir/etl/raw" "$dir/etl/parquet" | sed "s|$dir/etl/||"
python3 - "$dir/etl/2026-03/manifest.json" "$sim_peak" "$sim_cpu" "$(getconf CLK_TCK)" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
sim_cpu = int(sys.argv[3]) / int(sys.argv[4])
e, n, r = m["extract"], m["normalize"], m["run"]
cdrs = e["cdr_rows"]
print(f"calls fetched        {cdrs:>12,}   ledger rows fetched {e['ledger_rows']:>12,}")
print(f"extract              {e['seconds']:>11.2f}s   requests {e['requests']:,}, {e['bytes'] / 2**20:,.0f} MiB of JSON")
print(f"normalize            {n['seconds']:>11.2f}s   rows written {sum(t['rows'] for t in n['tables'].values()):,}")
print(f"end to end           {r['seconds']:>11.2f}s   {cdrs / r['seconds']:,.0f} CDR rows/s, {r['rows_per_second']:,.0f} rows/s (CDRs + ledger)")
print(f"peak memory          {r['peak_rss_mib']:>9} MiB  (pipeline), {sys.argv[2]} MiB (simulator)")
# Both processes share the machine's cores: CPU time is the steadier measure of work.
print(f"CPU time             {r['cpu_seconds']:>11.2f}s   (pipeline, to the end of normalize), {sim_cpu:.2f}s (simulator)")
PY

start_sim invoices "$invoices" "$export_cdrs"
run_month invoices
python3 - "$dir/invoices/2026-03" <<'PY'
import json, os, sys
m = json.load(open(os.path.join(sys.argv[1], "manifest.json")))
i = m["invoice"]
docs = os.listdir(os.path.join(sys.argv[1], "invoices"))
html, pdf = (sum(d.endswith(x) for d in docs) for x in (".html", ".pdf"))
print(f"invoices             {i['seconds']:>11.2f}s   {i['invoices']:,} invoices: {html:,} HTML + {pdf:,} PDF, "
      f"{i['seconds'] / max(i['invoices'], 1) * 1000:.1f} ms each")
x = m["export"]
print(f"exports              {x['seconds']:>11.2f}s   {x['statements']:,} statements of {x['statement_calls']:,} calls, "
      f"{sum(x['csv'].values()):,} CSV rows, {len(x['sheets'])} sheets, GSTR-1 {x['gstr1']}")
PY
# The export stage again on its own, so that its peak memory is its own.
VOBIZ_BILLING_TODAY=2026-04-05 "$bin" --log-format json export --period 2026-03 --out "$dir/invoices" --config "$dir/billing.toml" 2>"$dir/export.log" \
  || { tail -5 "$dir/export.log"; exit 1; }
python3 - "$dir/invoices/2026-03" <<'PY'
import json, os, sys
x = json.load(open(os.path.join(sys.argv[1], "manifest.json")))["export"]
print(f"exports, alone       {x['seconds']:>11.2f}s   peak memory {x['peak_rss_mib']} MiB (the export process)")
PY
du -sh "$dir/invoices/2026-03/csv" "$dir/invoices/2026-03/statements" "$dir/invoices/2026-03/finance.xlsx" | sed "s|$dir/invoices/||"
