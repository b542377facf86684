#!/bin/sh
# Fuzzes the Wire frame decoder with libFuzzer + AddressSanitizer (fuzz/WireFuzzer.swift) for
# SECONDS (default 20), starting from the bytes of testdata/wire/*.json. Exits non-zero on any
# crash, leak or failed round trip; the input that failed is left in .build/fuzz/artifacts/.
#
# usage: scripts/fuzz.sh [SECONDS]
# Reproduce a failure: .build/fuzz/wire-fuzzer .build/fuzz/artifacts/crash-...
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
out=$root/.build/fuzz
fail() { echo "fuzz: $*" >&2; exit 1; }

case $seconds in '' | *[!0-9]*) fail "SECONDS must be a whole number, not '$seconds'" ;; esac
command -v swiftc >/dev/null 2>&1 || fail "swiftc not found"
command -v python3 >/dev/null 2>&1 || fail "python3 not found (it reads the seed vectors)"

mkdir -p "$out/corpus" "$out/artifacts"
# Only this run's failures are reported; the corpus keeps the coverage.
rm -f "$out/artifacts/"*
cd "$root"
# lld: gold warns about every ASan helper symbol it cannot export.
swiftc -sanitize=fuzzer,address -parse-as-library -O -use-ld=lld \
    Sources/Wire/*.swift fuzz/WireFuzzer.swift -o "$out/wire-fuzzer"

# Seeds: every frame of the vectors, valid and malformed. The corpus dir keeps what
# earlier runs found, so each run starts where the last one stopped.
python3 - "$out/corpus" testdata/wire/frames.json testdata/wire/invalid.json <<'PY'
import json, os, sys
corpus = sys.argv[1]
for path in sys.argv[2:]:
    stem = os.path.splitext(os.path.basename(path))[0]
    for index, entry in enumerate(json.load(open(path))["frames"]):
        with open(os.path.join(corpus, f"seed-{stem}-{index:03}"), "wb") as f:
            f.write(bytes.fromhex(entry["hex"]))
PY

log=$out/fuzz.log
echo "fuzz: running the Wire frame decoder for ${seconds}s (log: $log)"
# The Swift backtracer would hold a crashing process for its report; libFuzzer reports instead.
if SWIFT_BACKTRACE=enable=no "$out/wire-fuzzer" -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/" "$out/corpus" >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$log" || true
else
    status=$?
    tail -n 40 "$log" >&2
    fail "the fuzzer failed (exit $status); inputs that failed: $(ls "$out/artifacts")"
fi
