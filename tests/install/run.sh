#!/usr/bin/env bash
# Installs the built libkafka into a temporary prefix, then builds
# tests/install/app.c against it twice — with pkg-config and with CMake's
# find_package — and runs both. Usage: run.sh <source-dir> <build-dir>
set -euo pipefail
src=$1; build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libkafka.pc | head -1)")/..
expected="libkafka 0.1.0: not leader or follower"

# 1. pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Werror -o "$tmp/app_pc" "$src/tests/install/app.c" $(pkg-config --cflags --libs libkafka)
out=$(LD_LIBRARY_PATH=$libdir "$tmp/app_pc")
[ "$out" = "$expected" ] || { echo "pkg-config build printed: $out"; exit 1; }
echo "pkg-config: ok ($out)"

# 2. static link through pkg-config --static
cc -std=c11 -Wall -Werror -DKAFKA_STATIC -o "$tmp/app_static" "$src/tests/install/app.c" \
   $(pkg-config --cflags libkafka) "$libdir/libkafka.a" $(pkg-config --libs-only-l --static libkafka | sed 's/-lkafka//') -lstdc++
out=$("$tmp/app_static")
[ "$out" = "$expected" ] || { echo "static build printed: $out"; exit 1; }
echo "static: ok"

# 3. find_package
cmake -S "$src/tests/install" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
out=$(LD_LIBRARY_PATH=$libdir "$tmp/cm/app")
[ "$out" = "$expected" ] || { echo "find_package build printed: $out"; exit 1; }
echo "find_package: ok"
# 4. the README's usage example compiles and links against the installed copy
awk '/^```c$/{f=1;next} /^```$/{if(f){exit}} f' "$src/README.md" >"$tmp/readme.c"
[ -s "$tmp/readme.c" ] || { echo "no C example found in README.md"; exit 1; }
cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$tmp/readme" "$tmp/readme.c" $(pkg-config --cflags --libs libkafka)
echo "README example: ok"
echo "4 passed, 0 failed"
