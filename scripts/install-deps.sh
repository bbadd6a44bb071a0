#!/usr/bin/env bash
# Installs the Debian 12 packages DittoFS needs to build, run and test. Idempotent: when every
# package is present it does nothing (and needs no network).
set -euo pipefail

packages=(
  # build
  cmake ninja-build ccache g++ pkg-config python3 git
  # libraries
  libasio-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libcli11-dev
  libsqlite3-dev libpq-dev nlohmann-json3-dev
  libsodium-dev nettle-dev libjwt-dev
  libcpp-httplib-dev
  librocksdb-dev liblz4-dev libzstd-dev zlib1g-dev libcurl4-openssl-dev
  # tests
  libgtest-dev libgmock-dev libbenchmark-dev libnfs-dev libnfs-utils
  clang libclang-rt-14-dev
  b3sum  # BLAKE3 is checked against the reference tool
  postgresql  # the control-plane database tests start a throwaway server
)
if [ "${1:-}" = "--bench" ]; then
  packages+=(nfs-ganesha nfs-ganesha-mem rpcbind)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
