#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): NFSv4.2 with the Linux client (vers=4.2): fallocate
# (ALLOCATE), fallocate -p (DEALLOCATE) with the hole reading as zeros and du shrinking,
# SEEK_DATA/SEEK_HOLE (SEEK), setfattr/getfattr on user.* (SETXATTR, GETXATTR, LISTXATTRS,
# REMOVEXATTR), and on the 1 GiB file "big" the host wrote: cp --reflink=always (CLONE) and
# copy_file_range (COPY), each timed, with the host measuring around the copy what dfs's sockets
# received (DIR/measure-N: the host answers DIR/measured-N once it sampled).
# Prints one "PASS: ..." or "FAIL: ..." line per check (and "FIGURE: ..." lines) and exits
# non-zero when any failed.
#
# usage: nfs42_guest.sh NFS_PORT DIR

set -u

nfs_port=${1:-2049}
dir=${2:?the directory shared with the host}
fails=0

check() {
  local description=$1
  shift
  if "$@"; then
    echo "PASS: $description"
  else
    echo "FAIL: $description"
    fails=$((fails + 1))
  fi
}

die() {
  echo "FAIL: $*"
  exit 1
}

# measure N: asks the host to sample dfs's received bytes, and waits until it did.
measure() {
  touch "$dir/measure-$1"
  for _ in $(seq 1 600); do
    [[ -e "$dir/measured-$1" ]] && return 0
    sleep 0.1
  done
  die "the host did not answer measure-$1"
}

mkdir -p /mnt/v42
mount -t nfs -o "vers=4.2,proto=tcp,port=$nfs_port" server:/export /mnt/v42 || die "mount 4.2"
grep " /mnt/v42 " /proc/mounts
cd /mnt/v42 || die "cd"
mib=$((1 << 20))

# ---- ALLOCATE: fallocate -l grows the file; the new range reads as zeros ----
rm -f alloc
check "fallocate -l 64M makes a 64 MiB file (ALLOCATE)" fallocate -l 64M alloc
check "  its size is 64 MiB" test "$(stat -c %s alloc)" -eq $((64 * mib))
check "  it reads as zeros" cmp -n $((4 * mib)) alloc /dev/zero

# ---- DEALLOCATE: a punched hole reads as zeros, the data around it stays, du shrinks ----
rm -f punch
head -c $((8 * mib)) /dev/urandom >punch.src
cp punch.src punch
sync
du_before=$(du -k punch | cut -f1)
check "fallocate -p -o 2M -l 4M (DEALLOCATE)" fallocate -p -o $((2 * mib)) -l $((4 * mib)) punch
check "  the size stays 8 MiB" test "$(stat -c %s punch)" -eq $((8 * mib))
check "  the hole reads as zeros" cmp -n $((4 * mib)) <(tail -c +$((2 * mib + 1)) punch) /dev/zero
check "  the data before the hole is intact" cmp -n $((2 * mib)) punch punch.src
check "  the data after the hole is intact" \
  cmp <(tail -c +$((6 * mib + 1)) punch) <(tail -c +$((6 * mib + 1)) punch.src)
du_after=$(du -k punch | cut -f1)
echo "FIGURE: du -k punch: $du_before KiB before the punch, $du_after KiB after"
check "  du shrinks by the hole (~4096 KiB)" test $((du_before - du_after)) -ge 4000

# ---- SEEK: data and holes where the punch left them ----
cat >/tmp/seek.py <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
def seek(off, whence):
    try:
        return os.lseek(fd, off, whence)
    except OSError as e:
        return "ENXIO" if e.errno == 6 else "errno %d" % e.errno
M = 1 << 20
got = [seek(0, os.SEEK_DATA), seek(0, os.SEEK_HOLE), seek(3 * M, os.SEEK_DATA),
       seek(6 * M, os.SEEK_HOLE), seek(8 * M, os.SEEK_DATA)]
want = [0, 2 * M, 6 * M, 8 * M, "ENXIO"]
print("seek:", got)
sys.exit(0 if got == want else 1)
EOF
check "SEEK_DATA/SEEK_HOLE find the data at 0, the hole at 2 MiB, the data at 6 MiB, the end" \
  python3 /tmp/seek.py punch

# ---- xattrs: user.* through setfattr/getfattr ----
echo x >xa
check "setfattr -n user.colour -v blue (SETXATTR)" setfattr -n user.colour -v blue xa
check "setfattr -n user.size -v XL" setfattr -n user.size -v XL xa
check "getfattr -n user.colour reads blue (GETXATTR)" \
  test "$(getfattr --only-values -n user.colour xa)" = blue
listed=$(getfattr -d xa 2>/dev/null | grep -c '^user\.')
check "getfattr -d lists both (LISTXATTRS)" test "$listed" -eq 2
check "setfattr -x user.size (REMOVEXATTR)" setfattr -x user.size xa
check "  it is gone" sh -c '! getfattr -n user.size xa 2>/dev/null'
check "  a 70000-byte value is refused (E2BIG)" \
  sh -c '! setfattr -n user.big -v "$(head -c 70000 /dev/zero | tr "\0" a)" xa 2>/dev/null'
# The host reads user.colour of this file back as an SMB EA.
echo "ready" >"$dir/xattr-file-ready"

# ---- CLONE: cp --reflink=always of the 1 GiB file the host wrote ----
[[ -f big ]] || die "the host's 1 GiB file 'big' is not there"
check "big is 1 GiB" test "$(stat -c %s big)" -eq $((1024 * mib))
rm -f big.reflink big.copy
measure 1
start=$(date +%s%N)
check "cp --reflink=always big big.reflink (CLONE)" cp --reflink=always big big.reflink
ms=$((($(date +%s%N) - start) / 1000000))
measure 2
echo "FIGURE: cp --reflink=always of 1 GiB took $ms ms"
check "  it finished at once (< 10 s under emulation)" test "$ms" -lt 10000
check "  big.reflink is 1 GiB" test "$(stat -c %s big.reflink)" -eq $((1024 * mib))

# ---- COPY: copy_file_range of 1 GiB, done by the server ----
cat >/tmp/copy.py <<'EOF'
import os, sys, time
src = os.open(sys.argv[1], os.O_RDONLY)
dst = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
n, total = os.fstat(src).st_size, 0
start = time.monotonic()
while total < n:
    got = os.copy_file_range(src, dst, n - total)
    if got == 0:
        break
    total += got
os.fsync(dst)
print("copied %d bytes in %.2f s" % (total, time.monotonic() - start))
sys.exit(0 if total == n else 1)
EOF
grep -E '^\s+(COPY|WRITE|CLONE):' /proc/self/mountstats | head -n 3 >"$dir/mountstats-before"
measure 3
check "copy_file_range of big to big.copy (COPY)" python3 /tmp/copy.py big big.copy
measure 4
grep -E '^\s+(COPY|WRITE|CLONE):' /proc/self/mountstats | head -n 3 >"$dir/mountstats-after"
check "  big.copy is 1 GiB" test "$(stat -c %s big.copy)" -eq $((1024 * mib))
# mountstats per operation: ops, transmissions, timeouts, bytes sent, bytes received, ...
copies=$(awk '$1 == "COPY:" {print $2}' "$dir/mountstats-after")
written=$(awk '$1 == "WRITE:" {print $5}' "$dir/mountstats-after")
written_before=$(awk '$1 == "WRITE:" {print $5}' "$dir/mountstats-before")
echo "FIGURE: mountstats: COPY ops $copies; WRITE bytes sent $written_before before, $written after"
check "  the client sent COPY" test "${copies:-0}" -ge 1
check "  and no WRITE data for it" test "$((${written:-0} - ${written_before:-0}))" -lt "$mib"

cd /
umount /mnt/v42 || true
echo "guest checks done: $fails failed"
[[ $fails -eq 0 ]]
