#!/usr/bin/env bash
# Benchmarks against the local simulator, release build:
#  1. extract + normalize throughput and peak memory: ACCOUNTS x CDRS calls over the period
#     and its margins (default 100 x 11,000: ~1.0M CDRs fetched, plus ~0.9M ledger rows);
#  2. invoice rendering and exports: INVOICES accounts (default 1,040) with EXPORT_CDRS calls
#     each (default 1,180: 1.0M calls in the period); all but the dormant few are billable, so the invoice
#     stage renders over 1,000 HTML + PDF documents, and the export stage writes GSTR-1, the
#     workbook, every table as CSV and a call statement per customer.
# BENCH_SCALE picks the cases: `1m` (the default: the two above), `whale` (one customer with
# 3,000,000 calls), `10m` (1,000 customers x 10,000 calls), or `all` (the three, back to back,
# so that their rows/s compare on one machine in one session). Every case prints the whole
# run's peak RSS and CPU time.
# BENCH_BASELINE=BIN adds another build's 1M extract+normalize (its own simulator and
# pipeline, e.g. the main a change started from) right after the scale cases, and each scale
# case's rows/s as a ratio of it: figures of two builds compare only when measured back to
# back, on a machine whose speed moves by a fifth from hour to hour.
set -euo pipefail
scale=${BENCH_SCALE:-1m}
case $scale in
  1m | whale | 10m | all) ;;
  *) echo "BENCH_SCALE must be 1m, whale, 10m or all (got '$scale')" >&2; exit 2 ;;
esac
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

# The whole process's peak RSS and CPU time (what the kernel accounts to a waited-for child),
# without depending on GNU time being installed.
cat >"$dir/rusage.py" <<'PY'
import json, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
json.dump({"peak_rss_mib": ru.ru_maxrss // 1024, "cpu_seconds": ru.ru_utime + ru.ru_stime}, open(sys.argv[1], "w"))
sys.exit(rc)
PY

# run_month NAME: the whole pipeline for 2026-03 into $dir/NAME, as cron runs it on 5 April:
# the invoices are finalized, dated 31 March, and so in March's GSTR-1. Its peak RSS and CPU
# time go to $dir/NAME.rusage.
run_month() {
  VOBIZ_BILLING_TODAY=2026-04-05 VOBIZ_AUTH_ID=PA_DEMO0001 VOBIZ_AUTH_TOKEN=sim-partner-token \
    python3 "$dir/rusage.py" "$dir/$1.rusage" "$bin" --log-format json run --period 2026-03 --base-url "$url" --out "$dir/$1" \
    --config "$dir/billing.toml" >"$dir/$1.out" 2>"$dir/$1.log" || { tail -5 "$dir/$1.log"; exit 1; }
}

# cpu_ticks PID: user + system CPU time of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# scale_case NAME ACCOUNTS CDRS: one whole run at scale, in one block of figures.
scale_case() {
  start_sim "$1" "$2" "$3"
  local sim_ticks
  sim_ticks=$(cpu_ticks "$sim")
  run_month "$1"
  local sim_cpu=$(( $(cpu_ticks "$sim") - sim_ticks ))
  kill "$sim"
  python3 - "$1" "$2" "$3" "$dir/$1/2026-03/manifest.json" "$dir/$1.rusage" "$sim_cpu" "$(getconf CLK_TCK)" <<'PY'
import json, sys
name, accounts, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
m, ru = (json.load(open(p)) for p in sys.argv[4:6])
sim_cpu = int(sys.argv[6]) / int(sys.argv[7])
e, n, r = m["extract"], m["normalize"], m["run"]
open(sys.argv[4].replace("/2026-03/manifest.json", ".rps"), "w").write(str(r["rows_per_second"]))
whole = sum(m[s]["seconds"] for s in ("reconcile", "invoice", "export", "report") if s in m) + r["seconds"]
print(f"{name}: {accounts:,} account(s) x {calls:,} calls")
print(f"  fetched            {e['cdr_rows']:>12,} calls, {e['ledger_rows']:,} ledger rows, {e['requests']:,} requests")
print(f"  extract+normalize  {r['seconds']:>11.2f}s   {e['cdr_rows'] / r['seconds']:,.0f} CDR rows/s, {r['rows_per_second']:,.0f} rows/s (CDRs + ledger)")
# Pipeline and simulator share the cores: CPU per row fetched is the steadier measure of work.
fetched = e["cdr_rows"] + e["ledger_rows"]
print(f"  CPU to normalized  {r['cpu_seconds']:>11.2f}s   pipeline (extract {e['seconds']:.1f}s, normalize {n['seconds']:.1f}s wall), "
      f"{sim_cpu:.1f}s simulator; {1e6 * (r['cpu_seconds'] + sim_cpu) / fetched:.1f} µs of CPU per row fetched")
print(f"  whole run          {whole:>11.2f}s   peak RSS {ru['peak_rss_mib']:,} MiB, CPU {ru['cpu_seconds']:.1f}s "
      f"(peak RSS at the end of normalize: {r['peak_rss_mib']:,} MiB)")
stages = ", ".join(f"{s} {m[s]['seconds']:.1f}s" for s in ("reconcile", "invoice", "export", "report") if s in m)
print(f"  later stages       {stages}")
PY
  rm -rf "${dir:?}/$1"
}

if [[ $scale == whale || $scale == all ]]; then scale_case whale 1 3000000; fi
if [[ $scale == 10m || $scale == all ]]; then scale_case 10m 1000 10000; fi
if [[ -n ${BENCH_BASELINE:-} ]]; then
  this=$bin
  bin=$BENCH_BASELINE
  scale_case baseline-1m "$accounts" "$cdrs"
  bin=$this
  for case in whale 10m; do
    [[ -f $dir/$case.rps ]] || continue
    python3 -c 'import sys; c, b = (float(open(p).read()) for p in sys.argv[2:]); print(f"{sys.argv[1]:<6} rows/s {c:,.0f} = {c / b:.2f} x the baseline build'"'"'s 1M ({b:,.0f})")' \
      "$case" "$dir/$case.rps" "$dir/baseline-1m.rps"
  done
fi
[[ $scale == 1m || $scale == all ]] || exit 0

start_sim etl "$accounts" "$cdrs"
sim_ticks=$(cpu_ticks "$sim")
run_month etl
sim_cpu=$(( $(cpu_ticks "$sim") - sim_ticks ))
sim_peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$sim/status")
kill "$sim"
du -sh "$dir/etl/raw" "$dir/etl/parquet" | sed "s|$dir/etl/||"
python3 - "$dir/etl/2026-03/manifest.json" "$sim_peak" "$sim_cpu" "$(getconf CLK_TCK)" "$dir/etl.rusage" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
ru = json.load(open(sys.argv[5]))
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
print(f"CPU per row fetched  {1e6 * (r['cpu_seconds'] + sim_cpu) / (cdrs + e['ledger_rows']):>11.1f}µs  (pipeline and simulator)")
print(f"whole run            {ru['peak_rss_mib']:>9} MiB  peak RSS, {ru['cpu_seconds']:.2f}s CPU (pipeline, every stage)")
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
