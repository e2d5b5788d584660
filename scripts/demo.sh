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

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building libkafka, the examples and the test broker"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target produce consume kafka_test_broker >build-demo.log 2>&1 \
  || { cat build-demo.log; exit 1; }

topic=${DEMO_TOPIC:-libkafka-demo}
if [ -n "${KAFKA_BROKERS:-}" ]; then
  bootstrap=$KAFKA_BROKERS
  say "using the cluster at $bootstrap"
else
  say "starting the test broker (3 brokers on loopback)"
  export KAFKA_TEST_BROKER_BIN=$PWD/build/tests/broker/kafka_test_broker
  bootstrap=$(./scripts/broker.sh start -n 3 -t "$topic:3")
  trap './scripts/broker.sh stop >/dev/null 2>&1 || true' EXIT
  echo "bootstrap: $bootstrap"
fi

produce=build/examples/produce
consume=build/examples/consume

say "producing 5 plain lines to $topic [0] with lz4, acks=all"
printf 'hello from libkafka %s\n' one two three four five | tee /dev/stderr |
  "$produce" -b "$bootstrap" -t "$topic" -p 0 -z lz4 -a all

say "producing 3 keyed lines (key<TAB>value) to $topic [1] with zstd"
printf 'user-1\tlogged in\nuser-2\tadded item\nuser-1\tlogged out\n' |
  "$produce" -b "$bootstrap" -t "$topic" -p 1 -K -z zstd

say "reading $topic [0] back from the first offset"
"$consume" -b "$bootstrap" -t "$topic" -p 0 -o first -e

say "reading $topic [1] back with keys, partitions and offsets"
"$consume" -b "$bootstrap" -t "$topic" -p 1 -o first -e -f

say "done: messages went out and came back"
