#!/usr/bin/env bash
# Peak resident memory of the simulator at 1,000 accounts x 10,000 calls (10 M CDRs):
# ground truth for every account, the dashboard (a pass over every call), and pages of
# ledgers and CDRs from 100 accounts. Prints the peak (VmHWM) in MiB.
set -euo pipefail
bin=${1:-target/release/vobiz-billing}
accounts=${ACCOUNTS:-1000}
cdrs=${CDRS:-10000}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT

start=$(date +%s.%N)
"$bin" --log-format json sim --addr 127.0.0.1:0 --accounts "$accounts" --cdrs-per-account "$cdrs" \
  --period 2026-03 --truth "$dir/truth.json" >"$dir/out" 2>"$dir/err" &
pid=$!
until grep -q '^listening on ' "$dir/out" 2>/dev/null; do
  kill -0 "$pid" || { cat "$dir/err"; exit 1; }
  sleep 0.5
done
url=$(sed -n 's/^listening on //p' "$dir/out")
truth_done=$(date +%s.%N)
auth=(-H 'X-Auth-ID: PA_DEMO0001' -H 'X-Auth-Token: sim-partner-token')
curl -sf "${auth[@]}" "$url/api/v1/partner/dashboard" -o /dev/null
ids=$(python3 -c "import json,sys; print(' '.join(a['auth_id'] for a in json.load(open('$dir/truth.json'))['accounts'][:100]))")
for id in $ids; do
  for page in 1 50 100; do
    curl -sf "${auth[@]}" "$url/api/v1/partner/accounts/$id/cdrs?page=$page&per_page=100" -o /dev/null
    curl -sf "${auth[@]}" "$url/api/v1/partner/accounts/$id/transactions?page=$page&per_page=200" -o /dev/null
  done
done
end=$(date +%s.%N)
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
calls=$(python3 -c "import json; print(sum(a['window_cdrs'] for a in json.load(open('$dir/truth.json'))['accounts']))")
python3 -c "import sys; a=sys.argv; print(f\"accounts={a[1]} calls={a[2]} truth_s={float(a[4])-float(a[3]):.1f} crawl_s={float(a[5])-float(a[4]):.1f} peak_rss_mib={int(a[6])//1024}\")" \
  "$accounts" "$calls" "$start" "$truth_done" "$end" "$peak_kb"
