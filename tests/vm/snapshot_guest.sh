#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): snapshots (docs/snapshots.md) with the Linux client.
# The host wrote DIR/v1 as doc.txt on the share /snap and took snapshot "daily". Over NFSv4.1
# the guest first writes DIR/v2 over doc.txt and makes after.txt (the share moves on). Then, for
# NFSv4.1 and NFSv3: .snapshot/daily/doc.txt holds v1 and
# doc.txt v2; .snapshot lists daily; a listing of the root does not show .snapshot; the
# snapshot has no after.txt; writing, creating and removing in it fail with EROFS.
# Prints one "PASS: ..." or "FAIL: ..." line per check and exits non-zero when any failed.
#
# usage: snapshot_guest.sh NFS_PORT

set -u

nfs_port=${1:?the NFS port}
dir=$(dirname "$(readlink -f "$0")")
mnt=/mnt/snap
# shellcheck source=guest_lib.sh
source "$dir/guest_lib.sh"

# The command fails with EROFS, or (`also_eacces` set) EACCES: an NFSv3 client asks ACCESS before
# it opens to write, and the server grants no modify bit in a snapshot, as knfsd grants none on
# a read-only export.
refused_rofs() {
  local out
  if out=$("$@" 2>&1); then
    echo "  it succeeded"
    return 1
  fi
  echo "  $out"
  grep -q "Read-only file system" <<<"$out" ||
    { [[ -n ${also_eacces:-} ]] && grep -q "Permission denied" <<<"$out"; }
}
root_hides_it() { ! ls -a "$mnt" | grep -qx '.snapshot'; }

mkdir -p "$mnt"
for vers in 4.1 3; do
  echo "---- NFS vers=$vers"
  if [[ $vers == 3 ]]; then
    opts="vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp,nolock"
  else
    opts="vers=$vers,proto=tcp,port=$nfs_port"
  fi
  if ! mount -t nfs -o "$opts" server:/snap "$mnt"; then
    check "vers=$vers: mount" false
    continue
  fi
  if [[ $vers == 4.1 ]]; then
    check "the share moves on: doc.txt written again" cp "$dir/v2" "$mnt/doc.txt"
    check "and after.txt made" cp "$dir/v2" "$mnt/after.txt"
    umount "$mnt" && mount -t nfs -o "$opts" server:/snap "$mnt"  # nothing from the cache
  fi
  check "vers=$vers: .snapshot/daily/doc.txt holds the old contents" \
    cmp "$dir/v1" "$mnt/.snapshot/daily/doc.txt"
  check "vers=$vers: doc.txt holds the new" cmp "$dir/v2" "$mnt/doc.txt"
  check "vers=$vers: .snapshot lists daily" test "$(ls "$mnt/.snapshot")" = daily
  check "vers=$vers: the root's listing does not show .snapshot" root_hides_it
  check "vers=$vers: the snapshot has no file made after it" \
    test ! -e "$mnt/.snapshot/daily/after.txt"
  also_eacces=""
  [[ $vers == 3 ]] && also_eacces=1
  check "vers=$vers: writing in it fails (EROFS; EACCES from NFSv3's ACCESS)" \
    refused_rofs dd if=/dev/zero of="$mnt/.snapshot/daily/doc.txt" bs=1 count=1 conv=notrunc
  also_eacces=""
  check "vers=$vers: creating in it fails with EROFS" refused_rofs touch "$mnt/.snapshot/daily/new"
  check "vers=$vers: removing from it fails with EROFS" \
    refused_rofs rm -f "$mnt/.snapshot/daily/doc.txt"
  check "vers=$vers: the file is still there" cmp "$dir/v1" "$mnt/.snapshot/daily/doc.txt"
  umount "$mnt" || check "vers=$vers: umount" false
done

if ((fails > 0)); then
  echo "$fails checks failed"
  exit 1
fi
echo "all checks passed"
