#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# NFSv3 locking with the Linux kernel client: mounts dfs in a vmtest VM *without* nolock (the
# guest runs rpcbind and rpc.statd; its lock manager finds NLM through dfs's port mapper,
# forwarded as server:111) and runs nlm_guest.sh: fcntl locks between processes and between
# two mounts, flock, a blocking lock granted when its holder lets go, and NFS locks against
# SMB locks taken on the host by impacket (smb_side.py) on the same file.
#
# usage: kernel_nlm_test.sh [DFS_BIN]
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all or impacket
# is missing. Takes about 1 to 2 minutes under TCG emulation.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
dfs_bin=${1:-${DFS_BIN:-$repo_root/build/bin/dfs}}
test_name=kernel_nlm_test
# shellcheck source=common.sh
source "$here/common.sh"

if ! /usr/bin/python3 -c 'import impacket.smbconnection' 2>/dev/null; then
  echo "SKIPPED: python3-impacket is not installed"
  exit 0
fi
[[ -x "$dfs_bin" ]] || { log "FAIL: dfs binary not found at $dfs_bin"; exit 1; }

vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_nlm_test.XXXXXX")
dfs_pid=""
smb_pid=""
cleanup() {
  for pid in "$smb_pid" "$dfs_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

nfs_port=$(free_port)
smb_port=$(free_port)
portmap_port=$(free_port)
mkdir -p "$work/state" "$work/guest"
cat >"$work/dfs.yaml" <<YAML
logging: {level: ${DFS_LOG_LEVEL:-info}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $portmap_port}
smb: {bind: 127.0.0.1, port: $smb_port}
api: {bind: 127.0.0.1, port: 0}
shares:
  - name: /export
    metadata: memory
    block: memory
    squash: none
    root_mode: "1777"
YAML
log "starting $dfs_bin: NFS on :$nfs_port, port mapper on :$portmap_port, SMB on :$smb_port"
start_dfs "$work/dfs.yaml" "$nfs_port" "$smb_port"
read_admin_password

cp "$here/nlm_guest.sh" "$work/guest/"
chmod +x "$work/guest/nlm_guest.sh"
/usr/bin/python3 "$here/smb_side.py" 127.0.0.1 "$smb_port" admin "$password" export "$work/guest" \
  >"$work/smb_side.log" 2>&1 &
smb_pid=$!

log "running the locking checks in the VM"
vm_status=0
vm_start=$SECONDS
"$vm_run" --share "$work/guest" --forward "$nfs_port:$nfs_port" --forward "111:$portmap_port" \
  --timeout 900 -- "$work/guest/nlm_guest.sh" "$nfs_port" || vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"
smb_status=0
wait "$smb_pid" || smb_status=$?
smb_pid=""
sed 's/^/  host SMB: /' "$work/smb_side.log" >&2

stop_dfs
if [[ $vm_status -ne 0 || $smb_status -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks (status $vm_status) or host SMB side (status $smb_status) failed"
  exit 1
fi
log "PASS"
