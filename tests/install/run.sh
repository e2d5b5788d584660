#!/usr/bin/env bash
# Installs the built libkafka into a temporary prefix, then builds
# tests/install/app.c against it, with no link flags of its own for libkafka:
#   pkg-config: shared; fully static (cc -static, pkg-config --static)
#   CMake find_package: libkafka::kafka (shared), libkafka::kafka_static
#   (libkafka.a, system libraries shared), libkafka::kafka_static with -static
# and runs each. "Fully static" includes glibc, which warns that
# getaddrinfo/dlopen need the same glibc at run time (expected, not an error).
# Usage: run.sh <source-dir> <build-dir>
set -euo pipefail
src=$1; build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libkafka.pc | head -1)")/..
version=$(sed -n 's/^#define KAFKA_VERSION_STRING "\(.*\)"/\1/p' "$build/include/kafka/version.h")
expected="libkafka $version (headers $version): not leader or follower"
passed=0

# check <name> <program> shared|static-libkafka|static
check() {
    local out needed
    out=$(LD_LIBRARY_PATH=$libdir "$2") || { echo "FAIL $1: exit $?"; exit 1; }
    [ "$out" = "$expected" ] || { echo "FAIL $1 printed: $out"; exit 1; }
    needed=$(readelf -d "$2" | grep NEEDED || true)
    case $3 in
    shared) grep -q 'libkafka\.so' <<<"$needed" || { echo "FAIL $1: not linked to libkafka.so"; exit 1; } ;;
    static-libkafka) ! grep -q 'libkafka\.so' <<<"$needed" || { echo "FAIL $1: linked to libkafka.so"; exit 1; } ;;
    static) ! readelf -l "$2" | grep -q INTERP || { echo "FAIL $1: not fully static"; exit 1; } ;;
    esac
    echo "ok $1 ($3)"
    passed=$((passed + 1))
}

export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$tmp/app_pc" "$src/tests/install/app.c" \
   $(pkg-config --cflags --libs libkafka)
check pkg-config "$tmp/app_pc" shared
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -static -o "$tmp/app_pc_static" "$src/tests/install/app.c" \
   $(pkg-config --static --cflags --libs libkafka) 2>"$tmp/ld.log" || { cat "$tmp/ld.log"; exit 1; }
check "pkg-config --static, cc -static" "$tmp/app_pc_static" static

cmake -S "$src/tests/install" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cm" >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; exit 1; }
check "find_package libkafka::kafka" "$tmp/cm/app" shared
check "find_package libkafka::kafka_static" "$tmp/cm/app_static" static-libkafka
check "find_package libkafka::kafka_static, -static" "$tmp/cm/app_full_static" static
echo "$passed passed, 0 failed"
