#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Compares two dfs binaries (a change against its base) with nfs_bench (or smb_bench): each
# run starts a fresh dfs on a memory share on loopback, the two binaries alternate for ROUNDS
# rounds, and the table shows each figure's median per binary and their ratio (B / A).
# Alternating in one run is what makes a few percent visible on a noisy machine: run nothing
# else meanwhile.
#
# usage: bench/run_ab.sh [--smb] [--rounds N] [--tests LIST] [--a-env NAME=VALUE]...
#                        [--b-env NAME=VALUE]... A_DFS B_DFS [-- BENCH_ARGS...]
#
#   --smb        measure over SMB with smb_bench (as the initial admin) instead of nfs_bench
#   --rounds N   alternate A and B runs N times (default 5)
#   --tests      passed to the bench (default meta,getattr; with --smb, meta,lat)
#   --a-env, --b-env  environment of A's (B's) servers, e.g. DITTOFS_METRICS_ENABLED=true;
#                the same binary twice then compares two settings. OTLP_SINK in a value becomes
#                the URL of an OTLP/HTTP sink the script runs (it answers every export 200).
#   BENCH_ARGS, e.g. -- --seq-write-only --seq-passes 10
#
# Environment: NFS_BENCH (default <repo>/build/release/bin/nfs_bench), SMB_BENCH (default
# <repo>/build/release/bin/smb_bench; it needs libsmbclient-dev at configure time).
# For latencies (getattr_p50, getattr_p99) a ratio above 1 is worse; for rates, below 1.

set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=5
tests=
smb=false
a_env=()
b_env=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smb) smb=true; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --a-env) a_env+=("$2"); shift 2 ;;
    --b-env) b_env+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "run_ab.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 2 ]] || { sed -n 10,23p "${BASH_SOURCE[0]}" >&2; exit 2; }
a_bin=$(realpath "$1")
b_bin=$(realpath "$2")
shift 2
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
if $smb; then
  tests=${tests:-meta,lat}
  bench=${SMB_BENCH:-$repo_root/build/release/bin/smb_bench}
else
  tests=${tests:-meta,getattr}
  bench=${NFS_BENCH:-$repo_root/build/release/bin/nfs_bench}
fi
[[ -x "$bench" ]] || { echo "run_ab.sh: no $(basename "$bench") at $bench" >&2; exit 2; }

work=$(mktemp -d /tmp/dfs-ab.XXXXXX)
sink_pid=
trap '[[ -n "$sink_pid" ]] && kill "$sink_pid" 2>/dev/null; rm -rf "$work"' EXIT
results=$work/results

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

# An OTLP/HTTP sink for tracing runs: answers every POST 200 and forgets the body.
if [[ " ${a_env[*]} ${b_env[*]} " == *OTLP_SINK* ]]; then
  sink_port=$(free_port)
  python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$sink_port" &
  sink_pid=$!
  a_env=("${a_env[@]/OTLP_SINK/http://127.0.0.1:$sink_port/v1/traces}")
  b_env=("${b_env[@]/OTLP_SINK/http://127.0.0.1:$sink_port/v1/traces}")
fi

# run BIN LABEL [NAME=VALUE...]: one fresh server (with that environment), one bench run;
# appends its RESULT lines.
run() {
  local bin=$1 label=$2 dir port pid smb_port= password=
  local env=("${@:3}")
  dir=$(mktemp -d "$work/run.XXXX")
  port=$(free_port)
  if $smb; then smb_port=$(free_port); fi
  write_dfs_config "$dir/dfs.yaml" "$dir/state" "$port" memory memory $smb_port
  env "${env[@]}" "$bin" start --foreground --config "$dir/dfs.yaml" >"$dir/dfs.log" 2>&1 &
  pid=$!
  if ! wait_for_port "$port" "$pid" 30 && grep -q 'unknown key smb' "$dir/dfs.log"; then
    # A binary from before the SMB adapter (issue 13) knows no smb key, and serves no SMB.
    sed -i '/^smb:/d' "$dir/dfs.yaml"
    env "${env[@]}" "$bin" start --foreground --config "$dir/dfs.yaml" >"$dir/dfs.log" 2>&1 &
    pid=$!
  fi
  if ! wait_for_port "$port" "$pid" 30; then
    tail -n 20 "$dir/dfs.log" >&2
    echo "run_ab.sh: $bin did not start" >&2
    exit 1
  fi
  if $smb; then
    wait_for_port "$smb_port" "$pid" 30 || { echo "run_ab.sh: no SMB from $bin" >&2; exit 1; }
    for _ in $(seq 100); do
      password=$(sed -n 's/.*initial password: \([^ ]*\).*/\1/p' "$dir/dfs.log" | head -n1)
      [[ -n "$password" ]] && break
      sleep 0.1
    done
    [[ -n "$password" ]] || { echo "run_ab.sh: $bin printed no admin password" >&2; exit 1; }
    SMB_BENCH_PASSWORD=$password "$bench" --host 127.0.0.1 --port "$smb_port" --share export \
      --user admin --label "$label" --tests "$tests" "${extra[@]}" | grep '^RESULT' \
      >>"$results" || true
  else
    "$bench" --host 127.0.0.1 --port "$port" --export /export --label "$label" \
      --tests "$tests" "${extra[@]}" | grep '^RESULT' >>"$results" || true
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

: >"$results"
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  run "$a_bin" A "${a_env[@]}"
  run "$b_bin" B "${b_env[@]}"
done

ab_table "$results" "A median" "B median"
