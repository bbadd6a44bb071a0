#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): mounts the server's share "export" with the Linux
# kernel cifs client once per dialect (SMB 2.1, 3.0, 3.1.1, 3.1.1 with encryption, 3.1.1 with
# the POSIX extensions) and checks ordinary file use on each mount; the server's /export is
# also mounted over NFSv3, and files written through one protocol must read back identically
# through the other. Prints one "PASS: ..." or "FAIL: ..." line per check ("KNOWN-FAILURE: ..."
# for the documented gaps, which do not fail the run) and exits non-zero when any check failed.
#
# usage: cifs_guest.sh SMB_PORT NFS_PORT CREDENTIALS_FILE [DIALECT...]
#   SMB_PORT, NFS_PORT  guest-side ports on host "server"
#   CREDENTIALS_FILE    a mount.cifs credentials file (username=..., password=...)
#   DIALECT             default: 2.1 3.0 3.1.1 3.1.1,seal 3.1.1,posix (vers=..., then options)
# Environment: CIFS_FULL_DIALECTS (default: all of them): the dialects that also get the slow
# checks (1000 files in a directory with ls -l, cp -a of a tree + diff -r, 16 MiB of fio instead
# of 4); every dialect gets the others (sizes, mkdir/rmdir, rename, unlink, truncate,
# cross-protocol, fio).
#
# The guest runs under slow software emulation (creating 1000 files over SMB takes about a
# minute there): the sizes are kept small, the 1000-file loop uses shell builtins, and fio
# keeps several requests in flight.

set -u

smb_port=${1:?SMB_PORT}
nfs_port=${2:?NFS_PORT}
credentials=${3:?CREDENTIALS_FILE}
shift 3
dialects=("$@")
((${#dialects[@]} > 0)) || dialects=(2.1 3.0 3.1.1 "3.1.1,seal" "3.1.1,posix")

read -r -a full_dialects <<<"${CIFS_FULL_DIALECTS:-${dialects[*]}}"
smb=/mnt/smb
nfs=/mnt/nfs
# shellcheck source=guest_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest_lib.sh"

# The kernel's cifs messages since the last call (shown after a failure).
dmesg_mark=0
cifs_dmesg() {
  local lines
  lines=$(dmesg | tail -n +$((dmesg_mark + 1)) | grep -iE 'cifs|smb|CIFS' | tail -n 20)
  dmesg_mark=$(dmesg | wc -l)
  [[ -z "$lines" ]] || printf '  dmesg: %s\n' "${lines//$'\n'/$'\n  dmesg: '}"
}

section "prepare"
# Test data on the guest's tmpfs: files of several sizes and a small tree to copy. The tree is
# /usr/share/doc with symlinks followed (plain SMB has no symlinks without mfsymlinks).
sizes=(0 1 4095 65536 1048577 4194304)
for s in "${sizes[@]}"; do head -c "$s" /dev/urandom >"/tmp/data.$s"; done
mkdir -p /tmp/tree
cp -rL /usr/share/doc/[a-c]* /tmp/tree/ 2>/dev/null
echo "  tree: $(find /tmp/tree -type f | wc -l) files, $(du -sk /tmp/tree | cut -f1) KiB"

section "mount NFSv3"
mkdir -p "$nfs" "$smb"
nfs_opts="vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp,nolock,actimeo=0"
if mount -t nfs -o "$nfs_opts" server:/export "$nfs"; then
  echo "PASS: NFSv3 mount"
  have_nfs=1
else
  echo "FAIL: NFSv3 mount (cross-protocol checks skipped)"
  fails=$((fails + 1))
  have_nfs=0
fi
checks=$((checks + 1))

# rmdir_explained DIR: rmdir, and on failure what the server still lists in DIR.
rmdir_explained() {
  rmdir "$1" && return 0
  echo "  $1 still holds: $(cd "$1" && echo ./*)" >&2
  return 1
}

# The POSIX behaviour of a posix mount, in the current directory ($1 on the share), checked
# over SMB and against what NFS sees of the same objects: modes given at creation, hard links,
# case-sensitive names, owners and modes set over NFS seen over SMB, POSIX unlink, symlinks and
# FIFOs; then chmod and chown over a second mount of the same share with modefromsid and
# idsfromsid ($2: the mount options). Checks that fail because of what the guest's client
# (Linux 6.1) does not do are KNOWN-FAILURE lines that name the reason.
posix_suite() {
  local dir=$1 opts=$2
  local client61="the guest's Linux 6.1 cifs client"
  (umask 027 && echo data >pm)
  (umask 0 && mkdir -m 0705 pd)
  fresh
  check "$dir: posix: file created with umask 027 has mode 640" same "$(stat -c %a pm 2>&1)" 640
  check "$dir: posix: NFS sees mode 640" same "$(stat -c %a "$nfs/$dir/pm" 2>&1)" 640
  check "$dir: posix: mkdir -m 0705 has mode 705" same "$(stat -c %a pd 2>&1)" 705
  check "$dir: posix: NFS sees mode 705" same "$(stat -c %a "$nfs/$dir/pd" 2>&1)" 705
  check "$dir: posix: ln makes a hard link" ln pm pm.link
  fresh
  check "$dir: posix: link count 2" same "$(stat -c %h pm 2>&1)" 2
  check "$dir: posix: both names, one inode" same "$(stat -c %i pm.link 2>&1)" "$(stat -c %i pm)"
  echo upper >Case
  echo lower >case
  fresh
  check "$dir: posix: names differing in case are two files" \
    same "$(cat Case 2>&1)/$(cat case 2>&1)" "upper/lower"
  check "$dir: posix: NFS sees both" same "$(cat "$nfs/$dir/Case")/$(cat "$nfs/$dir/case")" \
    "upper/lower"
  chmod 0604 "$nfs/$dir/pm"
  fresh
  check "$dir: posix: mode set over NFS is seen over SMB" same "$(stat -c %a pm 2>&1)" 604
  chown 1234:567 "$nfs/$dir/pm"
  fresh
  known_reason="$client61 reports the mount's uid and gid, not the owner SIDs it is sent"
  check "$dir: posix: owner set over NFS is seen over SMB" same "$(stat -c %u:%g pm 2>&1)" 1234:567
  known_reason="$client61 keeps chmod local unless mounted with cifsacl or modefromsid"
  chmod 0751 pd
  fresh
  check "$dir: posix: chmod over SMB reaches the server" \
    same "$(stat -c %a "$nfs/$dir/pd" 2>&1)" 751
  known_reason=""

  # POSIX unlink: the name of a file removed while open goes at once; the open still reads it.
  echo held >held
  exec 3<held
  check "$dir: posix: rm of an open file" rm held
  fresh
  check "$dir: posix: its name is gone at once (NFS)" test ! -e "$nfs/$dir/held"
  check "$dir: posix: the open still reads it" same "$(cat <&3 2>&1)" held
  exec 3<&-

  ln -s pd "$nfs/$dir/sl"
  mkfifo "$nfs/$dir/ff"
  fresh
  check "$dir: posix: symlink made over NFS is a symlink over SMB" \
    same "$(stat -c %F sl 2>&1)" "symbolic link"
  check "$dir: posix: its target reads back over SMB" same "$(readlink sl 2>&1)" pd
  known_reason="$client61 has no POSIX special files (it ORs S_IFREG into the mode it is sent)"
  check "$dir: posix: FIFO made over NFS is a FIFO over SMB" same "$(stat -c %F ff 2>&1)" fifo
  known_reason="$client61 makes symlinks over SMB3 only with mfsymlinks"
  check "$dir: posix: ln -s over SMB" ln -s pd sl2
  known_reason="$client61 makes special files over SMB3 only with sfu"
  check "$dir: posix: mkfifo over SMB" mkfifo ff2
  known_reason=""
  fresh
  [[ ! -e sl2 ]] || check "$dir: posix: NFS sees the symlink" same "$(readlink "$nfs/$dir/sl2")" pd
  rm -f pm pm.link Case case sl sl2 ff ff2
  rmdir pd

  # chmod and chown reach the server as security descriptors with the mode and ids in SIDs.
  local ids=/mnt/smb-ids
  mkdir -p "$ids"
  if ! mount -t cifs //server/export "$ids" -o "$opts,modefromsid,idsfromsid"; then
    check "$dir: posix: mount with modefromsid,idsfromsid" false
    return
  fi
  echo own >"$ids/$dir/own"
  check "$dir: posix: chmod over SMB (modefromsid)" chmod 0751 "$ids/$dir/own"
  fresh
  check "$dir: posix: NFS sees the chmod" same "$(stat -c %a "$nfs/$dir/own" 2>&1)" 751
  check "$dir: posix: chown over SMB (idsfromsid)" chown 1234:567 "$ids/$dir/own"
  fresh
  check "$dir: posix: NFS sees the chown" same "$(stat -c %u:%g "$nfs/$dir/own" 2>&1)" 1234:567
  rm -f "$ids/$dir/own"
  umount "$ids"
}

# The checks run on one cifs mount, in a fresh directory $1 (relative to the share root); $3
# is 1 on a posix mount.
run_suite() {
  local dir=$1 full=$2 posix=${3:-0} s
  local work=$smb/$dir
  mkdir "$work" || {
    check "mkdir of the work directory" false
    return
  }
  cd "$work" || return

  section "$dir: files of several sizes"
  for s in "${sizes[@]}"; do
    dd if="/tmp/data.$s" of="f.$s" bs=64k status=none || echo "  dd of f.$s failed" >&2
  done
  fresh
  for s in "${sizes[@]}"; do
    check "$dir: $s-byte file: size" same "$(stat -c %s "f.$s" 2>&1)" "$s"
    check "$dir: $s-byte file: md5sum" same "$(md5sum <"f.$s" 2>&1)" "$(md5sum <"/tmp/data.$s")"
  done
  check "$dir: 4 MiB file: cmp" cmp "f.4194304" /tmp/data.4194304
  rm -f f.*
  printf 'hello\n' >a
  printf 'world\n' >>a
  fresh
  check "$dir: append reads back" same "$(cat a 2>&1)" $'hello\nworld'

  section "$dir: mkdir, rmdir, rename, unlink"
  check "$dir: mkdir -p" mkdir -p d1/d2/d3
  check "$dir: rmdir of a non-empty directory fails" bash -c '! rmdir d1/d2 2>/dev/null'
  check "$dir: rmdir" rmdir d1/d2/d3 d1/d2
  fresh
  check "$dir: rmdir'ed directory is gone" test ! -e d1/d2
  echo one >r1
  echo two >r2
  check "$dir: rename" mv r1 r3
  check "$dir: rename over an existing file" mv -f r3 r2
  fresh
  check "$dir: renamed: source is gone" test ! -e r1 -a ! -e r3
  check "$dir: renamed: target has the source's data" same "$(cat r2 2>&1)" one
  echo inside >d1/in
  check "$dir: rename a directory" mv d1 d1moved
  fresh
  check "$dir: renamed directory keeps its content" same "$(cat d1moved/in 2>&1)" inside
  check "$dir: unlink" rm r2 d1moved/in
  check "$dir: rmdir after unlink" rmdir_explained d1moved
  fresh
  check "$dir: unlinked names are gone" test ! -e r2 -a ! -e d1moved

  section "$dir: truncate"
  cp /tmp/data.1048577 t
  check "$dir: truncate shrink" truncate -s 1000 t
  fresh
  check "$dir: shrink: size is 1000" same "$(stat -c %s t 2>&1)" 1000
  check "$dir: shrink: kept bytes unchanged" cmp t <(head -c 1000 /tmp/data.1048577)
  check "$dir: truncate extend" truncate -s 70000 t
  fresh
  check "$dir: extend: size is 70000" same "$(stat -c %s t 2>&1)" 70000
  check "$dir: extend: old bytes, then zeros" \
    cmp t <(head -c 1000 /tmp/data.1048577; head -c 69000 /dev/zero)
  printf 'X' | dd of=hole bs=1 seek=1000000 conv=notrunc status=none
  fresh
  check "$dir: write past end: size" same "$(stat -c %s hole 2>&1)" 1000001
  check "$dir: write past end: hole reads as zero, then the byte" \
    cmp hole <(head -c 1000000 /dev/zero; printf X)
  rm -f t hole

  if ! ((full)); then
    echo "  (1000 files and cp -a: only on the full dialects: ${full_dialects[*]})"
  else
    section "$dir: 1000 files, ls -l"
    mkdir many
    for ((i = 0; i < 1000; i++)); do : >"many/f$i"; done
    fresh
    LC_ALL=C ls -l many >/tmp/ls-l.out
    check "$dir: ls -l lists 1000 regular files" same "$(grep -c '^-' /tmp/ls-l.out)" 1000
    check "$dir: ls -l lists every name" same "$(awk 'NR > 1 {print $NF}' /tmp/ls-l.out | md5sum)" \
      "$(for ((i = 0; i < 1000; i++)); do echo "f$i"; done | LC_ALL=C sort | md5sum)"
    check "$dir: rm -rf of 1000 files" rm -rf many
    check "$dir: directory of 1000 files removed" test ! -e many

    section "$dir: cp -a tree, diff -r"
    check "$dir: cp -a succeeds" cp -a /tmp/tree tree
    fresh
    check "$dir: diff -r of the copy is clean" diff -r /tmp/tree tree
    check "$dir: rm -rf of the copy" rm -rf tree
  fi

  if ((posix && have_nfs)); then
    section "$dir: POSIX extensions"
    posix_suite "$dir" "vers=3.1.1,port=$smb_port,credentials=$credentials,posix"
  fi

  if ((have_nfs)); then
    section "$dir: cross-protocol with NFSv3"
    cp /tmp/data.1048577 via-smb
    fresh
    check "$dir: written over SMB, reads identically over NFS" cmp "$nfs/$dir/via-smb" via-smb
    check "$dir: same bytes as the source" cmp "$nfs/$dir/via-smb" /tmp/data.1048577
    cp /tmp/data.65536 "$nfs/$dir/via-nfs"
    fresh
    check "$dir: written over NFS, reads identically over SMB" cmp via-nfs /tmp/data.65536
    check "$dir: NFS sees the SMB size" same "$(stat -c %s "$nfs/$dir/via-smb" 2>&1)" 1048577
    check "$dir: SMB sees the NFS size" same "$(stat -c %s via-nfs 2>&1)" 65536
    rm -f "$nfs/$dir/via-smb" via-nfs
    fresh
    check "$dir: removed over NFS and SMB, gone on both" \
      test ! -e "$nfs/$dir/via-smb" -a ! -e via-nfs -a ! -e "$nfs/$dir/via-nfs"
  fi

  local fio_size=4m
  ((full)) && fio_size=16m
  section "$dir: fio verify"
  if command -v fio >/dev/null; then
    if fio --name=v --directory="$work" --filename=fio.dat --rw=randwrite --size="$fio_size" \
      --bs=4k --ioengine=libaio --iodepth=16 --direct=1 --verify=crc32c --do_verify=1 \
      --verify_fatal=1 >/tmp/fio.log 2>&1; then
      check "$dir: fio random write $fio_size (4k blocks, O_DIRECT) verifies" true
    else
      tail -n 20 /tmp/fio.log >&2
      check "$dir: fio random write $fio_size (4k blocks, O_DIRECT) verifies" false
    fi
    rm -f fio.dat
  else
    echo "  fio is not installed in the guest: fio check skipped"
  fi

  cd /
  check "$dir: work directory removed" rm -rf "$work"
}

cifs_dmesg >/dev/null
for spec in "${dialects[@]}"; do
  vers=${spec%%,*}
  extra=""
  [[ "$spec" == *,* ]] && extra=",${spec#*,}"
  tag="smb${vers//./}${extra//,/-}"
  known_reason=""
  section "mount cifs vers=$vers$extra"
  opts="vers=$vers,port=$smb_port,credentials=$credentials$extra"
  fails_before=$fails
  if ! out=$(mount -t cifs //server/export "$smb" -o "$opts" 2>&1); then
    echo "FAIL: mount -o $opts: $out"
    fails=$((fails + 1))
    cifs_dmesg
    checks=$((checks + 1))
    continue
  fi
  checks=$((checks + 1))
  echo "PASS: mount -o vers=$vers$extra"
  # The options the kernel actually uses (the dialect it negotiated, seal, posix).
  mopts=$(awk -v m="$smb" '$2 == m && $3 == "cifs" {print $4}' /proc/mounts)
  echo "  /proc/mounts: $mopts"
  check "$tag: negotiated dialect $vers" grep -q "vers=$vers" <<<"$mopts"
  [[ "$extra" != *seal* ]] || check "$tag: mount is sealed" grep -q "seal" <<<"$mopts"
  if [[ "$extra" == *posix* ]]; then
    check "$tag: mount uses the POSIX extensions" grep -q "posix" <<<"$mopts"
  fi
  full=0
  for f in "${full_dialects[@]}"; do [[ "$f" != "$spec" ]] || full=1; done
  posix=0
  [[ "$extra" != *posix* ]] || posix=1
  run_suite "kernel_cifs_test.$tag.$$.$RANDOM" "$full" "$posix"
  known_reason=""
  check "$tag: umount" umount "$smb"
  ((fails == fails_before)) || cifs_dmesg
done

if ((have_nfs)); then
  check "NFSv3 umount" umount "$nfs"
fi

section "done"
echo "SUMMARY: $((checks - fails - known)) of $checks checks passed," \
  "$known known failures, $fails failures"
[[ $fails -eq 0 ]]
