#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs in the vmtest guest (see kernel_nlm_test.sh): mounts the server's /export with NFSv3
# *with* locking (the kernel's lock manager finds NLM through the server's port mapper at
# server:111; the guest runs rpcbind and rpc.statd as a client host does) and checks POSIX
# locks between processes and between two mounts, flock, a blocking lock that is granted when
# its holder lets go; that an NFSv4.1 mount's locks and NLM's exclude each other both ways;
# and, with the host's SMB client (smb_side.py, through files in this folder), that NFS (v3
# and v4.1) and SMB byte-range locks exclude each other.
#
# usage: nlm_guest.sh NFS_PORT
# Prints "ok - ..." / "not ok - ..." lines; exit status 0 when every check passed.

set -uo pipefail
nfs_port=$1
dir=$(cd "$(dirname "$0")" && pwd)
failures=0
check() {
  local name=$1
  shift
  if "$@"; then echo "ok - $name"; else echo "not ok - $name"; failures=$((failures + 1)); fi
}

# lockpy MODE PATH START LEN [HOLD_SECONDS] [MARKER]: fcntl lock through Python.
#   try:  F_SETLK, exit 0 when granted, 1 when refused (EAGAIN/EACCES)
#   wait: F_SETLKW (blocks), exit 0 once granted
#   hold: F_SETLK, then touches MARKER and holds the lock HOLD_SECONDS (or until MARKER.done)
cat >/tmp/lockpy <<'PYEOF'
import errno, fcntl, os, sys, time
mode, path, start, length = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
kind = fcntl.LOCK_SH if os.environ.get("SHARED") else fcntl.LOCK_EX
fd = os.open(path, os.O_RDWR)
try:
    fcntl.lockf(fd, kind | (0 if mode == "wait" else fcntl.LOCK_NB), length, start)
except OSError as e:
    if e.errno in (errno.EAGAIN, errno.EACCES):
        sys.exit(1)
    print("lock error:", e, file=sys.stderr)
    sys.exit(2)
if mode == "hold":
    hold, marker = float(sys.argv[5]), sys.argv[6]
    open(marker, "w").close()
    deadline = time.time() + hold
    while time.time() < deadline and not os.path.exists(marker + ".done"):
        time.sleep(0.1)
sys.exit(0)
PYEOF
lockpy() { python3 /tmp/lockpy "$@"; }

# wait_file PATH SECONDS
wait_file() {
  local deadline=$((SECONDS + $2))
  while [[ ! -e $1 ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# The client host's side of NLM: its port mapper and status monitor.
mkdir -p /run/rpcbind /var/lib/nfs/sm /var/lib/nfs/sm.bak
rpcbind -w 2>/dev/null || rpcbind
rpc.statd --no-notify
sleep 0.5

mkdir -p /mnt/a /mnt/b
if ! mount -t nfs -o "vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp" \
  server:/export /mnt/a; then
  echo "not ok - NFSv3 mount with locking"
  exit 1
fi
# A second mount of the same export, not sharing the first's cache (a second client view).
mount -t nfs -o "vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp,nosharecache" \
  server:/export /mnt/b || echo "not ok - second mount"
grep ' /mnt/a ' /proc/mounts | grep -q -v nolock && echo "ok - mounted without nolock"
# An NFSv4.1 mount of the same share: its locks and NLM's are one set.
mkdir -p /mnt/c
check "NFSv4.1 mount next to the NFSv3 ones" \
  mount -t nfs -o "vers=4.1,proto=tcp,port=$nfs_port" server:/export /mnt/c

echo data >/mnt/a/locked.txt
sync

# Two processes: a held exclusive lock refuses another process's overlapping lock, not a
# disjoint one; once released, the range is free.
lockpy hold /mnt/a/locked.txt 0 100 60 /tmp/h1 &
holder=$!
check "the holder got its lock" wait_file /tmp/h1 30
check "another process's overlapping lock is refused" bash -c '! python3 /tmp/lockpy try /mnt/a/locked.txt 50 10'
check "a disjoint range is free" lockpy try /mnt/a/locked.txt 100 10
check "through the second mount, refused too" bash -c '! python3 /tmp/lockpy try /mnt/b/locked.txt 0 1'
check "a shared lock is refused by the exclusive one" bash -c '! SHARED=1 python3 /tmp/lockpy try /mnt/a/locked.txt 0 1'
check "an NFSv4.1 lock is refused by the NFSv3 (NLM) one" \
  bash -c '! python3 /tmp/lockpy try /mnt/c/locked.txt 10 1'
touch /tmp/h1.done
wait $holder
check "after the holder let go, the range is free" lockpy try /mnt/b/locked.txt 0 100

# Shared locks share.
SHARED=1 lockpy hold /mnt/a/locked.txt 0 10 60 /tmp/h2 &
holder=$!
wait_file /tmp/h2 30
check "two shared locks share" env SHARED=1 python3 /tmp/lockpy try /mnt/b/locked.txt 0 10
touch /tmp/h2.done
wait $holder

# flock (on NFS the kernel takes it as a whole-file POSIX lock).
(flock -x 9 && touch /tmp/f1 && sleep 30) 9>/mnt/a/flock.txt &
flocker=$!
wait_file /tmp/f1 30
check "flock -n from another process is refused" bash -c '! flock -n -x /mnt/b/flock.txt true'
kill $flocker 2>/dev/null
wait $flocker 2>/dev/null
check "flock is free once its holder is gone" flock -n -x /mnt/b/flock.txt true

# A blocking lock waits, and is granted once the holder lets go (through the server's GRANTED
# callback, or the client's own re-poll when the callback cannot reach it).
lockpy hold /mnt/c/locked.txt 0 10 60 /tmp/h4 &
holder=$!
check "the NFSv4.1 holder got its lock" wait_file /tmp/h4 30
check "an NFSv3 (NLM) lock is refused by the NFSv4.1 one" \
  bash -c '! python3 /tmp/lockpy try /mnt/a/locked.txt 5 1'
touch /tmp/h4.done
wait $holder
check "once the NFSv4.1 holder let go, NLM gets the range" lockpy try /mnt/a/locked.txt 5 1

lockpy hold /mnt/a/locked.txt 0 10 60 /tmp/h3 &
holder=$!
wait_file /tmp/h3 30
start=$SECONDS
(python3 /tmp/lockpy wait /mnt/b/locked.txt 0 10 && touch /tmp/w3) &
waiter=$!
sleep 2
check "the blocking request waits while the lock is held" test ! -e /tmp/w3
touch /tmp/h3.done
wait $holder
check "the blocking request is granted after the holder let go" wait_file /tmp/w3 90
echo "# the blocked lock waited $((SECONDS - start)) s in all"
wait $waiter 2>/dev/null

# NFS and SMB locks on one file (the host's smb_side.py answers through files in $dir).
echo smbdata >/mnt/a/cross.bin
sync
touch "$dir/file-ready"
lockpy hold /mnt/a/cross.bin 0 10 120 "$dir/guest-holds" &
holder=$!
check "the host's SMB client saw the NFS lock (its lock was refused)" \
  bash -c "wait_file() { local d=\$((SECONDS + \$2)); while [[ ! -e \$1 ]]; do ((SECONDS < d)) || return 1; sleep 0.2; done; }; wait_file '$dir/smb-result-1' 90 && grep -qx refused '$dir/smb-result-1'"
touch "$dir/guest-holds.done"
wait $holder
if wait_file "$dir/smb-holds" 90; then
  check "an SMB lock refuses an NFS lock on its bytes" bash -c '! python3 /tmp/lockpy try /mnt/a/cross.bin 100 5'
  check "the SMB lock refuses an NFSv4.1 lock too" \
    bash -c '! python3 /tmp/lockpy try /mnt/c/cross.bin 100 5'
  check "bytes next to the SMB lock are free" lockpy try /mnt/a/cross.bin 200 5
  touch "$dir/guest-done"
  wait_file "$dir/smb-released" 60
  check "after the SMB unlock the NFS lock is granted" lockpy try /mnt/a/cross.bin 100 5
else
  echo "not ok - the host's SMB client did not take its lock"
  failures=$((failures + 1))
fi

umount /mnt/c
umount /mnt/b
umount /mnt/a
echo "# $failures failed"
exit $((failures > 0))
