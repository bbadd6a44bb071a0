#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What durability costs: runs nfs_bench against two dfs servers on this host, one serving a share
# on the memory stores and one on the durable stores (the default: RocksDB metadata, and file
# data in the journal, uploaded in the background to a filesystem remote, all under a fresh state
# dir), alternating rounds, and prints each figure's median and the ratio durable / memory.
#
# usage: bench/run_durable.sh [--rounds N] [--state-dir DIR] [--keep] [-- NFS_BENCH_ARGS...]
#
#   --rounds N        alternate the two servers N times (default 3)
#   --state-dir DIR   where the durable server keeps its data (default: a fresh folder under
#                     $TMPDIR; put it on the disk you mean to measure)
#   --keep            keep the temporary folder (configs, logs, raw results)
#   NFS_BENCH_ARGS    passed to every run (default: --tests seq,meta)
#
# Environment: DFS_BIN (default <repo>/build/release/bin/dfs), NFS_BENCH (default
# <repo>/build/release/bin/nfs_bench). Needs no root and starts nothing but the two servers.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/.." && pwd)
rounds=3
keep=false
state_dir=""
bench_args=(--tests seq,meta)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --state-dir) state_dir=${2:?--state-dir needs a folder}; shift 2 ;;
    --keep) keep=true; shift ;;
    --) shift; bench_args=("$@"); break ;;
    -h | --help) sed -n '3,20p' "$0"; exit 0 ;;
    *) echo "run_durable: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "run_durable: $*" >&2; }
die() { log "$*"; exit 1; }

dfs_bin=${DFS_BIN:-$repo_root/build/release/bin/dfs}
nfs_bench=${NFS_BENCH:-$repo_root/build/release/bin/nfs_bench}
[[ -x "$dfs_bin" ]] || die "no dfs binary at $dfs_bin (build it, or set DFS_BIN)"
[[ -x "$nfs_bench" ]] || die "no nfs_bench at $nfs_bench (build it, or set NFS_BENCH)"

work=$(mktemp -d "${TMPDIR:-/tmp}/run_durable.XXXXXX")
[[ -n "$state_dir" ]] || state_dir=$work/durable-state
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if $keep; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

# start LABEL METADATA BLOCK STATE_DIR: starts a dfs serving /export on those stores and sets
# started_port. Not in a command substitution: its subshell would keep the pid from cleanup, and
# the server would outlive the script.
start() {
  local label=$1 metadata=$2 block=$3 dir=$4 port
  port=$(free_port)
  mkdir -p "$dir"
  write_dfs_config "$work/$label.yaml" "$dir" "$port" "$metadata" "$block"
  "$dfs_bin" start --foreground --config "$work/$label.yaml" >"$work/$label.log" 2>&1 &
  pids+=($!)
  if wait_for_port "$port" "${pids[-1]}" 30; then
    started_port=$port
    return 0
  fi
  tail -n 20 "$work/$label.log" >&2
  die "$label dfs did not start"
}

start memory memory memory "$work/memory-state"
memory_port=$started_port
start durable rocksdb tiered "$state_dir"
durable_port=$started_port
log "memory share on port $memory_port, durable share on port $durable_port ($state_dir)"

: >"$work/results"
for round in $(seq "$rounds"); do
  for label in memory durable; do
    port=$memory_port
    [[ $label == durable ]] && port=$durable_port
    log "round $round/$rounds: $label"
    "$nfs_bench" --host 127.0.0.1 --port "$port" --export /export --label "$label" \
      "${bench_args[@]}" | tee -a "$work/results"
  done
done

echo
echo "Medians over $rounds alternating rounds; ratio = durable / memory (> 1: durable is better)."
awk '
  function median(label, key,    k, i, j, t, a) {
    k = count[label, key]
    if (k == 0) return ""
    for (i = 1; i <= k; i++) a[i] = samples[label, key, i] + 0
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return a[int((k + 1) / 2)]
  }
  $1 == "RESULT" {
    key = $3
    if (!(key in unit)) { order[++n] = key; unit[key] = $5 }
    samples[$2, key, ++count[$2, key]] = $4
  }
  END {
    printf "%-16s %-10s %14s %14s %8s\n", "metric", "unit", "memory", "durable", "ratio"
    for (i = 1; i <= n; i++) {
      key = order[i]
      m = median("memory", key)
      d = median("durable", key)
      ratio = "-"
      if (m + 0 > 0 && d + 0 > 0) ratio = sprintf("%.2f", unit[key] == "us" ? m / d : d / m)
      printf "%-16s %-10s %14s %14s %8s\n", key, unit[key], m, d, ratio
    }
  }' "$work/results"
