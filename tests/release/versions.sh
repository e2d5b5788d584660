#!/bin/sh
# The version is set once, in CMakeLists.txt project(VERSION); the files
# that must repeat it (debian/changelog, the Debian package named after the
# soname, CHANGELOG.md) are checked against it here.
# Usage: versions.sh <source-dir>
set -eu
src=$1
fail=0
version=$(sed -n 's/^project(libkafka VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || { echo "FAIL: no project(libkafka VERSION x.y.z) in CMakeLists.txt"; exit 1; }
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
if [ "$major" = 0 ]; then soversion=$major.$minor; else soversion=$major; fi
check() { # what got expected
    if [ "$2" = "$3" ]; then echo "ok: $1 $2"; else echo "FAIL: $1 is '$2', expected '$3'"; fail=1; fi
}
deb_version=$(sed -n '1s/^libkafka (\([^)-]*\).*/\1/p' "$src/debian/changelog")
check "debian/changelog version" "$deb_version" "$version"
deb_lib=$(sed -n 's/^Package: \(libkafka[0-9].*\)/\1/p' "$src/debian/control")
check "debian/control library package" "$deb_lib" "libkafka$soversion"
for f in "libkafka$soversion.install" "libkafka$soversion.symbols"; do
    [ -f "$src/debian/$f" ] && echo "ok: debian/$f" || { echo "FAIL: no debian/$f"; fail=1; }
done
grep -q "^libkafka.so.$soversion libkafka$soversion " "$src/debian/libkafka$soversion.symbols" \
    && grep -q "(symver)LIBKAFKA_$soversion " "$src/debian/libkafka$soversion.symbols" \
    && echo "ok: symbols file names libkafka.so.$soversion, LIBKAFKA_$soversion" \
    || { echo "FAIL: debian/libkafka$soversion.symbols names another soname or symbol version"; fail=1; }
grep -q "^## $version " "$src/CHANGELOG.md" && echo "ok: CHANGELOG.md has $version" \
    || { echo "FAIL: CHANGELOG.md has no '## $version' entry"; fail=1; }
exit $fail
