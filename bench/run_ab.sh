#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Compares two dfs binaries (a change against its base) with nfs_bench: each run starts a fresh
# dfs on a memory share on loopback, the two binaries alternate for ROUNDS rounds, and the
# table shows each figure's median per binary and their ratio (B / A). Alternating in one run
# is what makes a few percent visible on a noisy machine: run nothing else meanwhile.
#
# usage: bench/run_ab.sh [--rounds N] [--tests seq,rand,meta,getattr] A_DFS B_DFS [-- NFS_BENCH_ARGS...]
#
#   --rounds N   alternate A and B runs N times (default 5)
#   --tests      passed to nfs_bench (default meta,getattr)
#   NFS_BENCH_ARGS, e.g. -- --seq-write-only --seq-passes 10
#
# Environment: NFS_BENCH (default <repo>/build/release/bin/nfs_bench).
# For latencies (getattr_p50, getattr_p99) a ratio above 1 is worse; for rates, below 1.

set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=5
tests=meta,getattr
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --tests) tests=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "run_ab.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 2 ]] || { sed -n 9,16p "${BASH_SOURCE[0]}" >&2; exit 2; }
a_bin=$(realpath "$1")
b_bin=$(realpath "$2")
shift 2
[[ "${1:-}" == "--" ]] && shift
extra=("$@")
nfs_bench=${NFS_BENCH:-$repo_root/build/release/bin/nfs_bench}
[[ -x "$nfs_bench" ]] || { echo "run_ab.sh: no nfs_bench at $nfs_bench (set NFS_BENCH)" >&2; exit 2; }

work=$(mktemp -d /tmp/dfs-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=$work/results

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

# run BIN LABEL: one fresh server, one nfs_bench run; appends its RESULT lines.
run() {
  local bin=$1 label=$2 dir port pid
  dir=$(mktemp -d "$work/run.XXXX")
  port=$(free_port)
  write_dfs_config "$dir/dfs.yaml" "$dir/state" "$port" memory memory
  "$bin" start --foreground --config "$dir/dfs.yaml" >"$dir/dfs.log" 2>&1 &
  pid=$!
  if ! wait_for_port "$port" "$pid" 30 && grep -q 'unknown key smb' "$dir/dfs.log"; then
    # A binary from before the SMB adapter (issue 13) knows no smb key, and serves no SMB.
    sed -i '/^smb:/d' "$dir/dfs.yaml"
    "$bin" start --foreground --config "$dir/dfs.yaml" >"$dir/dfs.log" 2>&1 &
    pid=$!
  fi
  if ! wait_for_port "$port" "$pid" 30; then
    tail -n 20 "$dir/dfs.log" >&2
    echo "run_ab.sh: $bin did not start" >&2
    exit 1
  fi
  "$nfs_bench" --host 127.0.0.1 --port "$port" --export /export --label "$label" \
    --tests "$tests" "${extra[@]}" | grep '^RESULT' >>"$results" || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

: >"$results"
for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  run "$a_bin" A
  run "$b_bin" B
done

ab_table "$results" "A median" "B median"
