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
  # OpenSSL 3: SMB crypto, object encryption, NFS over TLS; the TLS tests make certificates
  # with the openssl tool
  libssl-dev openssl
  # RPCSEC_GSS (RFC 2203) for NFS: MIT Kerberos's GSS-API
  libkrb5-dev
  # tests
  libgtest-dev libgmock-dev libbenchmark-dev libnfs-dev libnfs-utils
  clang libclang-rt-14-dev
  b3sum  # BLAKE3 is checked against the reference tool
  unicode-data  # case folding is checked against CaseFolding.txt
  postgresql  # the control-plane database tests start a throwaway server
  # SMB clients nobody here wrote: Samba's smbclient and smbtorture, and impacket
  smbclient samba-testsuite python3-impacket python3-pycryptodome
  # the tests make control-plane users through the REST API (smbtorture.sh, integration tests)
  curl
  # the Kerberos integration test starts its own MIT KDC and is a python-gssapi client
  krb5-kdc krb5-admin-server krb5-user python3-gssapi
  # the NFSv4.2 VM test reads what dfs's sockets received (ss)
  iproute2
)
# --bench: also what bench/run_compare.sh and bench/run_smb_compare.sh compare with. --tests: also the tests' own servers.
bench=false
tests=false
for arg in "$@"; do
  case "$arg" in
    --bench) bench=true ;;
    --tests) tests=true ;;
    *) echo "install-deps: unknown argument $arg" >&2; exit 2 ;;
  esac
done
if $bench; then
  packages+=(nfs-ganesha nfs-ganesha-mem rpcbind samba libsmbclient-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
# Node.js and npm run the S3-compatible server of the tests; a machine may have them from
# elsewhere than Debian, so Debian's are installed only when there are none.
if $tests && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The S3 test server (npm s3rver), into .cache/ of the repository.
if $tests; then
  "$(dirname "${BASH_SOURCE[0]}")/install-s3-test-server.sh"
fi
