#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Mounts dfs with the Linux kernel's cifs client (in a vmtest VM, since this host's kernel has no
# cifs client) and runs cifs_guest.sh there: for SMB 2.1, 3.0, 3.1.1, 3.1.1 with encryption
# (seal) and 3.1.1 with the POSIX extensions, files of several sizes, mkdir/rmdir, rename, unlink,
# truncate, ls -l of 1000 files, cp -a + diff -r and fio with verification; the share is also
# mounted over NFSv3 in the same guest, and files written over one protocol must read back
# identically over the other.
#
# usage: kernel_cifs_test.sh [DFS_BIN]
#
#   DFS_BIN   the dfs binary (default: $DFS_BIN, else <repo>/build/bin/dfs). The test starts it
#             on free loopback ports (SMB and NFS) with a memory share /export, takes admin's
#             initial password from its output, and at the end stops it with SIGTERM and
#             requires exit status 0. The guest reaches SMB as server:12445, NFS as server:2049.
#
# Environment: VMTEST_DIR (default <repo>/../shared/vmtest, else /work/shared/vmtest),
# DFS_LOG_LEVEL (default info), CIFS_DIALECTS (default "2.1 3.0 3.1.1 3.1.1,seal 3.1.1,posix"),
# CIFS_FULL_DIALECTS (default: all of them; the dialects that also get the slow checks, see
# cifs_guest.sh; CIFS_FULL_DIALECTS=3.1.1 about halves the run).
#
# Exit status 0: passed (the POSIX-extensions mount may report "KNOWN-FAILURE: <reason>: ..." lines
# for what the guest's cifs client cannot do, which do not fail the test), or "SKIPPED: <reason>"
# when the VM cannot start at all.
# Otherwise failed. Takes about 5 minutes under TCG emulation (2.5 with CIFS_FULL_DIALECTS=3.1.1).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))

dfs_bin=${DFS_BIN:-$repo_root/build/bin/dfs}
case "${1:-}" in
  -h | --help)
    sed -n '3,25p' "$0"
    exit 0
    ;;
  "") ;;
  *) dfs_bin=$1 ;;
esac

test_name=kernel_cifs_test
# shellcheck source=common.sh
source "$here/common.sh"

if [[ ! -x "$dfs_bin" ]]; then
  log "FAIL: dfs binary not found at $dfs_bin (pass it as the first argument or set DFS_BIN)"
  exit 1
fi

vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_cifs_test.XXXXXX")
dfs_pid=""
cleanup() {
  if [[ -n "$dfs_pid" ]] && kill -0 "$dfs_pid" 2>/dev/null; then
    kill -KILL "$dfs_pid" 2>/dev/null || true
    wait "$dfs_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

nfs_port=$(free_port)
smb_port=$(free_port)
while [[ "$smb_port" == "$nfs_port" ]]; do smb_port=$(free_port); done
mkdir -p "$work/state"
cat >"$work/dfs.yaml" <<EOF
logging: {level: ${DFS_LOG_LEVEL:-info}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port}
smb: {bind: 127.0.0.1, port: $smb_port}
api: {bind: 127.0.0.1, port: 0}
shares:
  - name: /export
    metadata: memory
    block: memory
    squash: none
EOF
log "starting $dfs_bin: NFS on 127.0.0.1:$nfs_port, SMB on 127.0.0.1:$smb_port"
start_dfs "$work/dfs.yaml" "$nfs_port" "$smb_port"
read_admin_password

mkdir -p "$work/guest"
cp "$here/cifs_guest.sh" "$here/guest_lib.sh" "$work/guest/"
chmod +x "$work/guest/cifs_guest.sh"
# A mount.cifs credentials file: the password is taken to the end of the line as it is, so no
# character in it needs quoting (unlike in -o password=...).
printf 'username=admin\npassword=%s\n' "$password" >"$work/guest/credentials"
chmod 600 "$work/guest/credentials"

read -r -a dialects <<<"${CIFS_DIALECTS:-2.1 3.0 3.1.1 3.1.1,seal 3.1.1,posix}"
log "running the cifs checks in the VM (dialects: ${dialects[*]})"
vm_start=$SECONDS
vm_status=0
"$vm_run" --share "$work/guest" --forward "12445:$smb_port" --forward "2049:$nfs_port" \
  --timeout 900 -- env CIFS_FULL_DIALECTS="${CIFS_FULL_DIALECTS:-${dialects[*]}}" \
  "$work/guest/cifs_guest.sh" 12445 2049 "$work/guest/credentials" "${dialects[@]}" ||
  vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"

dfs_status=0
if [[ -n "$dfs_pid" ]]; then
  if ! kill -0 "$dfs_pid" 2>/dev/null; then
    wait "$dfs_pid" || dfs_status=$?
    log "FAIL: dfs exited during the test (status $dfs_status)"
    show_dfs_log
    exit 1
  fi
  kill -TERM "$dfs_pid"
  deadline=$((SECONDS + 30))
  while kill -0 "$dfs_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$dfs_pid" 2>/dev/null; then
    log "FAIL: dfs did not exit within 30 s of SIGTERM"
    show_dfs_log
    exit 1
  fi
  wait "$dfs_pid" || dfs_status=$?
  dfs_pid=""
  if [[ $dfs_status -ne 0 ]]; then
    log "FAIL: dfs exited with status $dfs_status after SIGTERM (expected 0)"
    show_dfs_log
  fi
fi

if [[ $vm_status -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks failed (status $vm_status)"
  exit 1
fi
[[ $dfs_status -eq 0 ]] || exit 1
log "PASS"
