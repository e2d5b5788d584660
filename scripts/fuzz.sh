#!/usr/bin/env bash
# Runs every libFuzzer target built in build-fuzz/ for N seconds (default 5)
# on a copy of its seed corpus. Exits non-zero if any target crashes.
#   scripts/fuzz.sh [seconds] [target-name-pattern]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
pattern=${2:-}
status=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for bin in build-fuzz/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  [ -n "$pattern" ] && [[ "$name" != *$pattern* ]] && continue
  corpus="$work/$name"
  mkdir -p "$corpus"
  seed="tests/fuzz/corpus/${name#fuzz_}"
  [ -d "$seed" ] && cp -r "$seed"/. "$corpus"/ 2>/dev/null || true
  if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$work/" "$corpus" >"$work/$name.log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$' || true)
    echo "fuzz $name: ok (${secs}s${runs:+, $runs runs})"
  else
    echo "fuzz $name: FAILED"; tail -40 "$work/$name.log"; status=1
  fi
done
exit $status
