#!/usr/bin/env bash
# Builds the Debian packages (debian/: libkafka<soversion>, libkafka-dev,
# libkafka-mock<soversion>, libkafka-mock-dev, kafka-mock, kfk) with
# dpkg-buildpackage -us -uc -b from a copy of the tracked tree, runs
# lintian on them, unpacks them into a scratch root (dpkg -x, no root
# needed) and builds and runs tests/install/app.c and mock_app.c against
# that root through pkg-config and CMake's find_package, checks that
# find_package(libkafka) also works with libkafka-dev alone, and runs the
# packaged kafka-mock, and the packaged kfk against it. Takes a few minutes (a full -O2
# build), so ctest does not run it; scripts/test.sh does.
#
#   scripts/build-deb.sh [out-dir]    packages and logs go to out-dir
#                                     (default build-deb/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/build-deb}" && cd "${1:-$root/build-deb}" && pwd)
"$root/tests/release/versions.sh" "$root"
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A clean copy: tracked and new (not ignored) files, no build directories.
src=$work/libkafka-$version
mkdir -p "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    # (files deleted but still tracked are skipped)
    (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null || true)
else
    tar -C "$root" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$src" -xf -
fi

echo "build-deb: dpkg-buildpackage -us -uc -b (log: $out/build.log)"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=${JOBS:-2} nocheck" dpkg-buildpackage -us -uc -b) \
    >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
tail -3 "$out/build.log"
rm -f "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mv "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out/"
ls -1 "$out"/*.deb

echo "build-deb: lintian"
lintian --fail-on error,warning --info "$out"/*.changes | tee "$out/lintian.log"

echo "build-deb: unpack and build a program against the packages"
scratch=$work/root
for deb in "$out"/*.deb; do dpkg -x "$deb" "$scratch"; done
libdir=$(dirname "$(find "$scratch" -name libkafka.pc)")/..
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -std=c11 -Wall -Wextra -Werror -o "$work/app" "$root/tests/install/app.c" $(pkg-config --cflags --libs libkafka)
LD_LIBRARY_PATH=$libdir "$work/app"
cmake -S "$root/tests/install" -B "$work/cm" -DCMAKE_PREFIX_PATH="$scratch/usr" >/dev/null
cmake --build "$work/cm" >"$out/cmake-app.log" 2>&1 || { cat "$out/cmake-app.log"; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/cm/app"
"$work/cm/app_static"

echo "build-deb: the mock packages"
cc -std=c11 -Wall -Wextra -Werror -o "$work/mock_app" "$root/tests/install/mock_app.c" \
   $(pkg-config --cflags --libs libkafka-mock libkafka)
LD_LIBRARY_PATH=$libdir "$work/mock_app"
[ -x "$work/cm/mock_app" ] || { echo "build-deb: CMake found no libkafka::kafka_mock"; exit 1; }
LD_LIBRARY_PATH=$libdir "$work/cm/mock_app"
"$work/cm/mock_app_static"
printf 'topic t 2\noffsets t 1\nquit\n' | LD_LIBRARY_PATH=$libdir "$scratch/usr/bin/kafka-mock" --brokers 2 \
    >"$work/mock.out"
sed -n 2,3p "$work/mock.out" | tr '\n' ' ' | grep -qx 'ok ok 0 0 ' || { cat "$work/mock.out"; exit 1; }
[ -f "$scratch/usr/share/man/man1/kafka-mock.1.gz" ] || { echo "build-deb: no kafka-mock man page"; exit 1; }

echo "build-deb: the kfk package"
[ -f "$scratch/usr/share/man/man1/kfk.1.gz" ] || { echo "build-deb: no kfk man page"; exit 1; }
coproc MOCK { LD_LIBRARY_PATH=$libdir exec "$scratch/usr/bin/kafka-mock" --brokers 1 --topic k:1; }
read -r -t 10 bs <&"${MOCK[0]}" || { echo "build-deb: kafka-mock printed no bootstrap list"; exit 1; }
echo hello | LD_LIBRARY_PATH=$libdir "$scratch/usr/bin/kfk" -b "$bs" produce k
got=$(LD_LIBRARY_PATH=$libdir "$scratch/usr/bin/kfk" -b "$bs" consume k -e)
echo quit >&"${MOCK[1]}"
wait "$MOCK_PID"
[ "$got" = hello ] || { echo "build-deb: the packaged kfk read '$got', not 'hello'"; exit 1; }

echo "build-deb: libkafka-dev without the mock packages"
lean=$work/lean
for deb in "$out"/libkafka0.1_*.deb "$out"/libkafka-dev_*.deb; do dpkg -x "$deb" "$lean"; done
! find "$lean" -iname '*mock*' | grep . || exit 1
cmake -S "$root/tests/install" -B "$work/cm-lean" -DCMAKE_PREFIX_PATH="$lean/usr" >/dev/null
cmake --build "$work/cm-lean" >"$out/cmake-lean.log" 2>&1 || { cat "$out/cmake-lean.log"; exit 1; }
LD_LIBRARY_PATH=$(dirname "$(find "$lean" -name libkafka.pc)")/.. "$work/cm-lean/app"
echo "build-deb: ok ($(cd "$out" && ls *.deb | tr '\n' ' '))"
