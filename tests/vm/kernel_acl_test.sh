#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# One ACL model across NFSv4 and SMB, with the Linux kernel's clients (in a vmtest VM whose
# image also has nfs4-acl-tools) and impacket on the host (acl_side.py): nfs4_setfacl's DENY
# refuses an SMB open, an SMB security descriptor's DENY refuses NFS reads, getcifsacl and
# setcifsacl edit the ACL nfs4_getfacl shows, a file created over NFS is reported to an SMB
# CHANGE_NOTIFY watcher, and a cifs mount whose TCP connection is cut reconnects with its open
# file intact (its durable handle reconnected). See acl_guest.sh for the checks.
#
# usage: kernel_acl_test.sh [DFS_BIN]
#
#   DFS_BIN   the dfs binary (default: $DFS_BIN, else <repo>/build/bin/dfs); dfsctl must be
#             next to it. The test starts it on free loopback ports (NFS, SMB, REST API) with a
#             RocksDB share /export (local blocks, no root squash), makes the users alice
#             (uid 2001) and bob (uid 2002) with dfsctl, and at the end stops dfs with SIGTERM
#             and requires exit status 0. The guest reaches NFS as server:2049, SMB as
#             server:12445.
#
# Environment: VMTEST_DIR (default <repo>/../shared/vmtest, else /work/shared/vmtest),
# DFS_LOG_LEVEL (default debug: the durable reconnect is seen in dfs's debug log).
#
# Exit status 0: passed, or "SKIPPED: <reason>" when the VM cannot start at all. Takes about 35
# to 45 s under TCG emulation (the first run also builds the VM image with nfs4-acl-tools:
# about 2 minutes more, once).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/../.." && pwd))

dfs_bin=${DFS_BIN:-$repo_root/build/bin/dfs}
case "${1:-}" in
  -h | --help)
    sed -n '3,25p' "$0"
    exit 0
    ;;
  "") ;;
  *) dfs_bin=$1 ;;
esac
dfsctl_bin=$(dirname "$dfs_bin")/dfsctl

test_name=kernel_acl_test
# shellcheck source=common.sh
source "$here/common.sh"

if ! /usr/bin/python3 -c 'import impacket.smbconnection, Cryptodome.Cipher' 2>/dev/null; then
  log "FAIL: python3-impacket or python3-pycryptodome is not installed (scripts/install-deps.sh)"
  exit 1
fi
for bin in "$dfs_bin" "$dfsctl_bin"; do
  [[ -x "$bin" ]] || { log "FAIL: $(basename "$bin") binary not found at $bin"; exit 1; }
done

# The guest needs nfs4_getfacl and nfs4_setfacl: an image of its own (built once).
export VMTEST_EXTRA_PACKAGES="nfs4-acl-tools${VMTEST_EXTRA_PACKAGES:+ $VMTEST_EXTRA_PACKAGES}"
vm_probe_or_skip

work=$(mktemp -d "${TMPDIR:-/tmp}/kernel_acl_test.XXXXXX")
dfs_pid=""
smb_pid=""
cleanup() {
  for pid in "$smb_pid" "$dfs_pid"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

nfs_port=$(free_port)
smb_port=$(free_port)
api_port=$(free_port)
portmap_port=$(free_port)
mkdir -p "$work/state" "$work/guest"
cat >"$work/dfs.yaml" <<YAML
logging: {level: ${DFS_LOG_LEVEL:-debug}, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $portmap_port}
smb: {bind: 127.0.0.1, port: $smb_port}
api: {bind: 127.0.0.1, port: $api_port}
shares:
  - name: /export
    metadata: rocksdb
    block: localfs
    squash: none
    root_mode: "1777"
YAML
log "starting $dfs_bin: NFS on :$nfs_port, SMB on :$smb_port, REST API on :$api_port"
start_dfs "$work/dfs.yaml" "$nfs_port" "$smb_port" "$api_port"
read_admin_password

# The control plane's users, through dfsctl (its saved login goes to $work, not to ~/.config).
# admin's one-time password must be changed at the first login.
admin_password=Acl-Admin-Pw-1
dfsctl() { XDG_CONFIG_HOME=$work/dfsctl "$dfsctl_bin" "$@"; }
if ! {
  dfsctl login --server "http://127.0.0.1:$api_port" --user admin --password-stdin \
    <<<"$password" &&
    dfsctl user change-password --current "$password" --new "$admin_password" &&
    dfsctl login --user admin --password-stdin <<<"$admin_password" &&
    dfsctl user create --username alice --password Alice-Pw-1 --uid 2001 &&
    dfsctl user create --username bob --password Bob-Pw-1 --uid 2002 &&
    dfsctl share permission grant /export --user alice --level read-write &&
    dfsctl share permission grant /export --user bob --level read-write
} >"$work/dfsctl.log" 2>&1; then
  sed 's/^/  dfsctl: /' "$work/dfsctl.log" >&2
  log "FAIL: making the users alice and bob with dfsctl"
  exit 1
fi
machine_sid=$(dfsctl settings get smb.machine_sid | awk '$1 == "smb.machine_sid" {print $2}')
if [[ ! "$machine_sid" =~ ^S-1-5-21-[0-9]+-[0-9]+-[0-9]+$ ]]; then
  log "FAIL: no machine SID from 'dfsctl settings get smb.machine_sid' (got '$machine_sid')"
  exit 1
fi
log "users alice (uid 2001) and bob (uid 2002) made; machine SID $machine_sid"

cp "$here/acl_guest.sh" "$work/guest/"
chmod +x "$work/guest/acl_guest.sh"
# A mount.cifs credentials file: the password is taken to the end of the line as it is.
printf 'username=admin\npassword=%s\n' "$admin_password" >"$work/guest/credentials"
chmod 600 "$work/guest/credentials"
# Its PASS/FAIL lines come out among the guest's, as the two go along.
/usr/bin/python3 "$here/acl_side.py" 127.0.0.1 "$smb_port" "$admin_password" "$machine_sid" \
  "$work/guest" &
smb_pid=$!

log "running the ACL, notify and reconnect checks in the VM"
vm_status=0
vm_start=$SECONDS
"$vm_run" --share "$work/guest" --forward "2049:$nfs_port" --forward "12445:$smb_port" \
  --timeout 600 -- "$work/guest/acl_guest.sh" 2049 12445 "$work/guest/credentials" \
  "$machine_sid" || vm_status=$?
log "VM finished with status $vm_status after $((SECONDS - vm_start)) s"
touch "$work/guest/guest-exited"
smb_status=0
wait "$smb_pid" || smb_status=$?
smb_pid=""

# The cifs client's reconnect found its durable handle (dfs logs it at debug level).
dfs_failed=0
if grep -qE 'durable open [0-9a-f]+ reconnected' "$work/dfs.log"; then
  echo "PASS: dfs log: the cifs client's durable open was reconnected after the cut"
elif [[ "${DFS_LOG_LEVEL:-debug}" == debug ]]; then
  echo "FAIL: dfs log: no 'durable open ... reconnected' after the cut"
  dfs_failed=1
else
  echo "  (DFS_LOG_LEVEL=$DFS_LOG_LEVEL: the durable reconnect is not in dfs's log)"
fi

stop_dfs
if [[ $vm_status -ne 0 || $smb_status -ne 0 || $dfs_failed -ne 0 ]]; then
  show_dfs_log
  log "FAIL: guest checks (status $vm_status), host SMB side (status $smb_status) or dfs log" \
    "($dfs_failed) failed"
  exit 1
fi
log "PASS"
