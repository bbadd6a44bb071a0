#!/usr/bin/env bash
# Installs what is needed, builds and runs every test:
#   1. release build (g++, warnings are errors): unit and integration tests
#   2. Samba's smbtorture against the SMB adapter, gated on tests/smb/smbtorture_known_failures.txt
#   3. the Linux kernel NFS and cifs clients in a VM (../shared/vmtest) against the release build
#   4. one clang build with AddressSanitizer + UndefinedBehaviorSanitizer and libFuzzer's
#      coverage (built in the background, at the lowest priority, during steps 2 and 3): the
#      same unit and integration tests, then libFuzzer for a bounded time over the
#      RPC (and RPCSEC_GSS) + MOUNT + NFSv3 + NLM decoders, the journal, the NFSv4 codecs and
#      service (whole client sessions), and SMB2 (its decoders, a whole connection,
#      SPNEGO/NTLMSSP, the TRANSFORM_HEADER, DCE/RPC, security descriptors and SIDs)
# Each step prints the time since the start, so a slow step shows.
# Environment: DFS_FUZZ_SECONDS (default 60), DFS_JOURNAL_FUZZ_SECONDS, DFS_NFS4_FUZZ_SECONDS and
# DFS_SMB_FUZZ_SECONDS (default 30 each; the SPNEGO, crypto and DCE/RPC targets get a third of the
# last), DFS_SKIP_VM=1 to leave out step 3.
set -uo pipefail
cd "$(dirname "$0")/.."
# Let clones in other folders share one compiler cache.
export CCACHE_BASEDIR="$PWD"
scripts/install-deps.sh --tests || exit 1

passed=0
failed=0
start=$SECONDS
step() { printf '\n==== %s (at %dm%02ds) ====\n' "$*" $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)); }
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
# -g1 (line tables and function names, enough for a stack trace) builds about 30 % faster than -g.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDITTOFS_WERROR=ON \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  >/dev/null && cmake --build build/release
record "release build" $?
step "release tests"
run_ctest build/release

# One build serves the sanitizer tests and the fuzz targets. -O1 with line tables only: quicker
# to build and to run than -O0 -g, asserts kept (no NDEBUG), and stack traces still name lines.
# It builds in the background at the lowest priority while smbtorture and the VM tests run: they
# mostly wait (on the emulated VM, on timeouts), and their timing keeps first call on the CPU.
step "ASan+UBSan build (clang, with libFuzzer's coverage): starting it in the background"
asan_build_log=$(mktemp)
(
  CC=clang CXX=clang++ cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DDITTOFS_SANITIZE=ON -DDITTOFS_FUZZ=ON -DDITTOFS_BENCH=OFF >/dev/null &&
    nice -n 19 cmake --build build/asan -j "$(nproc)"
) >"$asan_build_log" 2>&1 &
asan_build_pid=$!

step "smbtorture (Samba's SMB2 test suite)"
tests/smb/smbtorture.sh build/release/bin/dfs
record "smbtorture" $?

# vm_test TITLE NAME COMMAND...: one VM step, run and recorded.
vm_test() {
  step "$1"
  local name=$2
  shift 2
  "$@"
  record "$name" $?
}
if [ "${DFS_SKIP_VM:-0}" != "1" ]; then
  dfs=build/release/bin/dfs
  vm_test "Linux kernel NFSv3 client (VM)" "kernel nfs3 (vm)" tests/vm/kernel_nfs3_test.sh $dfs
  vm_test "Linux kernel NFSv3 locking: NLM, and against NFSv4.1 and SMB locks (VM)" \
    "kernel nlm (vm)" tests/vm/kernel_nlm_test.sh $dfs
  # Every version runs every check; the slow ones (10000 files, cp -a, fio) at full size on 4.1.
  vm_test "Linux kernel NFSv4.0/4.1/4.2 client: POSIX, locks, nconnect, reclaim after a restart (VM)" \
    "kernel nfs4 (vm)" env NFS4_FULL_VERSIONS="${NFS4_FULL_VERSIONS:-4.1}" \
    tests/vm/kernel_nfs4_test.sh $dfs
  vm_test "Linux kernel NFSv4.2 client: fallocate, holes, SEEK, xattrs, reflink and server-side copy of 1 GiB (VM)" \
    "kernel nfs42 (vm)" tests/vm/kernel_nfs42_test.sh $dfs
  vm_test "Linux kernel NFSv4.1 and NFSv3 clients against quotas: df, EDQUOT, every acknowledged byte kept (VM)" \
    "kernel quota (vm)" tests/vm/kernel_quota_test.sh $dfs
  # Every dialect mounts and is checked; the slow checks (cp -a, fio) run on 3.1.1 only.
  vm_test "Linux kernel cifs client (VM)" "kernel cifs (vm)" \
    env CIFS_FULL_DIALECTS="${CIFS_FULL_DIALECTS:-3.1.1}" tests/vm/kernel_cifs_test.sh $dfs
  vm_test "Linux kernel NFSv4 and cifs ACL tools on one ACL, CHANGE_NOTIFY fed by NFS, a cifs reconnect (VM)" \
    "kernel acl (vm)" tests/vm/kernel_acl_test.sh $dfs
  vm_test "Linux kernel NFS and cifs clients with Kerberos: krb5, krb5i, krb5p over NFSv4.1 and NFSv3, cifs sec=krb5; krb5p and seal hide the data on the wire (VM)" \
    "kernel krb5 (vm)" tests/vm/kernel_krb5_test.sh $dfs
fi


step "ASan+UBSan build (clang, with libFuzzer's coverage): waiting for it"
wait "$asan_build_pid"
asan_build_status=$?
if [ "$asan_build_status" -eq 0 ]; then
  tail -n 2 "$asan_build_log"
else
  grep -E -A 12 '^FAILED|error:' "$asan_build_log" | head -n 150
  tail -n 5 "$asan_build_log"
fi
rm -f "$asan_build_log"
record "asan build" $asan_build_status
step "ASan+UBSan tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan_suppressions.txt run_ctest build/asan

step "fuzzing (libFuzzer, ${DFS_FUZZ_SECONDS:-60}s)"
(
  set -e
  corpus=$(mktemp -d)
  build/asan/bin/make_seeds "$corpus"
  build/asan/bin/rpc_fuzz -max_total_time="${DFS_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=4096 \
    -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "rpc_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  build/asan/bin/rpc_gss_fuzz -max_total_time="$(( ${DFS_FUZZ_SECONDS:-60} / 4 + 1 ))" -timeout=10 \
    -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "rpc_gss_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  cp tests/fuzz/journal_corpus/* "$corpus"/  # inputs that once found bugs come first
  build/asan/bin/journal_fuzz -max_total_time="${DFS_JOURNAL_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=262144 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "journal_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  build/asan/bin/make_nfs4_seeds "$corpus"  # a COMPOUND of every operation, replies, callbacks
  build/asan/bin/nfs4_xdr_fuzz -max_total_time="${DFS_NFS4_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "nfs4_xdr_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  seeds=$(mktemp -d)
  cp tests/fuzz/nfs4_corpus/* "$corpus"/  # inputs that once found bugs
  build/asan/bin/make_nfs4_seeds "$seeds" "$corpus"  # whole 4.0 and 4.1 client sessions
  build/asan/bin/nfs4_server_fuzz -max_total_time="${DFS_NFS4_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus" "$seeds"
)
record "nfs4_server_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  build/asan/bin/smb_wire_fuzz -max_total_time="${DFS_SMB_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "smb_wire_fuzz" $?
(
  set -e
  corpus=$(mktemp -d)
  cp tests/fuzz/smb_corpus/* "$corpus"/      # inputs that once found bugs
  build/asan/bin/make_smb_seeds "$corpus"  # whole sessions in every dialect
  build/asan/bin/smb_server_fuzz -max_total_time="${DFS_SMB_FUZZ_SECONDS:-30}" -timeout=10 \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
  rm -rf "$corpus"
)
record "smb_server_fuzz" $?
for target in smb_auth_fuzz smb_crypto_fuzz smb_rpc_fuzz smb_security_fuzz; do
  (
    set -e
    corpus=$(mktemp -d)
    build/asan/bin/$target -max_total_time="$(( ${DFS_SMB_FUZZ_SECONDS:-30} / 3 + 1 ))" -timeout=10 \
      -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 "$corpus" 2>&1 | tail -n 15
    rm -rf "$corpus"
  )
  record "$target" $?
done

echo
echo "summary: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
