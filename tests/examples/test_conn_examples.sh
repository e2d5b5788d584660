#!/bin/sh
# Runs examples/conn_produce then examples/conn_consume against the test
# broker (scripts/broker.sh, private state directory) and checks that what
# comes out equals what went in. Expected output is the input text itself
# (and, for -f, lines written by hand below).
#   usage: test_conn_examples.sh <conn_produce> <conn_consume>
set -eu
PRODUCE=$1
CONSUME=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kafka-conn-examples-XXXXXX")
export LIBKAFKA_BROKER_STATE="$WORK/broker"

cleanup() {
    sh "$ROOT/scripts/broker.sh" stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

TOPIC="conn-examples-$$"
BOOT=$(sh "$ROOT/scripts/broker.sh" start -t "$TOPIC:2:1" -t "$TOPIC-keyed:1:1")
[ -n "$BOOT" ] || fail "broker did not start"

# 1. Plain values, with an empty line, spaces and UTF-8; one codec.
printf '%s\n' "first message" "" "  spaces  around  " "tab	inside" "ünïcödé ✓" "last" >"$WORK/in.txt"
timeout 60 "$PRODUCE" -b "$BOOT" -t "$TOPIC" -p 1 -z lz4 -a all <"$WORK/in.txt" 2>"$WORK/produce.err" \
    || { cat "$WORK/produce.err" >&2; fail "conn_produce exited non-zero"; }
grep -q "produced 6 messages to $TOPIC \[1\] (0 failed, codec lz4)" "$WORK/produce.err" \
    || { cat "$WORK/produce.err" >&2; fail "conn_produce summary"; }
timeout 60 "$CONSUME" -b "$BOOT" -t "$TOPIC" -p 1 -o first -e >"$WORK/out.txt" \
    || fail "conn_consume exited non-zero"
cmp "$WORK/in.txt" "$WORK/out.txt" || { diff "$WORK/in.txt" "$WORK/out.txt" >&2 || true; fail "values differ"; }

# 2. More than one produce group (500 lines each) and gzip; -c stops early.
seq 1 1234 >"$WORK/seq.txt"
timeout 60 "$PRODUCE" -b "$BOOT" -t "$TOPIC" -p 0 -z gzip <"$WORK/seq.txt" 2>/dev/null \
    || fail "conn_produce (seq) exited non-zero"
timeout 60 "$CONSUME" -b "$BOOT" -t "$TOPIC" -p 0 -e >"$WORK/seq.out" || fail "conn_consume (seq)"
cmp "$WORK/seq.txt" "$WORK/seq.out" || fail "1234 values differ"
timeout 60 "$CONSUME" -b "$BOOT" -t "$TOPIC" -p 0 -o 1000 -c 3 >"$WORK/three.out" || fail "conn_consume -c"
printf '1001\n1002\n1003\n' | cmp - "$WORK/three.out" || fail "-o 1000 -c 3 output"
timeout 60 "$CONSUME" -b "$BOOT" -t "$TOPIC" -p 0 -o -2 -e >"$WORK/tail.out" || fail "conn_consume -o -2"
printf '1233\n1234\n' | cmp - "$WORK/tail.out" || fail "-o -2 output"

# 3. Keys (-K) and the full format (-f), acks=1 and zstd.
printf 'k1\tv1\nk2\tv2\n' | timeout 60 "$PRODUCE" -b "$BOOT" -t "$TOPIC-keyed" -K -a 1 -z zstd 2>/dev/null \
    || fail "conn_produce -K"
timeout 60 "$CONSUME" -b "$BOOT" -t "$TOPIC-keyed" -f -e >"$WORK/keyed.out" || fail "conn_consume -f"
printf 'partition=0 offset=0 key=k1 value=v1\npartition=0 offset=1 key=k2 value=v2\n' | cmp - "$WORK/keyed.out" \
    || { cat "$WORK/keyed.out" >&2; fail "-f output"; }

# 4. A partition that does not exist is an error, not a hang.
if timeout 60 "$CONSUME" -b "$BOOT" -t "$TOPIC" -p 9 -e >/dev/null 2>"$WORK/err.txt"; then
    fail "conn_consume on a missing partition succeeded"
fi
grep -qi "partition" "$WORK/err.txt" || { cat "$WORK/err.txt" >&2; fail "error text"; }

echo "ok: conn examples round trip"
