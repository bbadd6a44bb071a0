#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Server-side copies against client-side ones, by hand: dfs on its default store (tiered:
# RocksDB metadata, a journal in front of a filesystem remote) serves a file of SIZE_MIB MiB of
# random bytes (written from the host through libnfs), and the Linux kernel client in a vmtest
# VM (vers=4.2) copies it four ways, each timed:
#   reflink     cp --reflink=always      (CLONE: the destination maps the source's chunks)
#   copy        copy_file_range          (COPY: in the background past 64 MiB, CB_OFFLOAD)
#   client-dd   dd through the client    (READs and WRITEs over the wire, then fsync)
# and from the host, libnfs' nfs-cp from the share to the share (a user-space client-side copy
# over loopback, not slowed by the VM's emulation):
#   client-libnfs
# Prints a table of seconds and MB/s (10^6 bytes/s) per way, and what the remote grew by.
# The VM runs under TCG emulation here (no KVM): its client-side copy is far slower than a real
# machine's; client-libnfs is the fairer baseline.
#
# usage: bench/run_copy.sh [DFS_BIN] [SIZE_MIB]   (defaults build/release/bin/dfs, 1024)

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/.." && pwd)
dfs_bin=${1:-$repo_root/build/release/bin/dfs}
size_mib=${2:-1024}
test_name=run_copy
# shellcheck source=../tests/vm/common.sh
source "$repo_root/tests/vm/common.sh"
vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/run_copy.XXXXXX")
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
mkdir -p "$work/state" "$work/guest"
cat >"$work/dfs.yaml" <<YAML
logging: {level: warn, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $(free_port)}
smb: {enabled: false}
api: {bind: 127.0.0.1, port: 0}
shares:
  - name: /export
    metadata: rocksdb
    block: tiered
    tiered: {carve_after_ms: 1000}
    squash: none
    root_mode: "1777"
YAML
start_dfs "$work/dfs.yaml" "$nfs_port"
url() { echo "nfs://127.0.0.1/export/$1?nfsport=$nfs_port&mountport=$nfs_port&version=3"; }
remote() { du -sb "$work/state/remote" | cut -f1; }
now_ms() { date +%s%3N; }

head -c "${size_mib}M" /dev/urandom >"$work/big"
nfs-cp "$work/big" "$(url big)" >/dev/null
rm -f "$work/big"
# Timed once the file is carved and uploaded (the remote stops growing at about its size).
wait_for_upload "$work/state/remote" $((size_mib * 1048576)) 3600 >/dev/null
remote_before=$(remote)

start=$(now_ms)
nfs-cp "$(url big)" "$(url big.libnfs)" >/dev/null
libnfs_ms=$(($(now_ms) - start))

cat >"$work/guest/run.sh" <<EOF
#!/usr/bin/env bash
set -e
mkdir -p /mnt/v42
mount -t nfs -o vers=4.2,proto=tcp,port=$nfs_port server:/export /mnt/v42
cd /mnt/v42
t() { local s=\$(date +%s%3N); "\$@"; echo \$((\$(date +%s%3N) - s)); }
# The clone and the copy timed around the system calls alone (a process start in an emulated
# VM costs more than either).
python3 - <<'PY'
import fcntl, os, time
s = os.open("big", os.O_RDONLY)
d = os.open("big.reflink", os.O_WRONLY | os.O_CREAT, 0o644)
t = time.monotonic()
fcntl.ioctl(d, 0x40049409, s)  # FICLONE
os.fsync(d)
print("reflink %d" % ((time.monotonic() - t) * 1000))
d = os.open("big.copy", os.O_WRONLY | os.O_CREAT, 0o644)
n = os.fstat(s).st_size
t = time.monotonic()
while n > 0:
    n -= os.copy_file_range(s, d, n)
os.fsync(d)
print("copy %d" % ((time.monotonic() - t) * 1000))
PY
echo "client-dd \$(t dd if=big of=big.dd bs=1M conv=fsync status=none)"
EOF
chmod +x "$work/guest/run.sh"
"$vm_run" --share "$work/guest" --forward "$nfs_port:$nfs_port" --timeout 3600 -- \
  "$work/guest/run.sh" >"$work/guest/out" 2>&1 || { cat "$work/guest/out"; exit 1; }
remote_after=$(remote)

bytes=$((size_mib * 1048576))
printf '%-14s %10s %10s\n' way seconds MB/s
while read -r way ms; do
  awk -v w="$way" -v ms="$ms" -v b="$bytes" 'BEGIN {printf "%-14s %10.2f %10.0f\n", w, ms / 1000, b / 1000 / (ms + 0.001)}'
done < <(grep -E '^(reflink|copy|client-dd) [0-9]+$' "$work/guest/out"; echo "client-libnfs $libnfs_ms")
echo "remote grew by $(((remote_after - remote_before) / 1048576)) MiB for $size_mib MiB copied four ways"
