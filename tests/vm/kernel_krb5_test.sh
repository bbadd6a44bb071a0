#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Kerberos V5 with the Linux kernel clients (in a vmtest VM): NFS with RPCSEC_GSS krb5, krb5i and
# krb5p over NFSv4.1 and NFSv3, and cifs with sec=krb5 (SPNEGO), against dfs in a throwaway MIT
# realm DFS.TEST whose KDC runs on the host (tests/integration/nfs_krb5_client.py setup, with
# nfs/server and cifs/server in dfs's keytab: the guest names the host "server"). dfs serves
# /krb (krb5, krb5i, krb5p) and /secure (krb5p only); the control-plane user alice (uid 4242) is
# made over the REST API, the principal bob has no user. The guest (krb5_guest.sh) kinits
# alice, runs rpc.gssd and mounts with each flavor; see there for its checks. The host side:
#   * while the guest writes and reads back a file of a repeated marker string over each mount,
#     tcp_capture.py records the connection's bytes on lo: over NFS krb5p and SMB with seal the
#     marker must not be in them (though they hold at least the file's size twice over); over
#     krb5, krb5i and unsealed SMB it must;
#   * dfs logs bob's refusal ("principal bob@DFS.TEST maps to no user").
#
# usage: kernel_krb5_test.sh [DFS_BIN]
#
# Environment: DFS_LOG_LEVEL (default info); DFS_TEST_CIFS_KRB5=0 leaves out cifs (and SMB),
# for a dfs whose SMB server takes no Kerberos logons.
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all. Takes about 1.5
# to 3.5 minutes under TCG emulation, depending on the host's load.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))
dfs_bin=${1:-${DFS_BIN:-$repo_root/build/bin/dfs}}
krb5_client=$repo_root/tests/integration/nfs_krb5_client.py
cifs_krb5=${DFS_TEST_CIFS_KRB5:-1}
test_name=kernel_krb5_test
# shellcheck source=common.sh
source "$here/common.sh"

[[ -x "$dfs_bin" ]] || { log "FAIL: dfs binary not found at $dfs_bin"; exit 1; }
for tool in kdb5_util kadmin.local krb5kdc; do
  command -v "$tool" >/dev/null || { log "FAIL: $tool is not installed (scripts/install-deps.sh)"; exit 1; }
done
# MIT's kinit and klist, and keyutils' request-key (cifs.upcall is called through it).
export VMTEST_EXTRA_PACKAGES="krb5-user keyutils${VMTEST_EXTRA_PACKAGES:+ $VMTEST_EXTRA_PACKAGES}"
vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_krb5_test.XXXXXX")
dfs_pid=""
capture_pid=""
cleanup() {
  if [[ -n "$dfs_pid" ]] && kill -0 "$dfs_pid" 2>/dev/null; then
    kill -KILL "$dfs_pid" 2>/dev/null || true
    wait "$dfs_pid" 2>/dev/null || true
  fi
  if [[ -n "$capture_pid" ]]; then kill "$capture_pid" 2>/dev/null || true; fi
  if [[ -s "$work/realm/kdc.pid" ]]; then kill "$(cat "$work/realm/kdc.pid")" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS

log "making the realm DFS.TEST"
mkdir -p "$work/realm" "$work/state" "$work/guest"
python3 "$krb5_client" setup "$work/realm" nfs/server cifs/server >/dev/null
kdc_port=$(sed -n 's/.*kdc = 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/realm/krb5.conf")
export KRB5_CONFIG=$work/realm/krb5.conf
log "  its KDC listens on :$kdc_port ($((SECONDS - start)) s)"

nfs_port=$(free_port)
api_port=$(free_port)
portmap_port=$(free_port)
smb_yaml="smb: {enabled: false}"
if [[ $cifs_krb5 == 1 ]]; then
  smb_port=$(free_port)
  smb_yaml="smb: {bind: 127.0.0.1, port: $smb_port}"
fi
cat >"$work/dfs.yaml" <<YAML
logging: {level: ${DFS_LOG_LEVEL:-info}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $portmap_port}
$smb_yaml
api: {bind: 127.0.0.1, port: $api_port}
kerberos: {keytab: $work/realm/nfs.keytab}
shares:
  - name: /krb
    metadata: memory
    block: memory
    squash: none
    root_mode: "1777"
    security: [krb5, krb5i, krb5p]
  - name: /secure
    metadata: memory
    block: memory
    squash: none
    root_mode: "1777"
    security: [krb5p]
YAML
log "starting $dfs_bin: NFS on :$nfs_port, REST API on :$api_port${smb_port:+, SMB on :$smb_port}"
start_dfs "$work/dfs.yaml" "$nfs_port" "$api_port" ${smb_port:+"$smb_port"}
read_admin_password
if ! python3 "$krb5_client" make-alice "$api_port" "$password" >"$work/make-alice.log" 2>&1; then
  sed 's/^/  /' "$work/make-alice.log" >&2
  log "FAIL: making the user alice over the REST API"
  show_dfs_log
  exit 1
fi

marker=DITTOFS-KRB5P-PLAINTEXT-MARKER
for _ in $(seq 1 1024); do echo "$marker"; done >"$work/guest/marker"
marker_copies=1024
marker_bytes=$(stat -c %s "$work/guest/marker")
cp "$here/krb5_guest.sh" "$here/nfs3_posix_guest.sh" "$here/guest_lib.sh" "$work/guest/"
chmod +x "$work/guest/"*.sh
forwards=(--forward "2049:$nfs_port" --forward "88:$kdc_port")
guest_args=("$work/guest" 2049 88)
if [[ $cifs_krb5 == 1 ]]; then
  forwards+=(--forward "12445:$smb_port")
  guest_args+=(12445)
fi

log "running the checks in the VM (cifs sec=krb5: $([[ $cifs_krb5 == 1 ]] && echo yes || echo "no: DFS_TEST_CIFS_KRB5=$cifs_krb5"))"
vm_status=0
vm_start=$SECONDS
"$vm_run" --share "$work/guest" "${forwards[@]}" --timeout 1200 -- \
  env CIFS_KRB5="$cifs_krb5" "$work/guest/krb5_guest.sh" "${guest_args[@]}" &
vm_pid=$!
# The guest asks for a capture around each marker round trip: NAME.start, we answer
# NAME.started once tcp_capture.py listens (to the SMB port for smb-*, else NFS's); NAME.stop,
# NAME.stopped once it wrote all.
while kill -0 "$vm_pid" 2>/dev/null; do
  for request in "$work/guest"/capture-*.start "$work/guest"/capture-*.stop; do
    [[ -e "$request" ]] || continue
    rm -f "$request"
    name=${request##*/capture-}
    case $name in
      *.start)
        name=${name%.start}
        port=$nfs_port
        [[ $name == smb-* ]] && port=$smb_port
        python3 "$here/tcp_capture.py" "$port" "$work/capture-$name.bin" 2>"$work/capture-$name.log" &
        capture_pid=$!
        for _ in $(seq 1 100); do [[ -e "$work/capture-$name.bin" ]] && break; sleep 0.1; done
        touch "$work/guest/capture-$name.started"
        ;;
      *.stop)
        name=${name%.stop}
        if [[ -n "$capture_pid" ]]; then
          kill -TERM "$capture_pid"
          wait "$capture_pid" || true
          capture_pid=""
        fi
        touch "$work/guest/capture-$name.stopped"
        ;;
    esac
  done
  sleep 0.1
done
wait "$vm_pid" || vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"

# What an eavesdropper saw of each marker round trip (the file is $marker_bytes bytes).
captures=0
for capture in "$work"/capture-*.bin; do
  [[ -e "$capture" ]] || continue
  captures=$((captures + 1))
  name=${capture##*/capture-}
  name=${name%.bin}
  bytes=$(stat -c %s "$capture")
  found=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(sys.argv[2].encode()))' \
    "$capture" "$marker")
  echo "FIGURE: $name: the connection carried $bytes bytes, holding the marker $found times"
  host_check "$name: the capture holds the round trip (at least $((2 * marker_bytes)) bytes)" \
    test "$bytes" -ge $((2 * marker_bytes))
  if [[ $name == *krb5p || $name == *seal ]]; then
    host_check "$name: no plaintext marker on the wire" test "$found" -eq 0
  else
    host_check "$name: the marker is on the wire in plaintext (control)" \
      test "$found" -ge "$marker_copies"
  fi
done
expected_captures=5
[[ $cifs_krb5 == 1 ]] && expected_captures=7
host_check "the guest asked for the $expected_captures captures" test "$captures" -eq "$expected_captures"
refusals=$(grep -c 'principal bob@DFS.TEST maps to no user: refused' "$work/dfs.log" || true)
host_check "dfs refused bob's principal (its log says so $refusals times)" test "$refusals" -gt 0

stop_dfs
log "total $((SECONDS - start)) s"
if [[ $vm_status -ne 0 || $host_fails -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks (status $vm_status) or host checks ($host_fails failed)"
  exit 1
fi
log "PASS"
