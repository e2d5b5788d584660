#!/bin/sh
# Start, control and stop the embedded test broker (tests/broker/README.md)
# from a shell.
#
#   scripts/broker.sh start [-n N] [-t topic:partitions[:replication]]...
#       start kafka_test_broker in the background; print the bootstrap list
#   scripts/broker.sh cmd <command words...>
#       send one control command; print the answer; exit 0 on "ok"
#   scripts/broker.sh bootstrap      print the bootstrap list
#   scripts/broker.sh status         exit 0 if running
#   scripts/broker.sh stop           quit it (SIGTERM/SIGKILL if it hangs)
#
# With KAFKA_BROKERS set, start/stop do nothing, bootstrap prints
# $KAFKA_BROKERS and cmd fails (a real cluster has no control channel).
#
# The broker program is $KAFKA_TEST_BROKER_BIN, else
# build/tests/broker/kafka_test_broker; this script builds nothing.
# State (pid, FIFO, output, log) lives in $LIBKAFKA_BROKER_STATE, default
# ${TMPDIR:-/tmp}/libkafka-broker-$USER, so one broker per user at a time
# unless LIBKAFKA_BROKER_STATE is set to another directory.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${KAFKA_TEST_BROKER_BIN:-$ROOT/build/tests/broker/kafka_test_broker}
STATE=${LIBKAFKA_BROKER_STATE:-${TMPDIR:-/tmp}/libkafka-broker-${USER:-$(id -u)}}
TIMEOUT_TICKS=200 # x 0.05 s = 10 s

die() { echo "broker.sh: $*" >&2; exit 1; }

running() {
    [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null
}

lines_in() { wc -l <"$1" | tr -d ' '; }

# Waits until file $1 has more than $2 lines; fails after 10 s or if the
# broker died.
wait_lines() {
    i=0
    while [ "$(lines_in "$1")" -le "$2" ]; do
        i=$((i + 1))
        [ $i -le $TIMEOUT_TICKS ] || return 1
        running || [ "$(lines_in "$1")" -gt "$2" ] || return 1
        sleep 0.05
    done
}

do_start() {
    if [ -n "${KAFKA_BROKERS:-}" ]; then
        echo "$KAFKA_BROKERS"
        return 0
    fi
    if running; then
        echo "broker.sh: already running (pid $(cat "$STATE/pid")); using it" >&2
        cat "$STATE/bootstrap"
        return 0
    fi
    [ -x "$BIN" ] || die "no broker program at $BIN (build first, or set KAFKA_TEST_BROKER_BIN)"
    mkdir -p "$STATE"
    chmod 700 "$STATE"
    rm -f "$STATE/in" "$STATE/out" "$STATE/pid" "$STATE/bootstrap" "$STATE/log" "$STATE/lock"
    mkfifo "$STATE/in"
    : >"$STATE/out"
    # stdin is the FIFO opened read-write, so the broker never sees EOF when
    # one "cmd" writer closes; "stop" sends quit instead.
    "$BIN" "$@" <>"$STATE/in" >>"$STATE/out" 2>"$STATE/log" &
    echo $! >"$STATE/pid"
    if ! wait_lines "$STATE/out" 1 || [ "$(sed -n 2p "$STATE/out")" != ready ]; then
        cat "$STATE/log" >&2
        running || echo "broker.sh: $BIN exited at once; output: $(cat "$STATE/out")" >&2
        do_stop >/dev/null 2>&1 || true
        die "broker did not start"
    fi
    sed -n 1p "$STATE/out" | sed 's/^bootstrap //' >"$STATE/bootstrap"
    cat "$STATE/bootstrap"
}

do_cmd() {
    [ -z "${KAFKA_BROKERS:-}" ] || die "KAFKA_BROKERS is set: no mock control"
    running || die "not running"
    [ $# -gt 0 ] || die "usage: broker.sh cmd <command words...>"
    # One command at a time: answers are matched to commands by line count.
    exec 9>"$STATE/lock"
    flock 9
    n=$(lines_in "$STATE/out")
    # Opened read-write so that the open never blocks, even if it just died.
    printf '%s\n' "$*" 1<>"$STATE/in"
    wait_lines "$STATE/out" "$n" || die "no answer within 10 s"
    answer=$(sed -n "$((n + 1))p" "$STATE/out")
    exec 9>&-
    echo "$answer"
    case "$answer" in ok | "ok "*) return 0 ;; *) return 1 ;; esac
}

do_stop() {
    [ -z "${KAFKA_BROKERS:-}" ] || return 0
    running || { rm -f "$STATE/pid"; return 0; }
    pid=$(cat "$STATE/pid")
    printf 'quit\n' 1<>"$STATE/in"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt $TIMEOUT_TICKS ]; do
        i=$((i + 1))
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
        echo "broker.sh: broker $pid had to be killed" >&2
    fi
    rm -f "$STATE/pid" "$STATE/in" "$STATE/bootstrap"
}

case "${1:-}" in
start) shift; do_start "$@" ;;
cmd) shift; do_cmd "$@" ;;
stop) do_stop ;;
bootstrap)
    if [ -n "${KAFKA_BROKERS:-}" ]; then echo "$KAFKA_BROKERS"
    elif running; then cat "$STATE/bootstrap"
    else die "not running"; fi ;;
status) [ -n "${KAFKA_BROKERS:-}" ] || running ;;
*) echo "usage: $0 start [-n N] [-t topic:partitions[:replication]]... | cmd <line> | bootstrap | status | stop" >&2
   exit 2 ;;
esac
