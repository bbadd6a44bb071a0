#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# NFSv4 with the Linux kernel client: mounts dfs in a vmtest VM with vers=4.0, 4.1 and 4.2 and
# runs the POSIX checks of nfs3_posix_guest.sh through each (NFS_VERS), then the locking and
# session checks of nfs4_lock_guest.sh (fcntl and flock locks between processes and between
# a 4.1 and a 4.0 mount, a blocking lock, nconnect=4), and last a lock held across a restart
# of dfs and reclaimed in the grace period (the share is durable: RocksDB and local blocks).
#
# usage: kernel_nfs4_test.sh [DFS_BIN] [VERSIONS]   (VERSIONS: default "4.0 4.1 4.2")
#
# Environment: NFS4_FULL_VERSIONS (default: all of VERSIONS): the versions that also get the slow
# checks (10000 files in one directory, cp -a + diff -r, 64 MiB of fio); the others run the same
# checks smaller (NFS_LIGHT in nfs3_posix_guest.sh). NFS4_FULL_VERSIONS=4.1 saves about 6 minutes
# under TCG emulation.
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
dfs_bin=${1:-${DFS_BIN:-$repo_root/build/bin/dfs}}
versions=${2:-4.0 4.1 4.2}
full_versions=${NFS4_FULL_VERSIONS:-$versions}
test_name=kernel_nfs4_test
# shellcheck source=common.sh
source "$here/common.sh"

[[ -x "$dfs_bin" ]] || { log "FAIL: dfs binary not found at $dfs_bin"; exit 1; }
vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_nfs4_test.XXXXXX")
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
portmap_port=$(free_port)
mkdir -p "$work/state" "$work/guest"
cat >"$work/dfs.yaml" <<YAML
logging: {level: ${DFS_LOG_LEVEL:-info}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $portmap_port, grace_s: 20}
smb: {enabled: false}
api: {bind: 127.0.0.1, port: 0}
shares:
  - name: /export
    metadata: rocksdb
    block: localfs
    squash: none
    root_mode: "1777"
YAML
log "starting $dfs_bin on 127.0.0.1:$nfs_port"
start_dfs "$work/dfs.yaml" "$nfs_port"

cp "$here/nfs3_posix_guest.sh" "$here/nfs4_lock_guest.sh" "$here/guest_lib.sh" "$work/guest/"
chmod +x "$work/guest/"*.sh
{
  echo '#!/usr/bin/env bash'
  echo 'status=0'
  for v in $versions; do
    echo "echo '=== NFS_VERS=$v'"
    light=1
    for f in $full_versions; do [[ $f == "$v" ]] && light=; done
    echo "NFS_LIGHT=$light NFS_VERS=$v $work/guest/nfs3_posix_guest.sh $nfs_port || status=1"
  done
  echo "echo '=== locks and sessions'"
  echo "RESTART_DIR=$work/guest $work/guest/nfs4_lock_guest.sh $nfs_port || status=1"
  echo 'exit $status'
} >"$work/guest/run.sh"
chmod +x "$work/guest/run.sh"

log "running the checks in the VM (versions: $versions; the slow checks on: $full_versions)"
vm_status=0
vm_start=$SECONDS
"$vm_run" --share "$work/guest" --forward "$nfs_port:$nfs_port" --timeout 2400 -- \
  "$work/guest/run.sh" &
vm_pid=$!
# The guest asks for a restart of dfs while it holds a lock (nfs4_lock_guest.sh).
while kill -0 "$vm_pid" 2>/dev/null; do
  if [[ -e "$work/guest/restart-request" ]]; then
    rm -f "$work/guest/restart-request"
    log "restarting dfs (the guest holds a lock)"
    kill -TERM "$dfs_pid"
    wait "$dfs_pid" || true
    mv "$work/dfs.log" "$work/dfs.log.before-restart"
    start_dfs "$work/dfs.yaml" "$nfs_port"
    touch "$work/guest/restarted"
  fi
  sleep 0.2
done
wait "$vm_pid" || vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"

stop_dfs
if [[ $vm_status -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks failed (status $vm_status)"
  exit 1
fi
log "PASS"
