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

# make_pki DIR: a CA (ca.pem), a server certificate for 127.0.0.1 and
# localhost signed by it (srv.pem, srv.key), a client certificate
# (cli.pem, cli.key) and a CA that signed nothing here (other.pem), made
# with the openssl command. Skips the test when openssl is missing.
make_pki() {
    command -v openssl >/dev/null 2>&1 || skip "openssl not installed"
    mkdir -p "$1"
    (
        cd "$1"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
            -days 2 -subj /CN=kfk-test-ca
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem \
            -days 2 -subj /CN=kfk-other-ca
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key -out cli.csr -subj /CN=kfk-client
        openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2
    ) >"$WORK/openssl.log" 2>&1 || { show "$WORK/openssl.log"; fail "openssl could not make the test PKI"; }
}
