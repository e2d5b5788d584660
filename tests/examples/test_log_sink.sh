#!/bin/sh
# examples/log_sink against the test broker: every broker goes down in the
# middle of the run; afterwards lines in Kafka (read back with kcat) plus
# lines in the fallback file must be exactly the lines written: none lost,
# none twice.
#   usage: test_log_sink.sh <log_sink>
set -eu
SINK=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-log-sink-XXXXXX")
export LIBKAFKA_BROKER_STATE="$WORK/broker"
cleanup() {
    sh "$ROOT/scripts/broker.sh" stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v kcat >/dev/null 2>&1 || { echo "skipped: kcat not found"; exit 77; }

TOPIC="logs-$$"
BOOT=$(sh "$ROOT/scripts/broker.sh" start -n 3 -t "$TOPIC:3:3")
[ -n "$BOOT" ] || fail "broker did not start"
N1=20000
N=40000

mkfifo "$WORK/in"
timeout 120 "$SINK" -b "$BOOT" -t "$TOPIC" -f "$WORK/fallback.txt" -w 50 -c 3000 <"$WORK/in" 2>"$WORK/sink.err" &
PID=$!
exec 3>"$WORK/in"
seq 1 "$N1" | sed 's/^/line-/' >&3
sleep 1
sh "$ROOT/scripts/broker.sh" cmd down -1 >/dev/null || fail "down -1"
seq $((N1 + 1)) "$N" | sed 's/^/line-/' >&3
exec 3>&-
STATUS=0
wait "$PID" || STATUS=$?
cat "$WORK/sink.err" >&2
[ "$STATUS" = 0 ] || fail "log_sink exited with $STATUS"
sh "$ROOT/scripts/broker.sh" cmd up -1 >/dev/null || fail "up -1"

timeout 60 kcat -C -b "$BOOT" -t "$TOPIC" -o beginning -e -q -f '%s\n' >"$WORK/kafka.txt" 2>"$WORK/kcat.err" \
    || { cat "$WORK/kcat.err" >&2; fail "kcat failed"; }
touch "$WORK/fallback.txt"
K=$(wc -l <"$WORK/kafka.txt")
F=$(wc -l <"$WORK/fallback.txt")
echo "in Kafka: $K, in the fallback file: $F, written: $N"
seq 1 "$N" | sed 's/^/line-/' | sort >"$WORK/want.txt"
cat "$WORK/kafka.txt" "$WORK/fallback.txt" | sort >"$WORK/got.txt"
cmp -s "$WORK/want.txt" "$WORK/got.txt" || {
    echo "missing:"; comm -23 "$WORK/want.txt" "$WORK/got.txt" | head -5
    echo "extra or twice:"; comm -13 "$WORK/want.txt" "$WORK/got.txt" | head -5
    fail "Kafka + fallback != lines written"; }
[ "$F" -gt 0 ] || fail "the brokers went down but nothing reached the fallback file"
[ "$K" -ge "$N1" ] || fail "lines written before the outage did not all reach Kafka"
echo "PASS"
