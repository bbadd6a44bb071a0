#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): quotas over NFSv4.1 and NFSv3 with the Linux client.
# The host set a hard byte limit of LIMIT on the share and a limit of 100 files on root. For
# each version: df shows the limit as the file system's size; writing 32 MiB with O_DIRECT
# fails with EDQUOT ("Disk quota exceeded") once the limit would be passed; after a remount the
# file holds exactly the bytes written before the refusal. Over NFSv4.1 also: df -i shows the
# file limit, and creating files stops with EDQUOT at it.
# Writes DIR/kept: the bytes left in the share at the end.
# Prints one "PASS: ..." or "FAIL: ..." line per check and exits non-zero when any failed.
#
# usage: quota_guest.sh NFS_PORT LIMIT

set -u

nfs_port=${1:?the NFS port}
limit=${2:?the byte limit of the share}
dir=$(dirname "$(readlink -f "$0")")
mnt=/mnt/quota
# shellcheck source=guest_lib.sh
source "$dir/guest_lib.sh"

die() {
  echo "FAIL: $*"
  exit 1
}

within_mib() { local d=$(($1 - $2)); ((d < 0)) && d=$((-d)); ((d < 1048576)); }

mount_as() {
  local opts
  if [[ $1 == 3 ]]; then
    opts="vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp,nolock"
  else
    opts="vers=$1,proto=tcp,port=$nfs_port"
  fi
  mount -t nfs -o "$opts" server:/export "$mnt" || die "mount vers=$1"
}

head -c $((32 << 20)) /dev/urandom >/tmp/src
mkdir -p "$mnt"
for vers in 4.1 3; do
  echo "---- NFS vers=$vers"
  mount_as "$vers"
  rm -f "$mnt"/*.bin
  size=$(df -B1 --output=size "$mnt" | tail -n 1 | tr -d ' ')
  check "vers=$vers: df shows the share's limit as the size ($size, limit $limit)" within_mib "$size" "$limit"
  out=$(dd if=/tmp/src of="$mnt/v$vers.bin" bs=1M oflag=direct 2>&1)
  status=$?
  echo "$out" | tail -n 3
  check "vers=$vers: the write past the limit fails" test "$status" -ne 0
  check "vers=$vers: with EDQUOT (Disk quota exceeded)" grep -q "Disk quota exceeded" <<<"$out"
  written=$(stat -c %s "$mnt/v$vers.bin")
  check "vers=$vers: the file holds what the limit let in ($written bytes)" \
    test "$written" -gt $((limit - (4 << 20))) -a "$written" -le "$limit"
  avail=$(df -B1 --output=avail "$mnt" | tail -n 1 | tr -d ' ')
  check "vers=$vers: df shows what the limit leaves ($avail bytes)" within_mib "$avail" $((limit - written))
  umount "$mnt" || die "umount"
  mount_as "$vers"
  check "vers=$vers: after a remount the file has the same size" test "$(stat -c %s "$mnt/v$vers.bin")" -eq "$written"
  check "vers=$vers: and every byte written before the refusal" cmp -n "$written" /tmp/src "$mnt/v$vers.bin"
  if [[ $vers == 4.1 ]]; then
    rm -f "$mnt/v$vers.bin"
    files=$(df --output=itotal "$mnt" | tail -n 1 | tr -d ' ')
    check "vers=$vers: df -i shows root's file limit ($files)" test "$files" -eq 100
    mkdir -p "$mnt/many"
    made=0
    err=""
    for i in $(seq 1 150); do
      if ! err=$(touch "$mnt/many/f$i" 2>&1); then break; fi
      made=$i
    done
    echo "  created $made files; then: $err"
    check "vers=$vers: creating files stops with EDQUOT" grep -q "Disk quota exceeded" <<<"$err"
    check "vers=$vers: before passing 100 files ($made made)" test "$made" -lt 100 -a "$made" -gt 90
    rm -rf "$mnt/many"
  fi
  [[ $vers == 3 ]] && stat -c %s "$mnt/v$vers.bin" >"$dir/kept"
  umount "$mnt" || die "umount"
done

if ((fails > 0)); then
  echo "$fails checks failed"
  exit 1
fi
echo "all checks passed"
