#!/bin/sh
# Tests of scripts/broker.sh and of kafka_test_broker's process behaviour
# (clean exit on EOF, SIGTERM, bad arguments). Run by ctest (broker/script)
# with KAFKA_TEST_BROKER_BIN set; uses its own state directory.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${KAFKA_TEST_BROKER_BIN:?}
export LIBKAFKA_BROKER_STATE=$(mktemp -d "${TMPDIR:-/tmp}/kt-broker-sh.XXXXXX")
unset KAFKA_BROKERS
fails=0
check() { # check <description> <expected> <actual>
    if [ "$2" = "$3" ]; then echo "ok: $1"
    else echo "FAIL: $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
cleanup() { "$ROOT/scripts/broker.sh" stop >/dev/null 2>&1; rm -rf "$LIBKAFKA_BROKER_STATE"; }
trap cleanup EXIT

# -- the program itself ---------------------------------------------------
out=$(printf 'ping\n' | "$BIN" -n 2)
check "EOF on stdin exits 0" 0 $?
check "prints bootstrap, ready, then answers" "bootstrap ready ok" \
    "$(echo "$out" | sed 's/ .*//' | tr '\n' ' ' | sed 's/ $//')"
check "bootstrap has 2 loopback entries" 2 "$(echo "$out" | sed -n 1p | tr ',' '\n' | grep -c '^\(bootstrap \)\{0,1\}127\.0\.0\.1:[0-9][0-9]*$')"

long=$(head -c 6000 /dev/zero | tr '\0' 'x')
out=$( { printf '%s\n' "$long"; printf 'pi\000ng\n'; printf 'ping\n'; } | "$BIN" -n 1 | sed 1,2d | tr '\n' '|')
check "over-long line and NUL byte answer err, then ping works" \
    "err line longer than 4096 bytes|err NUL byte in command|ok|" "$out"
out=$(head -c 100000 /dev/urandom | "$BIN" -n 1 | sed 1,2d | grep -cv '^err ')
check "random bytes on stdin: only err answers, no crash" 0 "$out"

"$BIN" -n 0 </dev/null >/dev/null 2>&1
check "-n 0 is a usage error" 2 $?
"$BIN" -t nocount </dev/null >/dev/null 2>&1
check "-t without partitions fails" 1 $?
"$BIN" -n 1 -t t:2:3 </dev/null >/dev/null 2>&1
check "-t replication above broker count fails" 1 $?
"$BIN" --bogus </dev/null >/dev/null 2>&1
check "unknown option is a usage error" 2 $?

fifo=$LIBKAFKA_BROKER_STATE/sig.fifo
mkfifo "$fifo"
"$BIN" -n 1 <>"$fifo" >"$LIBKAFKA_BROKER_STATE/sig.out" 2>/dev/null &
pid=$!
i=0; while ! grep -q ready "$LIBKAFKA_BROKER_STATE/sig.out" 2>/dev/null && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.05; done
kill -TERM $pid
wait $pid
check "SIGTERM exits 0" 0 $?

# -- scripts/broker.sh ----------------------------------------------------
bs=$("$ROOT/scripts/broker.sh" start -n 3 -t pre:2)
check "start prints a 3-entry bootstrap" 3 "$(echo "$bs" | tr ',' '\n' | grep -c '^127\.0\.0\.1:[0-9][0-9]*$')"
check "bootstrap repeats it" "$bs" "$("$ROOT/scripts/broker.sh" bootstrap)"
check "second start reuses the running broker" "$bs" "$("$ROOT/scripts/broker.sh" start 2>/dev/null)"
check "cmd topic answers ok" ok "$("$ROOT/scripts/broker.sh" cmd topic t1 2)"
check "cmd topic again answers err" "err topic: TOPIC_ALREADY_EXISTS (36)" "$("$ROOT/scripts/broker.sh" cmd topic t1 2)"
"$ROOT/scripts/broker.sh" cmd nonsense >/dev/null
check "cmd exit status on err" 1 $?
check "cmd leader on -t topic" ok "$("$ROOT/scripts/broker.sh" cmd leader pre 1 3)"
check "status while running" 0 "$("$ROOT/scripts/broker.sh" status; echo $?)"
pid=$(cat "$LIBKAFKA_BROKER_STATE/pid")
"$ROOT/scripts/broker.sh" stop
check "stop exits 0" 0 $?
kill -0 "$pid" 2>/dev/null
check "process gone after stop" 1 $?
"$ROOT/scripts/broker.sh" status
check "status after stop" 1 $?
"$ROOT/scripts/broker.sh" cmd ping 2>/dev/null
check "cmd after stop fails" 1 $?

# -- KAFKA_BROKERS: start/stop do nothing, bootstrap prints it -------------
check "start with KAFKA_BROKERS" "h1:9092,h2:9092" "$(KAFKA_BROKERS=h1:9092,h2:9092 "$ROOT/scripts/broker.sh" start)"
check "bootstrap with KAFKA_BROKERS" "h1:9092" "$(KAFKA_BROKERS=h1:9092 "$ROOT/scripts/broker.sh" bootstrap)"
KAFKA_BROKERS=h1:9092 "$ROOT/scripts/broker.sh" stop
check "stop with KAFKA_BROKERS" 0 $?
check "nothing was started" "" "$(ls "$LIBKAFKA_BROKER_STATE"/pid 2>/dev/null)"

[ $fails -eq 0 ] && echo "all broker.sh checks passed" || echo "$fails check(s) FAILED"
exit $((fails > 0))
