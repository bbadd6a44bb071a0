#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): mounts the server's /export with the Linux NFSv3
# client and checks that ordinary POSIX use of the mount behaves as on a local file system.
# Prints one "PASS: ..." or "FAIL: ..." line per check and exits non-zero when any failed.
#
# usage: nfs3_posix_guest.sh [NFS_PORT [MOUNT_PORT [portmap]]]   (guest-side ports on host
#        "server"; with "portmap", also a mount that asks the port mapper at server:111)
#
# NFS_VERS=4.0, 4.1 or 4.2 in the environment mounts with that NFSv4 minor version instead
# (MOUNT_PORT and the port mapper are then unused). NFS_OPTS adds mount options (nconnect=4,
# sec=krb5). NFS_EXPORT mounts another export than /export.
#
# NFS_QUICK=1 keeps to what a user who is not root on the server can do, quickly (a mount as a
# Kerberos principal, whose calls run as that principal's user): no chown, 100 files in one
# directory instead of 10000, no cp -a (it chowns) and no fio.
#
# NFS_LIGHT=1 runs every check but the slow ones at a smaller size: 1000 files in one directory,
# no cp -a of /usr/share/doc, 8 MiB and 2 MiB of fio (for a version whose full run is done by
# another mount of the same test).
#
# The guest runs under slow software emulation, so the checks are chosen to cost few calls:
# builtins instead of forks in the big loops, one fio job per pattern.

set -u

nfs_port=${1:-2049}
mount_port=${2:-$nfs_port}
mnt=/mnt/nfs
# shellcheck source=guest_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest_lib.sh"

die() {
  echo "FAIL: $*"
  exit 1
}

section "mount"
mkdir -p "$mnt"
vers=${NFS_VERS:-3}
if [[ $vers == 3 ]]; then
  opts="vers=3,proto=tcp,port=$nfs_port,mountport=$mount_port,mountproto=tcp,nolock"
else
  opts="vers=$vers,proto=tcp,port=$nfs_port"
fi
[[ -n "${NFS_OPTS:-}" ]] && opts="$opts,$NFS_OPTS"
export_path=${NFS_EXPORT:-/export}
mount -t nfs -o "$opts" "server:$export_path" "$mnt" || die "mount of server:$export_path ($opts)"
grep " $mnt " /proc/mounts
checks=$((checks + 1))
echo "PASS: mount"
# A fresh directory per run, so that reruns against a long-lived server do not collide.
work="$mnt/kernel_nfs3_test.$$.$RANDOM"
mkdir "$work" || die "mkdir $work"
cd "$work" || die "cd $work"

section "create, write, append, read back"
printf 'hello\n' >a
printf 'world\n' >>a
head -c 300000 /dev/urandom >/tmp/big.local
cp /tmp/big.local big
fresh
check "small file reads back after append" same "$(cat a)" $'hello\nworld'
check "size after append is 12" same "$(stat -c %s a)" 12
check "300 KB file reads back" cmp -s big /tmp/big.local

section "truncate"
truncate -s 1000 big
fresh
check "shrink: size is 1000" same "$(stat -c %s big)" 1000
check "shrink: kept bytes unchanged" cmp -s big <(head -c 1000 /tmp/big.local)
truncate -s 70000 big
fresh
check "extend: size is 70000" same "$(stat -c %s big)" 70000
check "extend: old bytes unchanged" cmp -s <(head -c 1000 big) <(head -c 1000 /tmp/big.local)
check "extend: new bytes read as zero" cmp -s <(tail -c +1001 big) <(head -c 69000 /dev/zero)
printf 'X' | dd of=hole bs=1 seek=1000000 conv=notrunc status=none
fresh
check "write past end: size is 1000001" same "$(stat -c %s hole)" 1000001
check "write past end: hole reads as zero" cmp -s <(head -c 1000000 hole) <(head -c 1000000 /dev/zero)
check "write past end: last byte" same "$(tail -c 1 hole)" X

section "rename over an existing file"
echo one >r1
echo two >r2
mv -f r1 r2
fresh
check "rename: source is gone" test ! -e r1
check "rename: target has the source's data" same "$(cat r2)" one

section "hard links"
echo linked >l1
check "nlink starts at 1" same "$(stat -c %h l1)" 1
ln l1 l2
fresh
check "nlink is 2 after link" same "$(stat -c %h l1)" 2
check "both names see the same inode" same "$(stat -c %i l2)" "$(stat -c %i l1)"
rm l2
fresh
check "nlink back to 1 after unlink" same "$(stat -c %h l1)" 1
check "remaining name still reads" same "$(cat l1)" linked

section "symlinks"
echo target-data >sfile
ln -s sfile slink
ln -s /no/such/target dangling
fresh
check "symlink is a symlink" test -L slink
check "readlink" same "$(readlink slink)" sfile
check "follow symlink" same "$(cat slink)" target-data
check "dangling symlink readlink" same "$(readlink dangling)" /no/such/target

section "chmod and chown"
echo m >m
chmod 0751 m
fresh
check "chmod 0751 reads back" same "$(stat -c %a m)" 751
chmod 4640 m
fresh
check "chmod 4640 (setuid) reads back" same "$(stat -c %a m)" 4640
if [[ -z "${NFS_QUICK:-}" ]]; then
  chown 1234:5678 m
  fresh
  check "chown 1234:5678 reads back" same "$(stat -c %u:%g m)" 1234:5678
fi

section "deep tree"
deep=deep
for i in $(seq 1 30); do deep="$deep/d$i"; done
mkdir -p "$deep"
echo bottom >"$deep/file"
fresh
check "30-deep directory exists" test -d "$deep"
check "30-deep file reads back" same "$(cat "$deep/file")" bottom
check "31 directories in the tree" same "$(find deep -type d | wc -l)" 31
rm -rf deep
check "deep tree removed" test ! -e deep

files=10000
[[ -n "${NFS_LIGHT:-}" ]] && files=1000
[[ -n "${NFS_QUICK:-}" ]] && files=100
section "$files files in one directory"
mkdir many
# ':' and the redirection are shell builtins: one open(O_CREAT) per file and no fork.
for ((i = 0; i < files; i++)); do : >"many/f$i"; done
fresh
check "ls lists $files names" same "$(ls many | wc -l)" "$files"
check "a name from the middle is there" test -f "many/f$((files / 2))"
rm -rf many
check "directory of $files files removed" test ! -e many

# The slow checks, and cp -a (which chowns).
if [[ -z "${NFS_QUICK:-}" && -z "${NFS_LIGHT:-}" ]]; then
  section "cp -a /usr/share/doc"
  check "cp -a succeeds" cp -a /usr/share/doc doc
  fresh
  check "diff -r of the copy is clean" diff -r --no-dereference /usr/share/doc doc
  # cp -a also copies modes, owners, link targets and mtimes: compare them too.
  # A directory's size is the file system's own business, so directories leave it out; symlinks
  # leave out their mtime, which the Linux client does not always send to the server.
  listing() {
    (cd "$1" && find . \( -type d -printf '%p %y %m %u %g %Ts\n' \) \
      -o \( -type l -printf '%p %y %u %g %l\n' \) \
      -o -printf '%p %y %m %u %g %s %Ts\n' | LC_ALL=C sort)
  }
  same_listing() {
    diff <(listing /usr/share/doc) <(listing doc) >/tmp/listing.diff && return 0
    head -n 20 /tmp/listing.diff >&2
    return 1
  }
  check "modes, owners, link targets, sizes and mtimes match" same_listing
  rm -rf doc
  check "copy removed" test ! -e doc
fi

if [[ -z "${NFS_QUICK:-}" ]]; then
  seq_size=64m rand_size=16m
  [[ -n "${NFS_LIGHT:-}" ]] && seq_size=8m rand_size=2m
  section "fio verify"
  # run_fio NAME ARGS...: runs one fio job that writes, then reads back and checks every block.
  # O_DIRECT, so every block goes to the server and comes back from it. Several requests stay in
  # flight (libaio): one at a time, each round trip through the emulated network costs tens of
  # milliseconds, and the random pass alone would take minutes.
  run_fio() {
    local name=$1
    shift
    if fio --name="$name" --directory="$work" --ioengine=libaio --iodepth=16 --direct=1 \
      --verify=crc32c --do_verify=1 --verify_fatal=1 "$@" >"/tmp/fio-$name.log" 2>&1; then
      return 0
    fi
    tail -n 20 "/tmp/fio-$name.log" >&2
    return 1
  }
  check "fio sequential write $seq_size (64k blocks) verifies" \
    run_fio seqv --filename=fio-seq.dat --size=$seq_size --bs=64k --rw=write
  section "fio random write verify"
  check "fio random write $rand_size (4k blocks) verifies" \
    run_fio randv --filename=fio-rand.dat --size=$rand_size --bs=4k --rw=randwrite
  rm -f fio-seq.dat fio-rand.dat
fi

if [[ "${3:-}" == portmap && $vers == 3 ]]; then
  # The server's port mapper (forwarded as server:111) names the NFS and MOUNT ports, so a
  # mount that gives none finds the same files.
  section "portmapper"
  mkdir -p /mnt/portmap
  check "mount with the ports from the port mapper" \
    mount -t nfs -o vers=3,proto=tcp,mountproto=tcp,nolock server:/export /mnt/portmap
  check "the same files through it" test -d "/mnt/portmap/$(basename "$work")"
  check "umount of the second mount" umount /mnt/portmap
fi

section "cleanup and umount"
cd /
rm -rf "$work"
check "work directory removed" test ! -e "$work"
check "umount" umount "$mnt"

section "done"
echo "SUMMARY: $((checks - fails)) of $checks checks passed"
[[ $fails -eq 0 ]]
