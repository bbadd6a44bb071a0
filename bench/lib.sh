# SPDX-License-Identifier: Apache-2.0
#
# Helpers shared by the bench scripts (sourced, not run).

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_port PORT PID SECONDS: true once 127.0.0.1:PORT accepts connections while PID lives.
wait_for_port() {
  local port=$1 pid=$2 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

# write_dfs_config FILE STATE_DIR PORT METADATA BLOCK [SMB_PORT]: a dfs config serving /export on
# those stores (NFS on 127.0.0.1:PORT, root not squashed: nfs_bench calls as uid 0). With SMB_PORT,
# SMB too, on 127.0.0.1:SMB_PORT, allowing the 64 connections of smb_bench's deepest queue.
write_dfs_config() {
  cat >"$1" <<EOC
logging: {level: warn, format: text}
server: {state_dir: $2}
nfs: {bind: 127.0.0.1, port: $3}
EOC
  if [[ -n "${6:-}" ]]; then
    echo "smb: {bind: 127.0.0.1, port: $6, max_connections_per_client: 256}" >>"$1"
  else
    echo "smb: {enabled: false}" >>"$1"  # not measured: no port of its own to take
  fi
  cat >>"$1" <<EOC
api: {bind: 127.0.0.1, port: 0}
shares:
  - name: /export
    metadata: $4
    block: $5
    squash: none
EOC
}

# ab_table RESULTS TITLE_A TITLE_B: from the RESULT lines of runs labelled A and B (`RESULT
# <label> <metric> <value> <unit>`), each metric's median per label and their ratio B/A.
ab_table() {
  python3 - "$@" <<'EOF'
import collections, statistics, sys
figures = collections.defaultdict(lambda: collections.defaultdict(list))
units = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 4 and p[0] == "RESULT":
        figures[p[2]][p[1]].append(float(p[3]))
        units[p[2]] = " ".join(p[4:])
print(f"{'metric':22s} {sys.argv[2]:>14s} {sys.argv[3]:>14s} {'B/A':>7s}  runs  unit")
for metric, by in figures.items():
    if not by["A"] or not by["B"]:
        continue
    a, b = statistics.median(by["A"]), statistics.median(by["B"])
    print(f"{metric:22s} {a:14.1f} {b:14.1f} {b / a:7.3f}  {len(by['B']):4d}  {units[metric]}")
EOF
}
