#!/usr/bin/env bash
# Do two builds write the same outputs? Runs both binaries on the same simulated months and
# compares every file they write, byte for byte: Parquet, raw pages, HTML, PDF, the invoice
# register and the manifest (its timings, peak memory and CPU figures aside).
#
#   scripts/compare-outputs.sh OLD_BINARY NEW_BINARY
#
# For refactors that must not change behaviour: build the old commit in a worktree, copy its
# binary aside, build the new one, run this.
set -euo pipefail
old=$1 new=$2
dir=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "outputs kept in $dir" || trap 'rm -rf "$dir"' EXIT

cat >"$dir/billing.toml" <<'TOML'
[supplier]
legal_name = "Demo Telecom Solutions Private Limited"
address = ["4th Floor, 12 Residency Road", "Bengaluru, Karnataka 560025"]
gstin = "29AAHCD4821K1ZE"
TOML

# month NAME BINARY SIM_ARGS...: a simulator with SIM_ARGS, and a full run of 2026-03 into $dir/NAME.
month() {
  local name=$1 bin=$2
  shift 2
  "$bin" --log-format json sim --addr 127.0.0.1:0 --period 2026-03 "$@" >"$dir/$name.sim" 2>/dev/null &
  local sim=$!
  until grep -q '^listening on ' "$dir/$name.sim" 2>/dev/null; do sleep 0.1; done
  local url
  url=$(sed -n 's/^listening on //p' "$dir/$name.sim")
  local rc=0
  VOBIZ_AUTH_ID=PA_DEMO0001 VOBIZ_AUTH_TOKEN=sim-partner-token \
    "$bin" --log-format json run --period 2026-03 --base-url "$url" --out "$dir/$name" \
    --config "$dir/billing.toml" >"$dir/$name.out" 2>"$dir/$name.log" || rc=$?
  kill "$sim"
  wait "$sim" 2>/dev/null || true
  # Exit code 3 (reconciliation exceptions) is a finished run.
  [ "$rc" = 0 ] || [ "$rc" = 3 ] || { echo "$name failed ($rc):"; tail -3 "$dir/$name.log"; exit 1; }
  echo "$rc" >"$dir/$name.rc"
}

datasets=(
  "clean:--seed 7 --accounts 50 --cdrs-per-account 400"
  "anomalies:--seed 11 --accounts 24 --cdrs-per-account 150 --anomalies all"
  "hostile:--seed 17 --accounts 20 --cdrs-per-account 60 --hostile-names --anomalies all"
)
status=0
for d in "${datasets[@]}"; do
  name=${d%%:*}
  read -r -a args <<<"${d#*:}"
  month "old-$name" "$old" "${args[@]}"
  month "new-$name" "$new" "${args[@]}"
  python3 - "$dir/old-$name" "$dir/new-$name" "$name" <<'PY' || status=1
import json, os, sys
old, new, name = sys.argv[1:4]
# Timings vary between runs, and the simulator listens on a new port each time.
TIMINGS = {"seconds", "rows_per_second", "peak_rss_mib", "cpu_seconds", "base_url"}
def files(root):
    out = {}
    for base, _, names in os.walk(root):
        for n in names:
            p = os.path.join(base, n)
            if "/state/locks/" not in p:
                out[os.path.relpath(p, root)] = p
    return out
def scrub(v):
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in TIMINGS}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v
a, b = files(old), files(new)
diff = sorted(set(a) ^ set(b))
for rel in sorted(set(a) & set(b)):
    x, y = open(a[rel], "rb").read(), open(b[rel], "rb").read()
    if rel.endswith("manifest.json"):
        x, y = scrub(json.loads(x)), scrub(json.loads(y))
    if x != y:
        diff.append(rel)
print(f"{name}: {len(a)} files, {len(diff)} differ" + "".join(f"\n  {d}" for d in diff))
sys.exit(1 if diff else 0)
PY
  cmp -s "$dir/old-$name.rc" "$dir/new-$name.rc" || { echo "$name: exit codes differ"; status=1; }
done
exit $status
