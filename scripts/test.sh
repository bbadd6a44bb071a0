#!/usr/bin/env bash
# Installs what is needed, builds and runs every test:
#   1. release build (warnings are errors): unit and integration tests
#   2. debug build with AddressSanitizer + UndefinedBehaviorSanitizer: the same tests
#   3. Samba's smbtorture against the SMB adapter, gated on tests/smb/smbtorture_known_failures.txt
#   4. libFuzzer over the RPC (and RPCSEC_GSS) + MOUNT + NFSv3 + NLM decoders, the journal, the NFSv4 codecs and
#      service (whole client sessions), and SMB2
#      (its decoders, a whole connection, SPNEGO/NTLMSSP, the TRANSFORM_HEADER, DCE/RPC, security
#      descriptors and SIDs), for a
#      bounded time (clang)
#   5. the Linux kernel NFS and cifs clients in a VM (../shared/vmtest) against the release build
# Environment: DFS_FUZZ_SECONDS (default 60), DFS_JOURNAL_FUZZ_SECONDS, DFS_NFS4_FUZZ_SECONDS and
# DFS_SMB_FUZZ_SECONDS (default 30 each; the SPNEGO, crypto and DCE/RPC targets get a third of the
# last), DFS_SKIP_VM=1 to leave out step 5.
set -uo pipefail
cd "$(dirname "$0")/.."
# Let clones in other folders share one compiler cache.
export CCACHE_BASEDIR="$PWD"
scripts/install-deps.sh --tests || exit 1

passed=0
failed=0
step() { printf '\n==== %s ====\n' "$*"; }
record() {  # record NAME STATUS
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS: $1"; else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
run_ctest() {  # run_ctest BUILD_DIR LABEL
  local out
  out=$(mktemp)
  ctest --test-dir "$1" -j"$(nproc)" --output-on-failure --timeout 900 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  local total fail
  total=$(grep -oE 'tests failed out of [0-9]+' "$out" | grep -oE '[0-9]+$' || echo 0)
  fail=$(grep -oE '[0-9]+ tests failed out of' "$out" | grep -oE '^[0-9]+' || echo 0)
  passed=$((passed + total - fail))
  failed=$((failed + fail))
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then failed=$((failed + 1)); fi
  rm -f "$out"
}

step "release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDITTOFS_WERROR=ON >/dev/null &&
  cmake --build build/release
record "release build" $?
step "release tests"
run_ctest build/release

step "smbtorture (Samba's SMB2 test suite)"
tests/smb/smbtorture.sh build/release/bin/dfs
record "smbtorture" $?

step "ASan+UBSan build"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDITTOFS_WERROR=ON \
  -DDITTOFS_SANITIZE=ON -DDITTOFS_BENCH=OFF >/dev/null && cmake --build build/asan
record "asan build" $?
step "ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan_suppressions.txt run_ctest build/asan

step "fuzzing (libFuzzer, ${DFS_FUZZ_SECONDS:-60}s)"
(
  set -e
  CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDITTOFS_FUZZ=ON -DDITTOFS_BENCH=OFF >/dev/null
  cmake --build build/fuzz --target rpc_fuzz rpc_gss_fuzz make_seeds journal_fuzz nfs4_xdr_fuzz make_nfs4_seeds \
    nfs4_server_fuzz smb_wire_fuzz smb_server_fuzz make_smb_seeds smb_auth_fuzz smb_crypto_fuzz \
    smb_rpc_fuzz smb_security_fuzz
  corpus=$(mktemp -d)
  build/fuzz/bin/make_seeds "$corpus"
  build/fuzz/bin/rpc_fuzz -max_total_time="${DFS_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=4096 \
    -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "rpc_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  build/fuzz/bin/rpc_gss_fuzz -max_total_time="$(( ${DFS_FUZZ_SECONDS:-60} / 4 + 1 ))" -timeout=10 \
    -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "rpc_gss_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  cp tests/fuzz/journal_corpus/* "$corpus"/  # inputs that once found bugs come first
  build/fuzz/bin/journal_fuzz -max_total_time="${DFS_JOURNAL_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=262144 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "journal_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  build/fuzz/bin/make_nfs4_seeds "$corpus"  # a COMPOUND of every operation, replies, callbacks
  build/fuzz/bin/nfs4_xdr_fuzz -max_total_time="${DFS_NFS4_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "nfs4_xdr_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  seeds=$(mktemp -d)
  cp tests/fuzz/nfs4_corpus/* "$corpus"/  # inputs that once found bugs
  build/fuzz/bin/make_nfs4_seeds "$seeds" "$corpus"  # whole 4.0 and 4.1 client sessions
  build/fuzz/bin/nfs4_server_fuzz -max_total_time="${DFS_NFS4_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus" "$seeds"
)
record "nfs4_server_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  build/fuzz/bin/smb_wire_fuzz -max_total_time="${DFS_SMB_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "smb_wire_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  cp tests/fuzz/smb_corpus/* "$corpus"/      # inputs that once found bugs
  build/fuzz/bin/make_smb_seeds "$corpus"  # whole sessions in every dialect
  build/fuzz/bin/smb_server_fuzz -max_total_time="${DFS_SMB_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "smb_server_fuzz" $?
for target in smb_auth_fuzz smb_crypto_fuzz smb_rpc_fuzz smb_security_fuzz; do
  (
    set -e
    corpus=$(mktemp -d)
    build/fuzz/bin/$target -max_total_time="$(( ${DFS_SMB_FUZZ_SECONDS:-30} / 3 + 1 ))" -timeout=10 \
      -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
    rm -rf "$corpus"
  )
  record "$target" $?
done

if [ "${DFS_SKIP_VM:-0}" != "1" ]; then
  step "Linux kernel NFSv3 client (VM)"
  tests/vm/kernel_nfs3_test.sh build/release/bin/dfs
  record "kernel nfs3 (vm)" $?
  step "Linux kernel NFSv3 locking: NLM, and against NFSv4.1 and SMB locks (VM)"
  tests/vm/kernel_nlm_test.sh build/release/bin/dfs
  record "kernel nlm (vm)" $?
  step "Linux kernel NFSv4.0/4.1/4.2 client: POSIX, locks, nconnect, reclaim after a restart (VM)"
  tests/vm/kernel_nfs4_test.sh build/release/bin/dfs
  record "kernel nfs4 (vm)" $?
  step "Linux kernel NFSv4.2 client: fallocate, holes, SEEK, xattrs, reflink and server-side copy of 1 GiB (VM)"
  tests/vm/kernel_nfs42_test.sh build/release/bin/dfs
  record "kernel nfs42 (vm)" $?
  step "Linux kernel NFSv4.1 and NFSv3 clients against quotas: df, EDQUOT, every acknowledged byte kept (VM)"
  tests/vm/kernel_quota_test.sh build/release/bin/dfs
  record "kernel quota (vm)" $?
  step "Linux kernel cifs client (VM)"
  # Every dialect mounts and is checked; the slow checks (cp -a, fio) run on 3.1.1 only.
  CIFS_FULL_DIALECTS=${CIFS_FULL_DIALECTS:-3.1.1} tests/vm/kernel_cifs_test.sh build/release/bin/dfs
  record "kernel cifs (vm)" $?
  step "Linux kernel NFSv4 and cifs ACL tools on one ACL, CHANGE_NOTIFY fed by NFS, a cifs reconnect (VM)"
  tests/vm/kernel_acl_test.sh build/release/bin/dfs
  record "kernel acl (vm)" $?
  step "Linux kernel NFS and cifs clients with Kerberos: krb5, krb5i, krb5p over NFSv4.1 and NFSv3, cifs sec=krb5; krb5p and seal hide the data on the wire (VM)"
  tests/vm/kernel_krb5_test.sh build/release/bin/dfs
  record "kernel krb5 (vm)" $?
fi

echo
echo "summary: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
