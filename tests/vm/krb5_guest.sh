#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs inside the vmtest guest (as root) for kernel_krb5_test.sh: the Linux NFS client with
# Kerberos V5 against dfs, in the host's throwaway realm DFS.TEST (its KDC at server:KDC_PORT,
# over TCP). The guest gets alice's ticket with kinit and runs rpc.gssd -n, so root's NFS calls
# carry alice's credentials (there is no machine keytab). Then:
#   * NFSv4.1 with sec=krb5, krb5i and krb5p, and NFSv3 with sec=krb5 and krb5p, on /krb: a file
#     written reads back and belongs to alice's uid 4242 (from her principal), and the marker
#     file DIR/marker is written and read back (O_DIRECT) while the host captures the NFS
#     connection's bytes (DIR/capture-NAME.start, .started, .stop, .stopped; NAME is
#     v<VERSION>-<FLAVOR>); the host then looks for the marker in them;
#   * nfs3_posix_guest.sh with NFS_QUICK=1 over NFSv4.1 with each flavor and NFSv3 sec=krb5;
#   * refused: bob (a principal that is no dfs user) reading as a local user with his ticket
#     while alice, as another local user, reads the same file; root mounting with bob's ticket;
#     the krb5p-only share /secure mounted with sec=sys (v4.1 and v3) or sec=krb5;
#   * with CIFS_KRB5=1, //server/krb with cifs sec=krb5 and sec=krb5,seal on SMB_PORT
#     (cache=none: every read and write goes to the server): a file written reads back and is
#     alice's over NFS; the marker round trip (captures smb-krb5, smb-krb5-seal); root mounting
#     with bob's ticket is refused.
# Prints one "PASS: ..." or "FAIL: ..." line per check and exits non-zero when any failed.
#
# usage: krb5_guest.sh DIR NFS_PORT KDC_PORT [SMB_PORT]   (guest-side ports on host "server")

set -u

dir=${1:?the directory shared with the host}
nfs_port=${2:?NFS port}
kdc_port=${3:?KDC port}
smb_port=${4:-}
alice_uid=4242
# shellcheck source=guest_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest_lib.sh"

# refused COMMAND [ARG...]: true when the command fails; shows its error either way.
refused() {
  local status=0
  timeout 120 "$@" >/tmp/refused.out 2>&1 || status=$?
  sed 's/^/  /' /tmp/refused.out | head -n 5 >&2
  [[ $status -ne 0 ]] && return 0
  echo "  it succeeded" >&2
  return 1
}

# nfs_opts VERSION FLAVOR: the mount options for dfs's NFS port with that security flavor.
nfs_opts() {
  if [[ $1 == 3 ]]; then
    echo "vers=3,proto=tcp,port=$nfs_port,mountport=$nfs_port,mountproto=tcp,nolock,sec=$2"
  else
    echo "vers=$1,proto=tcp,port=$nfs_port,sec=$2"
  fi
}

# mounted_with MOUNTPOINT FLAVOR: /proc/mounts shows MOUNTPOINT with sec=FLAVOR.
mounted_with() {
  awk -v m="$1" -v s="sec=$2" '$2 == m { n = split($4, o, ","); for (i = 1; i <= n; i++)
    if (o[i] == s) found = 1 } END { exit !found }' /proc/mounts
}

# wait_for FILE: waits up to 60 s for the host to create FILE.
wait_for() {
  local i
  for ((i = 0; i < 600; i++)); do
    [[ -e "$1" ]] && return 0
    sleep 0.1
  done
  echo "  the host did not answer with $1" >&2
  return 1
}

# marker_round_trip NAME MOUNTPOINT: writes DIR/marker to the mount and reads it back, both
# with O_DIRECT so that every byte crosses the wire now, while the host captures the NFS
# connection (capture NAME); true when it read back the same. cifs mounts: cache=none.
marker_round_trip() {
  local name=$1 m=$2
  : >"$dir/capture-$name.start"
  wait_for "$dir/capture-$name.started" || return 1
  dd if="$dir/marker" of="$m/marker-$name" bs=64k oflag=direct status=none &&
    dd if="$m/marker-$name" of=/tmp/marker.back bs=64k iflag=direct status=none
  local status=$?
  : >"$dir/capture-$name.stop"
  wait_for "$dir/capture-$name.stopped" || return 1
  [[ $status -eq 0 ]] && cmp "$dir/marker" /tmp/marker.back
}

# write_read_owner VERSION FLAVOR MOUNTPOINT: a file written over the mount reads back after
# the caches are dropped, and the server made it alice's.
write_read_owner() {
  local what="NFSv$1 sec=$2" f="$3/written-v$1-$2"
  check "$what: a file is written" eval "echo 'written over $what' >'$f'"
  fresh
  check "$what: it reads back" same "$(cat "$f")" "written over $what"
  check "$what: it belongs to alice (uid $alice_uid)" same "$(stat -c %u "$f")" "$alice_uid"
}

section "Kerberos client"
cat >/etc/krb5.conf <<EOF
[libdefaults]
  default_realm = DFS.TEST
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
[realms]
  DFS.TEST = {
    kdc = server:$kdc_port
  }
[domain_realm]
  server = DFS.TEST
EOF
check "kinit alice (root's ccache /tmp/krb5cc_0)" eval 'kinit alice <<<alicepw >/dev/null'
klist
modprobe -a sunrpc auth_rpcgss rpcsec_gss_krb5 nfsv3 nfsv4
mkdir -p /run/rpc_pipefs
mountpoint -q /run/rpc_pipefs || mount -t rpc_pipefs sunrpc /run/rpc_pipefs
# -n: root's calls use its own ccache (alice's ticket) rather than a machine keytab; the
# kernel's NFSv4 lease calls, which ask for machine credentials, then fall back to AUTH_SYS.
rpc.gssd -f -n -vvv -rrr -p /run/rpc_pipefs >/tmp/gssd.log 2>&1 &
gssd_pid=$!
# The kernel takes gssd to be running once it holds the pipe clntXX/gssd open.
gssd_ready() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ "$(ls -l "/proc/$gssd_pid/fd" 2>/dev/null)" == *clntXX/gssd* ]] && return 0
    sleep 0.1
  done
  return 1
}
check "rpc.gssd runs" gssd_ready

for sec in krb5 krb5i krb5p; do
  section "NFSv4.1 sec=$sec"
  m=/mnt/v41-$sec
  mkdir -p "$m"
  if check "NFSv4.1 sec=$sec: mount server:/krb" mount -t nfs -o "$(nfs_opts 4.1 $sec)" server:/krb "$m"; then
    check "NFSv4.1 sec=$sec: /proc/mounts shows sec=$sec" mounted_with "$m" "$sec"
    write_read_owner 4.1 "$sec" "$m"
    check "NFSv4.1 sec=$sec: the marker file reads back (host capture v4.1-$sec)" \
      marker_round_trip "v4.1-$sec" "$m"
    umount "$m"
  fi
  section "NFSv4.1 sec=$sec: nfs3_posix_guest.sh (NFS_QUICK)"
  check "NFSv4.1 sec=$sec: POSIX checks" env NFS_VERS=4.1 NFS_OPTS="sec=$sec" NFS_EXPORT=/krb \
    NFS_QUICK=1 "$dir/nfs3_posix_guest.sh" "$nfs_port"
done

for sec in krb5 krb5p; do
  section "NFSv3 sec=$sec"
  m=/mnt/v3-$sec
  mkdir -p "$m"
  if check "NFSv3 sec=$sec: mount server:/krb" mount -t nfs -o "$(nfs_opts 3 $sec)" server:/krb "$m"; then
    check "NFSv3 sec=$sec: /proc/mounts shows sec=$sec" mounted_with "$m" "$sec"
    write_read_owner 3 "$sec" "$m"
    check "NFSv3 sec=$sec: the marker file reads back (host capture v3-$sec)" \
      marker_round_trip "v3-$sec" "$m"
    umount "$m"
  fi
done
section "NFSv3 sec=krb5: nfs3_posix_guest.sh (NFS_QUICK)"
check "NFSv3 sec=krb5: POSIX checks" env NFS_VERS=3 NFS_OPTS="sec=krb5" NFS_EXPORT=/krb \
  NFS_QUICK=1 "$dir/nfs3_posix_guest.sh" "$nfs_port"

section "bob: a ticket, but no dfs user"
# Local users 2001 (alice's ticket) and 2002 (bob's), no accounts, on one mount of root's: gssd
# makes each one's context from their own ccache (MIT's default, /tmp/krb5cc_<uid>).
user_alice=(setpriv --reuid=2001 --regid=2001 --clear-groups)
user_bob=(setpriv --reuid=2002 --regid=2002 --clear-groups)
m=/mnt/users
mkdir -p "$m"
"${user_alice[@]}" kinit alice <<<alicepw >/dev/null
"${user_bob[@]}" kinit bob <<<bobpw >/dev/null
if check "NFSv4.1 sec=krb5: mount server:/krb for the users" \
  mount -t nfs -o "$(nfs_opts 4.1 krb5)" server:/krb "$m"; then
  echo "for everyone" >"$m/everyone"
  chmod 644 "$m/everyone"
  check "local user 2001 with alice's ticket reads a file of mode 644" \
    same "$("${user_alice[@]}" cat "$m/everyone")" "for everyone"
  "${user_alice[@]}" touch "$m/by-2001"
  check "  and what it creates is alice's" same "$(stat -c %u "$m/by-2001")" "$alice_uid"
  # (gssd's context for bob is refused, so are his calls: EACCES, or ESTALE from the client
  # when they were to revalidate the mount's root.)
  check "local user 2002 with bob's ticket cannot read it" refused "${user_bob[@]}" cat "$m/everyone"
  check "  nor list the share" refused "${user_bob[@]}" ls "$m"
  umount "$m"
fi
kdestroy
kinit bob <<<bobpw >/dev/null
check "NFSv4.1 sec=krb5: root with bob's ticket cannot mount server:/krb" \
  refused mount -t nfs -o "$(nfs_opts 4.1 krb5),retry=0" server:/krb "$m"
check "NFSv3 sec=krb5: root with bob's ticket cannot mount server:/krb" \
  refused mount -t nfs -o "$(nfs_opts 3 krb5),retry=0" server:/krb "$m"
mountpoint -q "$m" && umount "$m"
kdestroy
kinit alice <<<alicepw >/dev/null

section "the krb5p-only share /secure"
m=/mnt/secure
mkdir -p "$m"
check "NFSv4.1 sec=sys: mount server:/secure is refused" \
  refused mount -t nfs -o "$(nfs_opts 4.1 sys),retry=0" server:/secure "$m"
mountpoint -q "$m" && umount "$m"
check "NFSv3 sec=sys: mount server:/secure is refused" \
  refused mount -t nfs -o "$(nfs_opts 3 sys),retry=0" server:/secure "$m"
mountpoint -q "$m" && umount "$m"
check "NFSv4.1 sec=krb5: mount server:/secure is refused" \
  refused mount -t nfs -o "$(nfs_opts 4.1 krb5),retry=0" server:/secure "$m"
mountpoint -q "$m" && umount "$m"
if check "NFSv4.1 sec=krb5p: mount server:/secure" \
  mount -t nfs -o "$(nfs_opts 4.1 krb5p)" server:/secure "$m"; then
  write_read_owner 4.1 krb5p "$m"
  umount "$m"
fi

if [[ "${CIFS_KRB5:-}" == 1 ]]; then
  # cifs.upcall (through request-key, /etc/request-key.d/cifs.spnego.conf) gets a ticket for
  # cifs/server from the ccache of the mount's cruid.
  m=/mnt/smb
  n=/mnt/smb-nfs
  mkdir -p "$m" "$n"
  mount -t nfs -o "$(nfs_opts 4.1 krb5)" server:/krb "$n" || echo "FAIL: NFS mount for the cifs checks"
  cifs_mounted=0
  for extra in "" ",seal"; do
    what="cifs sec=krb5$extra"
    section "$what"
    if check "$what: mount //server/krb" \
      mount -t cifs -o "vers=3.1.1,port=$smb_port,sec=krb5,cruid=0,cache=none$extra" //server/krb "$m"; then
      cifs_mounted=1
      f=written-cifs${extra/,/-}
      check "$what: a file is written" eval "echo 'written over $what' >'$m/$f'"
      fresh
      check "$what: it reads back" same "$(cat "$m/$f")" "written over $what"
      check "$what: it is alice's (uid $alice_uid) over NFS" same "$(stat -c %u "$n/$f")" "$alice_uid"
      check "$what: the marker file reads back (host capture smb-krb5${extra/,/-})" \
        marker_round_trip "smb-krb5${extra/,/-}" "$m"
      umount "$m"
    else
      dmesg | grep -i cifs | tail -n 8 | sed 's/^/  /'
    fi
  done
  klist | sed 's/^/  /'
  umount "$n"
  # (Only once alice could mount: else bob's refusal would show nothing.)
  if [[ $cifs_mounted == 1 ]]; then
    kdestroy
    kinit bob <<<bobpw >/dev/null
    check "cifs sec=krb5: root with bob's ticket cannot mount //server/krb" \
      refused mount -t cifs -o "vers=3.1.1,port=$smb_port,sec=krb5,cruid=0" //server/krb "$m"
    mountpoint -q "$m" && umount "$m"
    kdestroy
  fi
fi

section "done"
kill "$gssd_pid" 2>/dev/null
if [[ $fails -ne 0 ]]; then
  echo "--- rpc.gssd's log (last 60 lines):"
  tail -n 60 /tmp/gssd.log
fi
echo "SUMMARY: $((checks - fails)) of $checks checks passed"
[[ $fails -eq 0 ]]
