#!/usr/bin/env bash
# Fuzzes the C ABI for a bounded time: builds fuzz/ng_fuzz with clang (libFuzzer + ASan + UBSan) into build/fuzz,
# unpacks the seed corpus (fuzz/corpus.tar.xz) next to it and runs for SECONDS (default 60).
#   fuzz/run.sh [SECONDS] [--update-corpus]
# A crash, a sanitizer report, a failed contract check or a hang (> 10 s for one input) fails the run; the input
# is copied to fuzz/regressions/ (replayed by ctest from then on: give it a name saying what it found, and commit
# it with the fix). --update-corpus merges what the run discovered back into fuzz/corpus.tar.xz.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
update=${2:-}

# clang and its libFuzzer runtime (Debian: clang + libclang-rt-<version>-dev)
probe='int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }'
if ! command -v clang >/dev/null || ! clang -fsanitize=fuzzer -x c - -o /dev/null <<<"$probe" 2>/dev/null; then
  apt-get update -qq
  apt-get install -y -qq clang >/dev/null
  version=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -n 1)
  apt-get install -y -qq "libclang-rt-${version}-dev" >/dev/null
fi

cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DNG_FUZZ=ON -DNG_BUILD_TESTS=OFF >/dev/null
cmake --build build/fuzz -j 2 --target ng_fuzz >/dev/null

work=build/fuzz/run
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
tar -xJf fuzz/corpus.tar.xz -C "$work/corpus"
echo "fuzzing the C ABI for ${seconds}s from $(ls "$work/corpus" | wc -l) seed inputs"

status=0
./build/fuzz/ng_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" fuzz/regressions >"$work/log.txt" 2>&1 || status=$?
grep -E '^(stat::|Done|INFO: seed corpus)' "$work/log.txt" || true

found=$(find "$work/artifacts" -type f | wc -l)
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
  tail -n 60 "$work/log.txt"
  for f in "$work"/artifacts/*; do
    [ -f "$f" ] || continue
    cp "$f" "fuzz/regressions/$(basename "$f")"
    echo "kept $(basename "$f") in fuzz/regressions/"
  done
  echo "fuzz: FAILED (exit $status, $found input(s) kept)"
  exit 1
fi

if [ "$update" = "--update-corpus" ]; then
  mkdir -p "$work/merged"
  ./build/fuzz/ng_fuzz -merge=1 -timeout=10 "$work/merged" "$work/corpus" >/dev/null 2>&1
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-01-01' -C "$work/merged" -cf - . | xz -9e >fuzz/corpus.tar.xz
  echo "fuzz/corpus.tar.xz: $(ls "$work/merged" | wc -l) inputs"
fi
echo "fuzz: no crash in ${seconds}s"
