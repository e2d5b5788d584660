#!/bin/sh
# bench/run.sh — libkafka vs librdkafka, same broker, same workloads, same
# run (issue 7). Builds the benchmarks and the test broker, starts a
# 3-broker test broker, runs every workload for both clients interleaved
# (A B, then B A in the next round, ROUNDS rounds), prints the table of
# medians with the libkafka/librdkafka ratio on every row, and writes
# bench/results/latest.md, latest.png (gnuplot), latest.dat and raw.txt.
#
# Environment:
#   BENCH_N          messages per produce / enqueue / consume run (1000000)
#   BENCH_GROUP_N    messages of the 1,000-partition group-consume topic,
#                    preloaded once and read whole by every group run (100000)
#   BENCH_KEYED_N    messages per keyed produce run (BENCH_N / 5: the
#                    test broker keeps every one of them, about 1 MB per
#                    partition of the 1,000 after 5 rounds x 2 clients)
#   BENCH_ROUNDS     rounds (5; the table shows medians over rounds)
#   BENCH_LAT_N      sequential sync writes per latency run (1000)
#   BENCH_BUILD_DIR  CMake build directory (build/; configured if missing)
#   BENCH_OUT        output directory (bench/results)
#   KAFKA_BROKERS    use this cluster instead of starting the test broker
#                    (create the topics listed below yourself)
#
# Sizes versus the test broker (it keeps about 5 MB per partition): the
# consume topic is preloaded ONCE with 40,000 x 100 B in batches of 5,000
# (~4.4 MB, one partition) and every consume run reads it from the first
# offset as many times as N needs ("passes"). Produce runs go to 4-partition
# topics, one per row, shared by both clients: the broker drops the oldest
# batches beyond ~20 MB per topic, which bounds its memory.
#
# Time: about 1 minute with the defaults on an idle 2-core machine (3 rounds
# took 31 s); runs are bounded by `timeout 300` each.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build}
N=${BENCH_N:-1000000}
ROUNDS=${BENCH_ROUNDS:-5}
LAT_N=${BENCH_LAT_N:-1000}
OUT=${BENCH_OUT:-$ROOT/bench/results}
ALLOC_N=$((N / 5))
PRELOAD_N=40000
PRELOAD_BATCH=5000
CODECS="none gzip snappy lz4 zstd"
GROUP_N=${BENCH_GROUP_N:-100000}
GROUP_PARTS=1000
KEYED_PARTS=1000
KEYED_N=${BENCH_KEYED_N:-$((N / 5))}

mkdir -p "$OUT"
RAW=$OUT/raw.txt
ERR=$OUT/stderr.txt
: >"$RAW"
: >"$ERR"

# ---- build ------------------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc)" --target bench_libkafka bench_rdkafka bench_malloc_count kafka_test_broker \
    >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
LK=$BUILD/bench/bench_libkafka
RD=$BUILD/bench/bench_rdkafka
PRELOAD_LIB=$BUILD/bench/libbench_malloc_count.so

# ---- broker -------------------------------------------------------------------
export KAFKA_TEST_BROKER_BIN="$BUILD/tests/broker/kafka_test_broker"
# own state directory: never collides with a test run's broker
export LIBKAFKA_BROKER_STATE="${BENCH_BROKER_STATE:-${TMPDIR:-/tmp}/libkafka-bench-$(id -u)}"
BROKER="$ROOT/scripts/broker.sh"
TOPICS="-t bench-c:1 -t bench-lat:1 -t bench-enq:4 -t bench-smoke:4"
for c in $CODECS; do TOPICS="$TOPICS -t bench-p-1-$c:4"; done
TOPICS="$TOPICS -t bench-p-all-none:4 -t bench-g$GROUP_PARTS:$GROUP_PARTS -t bench-k$KEYED_PARTS:$KEYED_PARTS"
# shellcheck disable=SC2086
B=$("$BROKER" start -n 3 $TOPICS)
trap '"$BROKER" stop' EXIT INT TERM
echo "broker: $B" >&2

# ---- helpers ------------------------------------------------------------------
# run <program> <args...>: one measurement; its lines go to $RAW. A failure
# is reported and the run goes on (the row then shows "-").
run() {
    prog=$1
    shift
    if ! env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} timeout 300 "$prog" "$@" --brokers "$B" >>"$RAW" 2>>"$ERR"; then
        echo "FAILED: $(basename "$prog") $*" >&2
        tail -2 "$ERR" >&2
    fi
}

# pair <libkafka api> <mode and args...>: both clients, identical workload,
# order alternating with the round.
pair() {
    api=$1
    shift
    if [ $((ROUND % 2)) -eq 1 ]; then
        run "$LK" "$@" --api "$api"
        run "$RD" "$@"
    else
        run "$RD" "$@"
        run "$LK" "$@" --api "$api"
    fi
}

# ---- preload and API choice ---------------------------------------------------
"$LK" preload --brokers "$B" --topic bench-c -n $PRELOAD_N --batch $PRELOAD_BATCH -s 100 >&2

# The group topic: GROUP_N keyed 100-byte messages through kcat (keys
# spread them over all partitions; keyless ones would stick to a few).
awk -v n="$GROUP_N" 'BEGIN { for (i = 0; i < n; i++) printf "%d:%099d\n", i, i }' |
    kcat -P -b "$B" -t "bench-g$GROUP_PARTS" -K: -z none >&2

# The writer/reader rows use the high-level API when it works; otherwise
# they fall back to kafka_conn, and the table says which API ran.
if "$LK" produce --brokers "$B" --topic bench-smoke -n 20000 --api writer >/dev/null 2>>"$ERR"; then
    WAPI=writer
else
    WAPI=conn
    echo "kafka_writer failed its smoke run: produce/latency use kafka_conn; no enqueue row" >&2
fi
if "$LK" consume --brokers "$B" --topic bench-c -n 50000 --api reader >/dev/null 2>>"$ERR"; then
    RAPI=reader
else
    RAPI=conn
    echo "kafka_reader failed its smoke run: consume uses kafka_conn" >&2
fi

# ---- rounds -------------------------------------------------------------------
START=$(date +%s)
ROUND=1
while [ $ROUND -le "$ROUNDS" ]; do
    echo "round $ROUND/$ROUNDS ($(($(date +%s) - START)) s)" >&2
    for c in $CODECS; do
        pair $WAPI produce --topic "bench-p-1-$c" -n "$N" -s 100 --acks 1 --codec "$c"
    done
    pair $WAPI produce --topic bench-p-all-none -n "$N" -s 100 --acks all --codec none
    # a distinct key per message over 1,000 partitions (3 brokers), CRC32
    # partitioning on both; the writer only (kafka_conn has no balancer)
    if [ $WAPI = writer ]; then
        pair writer produce --topic "bench-k$KEYED_PARTS" -n "$KEYED_N" -s 100 --acks 1 --codec none --keyed
    fi
    run "$LK" produce --topic bench-p-1-none -n "$N" -s 100 --acks 1 --api conn
    pair $RAPI consume --topic bench-c -n "$N" -s 100
    run "$LK" consume --topic bench-c -n "$N" -s 100 --api conn
    # one member of a new group reads the whole 1,000-partition topic
    pair reader group --topic "bench-g$GROUP_PARTS" -n "$GROUP_N" -s 100
    if [ $WAPI = writer ]; then
        pair writer enqueue --topic bench-enq -n "$N" -s 100 --threads 1
        pair writer enqueue --topic bench-enq -n "$N" -s 100 --threads 4
        run "$LK" enqueue --topic bench-enq -n "$N" -s 100 --threads 4 --lanes 4
    fi
    # the RTT baseline on the latency partition's leader, before and after
    run "$LK" rtt --topic bench-lat -n "$LAT_N"
    pair $WAPI latency --topic bench-lat -n "$LAT_N" -s 100 --acks 1
    run "$LK" rtt --topic bench-lat -n "$LAT_N"
    # allocations: separate runs with the LD_PRELOAD counter (not timed)
    PRELOAD=$PRELOAD_LIB
    pair $WAPI produce --topic bench-p-1-none -n $ALLOC_N -s 100 --acks 1 --allocs
    pair $RAPI consume --topic bench-c -n $ALLOC_N -s 100 --allocs
    PRELOAD=
    ROUND=$((ROUND + 1))
done
ELAPSED=$(($(date +%s) - START))

# ---- report -------------------------------------------------------------------
RDVER=$(pkg-config --modversion rdkafka 2>/dev/null || echo "?")
CPU=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")
HEADER="# libkafka vs librdkafka — bench/run.sh

$(date -u '+%Y-%m-%d %H:%M UTC'), git $REV (plus uncommitted changes, if any), librdkafka $RDVER, $(nproc) CPUs ($CPU).
Test broker: librdkafka's mock cluster, 3 brokers, on the same machine (its CPU is not counted).
Medians of $ROUNDS rounds, clients interleaved; N=$N messages of 100 B per produce/enqueue/consume run,
$LAT_N sync writes per latency run, allocations over $ALLOC_N messages after a 10% warm-up (LD_PRELOAD counter).
libkafka APIs: produce/latency/enqueue via kafka_$WAPI, consume via kafka_$RAPI (rows marked conn: kafka_conn, one
synchronous request at a time). Both producers non-idempotent, librdkafka batching defaults mirrored by the writer
(10000 msgs / 1 MB / 5 ms). librdkafka consumes with the simple consumer + rd_kafka_consume_batch,
queued.min.messages=10000000 and fetch.wait.max.ms=10 (same max wait for libkafka) so neither stalls. Rounds took ${ELAPSED} s.
Group consume: one member of a new group reads all $GROUP_N messages (100 B, keyed by kcat) of a $GROUP_PARTS-partition
topic over 3 brokers from the first offsets, no commits (libkafka: kafka_reader_fetch_message; librdkafka: subscribe +
rd_kafka_consumer_poll, its defaults but fetch.wait.max.ms=10); its window starts at the first message (the join,
about 3 s on this broker for both, is the join_ms row). Peak threads: sampled from /proc/self/status (end of each
window; every 10 ms in the group loop); peak RSS: VmHWM (whole process).
Keyed produce: $KEYED_N messages with distinct keys to a $KEYED_PARTS-partition topic over 3 brokers, acks=1, partitioned by
CRC32 of the key on both (librdkafka's default consistent_random, libkafka's KAFKA_BALANCER_CRC32), same batching.
CPU = getrusage user+sys of the client process over the timed window. Ratio = libkafka / librdkafka."
python3 "$ROOT/bench/report.py" "$RAW" --md "$OUT/latest.md" --dat "$OUT/latest.dat" --header "$HEADER"
if command -v gnuplot >/dev/null 2>&1; then
    gnuplot -e "datafile='$OUT/latest.dat'; outfile='$OUT/latest.png'" "$ROOT/bench/chart.gp" \
        && echo "chart: $OUT/latest.png" >&2
else
    echo "gnuplot not found: no chart" >&2
fi
echo "table: $OUT/latest.md" >&2
