#!/bin/sh
# The ABI check of the release policy (include/kafka/kafka.h, VERSIONS AND
# ABI): compares the built libkafka.so with abi/libkafka.abi, the ABI of the
# last release, using abidiff (Debian abigail-tools).
#   - same soname: any change other than added functions fails (a struct that
#     grew, a changed or removed function): bump the minor version (before
#     1.0) or undo the change;
#   - new soname (the version was bumped): incompatible changes are allowed;
#     the differences are printed for the changelog.
# Exit 77 (reported as skipped) when the build has no debug info to compare.
# Usage: abi.sh <source-dir> <build-dir>
set -eu
src=$1; build=$2
ref=$src/abi/libkafka.abi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

lib=$(readlink -f "$build/libkafka.so")
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "SKIP: $lib has no debug info (build with RelWithDebInfo or Debug)"; exit 77
fi
"$src/scripts/abi-dump.sh" "$build" "$tmp/current.abi"
soname_of() { sed -n "1s/.*soname='\([^']*\)'.*/\1/p" "$1"; }
ref_so=$(soname_of "$ref"); cur_so=$(soname_of "$tmp/current.abi")
[ -n "$ref_so" ] && [ -n "$cur_so" ] || { echo "no soname in the ABI dumps"; exit 1; }

if [ "$ref_so" != "$cur_so" ]; then
    echo "soname $ref_so -> $cur_so: a new ABI, incompatible changes allowed. Changes since the last release:"
    abidiff "$ref" "$tmp/current.abi" || true
    echo "ok: new soname $cur_so"
    exit 0
fi
rc=0
abidiff --no-added-syms "$ref" "$tmp/current.abi" >"$tmp/report" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
    cat "$tmp/report"
    echo "FAIL: the ABI changed under the same soname $cur_so (abidiff exit $rc)."
    echo "Either bump the minor version in CMakeLists.txt project() (a new soname; add a"
    echo "CHANGELOG.md entry), or undo the change. If the last release in abi/ was never"
    echo "published, regenerate it instead: scripts/abi-dump.sh $build"
    exit 1
fi
added=$(abidiff "$ref" "$tmp/current.abi" | sed -n 's/^Functions changes summary: .*, \([0-9]*\) Added.*/\1/p')
echo "ok: ABI of $cur_so unchanged since abi/libkafka.abi (${added:-0} functions added)"
