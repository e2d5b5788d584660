#!/bin/sh
# Smoke test of the benchmark programs (ctest "bench/smoke", label bench):
# runs every mode of bench_libkafka and bench_rdkafka once with a tiny N
# against a private test broker and checks that each run completes and
# prints one well-formed result line. It checks behaviour, never speed.
#
#   smoke.sh <bench_libkafka> <bench_rdkafka> <libbench_malloc_count.so>
# KAFKA_TEST_BROKER_BIN must name kafka_test_broker.
set -eu
LK=$1
RD=$2
PRELOAD_LIB=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=$(mktemp -d "${TMPDIR:-/tmp}/libkafka-bench-smoke.XXXXXX")
export LIBKAFKA_BROKER_STATE="$STATE"
BROKER="$ROOT/scripts/broker.sh"
trap '"$BROKER" stop >/dev/null 2>&1 || true; rm -rf "$STATE"' EXIT INT TERM
B=$("$BROKER" start -n 3 -t sp:4 -t sc:1 -t sl:1)
fails=0

# check <name> <required keys...>: reads the output in $OUT; exactly one
# "client=" line, every required key present with a numeric value.
check() {
    name=$1
    shift
    n=$(grep -c '^client=' "$OUT" || true)
    if [ "$n" -ne 1 ]; then
        echo "FAIL $name: $n result lines"; cat "$OUT"; fails=$((fails + 1)); return
    fi
    line=$(grep '^client=' "$OUT")
    for k in "$@"; do
        v=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$k=//p")
        case "$v" in
        '' | *[!0-9.]*) echo "FAIL $name: $k='$v' in: $line"; fails=$((fails + 1)); return ;;
        esac
    done
    echo "ok   $name: $line"
}

# one <name> <keys> -- <program and args>
one() {
    name=$1
    keys=$2
    shift 3
    OUT=$STATE/out
    if ! "$@" --brokers "$B" >"$OUT" 2>"$STATE/err"; then
        echo "FAIL $name: exit status"; cat "$STATE/err"; fails=$((fails + 1)); return
    fi
    # shellcheck disable=SC2086
    check "$name" $keys
}

T="msgs secs msgs_per_s mb_per_s cpu_ns_per_msg threads_peak rss_peak_kb"
L="msgs p50_us p99_us mean_us cpu_ns_per_msg"
"$LK" preload --brokers "$B" --topic sc -n 3000 --batch 1000 >/dev/null
for c in none lz4; do
    one "rdkafka produce $c" "$T" -- "$RD" produce --topic sp -n 2000 --codec $c
    one "libkafka produce $c" "$T" -- "$LK" produce --topic sp -n 2000 --codec $c --api writer
done
one "libkafka produce conn" "$T" -- "$LK" produce --topic sp -n 2000 --acks all --api conn --batch 500
one "rdkafka produce keyed" "$T" -- "$RD" produce --topic sp -n 2000 --keyed
one "libkafka produce keyed" "$T" -- "$LK" produce --topic sp -n 2000 --keyed --api writer
one "rdkafka consume" "$T passes" -- "$RD" consume --topic sc -n 5000
one "libkafka consume reader" "$T passes" -- "$LK" consume --topic sc -n 5000 --api reader
one "libkafka consume conn" "$T passes" -- "$LK" consume --topic sc -n 5000 --api conn
one "rdkafka group" "$T join_ms" -- "$RD" group --topic sc -n 3000
one "libkafka group" "$T join_ms" -- "$LK" group --topic sc -n 3000 --api reader
one "rdkafka enqueue 2" "$T ns_per_call" -- "$RD" enqueue --topic sp -n 2000 --threads 2
one "libkafka enqueue 2" "$T ns_per_call" -- "$LK" enqueue --topic sp -n 2000 --threads 2
one "rdkafka latency" "$L" -- "$RD" latency --topic sl -n 20
one "libkafka latency writer" "$L" -- "$LK" latency --topic sl -n 20 --api writer
one "libkafka latency conn" "$L" -- "$LK" latency --topic sl -n 20 --api conn
one "libkafka rtt" "$L" -- "$LK" rtt --topic sl -n 20
# The LD_PRELOAD counter cannot go in front of ASan's runtime: sanitizer
# builds skip the allocation runs.
if ldd "$LK" 2>/dev/null | grep -q libasan; then
    echo "skip allocation runs: sanitizer build"
else
    one "rdkafka produce allocs" "$T allocs_per_msg" -- env LD_PRELOAD="$PRELOAD_LIB" "$RD" produce --topic sp -n 2000 --allocs
    one "libkafka produce allocs" "$T allocs_per_msg hook_allocs_per_msg" -- \
        env LD_PRELOAD="$PRELOAD_LIB" "$LK" produce --topic sp -n 2000 --allocs --api writer
    one "rdkafka consume allocs" "$T allocs_per_msg" -- env LD_PRELOAD="$PRELOAD_LIB" "$RD" consume --topic sc -n 3000 --allocs
    one "libkafka consume allocs" "$T allocs_per_msg" -- \
        env LD_PRELOAD="$PRELOAD_LIB" "$LK" consume --topic sc -n 3000 --allocs --api reader
fi
if [ $fails -ne 0 ]; then
    echo "$fails bench smoke check(s) failed"
    exit 1
fi
echo "all bench smoke checks passed"
