#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Mounts dfs with the Linux kernel's NFSv3 client (in a vmtest VM, since this host's kernel has
# no NFS client) and runs nfs3_posix_guest.sh there: file I/O, truncate, rename, links, modes,
# owners, a deep tree, 10,000 files in a directory, cp -a + diff -r, and fio with verification.
#
# usage: kernel_nfs3_test.sh [DFS_BIN]
#        kernel_nfs3_test.sh --server NFS_PORT[:MOUNT_PORT]
#
#   DFS_BIN   the dfs binary (default: $DFS_BIN, else <repo>/build/bin/dfs). The test starts it
#             on a free loopback port with a memory share /export, and at the end stops it with
#             SIGTERM and requires exit status 0.
#   --server  run the guest checks against a server already listening on 127.0.0.1 (used to
#             check this test against a reference server such as nfs-ganesha); nothing is
#             started or stopped.
#
# Environment: VMTEST_DIR (default <repo>/../shared/vmtest, else /work/shared/vmtest),
# DFS_LOG_LEVEL (default info).
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all. Otherwise failed.
# Takes about 3 to 6 minutes under TCG emulation.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))

external_nfs_port=""
external_mount_port=""
dfs_bin=${DFS_BIN:-$repo_root/build/bin/dfs}
case "${1:-}" in
  --server)
    [[ $# -eq 2 ]] || { echo "usage: $0 --server NFS_PORT[:MOUNT_PORT]" >&2; exit 2; }
    external_nfs_port=${2%%:*}
    external_mount_port=${2#*:}
    ;;
  -h | --help)
    sed -n '3,22p' "$0"
    exit 0
    ;;
  "") ;;
  *) dfs_bin=$1 ;;
esac

test_name=kernel_nfs3_test
# shellcheck source=common.sh
source "$here/common.sh"

if [[ -z "$external_nfs_port" && ! -x "$dfs_bin" ]]; then
  log "FAIL: dfs binary not found at $dfs_bin (pass it as the first argument or set DFS_BIN)"
  exit 1
fi

vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_nfs3_test.XXXXXX")
dfs_pid=""
cleanup() {
  if [[ -n "$dfs_pid" ]] && kill -0 "$dfs_pid" 2>/dev/null; then
    kill -KILL "$dfs_pid" 2>/dev/null || true
    wait "$dfs_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -n "$external_nfs_port" ]]; then
  nfs_port=$external_nfs_port
  mount_port=$external_mount_port
  log "using the server already on 127.0.0.1:$nfs_port (mount port $mount_port)"
else
  nfs_port=$(free_port)
  mount_port=$nfs_port
  portmap_port=$(free_port)
  mkdir -p "$work/state"
  cat >"$work/dfs.yaml" <<EOF
logging: {level: ${DFS_LOG_LEVEL:-info}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $portmap_port}
smb: {enabled: false}
api: {bind: 127.0.0.1, port: 0}
shares:
  - name: /export
    metadata: memory
    block: memory
    squash: none
EOF
  log "starting $dfs_bin on 127.0.0.1:$nfs_port"
  start_dfs "$work/dfs.yaml" "$nfs_port"
fi

# The guest sees the server's NFS port as server:2049 and, when separate, MOUNT as server:20048.
forwards=(--forward "2049:$nfs_port")
guest_mount_port=2049
if [[ "$mount_port" != "$nfs_port" ]]; then
  forwards+=(--forward "20048:$mount_port")
  guest_mount_port=20048
fi
# Our own server also answers the guest's port mapper queries (server:111): it names the NFS
# port under its own number, which is forwarded as such too.
guest_args=()
if [[ -z "$external_nfs_port" ]]; then
  forwards+=(--forward "$nfs_port:$nfs_port" --forward "111:$portmap_port")
  guest_args=(portmap)
fi
mkdir -p "$work/guest"
cp "$here/nfs3_posix_guest.sh" "$here/guest_lib.sh" "$work/guest/"
chmod +x "$work/guest/nfs3_posix_guest.sh"

log "running the POSIX checks in the VM"
vm_start=$SECONDS
vm_status=0
"$vm_run" --share "$work/guest" "${forwards[@]}" --timeout 1500 -- \
  "$work/guest/nfs3_posix_guest.sh" 2049 "$guest_mount_port" ${guest_args[@]+"${guest_args[@]}"} ||
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
  [[ -n "$external_nfs_port" ]] || show_dfs_log
  log "FAIL: guest checks failed (status $vm_status)"
  exit 1
fi
[[ $dfs_status -eq 0 ]] || exit 1
log "PASS"
