# Shared by tests/kfk/test_*.sh (sourced): a private test broker, the kfk
# binary, failure reporting. Every command that talks to a broker runs
# under `timeout`, so a hang is a failure, not a stuck test.
#   usage of a test: test_X.sh <kfk binary>
#   env: KAFKA_TEST_BROKER_BIN (set by tests/cmake/kfk.cmake)
set -eu
KFK=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kfk-test-XXXXXX")
export LIBKAFKA_BROKER_STATE="$WORK/broker"
SKIP=77
T=60 # seconds allowed to any one command

cleanup() {
    [ -n "${EXTRA_CLEANUP:-}" ] && eval "$EXTRA_CLEANUP"
    sh "$ROOT/scripts/broker.sh" stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit $SKIP; }
show() { echo "--- $1:" >&2; cat "$1" >&2 || true; }

# start_broker [-n N] [-t topic:partitions[:replication]]... : sets $B.
# The tests create their topics through the test broker's -t, so with
# KAFKA_BROKERS (a real cluster, where -t does nothing) they skip.
start_broker() {
    [ -z "${KAFKA_BROKERS:-}" ] || skip "needs the embedded test broker (KAFKA_BROKERS is set)"
    B=$(sh "$ROOT/scripts/broker.sh" start "$@")
    [ -n "$B" ] || fail "broker did not start"
}
broker_cmd() { sh "$ROOT/scripts/broker.sh" cmd "$@" >/dev/null; }

kfk() { timeout $T "$KFK" "$@"; }

# expect_status N command... : runs the command, fails unless it exits N.
expect_status() {
    want=$1
    shift
    set +e
    "$@"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || fail "exit status $got, expected $want: $*"
}

json_ok() { python3 -m json.tool "$1" >/dev/null || { show "$1"; fail "$1 is not JSON"; }; }
# Each line of $1 must be one JSON document.
json_lines_ok() {
    python3 -c 'import json,sys
for n, l in enumerate(open(sys.argv[1]), 1):
    json.loads(l)' "$1" || { show "$1"; fail "$1: a line is not JSON"; }
}
