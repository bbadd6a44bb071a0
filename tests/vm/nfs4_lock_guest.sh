#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root): NFSv4 locking and sessions with the Linux client.
# fcntl and flock locks between two processes of one mount and between two mounts (a 4.1 and
# a 4.0 mount: two NFSv4 clients of the server), a blocked F_SETLKW granted once the holder
# lets go, and an nconnect=4 mount (several connections in one 4.1 session).
# Prints one "PASS: ..." or "FAIL: ..." line per check and exits non-zero when any failed.
#
# With RESTART_DIR set (a directory the host watches), it then holds a lock across a restart
# of dfs: it writes RESTART_DIR/restart-request, the host restarts dfs and writes
# RESTART_DIR/restarted, and the client must have reclaimed its open and lock in the grace
# period (another process is still refused the lock; the file reads back).
#
# usage: nfs4_lock_guest.sh NFS_PORT

set -u

nfs_port=${1:-2049}
fails=0
checks=0

check() {
  local description=$1
  shift
  checks=$((checks + 1))
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

mkdir -p /mnt/a /mnt/b /mnt/c
mount -t nfs -o "vers=4.1,proto=tcp,port=$nfs_port" server:/export /mnt/a || die "mount 4.1"
mount -t nfs -o "vers=4.0,proto=tcp,port=$nfs_port" server:/export /mnt/b || die "mount 4.0"
grep " /mnt/[ab] " /proc/mounts

name="locks.$$.$RANDOM"
echo "0123456789" >"/mnt/a/$name" || die "create $name"

# lockpy MODE FILE [ARGS]: small fcntl/flock drivers (python3 is in the guest).
cat >/tmp/lock.py <<'EOF'
import errno, fcntl, os, sys, time
mode, path = sys.argv[1], sys.argv[2]
def refused(e):  # exit 1 for a conflict, 2 for any other error (a lost lock, EIO)
    sys.exit(1 if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK) else 2)
if mode == "hold":            # hold a write lock on [0, 100) for N seconds, say when held
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
    open(sys.argv[4], "w").write("held")
    time.sleep(float(sys.argv[3]))
    fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
    os.close(fd)
elif mode == "try":           # exit 0 when a write lock on [50, 60) is granted, 1 when refused
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 50)
    except OSError as e:
        refused(e)
    sys.exit(0)
elif mode == "tryread":       # a read lock past the held range
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 200)
    except OSError as e:
        refused(e)
    sys.exit(0)
elif mode == "wait":          # a blocking write lock; prints how long it waited
    fd = os.open(path, os.O_RDWR)
    t = time.time()
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 50)
    print("waited %.1f s" % (time.time() - t))
elif mode == "flockhold":
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    open(sys.argv[4], "w").write("held")
    time.sleep(float(sys.argv[3]))
elif mode == "flocktry":
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        refused(e)
    sys.exit(0)
EOF

wait_for() {  # wait_for FILE: until a holder says it holds its lock
  local i
  for i in $(seq 1 300); do
    [[ -s "$1" ]] && return 0
    sleep 0.1
  done
  return 1
}

refused() {  # a conflict, not some other error
  python3 /tmp/lock.py "$@"
  [[ $? -eq 1 ]]
}

rm -f /tmp/held
python3 /tmp/lock.py hold "/mnt/a/$name" 20 /tmp/held &
holder=$!
check "a process holds a write lock through the 4.1 mount" wait_for /tmp/held
check "another process on the same mount is refused an overlapping lock" \
  refused try "/mnt/a/$name"
check "a process on the 4.0 mount (another client) is refused too" refused try "/mnt/b/$name"
check "a read lock outside the held range is granted" python3 /tmp/lock.py tryread "/mnt/b/$name"
waited=$(python3 /tmp/lock.py wait "/mnt/b/$name")
check "a blocking lock on the 4.0 mount is granted once the holder lets go ($waited)" \
  test -n "$waited"
wait "$holder"
check "after the holder is gone the lock is granted at once" python3 /tmp/lock.py try "/mnt/a/$name"

rm -f /tmp/held
python3 /tmp/lock.py flockhold "/mnt/b/$name" 10 /tmp/held &
holder=$!
check "flock held through the 4.0 mount" wait_for /tmp/held
check "flock from the 4.1 mount is refused" refused flocktry "/mnt/a/$name"
wait "$holder"
check "flock is granted once released" python3 /tmp/lock.py flocktry "/mnt/a/$name"

rm -f "/mnt/a/$name"
check "umount 4.0" umount /mnt/b
check "umount 4.1" umount /mnt/a

# Several connections in one session. Alone: the kernel shares one client (and its
# connections) among mounts of a server, and nconnect applies only to a new one.
check "mount with nconnect=4" mount -t nfs -o "vers=4.1,proto=tcp,port=$nfs_port,nconnect=4" \
  server:/export /mnt/c
dd if=/dev/urandom of=/tmp/big bs=1M count=8 status=none
check "8 MiB written through the nconnect mount" cp /tmp/big "/mnt/c/big.$name"
sync
echo 3 >/proc/sys/vm/drop_caches
check "and read back the same" cmp /tmp/big "/mnt/c/big.$name"
check "connections: 4 or more to the server" \
  test "$(ss -tn state established "( dport = :$nfs_port )" | tail -n +2 | wc -l)" -ge 4
rm -f "/mnt/c/big.$name"
check "umount nconnect" umount /mnt/c

if [[ -n "${RESTART_DIR:-}" ]]; then
  check "mount 4.1 for the restart" mount -t nfs -o "vers=4.1,proto=tcp,port=$nfs_port" \
    server:/export /mnt/a
  name="reclaim.$$.$RANDOM"
  echo "kept across a restart" >"/mnt/a/$name"
  rm -f /tmp/held "$RESTART_DIR/restarted"
  python3 /tmp/lock.py hold "/mnt/a/$name" 150 /tmp/held &
  holder=$!
  check "lock held before the restart" wait_for /tmp/held
  touch "$RESTART_DIR/restart-request"
  restarted=0
  for _ in $(seq 1 600); do
    [[ -e "$RESTART_DIR/restarted" ]] && { restarted=1; break; }
    sleep 0.1
  done
  check "the host restarted dfs" test "$restarted" -eq 1
  start=$SECONDS
  # The first call after the restart finds the session gone: the client starts over, reclaims
  # its open and lock (CLAIM_PREVIOUS, reclaim) in the grace period, then this one is refused.
  check "after the restart another process is refused the reclaimed lock" \
    refused try "/mnt/a/$name"
  echo "(the refusal came $((SECONDS - start)) s after the restart)"
  check "the file reads back after the restart" grep -q "kept across a restart" "/mnt/a/$name"
  kill "$holder" 2>/dev/null
  wait "$holder" 2>/dev/null
  check "the lock is free once its holder is gone" python3 /tmp/lock.py try "/mnt/a/$name"
  rm -f "/mnt/a/$name"
  check "umount after the restart" umount /mnt/a
fi
echo "SUMMARY: $((checks - fails)) of $checks checks passed"
[[ $fails -eq 0 ]]
