#!/usr/bin/env bash
# Sets up, builds, starts the embedded test broker (3 brokers, librdkafka's
# mock cluster), writes messages with examples/produce, reads them back with
# examples/consume, prints what happened and stops the broker.
#
#   KAFKA_BROKERS=host:port,...   use that cluster instead of the test broker
#   DEMO_TOPIC=name               topic to use (default libkafka-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# Bold titles on a terminal only (no escape codes in logs and pipes).
if [ -t 1 ]; then bold=$(printf '\033[1m'); plain=$(printf '\033[0m'); else bold=; plain=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

say "building libkafka, the examples and the test broker"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# Both libraries too, so that `cmake --install build` works after the demo.
log=build/demo-build.log
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target kafka kafka_static produce consume kafka_test_broker \
  >"$log" 2>&1 || { cat "$log"; exit 1; }

topic=${DEMO_TOPIC:-libkafka-demo}
if [ -n "${KAFKA_BROKERS:-}" ]; then
  bootstrap=$KAFKA_BROKERS
  say "using the cluster at $bootstrap"
else
  say "starting the test broker (3 brokers on loopback)"
  export KAFKA_TEST_BROKER_BIN=$PWD/build/tests/broker/kafka_test_broker
  # A state directory of this run's own: the exit trap stops this demo's
  # broker, never one that another job started.
  LIBKAFKA_BROKER_STATE=$(mktemp -d "${TMPDIR:-/tmp}/libkafka-demo.XXXXXX")
  export LIBKAFKA_BROKER_STATE
  trap './scripts/broker.sh stop >/dev/null 2>&1 || true; rm -rf "$LIBKAFKA_BROKER_STATE"' EXIT
  bootstrap=$(./scripts/broker.sh start -n 3 -t "$topic:3")
  echo "bootstrap: $bootstrap"
fi

produce=build/examples/produce
consume=build/examples/consume

say "producing 5 plain lines to $topic [0] with lz4, acks=all"
lines=$(printf 'hello from libkafka %s\n' one two three four five)
printf '%s\n' "$lines"
printf '%s\n' "$lines" | "$produce" -b "$bootstrap" -t "$topic" -p 0 -z lz4 -a all

say "producing 3 keyed lines (key<TAB>value) to $topic [1] with zstd"
printf 'user-1\tlogged in\nuser-2\tadded item\nuser-1\tlogged out\n' |
  "$produce" -b "$bootstrap" -t "$topic" -p 1 -K -z zstd

say "reading $topic [0] back from the first offset"
"$consume" -b "$bootstrap" -t "$topic" -p 0 -o first -e

say "reading $topic [1] back with keys, partitions and offsets"
"$consume" -b "$bootstrap" -t "$topic" -p 1 -o first -e -f

say "done: messages went out and came back"
