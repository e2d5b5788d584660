#!/bin/sh
# Writes the ABI of a built libkafka.so (abidw, Debian abigail-tools) as
# ABIXML. Usage: scripts/abi-dump.sh <build-dir> [out-file]
# Without out-file it writes abi/libkafka.abi, the reference that
# tests/release/abi.sh compares every build with: regenerate it when a
# release is made (RELEASING in README.md), from a RelWithDebInfo or Debug
# build (abidw reads the DWARF types).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: abi-dump.sh <build-dir> [out-file]}
out=${2:-$root/abi/libkafka.abi}
# Only the public headers count: types of the library's own files are
# dropped, and no build paths are written (the dump is kept in git).
exec abidw --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash \
    --drop-private-types --headers-dir "$root/include/kafka" --headers-dir "$build/include/kafka" \
    --out-file "$out" "$build/libkafka.so"
