#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# How long snapshots take (docs/snapshots.md): starts dfs with one share (/export, RocksDB
# metadata, tiered blocks), writes FILES files of 4 KiB over SMB (impacket) in directories of
# 100, then times `dfsctl snapshot create`, `snapshot restore` (its safety snapshot included)
# and `snapshot delete` of that safety snapshot, each followed to its end. A create and a
# restore pause the share: their times are what clients wait.
#
# usage: bench/run_snapshots.sh [FILES ...]   (default: 200 2000)
#
# Environment: DFS_BIN (default <repo>/build/release/bin/dfs; dfsctl beside it).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
dfs_bin=${DFS_BIN:-$repo_root/build/release/bin/dfs}
dfsctl_bin=$(dirname "$dfs_bin")/dfsctl
counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(200 2000)

seconds_of() {
  local start=$EPOCHREALTIME
  "$@" >/dev/null
  python3 -c "print(f'{$EPOCHREALTIME - $start:.2f}')"
}

run_one() {
  local files=$1 work pid nfs_port smb_port api_port password
  work=$(mktemp -d "${TMPDIR:-/tmp}/run_snapshots.XXXXXX")
  nfs_port=$(free_port)
  smb_port=$(free_port)
  api_port=$(free_port)
  cat >"$work/dfs.yaml" <<EOC
logging: {level: warn, format: text}
server: {state_dir: $work/state}
nfs: {bind: 127.0.0.1, port: $nfs_port, portmap_port: $(free_port)}
smb: {bind: 127.0.0.1, port: $smb_port}
api: {bind: 127.0.0.1, port: $api_port}
shares:
  - name: /export
    metadata: rocksdb
    block: tiered
    squash: none
EOC
  "$dfs_bin" start --foreground --config "$work/dfs.yaml" >"$work/dfs.log" 2>&1 &
  pid=$!
  wait_for_port "$api_port" "$pid" 30 || { cat "$work/dfs.log" >&2; return 1; }
  for _ in $(seq 50); do
    password=$(sed -n 's/.*initial password: \([^ ]*\).*/\1/p' "$work/dfs.log" | head -n 1)
    [[ -n $password ]] && break
    sleep 0.1
  done
  export XDG_CONFIG_HOME=$work/ctl
  "$dfsctl_bin" login --server "http://127.0.0.1:$api_port" --user admin --password-stdin \
    <<<"$password" >/dev/null 2>&1
  "$dfsctl_bin" user change-password --current "$password" --new Bench-Admin-Pw-1 >/dev/null
  /usr/bin/python3 - "$smb_port" "$files" <<'PY'
import io, sys
from impacket.smbconnection import SMBConnection
port, files = int(sys.argv[1]), int(sys.argv[2])
conn = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port)
conn.login("admin", "Bench-Admin-Pw-1")
data = b"x" * 4096
for d in range((files + 99) // 100):
    conn.createDirectory("export", "d%d" % d)
    for f in range(min(100, files - d * 100)):
        conn.putFile("export", "d%d\\f%d" % (d, f), io.BytesIO(data).read)
PY
  local create restore delete
  create=$(seconds_of "$dfsctl_bin" snapshot create /export s1)
  restore=$(seconds_of "$dfsctl_bin" snapshot restore /export s1 --safety before)
  delete=$(seconds_of "$dfsctl_bin" snapshot delete /export before --yes)
  echo "| $files | $create s | $restore s | $delete s |"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

echo "| files | create | restore | delete |"
echo "| --- | --- | --- | --- |"
for files in "${counts[@]}"; do run_one "$files"; done
