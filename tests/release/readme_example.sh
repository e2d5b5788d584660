#!/bin/sh
# Runs the README's usage example against a fresh test broker (topic
# "events" with one partition) and checks that it prints what the README
# says it prints. Skipped (exit 77) with KAFKA_BROKERS set: a real cluster's
# "events" topic may hold other messages.
# Usage: readme_example.sh <source-dir> <build-dir>
set -eu
src=$1; build=$2
[ -z "${KAFKA_BROKERS:-}" ] || { echo "SKIP: KAFKA_BROKERS is set"; exit 77; }
tmp=$(mktemp -d)
export LIBKAFKA_BROKER_STATE=$tmp/broker
export KAFKA_TEST_BROKER_BIN=${KAFKA_TEST_BROKER_BIN:-$build/tests/broker/kafka_test_broker}
trap '"$src/scripts/broker.sh" stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

python3 "$src/tests/release/extract_examples.py" "$src" "$tmp" >/dev/null
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$src/include" -I"$build/include" \
   -o "$tmp/readme" "$tmp/README.md_1.prog.c" -L"$build" -lkafka -Wl,-rpath,"$build"

bootstrap=$("$src/scripts/broker.sh" start -n 1 -t events:1)
out=$(KAFKA_BROKERS=$bootstrap "$tmp/readme") || { echo "FAIL: exit $?; printed:"; echo "$out"; exit 1; }
expected=$(printf '0/0: logged in\n0/1: no key')
[ "$out" = "$expected" ] || { echo "FAIL: printed:"; echo "$out"; echo "expected:"; echo "$expected"; exit 1; }
grep -q '`0/0: logged in` and `0/1: no key`' "$src/README.md" \
    || { echo "FAIL: README.md no longer says what the example prints"; exit 1; }
echo "$out"
echo "ok: the README example printed what README.md says"
