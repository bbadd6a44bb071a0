#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): snapshots (docs/snapshots.md) with the Linux client.
# The host wrote DIR/v1 as doc.txt on the share /snap, took snapshot "daily", then wrote DIR/v2
# over doc.txt and made after.txt. For NFSv4.1 and NFSv3: .snapshot/daily/doc.txt holds v1 and
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

refused_rofs() { ! out=$("$@" 2>&1) && grep -q "Read-only file system" <<<"$out"; }
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
  check "vers=$vers: .snapshot/daily/doc.txt holds the old contents" \
    cmp "$dir/v1" "$mnt/.snapshot/daily/doc.txt"
  check "vers=$vers: doc.txt holds the new" cmp "$dir/v2" "$mnt/doc.txt"
  check "vers=$vers: .snapshot lists daily" test "$(ls "$mnt/.snapshot")" = daily
  check "vers=$vers: the root's listing does not show .snapshot" root_hides_it
  check "vers=$vers: the snapshot has no file made after it" \
    test ! -e "$mnt/.snapshot/daily/after.txt"
  check "vers=$vers: writing in it fails with EROFS" \
    refused_rofs dd if=/dev/zero of="$mnt/.snapshot/daily/doc.txt" bs=1 count=1 conv=notrunc
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
