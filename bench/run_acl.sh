#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The cost of ACL evaluation on the NFS and SMB metadata paths (issue 15): nfs_bench's meta
# phase (CREATE3, LOOKUP3, READDIRPLUS3, REMOVE3) as uid 1000, and smb_bench's create and stat
# as the user "bench" (uid 1000), against a fresh dfs whose share root has no ACL (A: mode bits
# decide) and one whose root has a 20-ACE inheritable ACL (B) that every directory and file the
# benches make inherits. The caller matches only the last ACE (Everyone), so every check walks
# all 20. Rounds alternate A and B; the table shows medians and B/A (below 1: slower with ACLs).
# Neither caller is root: root skips permission checks, and with them the ACL.
#
# usage: bench/run_acl.sh [--rounds N] [DFS_BIN]   (default: build/release/bin/dfs, 3 rounds)
# Environment: NFS_BENCH, SMB_BENCH (default build/release/bin/...). Needs python3-impacket
# (the ACL is set over SMB) and curl (the user is made through the REST API).

set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=3
if [[ "${1:-}" == "--rounds" ]]; then
  rounds=$2
  shift 2
fi
dfs_bin=$(realpath "${1:-$repo_root/build/release/bin/dfs}")
nfs_bench=${NFS_BENCH:-$repo_root/build/release/bin/nfs_bench}
smb_bench=${SMB_BENCH:-$repo_root/build/release/bin/smb_bench}
for b in "$dfs_bin" "$nfs_bench" "$smb_bench"; do
  [[ -x "$b" ]] || { echo "run_acl.sh: no $b" >&2; exit 2; }
done

work=$(mktemp -d /tmp/dfs-acl.XXXXXX)
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
results=$work/results
# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

# make_bench_user API ADMIN_PASSWORD: the user "bench" (uid and gid 1000, password Bench-Pw-1,
# read-write on /export). The first admin login must change the generated password: it is
# changed, and changed back.
make_bench_user() {
  local api=$1 pw=$2 token
  login() {
    curl -s -X POST -H 'Content-Type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$1\"}" "$api/auth/login" |
      sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
  }
  call() {  # TOKEN METHOD PATH BODY
    curl -s -o /dev/null -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
      -H 'Content-Type: application/json' -d "$4" "$api$3"
  }
  token=$(login "$pw")
  call "$token" POST /auth/password "{\"current_password\":\"$pw\",\"new_password\":\"Interim-Pw-9\"}" >/dev/null
  token=$(login Interim-Pw-9)
  call "$token" POST /auth/password "{\"current_password\":\"Interim-Pw-9\",\"new_password\":\"$pw\"}" >/dev/null
  token=$(login "$pw")
  [[ $(call "$token" POST /users '{"username":"bench","password":"Bench-Pw-1","uid":1000,"gid":1000}') == 201 ]]
  [[ $(call "$token" PUT /shares/%2Fexport/permissions '{"kind":"user","name":"bench","level":"read-write"}') == 200 ]]
}

# set_root_acl SMB_PORT ADMIN_PASSWORD: the share root's DACL becomes 19 ALLOW ACEs for other
# users (S-1-22-1-2000...2018) and a last ALLOW for Everyone, each inherited by files and
# directories (OBJECT_INHERIT | CONTAINER_INHERIT).
set_root_acl() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import struct, sys
from impacket import smb3structs as s3
from impacket.smbconnection import SMBConnection

def sid(authority, subs):
    return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + \
        b"".join(struct.pack("<I", s) for s in subs)

def ace(sid_bytes, mask=0x001F01FF, flags=0x03):
    return struct.pack("<BBHI", 0, flags, 8 + len(sid_bytes), mask) + sid_bytes

aces = [ace(sid(22, [1, 2000 + i]), 0x001200A9) for i in range(19)] + [ace(sid(1, [0]))]
body = b"".join(aces)
dacl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
sd = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + dacl  # SE_DACL_PRESENT, self-relative
conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=int(sys.argv[1]))
conn.login("admin", sys.argv[2])
tid = conn.connectTree("export")
smb = conn.getSMBServer()
fid = smb.create(tid, "", 0x00060000 | 0x00100000, 7, s3.FILE_DIRECTORY_FILE, s3.FILE_OPEN, 0)
smb.setInfo(tid, fid, inputBlob=sd, infoType=s3.SMB2_0_INFO_SECURITY, fileInfoClass=0,
            additionalInformation=4)  # DACL_SECURITY_INFORMATION
smb.close(tid, fid)
EOF
}

# run LABEL WITH_ACL: one fresh dfs (memory stores), both benches; appends their RESULT lines.
run() {
  local label=$1 with_acl=$2 dir port smb_port api pw
  dir=$(mktemp -d "$work/run.XXXX")
  port=$(free_port)
  smb_port=$(free_port)
  write_dfs_config "$dir/dfs.yaml" "$dir/state" "$port" memory memory "$smb_port"
  "$dfs_bin" start --foreground --config "$dir/dfs.yaml" >"$dir/dfs.log" 2>&1 &
  pid=$!
  wait_for_port "$smb_port" "$pid" 30 || { tail -n 20 "$dir/dfs.log" >&2; exit 1; }
  pw=$(sed -n 's/.*initial password: \([^ ]*\).*/\1/p' "$dir/dfs.log" | head -n 1)
  api="http://127.0.0.1:$(sed -n 's/.*REST API on port \([0-9]*\).*/\1/p' "$dir/dfs.log")/api/v1"
  make_bench_user "$api" "$pw" || { echo "run_acl.sh: cannot make the user" >&2; exit 1; }
  if [[ "$with_acl" == 1 ]]; then set_root_acl "$smb_port" "$pw"; fi
  "$nfs_bench" --host 127.0.0.1 --port "$port" --export /export --label "$label" --tests meta \
    --uid 1000 --gid 1000 | awk '$1 == "RESULT" { $3 = "nfs_" $3; print }' >>"$results"
  SMB_BENCH_PASSWORD=Bench-Pw-1 "$smb_bench" --host 127.0.0.1 --port "$smb_port" --share export \
    --user bench --label "$label" --tests meta --dir-sizes 2000 |
    awk '$1 == "RESULT" { $3 = "smb_" $3; print }' >>"$results"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -rf "$dir"
}

: >"$results"
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  run A 0
  run B 1
done

ab_table "$results" "no ACL" "20-ACE ACL"
