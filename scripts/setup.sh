#!/usr/bin/env bash
# Installs every Debian package libkafka's build, tests, demo and benchmarks
# need. Idempotent; prints nothing when everything is already present.
set -euo pipefail

PACKAGES=(
  # build
  gcc make cmake pkg-config python3
  zlib1g-dev libdeflate-dev liblz4-dev libzstd-dev libsnappy-dev libssl-dev
  # tests
  libcmocka-dev librdkafka-dev kcat clang libclang-rt-dev
  openssl socat stunnel4 gzip lz4 zstd valgrind
  python3-kafka  # kafka_mock checked by kafka-python (tests/mock)
  # benchmarks
  gnuplot-nox
  # release checks: ABI (abidiff), reference docs, Debian packages
  abigail-tools doxygen debhelper dpkg-dev lintian fakeroot
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
