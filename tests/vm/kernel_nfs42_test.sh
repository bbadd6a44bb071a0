#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# NFSv4.2 with the Linux kernel client (vmtest VM, vers=4.2) over the server's default store,
# tiered (RocksDB metadata, a journal in front of a filesystem remote): fallocate, punching
# holes (du shrinks), SEEK_DATA/SEEK_HOLE, user.* xattrs, and on a 1 GiB file of random bytes
# that the host writes first (libnfs' nfs-cp), cp --reflink=always (CLONE) and copy_file_range
# (COPY). See nfs42_guest.sh for the guest's checks. The host side checks:
#   * around the clone and the copy, what dfs's NFS sockets received (ss: tcp_info's
#     bytes_received, summed): well under a MiB each, so no data crossed the wire;
#   * the remote's bytes (du of its directory) do not grow with either;
#   * both copies read back (nfs-cat) with the source's SHA-256;
#   * the xattr the guest set over NFS is the EA "colour" over SMB (smb_peer.py, impacket);
#   * FSCTL_DUPLICATE_EXTENTS_TO_FILE over SMB clones the same 1 GiB, FSCTL_SET_ZERO_DATA punches
#     it and FSCTL_QUERY_ALLOCATED_RANGES then reports the data after the hole.
#
# usage: kernel_nfs42_test.sh [DFS_BIN]   (dfsctl must be next to it)
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
dfs_bin=${1:-${DFS_BIN:-$repo_root/build/bin/dfs}}
dfsctl_bin=$(dirname "$dfs_bin")/dfsctl
test_name=kernel_nfs42_test
# shellcheck source=common.sh
source "$here/common.sh"

for bin in "$dfs_bin" "$dfsctl_bin"; do
  [[ -x "$bin" ]] || { log "FAIL: $(basename "$bin") binary not found at $bin"; exit 1; }
done
for tool in nfs-cp nfs-cat ss; do
  command -v "$tool" >/dev/null || { log "FAIL: $tool is not installed (scripts/install-deps.sh)"; exit 1; }
done
vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_nfs42_test.XXXXXX")
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
    tiered: {carve_after_ms: 1000}
    squash: none
    root_mode: "1777"
YAML
log "starting $dfs_bin: NFS on :$nfs_port, SMB on :$smb_port"
start_dfs "$work/dfs.yaml" "$nfs_port" "$smb_port" "$api_port"
read_admin_password
admin_password=Nfs42-Admin-Pw-1
dfsctl() { XDG_CONFIG_HOME=$work/dfsctl "$dfsctl_bin" "$@"; }
if ! {
  dfsctl login --server "http://127.0.0.1:$api_port" --user admin --password-stdin \
    <<<"$password" &&
    dfsctl user change-password --current "$password" --new "$admin_password"
} >"$work/dfsctl.log" 2>&1; then
  sed 's/^/  dfsctl: /' "$work/dfsctl.log" >&2
  log "FAIL: setting admin's password with dfsctl"
  exit 1
fi

nfs_url() { echo "nfs://127.0.0.1/export/$1?nfsport=$nfs_port&mountport=$nfs_port&version=3"; }
remote_bytes() { du -sb "$work/state/remote" 2>/dev/null | cut -f1; }
# What dfs's NFS sockets received so far (the established connections' tcp_info).
received() {
  ss -tinH state established "( sport = :$nfs_port )" |
    { grep -o 'bytes_received:[0-9]*' || true; } | cut -d: -f2 | awk '{s += $1} END {print s + 0}'
}

log "writing the 1 GiB file 'big' of random bytes through libnfs"
head -c 1G /dev/urandom >"$work/big"
big_sha=$(sha256sum "$work/big" | cut -d' ' -f1)
start=$SECONDS
nfs-cp "$work/big" "$(nfs_url big)" >/dev/null
rm -f "$work/big"
log "  written in $((SECONDS - start)) s"
# The clone and the copy are measured once big is carved and uploaded (random bytes: about
# 1 GiB on the remote), so that neither waits for it nor counts its upload.
start=$SECONDS
last=$(wait_for_upload "$work/state/remote" 1073741824 300)
log "  carved and uploaded after $((SECONDS - start)) s more (the remote holds $last bytes)"

cp "$here/nfs42_guest.sh" "$work/guest/"
chmod +x "$work/guest/nfs42_guest.sh"
log "running the NFSv4.2 checks in the VM"
vm_status=0
vm_start=$SECONDS
"$vm_run" --share "$work/guest" --forward "$nfs_port:$nfs_port" --timeout 1200 -- \
  "$work/guest/nfs42_guest.sh" "$nfs_port" "$work/guest" &
vm_pid=$!
while kill -0 "$vm_pid" 2>/dev/null; do
  for n in 1 2 3 4; do
    if [[ -e "$work/guest/measure-$n" && ! -e "$work/guest/measured-$n" ]]; then
      # Before the clone: what was written earlier is carved (carve_after 1 s) first.
      [[ $n -eq 1 ]] && sleep 3
      received >"$work/received-$n"
      remote_bytes >"$work/remote-$n"
      touch "$work/guest/measured-$n"
    fi
  done
  sleep 0.1
done
wait "$vm_pid" || vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"

if [[ -e "$work/received-4" ]]; then
  clone_rx=$(($(cat "$work/received-2") - $(cat "$work/received-1")))
  copy_rx=$(($(cat "$work/received-4") - $(cat "$work/received-3")))
  remote_growth=$(($(cat "$work/remote-4") - $(cat "$work/remote-1")))
  echo "FIGURE: dfs received $clone_rx bytes during cp --reflink, $copy_rx during copy_file_range"
  echo "FIGURE: the remote grew by $remote_growth bytes over both (of 1 GiB each)"
  host_check "the clone of 1 GiB crossed the wire as less than 1 MiB" test "$clone_rx" -lt 1048576
  host_check "the copy of 1 GiB crossed the wire as less than 1 MiB" test "$copy_rx" -lt 1048576
  host_check "the remote did not grow by the copies (< 1 MiB)" test "$remote_growth" -lt 1048576
  for f in big.reflink big.copy; do
    sum=$(nfs-cat "$(nfs_url "$f")" | sha256sum | cut -d' ' -f1)
    host_check "$f reads back with big's SHA-256" test "$sum" = "$big_sha"
  done
else
  echo "FAIL: the guest did not get to the copies"
  host_fails=$((host_fails + 1))
fi

# The SMB side: the xattr as an EA; block cloning, zeroing and allocated ranges over SMB.
smb() {
  /usr/bin/python3 "$repo_root/tests/integration/smb_peer.py" 127.0.0.1 "$smb_port" admin \
    "$admin_password" export
}
if [[ -e "$work/guest/xattr-file-ready" ]]; then
  eas=$(printf 'open xa 0x120089 7 0\ngeteas 1\n' | smb | tail -n 1) || true
  host_check "the xattr user.colour set over NFS is the EA colour=blue over SMB ($eas)" \
    grep -qi 'colour=626c7565' <<<"$eas"
fi
if [[ -e "$work/received-4" ]]; then
  # FSCTL_DUPLICATE_EXTENTS_TO_FILE: 1 GiB of big into a new big.dup, by reference; then
  # FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA over its first MiB (a hole: the file is sparse), and
  # FSCTL_QUERY_ALLOCATED_RANGES over all of it.
  zero=$(python3 -c 'import struct; print(struct.pack("<QQ", 0, 1 << 20).hex())')
  query=$(python3 -c 'import struct; print(struct.pack("<QQ", 0, 1 << 30).hex())')
  start_ms=$(date +%s%3N)
  out=$(printf '%s\n' "open big 0x120089 7 0" "create big.dup 0x12019f 0x40 5" \
    "dupextents 2 1 0 0 1073741824" "ioctl 2 0x900c4 01 0" "ioctl 2 0x980c8 $zero 0" "ioctl 2 0x940cf $query 4096" \
    "close 2" "close 1" | smb 2>&1) || true
  took=$(($(date +%s%3N) - start_ms))
  echo "FIGURE: FSCTL_DUPLICATE_EXTENTS_TO_FILE of 1 GiB, SET_ZERO_DATA, QUERY_ALLOCATED_RANGES: $took ms"
  sed 's/^/  smb: /' <<<"$out" | cut -c1-160 >&2
  ranges=$(sed -n 7p <<<"$out")
  host_check "SMB: big.dup cloned, zeroed, and allocated from 1 MiB on" \
    test "$ranges" = "ok $(python3 -c 'import struct; print(struct.pack("<QQ", 1 << 20, (1 << 30) - (1 << 20)).hex())')"
  sum=$( { head -c 1048576 /dev/zero; nfs-cat "$(nfs_url big)" | tail -c +1048577; } | sha256sum | cut -d' ' -f1)
  dup=$(nfs-cat "$(nfs_url big.dup)" | sha256sum | cut -d' ' -f1)
  host_check "SMB: big.dup reads back as big with its first MiB zeroed" test "$dup" = "$sum"
fi

stop_dfs
if [[ $vm_status -ne 0 || $host_fails -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks (status $vm_status) or host checks ($host_fails failed)"
  exit 1
fi
log "PASS"
