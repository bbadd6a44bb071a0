#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs in the vmtest guest (see kernel_acl_test.sh), as root, with nfs4-acl-tools installed:
# mounts the server's /export over NFSv4.1, NFSv3 and SMB 3.1.1 (cifs) and shows that one ACL
# decides for every protocol, with the host's SMB client (acl_side.py, through marker files in
# this script's folder) as the other side:
#   1. nfs4_getfacl shows a file's ACL; nfs4_setfacl adds a DENY ACE for alice (uid 2001): alice
#      cannot read the file over NFS, and over SMB the host's alice is refused too while the
#      owner bob (uid 2002) reads it;
#   2. a DENY ACE for alice set over SMB by the host makes alice's NFS reads fail, and
#      nfs4_getfacl shows it;
#   3. getcifsacl shows owner, group and ACEs of a file; setcifsacl -a adds an ALLOW ACE for
#      alice's SID, which getcifsacl then shows, nfs4_getfacl shows too, and which lets alice
#      write the file over NFS;
#   4. a file created over NFSv3 and removed over NFSv4.1 in a directory the host watches with
#      SMB CHANGE_NOTIFY (the host checks FILE_ACTION_ADDED and FILE_ACTION_REMOVED);
#   5. a file kept open for writing on the cifs mount while its TCP connection is cut
#      (ss -K): the client reconnects and reopens it (dmesg, with the cifs module's debug
#      messages on, and /proc/fs/cifs/Stats), and everything written before and after the cut
#      is in the file, read back over SMB and NFS.
#
# usage: acl_guest.sh NFS_PORT SMB_PORT CREDENTIALS_FILE MACHINE_SID
#   CREDENTIALS_FILE  a mount.cifs credentials file of a user that is uid 0 on the server
#   MACHINE_SID       the server's SMB machine SID (a uid's SID is it and 1000 + 2 * uid)
# Prints one "PASS: ..." or "FAIL: ..." line per check; exit status 0 when every check passed.

set -u

nfs_port=${1:?NFS_PORT}
smb_port=${2:?SMB_PORT}
credentials=${3:?CREDENTIALS_FILE}
machine_sid=${4:?MACHINE_SID}
dir=$(cd "$(dirname "$0")" && pwd)

alice=2001
bob=2002
alice_sid=$machine_sid-$((1000 + 2 * alice))
bob_sid=$machine_sid-$((1000 + 2 * bob))
bob_group_sid=$machine_sid-$((1001 + 2 * bob))
nfs4=/mnt/nfs4
nfs3=/mnt/nfs3
smb=/mnt/smb
fails=0
checks=0

# check DESCRIPTION COMMAND [ARG...]: runs the command; its exit status decides PASS or FAIL.
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

# same A B: true when the two strings are equal; says what differed otherwise.
same() {
  [[ "$1" == "$2" ]] && return 0
  echo "  got:      '$1'" >&2
  echo "  expected: '$2'" >&2
  return 1
}

# indent PREFIX TEXT: prints TEXT with PREFIX before each line.
indent() { printf '%s%s\n' "$1" "${2//$'\n'/$'\n'$1}"; }

# has_line TEXT LINE: true when TEXT has LINE as one of its lines; shows TEXT otherwise.
has_line() {
  grep -qxF -- "$2" <<<"$1" && return 0
  echo "  no line '$2' in:" >&2
  indent "    " "$1" >&2
  return 1
}

# as UID COMMAND [ARG...]: runs the command as that uid and gid, without other groups.
as() {
  local id=$1
  shift
  setpriv --reuid="$id" --regid="$id" --clear-groups "$@"
}

# denied UID COMMAND [ARG...]: true when the command, run as UID, fails with EACCES.
denied() {
  local out
  if out=$(as "$@" 2>&1); then
    echo "  succeeded: $out" >&2
    return 1
  fi
  [[ "$out" == *"Permission denied"* ]] && return 0
  echo "  failed otherwise: $out" >&2
  return 1
}

# The ACEs nfs4_getfacl prints, one a line (its comment and blank lines left out).
aces() { nfs4_getfacl "$1" 2>&1 | grep -v -e '^#' -e '^$'; }

# Forget cached pages, attributes and names so that what follows is asked of the server.
fresh() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

# wait_marker NAME: waits (up to 90 s) for the host's marker file NAME in $dir.
wait_marker() {
  local deadline=$((SECONDS + 90))
  while [[ ! -e "$dir/$1" ]]; do
    if ((SECONDS >= deadline)); then
      echo "  the host did not make $1 within 90 s" >&2
      return 1
    fi
    sleep 0.2
  done
}

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
start_ms=$(now_ms)
section() {
  local elapsed=$(($(now_ms) - start_ms))
  printf '== %s (at %d.%01d s)\n' "$1" $((elapsed / 1000)) $((elapsed % 1000 / 100))
}

section "mounts"
for tool in nfs4_getfacl nfs4_setfacl getcifsacl setcifsacl setpriv ss; do
  check "$tool is installed in the guest" test -n "$(command -v "$tool")"
done
mkdir -p "$nfs4" "$nfs3" "$smb"
check "NFSv4.1 mount" mount -t nfs -o "vers=4.1,proto=tcp,port=$nfs_port" server:/export "$nfs4"
check "NFSv3 mount" mount -t nfs \
  -o "vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp,nolock" \
  server:/export "$nfs3"
check "cifs mount (vers=3.1.1)" mount -t cifs //server/export "$smb" \
  -o "vers=3.1.1,port=$smb_port,credentials=$credentials"
mkdir -p "$nfs4/acl"
echo open >"$nfs4/acl/open.txt"
chown "$bob:$bob" "$nfs4/acl/open.txt"

# bob's file, mode 644, as bob would have made it.
bob_file() {
  echo "${2:-secret}" >"$1"
  chown "$bob:$bob" "$1"
  chmod 644 "$1"
}

section "1. nfs4_setfacl's DENY, seen over NFS and SMB"
f=$nfs4/acl/nfs-deny.txt
bob_file "$f"
fresh
acl=$(aces "$f")
check "nfs4_getfacl: the owner's ACE of mode 644" has_line "$acl" "A::OWNER@:rwa"
check "nfs4_getfacl: the group's ACE" has_line "$acl" "A:g:GROUP@:r"
check "nfs4_getfacl: everyone's ACE" has_line "$acl" "A::EVERYONE@:r"
check "alice reads bob's file (mode 644) before any ACE names her" \
  same "$(as $alice cat "$f" 2>&1)" secret
check "nfs4_setfacl -a 'D::alice@localdomain:r'" nfs4_setfacl -a "D::alice@localdomain:r" "$f"
fresh
acl=$(aces "$f")
check "nfs4_getfacl: the DENY ACE for uid $alice comes first" same "$(head -n 1 <<<"$acl")" \
  "D::$alice:r"
check "nfs4_getfacl: the mode's ACEs stay" has_line "$acl" "A::EVERYONE@:r"
check "an ACE for a named user leaves the mode as it was (644)" same "$(stat -c %a "$f")" 644
check "alice: cat over NFSv4.1 gets Permission denied" denied $alice cat "$f"
check "alice: cat over NFSv3 gets Permission denied" denied $alice cat "$nfs3/acl/nfs-deny.txt"
check "the owner bob still reads it over NFS" same "$(as $bob cat "$f" 2>&1)" secret
touch "$dir/nfs-deny-ready"
check "the host checked the file over SMB (its PASS/FAIL lines are its own)" \
  wait_marker nfs-deny-checked

section "2. a DENY set over SMB, seen over NFS"
f=$nfs4/acl/smb-deny.txt
bob_file "$f"
check "alice reads the file over NFS before the SMB DENY" same "$(as $alice cat "$f" 2>&1)" \
  secret
touch "$dir/smb-deny-ready"
check "the host set the security descriptor" wait_marker smb-deny-set
# No cache dropped yet: the guest's NFSv4.1 client may hold a delegation of the file (it made
# it), which the server must have recalled for the SMB open that changed the ACL, so the
# client asks the server again.
check "alice: cat over NFSv4.1 gets Permission denied at once after the SMB DENY" \
  denied $alice cat "$f"
fresh
check "alice: cat over NFSv3 gets Permission denied too" denied $alice cat \
  "$nfs3/acl/smb-deny.txt"
check "the owner bob still reads it" same "$(as $bob cat "$f" 2>&1)" secret
check "nfs4_getfacl shows the SMB DENY ACE first" same "$(aces "$f" | head -n 1)" "D::$alice:r"

section "3. getcifsacl and setcifsacl"
f=$nfs4/acl/cifs.txt
bob_file "$f" original
fresh
out=$(getcifsacl "$smb/acl/cifs.txt" 2>&1)
indent "  getcifsacl: " "$out"
check "getcifsacl: the owner is bob's SID" has_line "$out" "OWNER:$bob_sid"
check "getcifsacl: the group is the SID of bob's gid" has_line "$out" "GROUP:$bob_group_sid"
check "getcifsacl: an ALLOW ACE for the owner" grep -q "^ACL:$bob_sid:ALLOWED/0x0/" <<<"$out"
check "getcifsacl: an ALLOW ACE for Everyone (S-1-1-0)" grep -q "^ACL:S-1-1-0:ALLOWED/0x0/" \
  <<<"$out"
check "alice cannot write bob's file (mode 644) over NFS" denied $alice \
  sh -c "echo more >>'$f'"
check "setcifsacl -a 'ACL:$alice_sid:ALLOWED/0x0/CHANGE'" \
  setcifsacl -a "ACL:$alice_sid:ALLOWED/0x0/CHANGE" "$smb/acl/cifs.txt"
fresh
out=$(getcifsacl "$smb/acl/cifs.txt" 2>&1)
indent "  getcifsacl: " "$out"
check "getcifsacl shows the new ACE" has_line "$out" "ACL:$alice_sid:ALLOWED/0x0/CHANGE"
check "getcifsacl still shows the owner's ACE" grep -q "^ACL:$bob_sid:ALLOWED/0x0/" <<<"$out"
check "nfs4_getfacl shows it as an ALLOW ACE for uid $alice" has_line "$(aces "$f")" \
  "A::$alice:rwadxtTnNcy"
check "alice now appends to the file over NFS" as $alice sh -c "echo more >>'$f'"
fresh
check "the file holds what alice appended (read over SMB)" same "$(cat "$smb/acl/cifs.txt")" \
  $'original\nmore'

section "4. CHANGE_NOTIFY on the host, fed by NFS"
mkdir -p "$nfs4/notify"
touch "$dir/notify-ready"
if wait_marker watching; then
  echo hello >"$nfs3/notify/from-nfs3.txt"
  check "the host watches again" wait_marker watching-2
  rm -f "$nfs4/notify/from-nfs3.txt"
  check "the host got both changes (its PASS/FAIL lines are its own)" wait_marker notify-done
else
  check "the host watches the directory over SMB" false
fi

section "5. a cifs mount reconnects with its open file intact"
modprobe tcp_diag 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
dmesg_lines=$(dmesg | wc -l)
# The cifs reconnect counters: "N session M share reconnects".
reconnects() { sed -n 's/^\([0-9]*\) session \([0-9]*\) share reconnects$/\1 \2/p' \
  /proc/fs/cifs/Stats; }
before=$(reconnects)
head -c 1048576 /dev/urandom >/tmp/part1
head -c 65536 /dev/urandom >/tmp/part2
head -c 1048576 /dev/urandom >/tmp/part3
cat /tmp/part1 /tmp/part2 /tmp/part3 >/tmp/whole
cat >/tmp/reconnect.py <<'PYEOF'
"""Writes part1 (fsync), part2 (left in the page cache), cuts the cifs connection, writes
part3, fsync, close: all through one descriptor."""
import os, re, subprocess, sys
path, port = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open("/tmp/part1", "rb").read())
os.fsync(fd)
os.write(fd, open("/tmp/part2", "rb").read())
# The cifs module's debug messages into the kernel log, for the reconnect.
open("/proc/fs/cifs/cifsFYI", "w").write("1")
open("/sys/kernel/debug/dynamic_debug/control", "w").write("module cifs +p")
established = ["ss", "-H", "-t", "-n", "state", "established", "dst", "10.0.2.100", "dport", "=",
               ":" + port]
# The guest's address:port of the connection now, to tell it from the one cifs makes next.
local = lambda text: re.findall(r"10\.0\.2\.15:\d+", text)
ours = local(subprocess.run(established, capture_output=True, text=True).stdout)
cut = subprocess.run(["ss", "-K", "-t", "-n", "dst", "10.0.2.100", "dport", "=", ":" + port],
                     capture_output=True, text=True)
print("  ss -K:", " | ".join(cut.stdout.strip().split("\n")[1:]), flush=True)
left = local(subprocess.run(established, capture_output=True, text=True).stdout)
print("CUT" if cut.returncode == 0 and ours and ours[0] not in left else
      "NOT-CUT: connection %s, after ss -K: %s" % (ours, left), flush=True)
os.write(fd, open("/tmp/part3", "rb").read())
os.fsync(fd)
os.close(fd)
open("/proc/fs/cifs/cifsFYI", "w").write("0")
open("/sys/kernel/debug/dynamic_debug/control", "w").write("module cifs -p")
print("CLOSED", flush=True)
PYEOF
out=$(python3 /tmp/reconnect.py "$smb/reconnect.bin" "$smb_port" 2>&1)
echo "$out" | grep '^  '
check "ss -K cut the cifs connection" grep -qx CUT <<<"$out"
grep -qx CLOSED <<<"$out" || indent "  " "$out"
check "write, fsync and close through the fd kept across the cut succeed" \
  grep -qx CLOSED <<<"$out"
after=$(reconnects)
echo "  cifs reconnects (session share): before '$before', after '$after'"
check "/proc/fs/cifs/Stats counts a session reconnect" \
  test "${after%% *}" -gt "${before%% *}"
kernel_log=$(dmesg | tail -n +$((dmesg_lines + 1)))
grep -E 'reconnect tcon rc|cifs_reopen_file.*rc =|need reconnect' <<<"$kernel_log" |
  sed 's/^/  dmesg: /'
check "dmesg: cifs reconnected the share (reconnect tcon rc = 0)" \
  grep -q 'reconnect tcon rc = 0' <<<"$kernel_log"
check "dmesg: cifs reopened the open file (cifs_reopen_file ... rc = 0)" \
  grep -qE 'leaving cifs_reopen_file .* rc = 0' <<<"$kernel_log"
fresh
check "the file has all the data, read over SMB after drop_caches" cmp "$smb/reconnect.bin" \
  /tmp/whole
check "the file has all the data, read over NFSv4.1" cmp "$nfs4/reconnect.bin" /tmp/whole
touch "$dir/reconnect-done"

section "done"
umount "$smb" || echo "  umount $smb failed"
umount "$nfs3" || echo "  umount $nfs3 failed"
umount "$nfs4" || echo "  umount $nfs4 failed"
echo "SUMMARY: $((checks - fails)) of $checks checks passed, $fails failures"
[[ $fails -eq 0 ]]
