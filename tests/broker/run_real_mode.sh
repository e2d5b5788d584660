#!/bin/sh
# Runs a test program in "real cluster" mode: starts a kafka_test_broker
# through scripts/broker.sh, exports its bootstrap list as KAFKA_BROKERS
# (so the fixture treats it as a real cluster and skips mock-only tests),
# runs the program, stops the broker. Exit status is the program's.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export LIBKAFKA_BROKER_STATE=$(mktemp -d "${TMPDIR:-/tmp}/kt-real-mode.XXXXXX")
unset KAFKA_BROKERS
cleanup() { "$ROOT/scripts/broker.sh" stop; rm -rf "$LIBKAFKA_BROKER_STATE"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
bs=$("$ROOT/scripts/broker.sh" start -n 3) || exit 1
KAFKA_BROKERS=$bs "$@"
