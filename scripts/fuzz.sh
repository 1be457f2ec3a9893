#!/usr/bin/env bash
# Fuzz the wire decoders, raw-page redaction, money and GSTIN parsers with cargo-fuzz.
#
#   scripts/fuzz.sh                 every target, FUZZ_SECONDS (default 60) each
#   scripts/fuzz.sh money gstin     only those targets
#
# Each target's working corpus is fuzz/corpus/<target> (kept between runs, not committed),
# seeded from the committed fuzz/seeds/<target>. A crash stops that target and the next one
# starts; the crashing input is saved under fuzz/artifacts/<target>/, and the script exits
# non-zero at the end if any target crashed.
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer, ...): a nightly toolchain if rustup has
# one, otherwise the stable toolchain with RUSTC_BOOTSTRAP=1.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
fuzz_dir="$root/fuzz"
seconds="${FUZZ_SECONDS:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

toolchains="$(rustup toolchain list 2>/dev/null || true)"
if grep -q '^nightly' <<<"$toolchains"; then
    fuzz=(cargo +nightly fuzz)
    rerun="cargo +nightly fuzz"
    echo "fuzz: using the nightly toolchain ($(rustup run nightly rustc --version))" >&2
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
    rerun="RUSTC_BOOTSTRAP=1 cargo fuzz"
    echo "fuzz: using the stable toolchain with RUSTC_BOOTSTRAP=1 ($(rustc --version))" >&2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    list="$("${fuzz[@]}" list --fuzz-dir "$fuzz_dir")"
    mapfile -t targets <<<"$list"
fi

failed=()
for t in "${targets[@]}"; do
    corpus="$fuzz_dir/corpus/$t"
    seeds="$fuzz_dir/seeds/$t"
    artifacts="$fuzz_dir/artifacts/$t"
    mkdir -p "$corpus" "$seeds" "$artifacts"
    stamp="$(mktemp)"
    echo "fuzz: $t for ${seconds}s (corpus $corpus, seeds $seeds)" >&2
    # New inputs go to the first corpus directory only, so the seeds stay as committed; crash
    # inputs go to fuzz/artifacts/<target>/ (cargo fuzz's default).
    if ! "${fuzz[@]}" run --fuzz-dir "$fuzz_dir" "$t" "$corpus" "$seeds" -- \
        -max_total_time="$seconds" -print_final_stats=1; then
        artifact="$(find "$artifacts" -type f -newer "$stamp" | head -n 1)"
        if [ -n "$artifact" ]; then
            failed+=("$t: fuzz/artifacts/$t/$(basename "$artifact")")
            echo "fuzz: $t FAILED; crashing input: $artifact" >&2
        else
            failed+=("$t: (no crash input written; see the output above)")
            echo "fuzz: $t FAILED without writing a crash input" >&2
        fi
    fi
    rm -f "$stamp"
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#targets[@]} target(s) crashed:" >&2
    for f in "${failed[@]}"; do
        echo "  $f" >&2
    done
    echo "fuzz: reproduce one with: $rerun run --fuzz-dir fuzz <target> <crash input>" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash" >&2
