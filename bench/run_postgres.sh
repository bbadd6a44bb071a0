#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What PostgreSQL metadata costs: runs nfs_bench against two dfs servers on this host, one whose
# share keeps its metadata in RocksDB and one in PostgreSQL (a server this script starts from
# Debian's postgresql package, in a temporary folder, on loopback, fsync and synchronous commits
# on), file data in localfs for both, alternating rounds, and prints each figure's median and
# the ratio PostgreSQL / RocksDB (latencies: larger is slower).
#
# usage: bench/run_postgres.sh [--rounds N] [--keep] [-- NFS_BENCH_ARGS...]
#
#   --rounds N        alternate the two servers N times (default 3)
#   --keep            keep the temporary folder (configs, logs, raw results)
#   NFS_BENCH_ARGS    passed to every run (default: --tests seq,meta,getattr --seq-file-mib 64)
#
# Environment: DFS_BIN (default <repo>/build/release/bin/dfs), NFS_BENCH (default
# <repo>/build/release/bin/nfs_bench). As root, PostgreSQL runs as the postgres user.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/.." && pwd)
rounds=3
keep=false
bench_args=(--tests seq,meta,getattr --seq-file-mib 64)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --keep) keep=true; shift ;;
    --) shift; bench_args=("$@"); break ;;
    -h | --help) sed -n '3,18p' "$0"; exit 0 ;;
    *) echo "run_postgres: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "run_postgres: $*" >&2; }
die() { log "$*"; exit 1; }

dfs_bin=${DFS_BIN:-$repo_root/build/release/bin/dfs}
nfs_bench=${NFS_BENCH:-$repo_root/build/release/bin/nfs_bench}
[[ -x "$dfs_bin" ]] || die "no dfs binary at $dfs_bin (build it, or set DFS_BIN)"
[[ -x "$nfs_bench" ]] || die "no nfs_bench at $nfs_bench (build it, or set NFS_BENCH)"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)
[[ -n "$pg_bin" ]] || die "no /usr/lib/postgresql/*/bin: apt-get install postgresql"

work=$(mktemp -d "${TMPDIR:-/tmp}/run_postgres.XXXXXX")
chmod 755 "$work"
as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pids=()
cleanup() {
  for pid in ${pids[@]+"${pids[@]}"}; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -d $work/pg ]] && as_pg "$pg_bin/pg_ctl" stop -D "$work/pg" -m fast >/dev/null 2>&1 || true
  if $keep; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

pg_port=$(free_port)
mkdir -p "$work/pg"
[[ $(id -u) == 0 ]] && chown postgres "$work/pg"
as_pg "$pg_bin/initdb" -D "$work/pg" -U dfs -A trust --no-locale -E UTF8 >"$work/initdb.log" 2>&1 ||
  die "initdb failed (see $work/initdb.log)"
as_pg "$pg_bin/pg_ctl" start -D "$work/pg" -w -l "$work/pg/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$work/pg" >/dev/null ||
  die "PostgreSQL did not start"
as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U dfs bench
dsn="host=127.0.0.1 port=$pg_port user=dfs dbname=bench"

# start LABEL METADATA: starts a dfs serving /export with METADATA metadata and localfs data, and
# sets started_port (not in a command substitution, whose subshell would keep the pid).
start() {
  local label=$1 metadata=$2 port
  port=$(free_port)
  mkdir -p "$work/$label-state"
  write_dfs_config "$work/$label.yaml" "$work/$label-state" "$port" "$metadata" localfs
  if [[ $metadata == postgres ]]; then
    sed -i "s|^    metadata: postgres|    metadata: postgres\n    metadata_dsn: \"$dsn\"|" \
      "$work/$label.yaml"
  fi
  "$dfs_bin" start --foreground --config "$work/$label.yaml" >"$work/$label.log" 2>&1 &
  pids+=($!)
  if wait_for_port "$port" "${pids[-1]}" 30; then
    started_port=$port
    return 0
  fi
  tail -n 20 "$work/$label.log" >&2
  die "$label dfs did not start"
}

start rocksdb rocksdb
rocksdb_port=$started_port
start postgres postgres
postgres_port=$started_port
log "RocksDB share on port $rocksdb_port, PostgreSQL share on port $postgres_port"

: >"$work/results"
for round in $(seq "$rounds"); do
  for label in A B; do
    port=$rocksdb_port
    [[ $label == B ]] && port=$postgres_port
    log "round $round/$rounds: $([[ $label == A ]] && echo rocksdb || echo postgres)"
    "$nfs_bench" --host 127.0.0.1 --port "$port" --mount-port "$port" --export /export \
      --label "$label" "${bench_args[@]}" | tee -a "$work/results"
  done
done
echo
echo "Medians over $rounds alternating rounds; B/A = PostgreSQL / RocksDB."
ab_table "$work/results" rocksdb postgres
