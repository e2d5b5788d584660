#!/bin/sh
# Compiles every C example of README.md and of the public headers
# (tests/release/extract_examples.py) against the built library, with the
# project's warnings as errors; complete programs are linked too.
# (tests/release/readme_example.sh also runs the README's program.)
# Usage: code_examples.sh <source-dir> <build-dir>
set -eu
src=$1; build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-std=c11 -Wall -Wextra -Wpedantic -Werror -I$src/include -I$build/include"
n=0
for f in $(python3 "$src/tests/release/extract_examples.py" "$src" "$tmp"); do
    case $f in
    *.prog.c) cc $flags -o "$tmp/${f%.c}" "$tmp/$f" -L"$build" -lkafka ;;
    *) cc $flags -Wno-unused-variable -Wno-unused-but-set-variable -c -o "$tmp/${f%.c}.o" "$tmp/$f" ;;
    esac || { echo "FAIL: the example $f does not compile:"; cat -n "$tmp/$f"; exit 1; }
    echo "ok: $f"
    n=$((n + 1))
done
[ $n -ge 3 ] || { echo "FAIL: only $n examples found (README.md, writer.h, dialer.h have some)"; exit 1; }
echo "$n examples compile"
