#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Quotas (docs/quotas.md) with the Linux kernel NFS client (vmtest VM): dfsctl sets a byte
# limit on the share and a file limit on root (uid 0, whom the guest writes as); then over
# NFSv4.1 and NFSv3 the guest checks that df shows the quota, that the write that would pass
# the limit fails with EDQUOT, and that the file keeps every byte written before it (read back
# after a remount, so from the server). See quota_guest.sh for the guest's checks. The host
# checks that dfsctl's report counts what the guest left.
#
# In the same VM run, snapshots (docs/snapshots.md) on a second share, /snap: the host writes
# doc.txt through libnfs and takes snapshot "daily" with dfsctl; the guest writes doc.txt
# again, then reads both versions over NFSv4.1 and NFSv3 and finds the snapshot read-only
# (snapshot_guest.sh).
#
# usage: kernel_quota_test.sh [DFS_BIN]   (dfsctl must be next to it)
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
dfs_bin=${1:-${DFS_BIN:-$repo_root/build/bin/dfs}}
dfsctl_bin=$(dirname "$dfs_bin")/dfsctl
test_name=kernel_quota_test
# shellcheck source=common.sh
source "$here/common.sh"

command -v nfs-cp >/dev/null || { log "FAIL: nfs-cp (libnfs-utils) not found"; exit 1; }
for bin in "$dfs_bin" "$dfsctl_bin"; do
  [[ -x "$bin" ]] || { log "FAIL: $(basename "$bin") binary not found at $bin"; exit 1; }
done
vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_quota_test.XXXXXX")
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
api_port=$(free_port)
portmap_port=$(free_port)
mkdir -p "$work/state" "$work/guest"
cat >"$work/dfs.yaml" <<YAML
logging: {level: ${DFS_LOG_LEVEL:-info}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $portmap_port}
smb: {bind: 127.0.0.1, port: $smb_port}
api: {bind: 127.0.0.1, port: $api_port}
shares:
  - name: /export
    metadata: rocksdb
    block: tiered
    squash: none
    root_mode: "1777"
  - name: /snap
    metadata: rocksdb
    block: tiered
    squash: none
    root_mode: "1777"
YAML
log "starting $dfs_bin: NFS on :$nfs_port"
start_dfs "$work/dfs.yaml" "$nfs_port" "$smb_port" "$api_port"
read_admin_password
dfsctl() { XDG_CONFIG_HOME=$work/dfsctl "$dfsctl_bin" "$@"; }
limit=$((24 << 20))
if ! {
  dfsctl login --server "http://127.0.0.1:$api_port" --user admin --password-stdin \
    <<<"$password" &&
    dfsctl user change-password --current "$password" --new Quota-Admin-Pw-1 &&
    dfsctl quota set /export --share --hard-bytes "$limit" &&
    dfsctl quota set /export --user 0 --hard-files 100
} >"$work/dfsctl.log" 2>&1; then
  sed 's/^/  dfsctl: /' "$work/dfsctl.log" >&2
  log "FAIL: setting the quotas with dfsctl"
  exit 1
fi

# /snap: doc.txt (v1) and snapshot "daily"; the guest writes v2 over doc.txt.
snap_url() { echo "nfs://127.0.0.1/snap/$1?nfsport=$nfs_port&mountport=$nfs_port&version=3"; }
head -c 100000 /dev/urandom >"$work/guest/v1"
head -c 200000 /dev/urandom >"$work/guest/v2"
if ! {
  nfs-cp "$work/guest/v1" "$(snap_url doc.txt)" && dfsctl snapshot create /snap daily
} >"$work/snap.log" 2>&1; then
  sed 's/^/  /' "$work/snap.log" >&2
  log "FAIL: writing /snap and taking its snapshot"
  exit 1
fi

cp "$here/quota_guest.sh" "$here/snapshot_guest.sh" "$here/guest_lib.sh" "$work/guest/"
chmod +x "$work/guest/quota_guest.sh" "$work/guest/snapshot_guest.sh"
log "running the quota and snapshot checks in the VM"
vm_status=0
vm_start=$SECONDS
"$vm_run" --share "$work/guest" --forward "$nfs_port:$nfs_port" --timeout 900 -- \
  bash -c 'q=0; s=0; "$1/quota_guest.sh" "$2" "$3" || q=$?; "$1/snapshot_guest.sh" "$2" || s=$?
           exit $((q | s))' guest "$work/guest" "$nfs_port" "$limit" || vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"

report=$(dfsctl quota get /export --share -o json 2>&1) || true
echo "  dfsctl quota get --share: $report" >&2
used=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["used_bytes"])' "$report" 2>/dev/null || echo -1)
# What the guest left: v4 and v3, each the bytes acknowledged before the refusal.
kept=$(cat "$work/guest/kept" 2>/dev/null || echo -2)
host_check "dfsctl counts the bytes the guest's files hold ($used = $kept)" test "$used" = "$kept"
host_check "and they are within the share's limit" test "$used" -le "$limit"

stop_dfs
if [[ $vm_status -ne 0 || $host_fails -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks (status $vm_status) or host checks ($host_fails failed)"
  exit 1
fi
log "PASS"
