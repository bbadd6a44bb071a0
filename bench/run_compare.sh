#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs nfs_bench against dfs and against NFS-Ganesha on this host (both on loopback, both
# keeping everything in memory), with the same parameters, and prints a comparison table.
#
# usage: bench/run_compare.sh [--nfs4] [--ganesha-fsal MEM|VFS] [--rounds N] [--keep]
#                             [-- BENCH_ARGS...]
#
#   --nfs4               NFSv4.0 through libnfs (nfs4_bench) instead of NFSv3 (nfs_bench)
#   --ganesha-fsal MEM   (default) Ganesha's in-memory FSAL. Note: MEM keeps no file data
#                        (at most 2 MiB per file; reads of the rest return filler), so its data
#                        figures are an upper bound, and nfs_bench runs with --no-verify for it.
#   --ganesha-fsal VFS   Ganesha's VFS FSAL exporting a directory on tmpfs (/dev/shm): keeps
#                        data, so the data figures compare like with like.
#   --rounds N           alternate dfs and ganesha runs N times (default 3); the table shows
#                        each figure's median
#   --keep               keep the temporary folder (configs, logs, raw results).
#   BENCH_ARGS           passed to both runs, e.g. -- --rand-seconds 5 --files 5000
#
# Environment: DFS_BIN (default <repo>/build/bin/dfs), NFS_BENCH (default
# <repo>/build-bench/bin/nfs_bench, else <repo>/build/bin/nfs_bench; nfs4_bench with --nfs4).
#
# Installs nfs-ganesha, nfs-ganesha-mem (or -vfs) and rpcbind with apt-get when missing.
# Ganesha will not start with NFSv3 enabled unless rpcbind runs: when none is running the script
# starts one (it listens on port 111 of every interface) and stops it at the end. Do not run two
# copies of this script, or this script next to another Ganesha, at the same time: Ganesha
# registers its programs with rpcbind and takes the registration over.
#
# Must run as root (Ganesha, apt-get, rpcbind).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))

ganesha_fsal=MEM
nfs4=false
keep=false
rounds=3
bench_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ganesha-fsal)
      ganesha_fsal=${2:?--ganesha-fsal needs MEM or VFS}
      shift 2
      ;;
    --keep)
      keep=true
      shift
      ;;
    --nfs4)
      nfs4=true
      shift
      ;;
    --rounds)
      rounds=${2:?--rounds needs a number}
      shift 2
      ;;
    --)
      shift
      bench_args=("$@")
      break
      ;;
    -h | --help)
      sed -n '3,30p' "$0"
      exit 0
      ;;
    *)
      echo "run_compare: unknown argument $1 (see --help)" >&2
      exit 2
      ;;
  esac
done
case "$ganesha_fsal" in
  MEM | VFS) ;;
  *) echo "run_compare: --ganesha-fsal must be MEM or VFS" >&2; exit 2 ;;
esac

log() { echo "run_compare: $*" >&2; }
die() {
  log "$*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (Ganesha, apt-get, rpcbind)"

dfs_bin=${DFS_BIN:-$repo_root/build/bin/dfs}
[[ -x "$dfs_bin" ]] || die "no dfs binary at $dfs_bin (build it, or set DFS_BIN)"
bench_name=nfs_bench
$nfs4 && bench_name=nfs4_bench
nfs_bench=${NFS_BENCH:-}
if [[ -z "$nfs_bench" ]]; then
  for candidate in "$repo_root/build-bench/bin/$bench_name" "$repo_root/build/bin/$bench_name"; do
    if [[ -x "$candidate" ]]; then
      nfs_bench=$candidate
      break
    fi
  done
fi
[[ -n "$nfs_bench" && -x "$nfs_bench" ]] ||
  die "no $bench_name (cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release &&" \
    "cmake --build build-bench --target $bench_name), or set NFS_BENCH"

# ---- Packages. ----
fsal_package=nfs-ganesha-$(echo "$ganesha_fsal" | tr '[:upper:]' '[:lower:]')
missing=()
for package in nfs-ganesha "$fsal_package" rpcbind; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
    die "apt-get install ${missing[*]} failed"
fi

# ---- Cleanup of everything this script starts. ----
work=$(mktemp -d "${TMPDIR:-/tmp}/run_compare.XXXXXX")
dfs_pid=""
ganesha_pid=""
rpcbind_pid=""
vfs_root=""

# stop PID NAME: SIGTERM, then SIGKILL after 30 s.
stop() {
  local pid=$1 name=$2 deadline=$((SECONDS + 30))
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within 30 s of SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  [[ -n "$dfs_pid" ]] && stop "$dfs_pid" dfs
  [[ -n "$ganesha_pid" ]] && stop "$ganesha_pid" ganesha
  [[ -n "$rpcbind_pid" ]] && stop "$rpcbind_pid" rpcbind
  [[ -n "$vfs_root" ]] && rm -rf "$vfs_root"
  if $keep; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

# ---- dfs: memory metadata and memory blocks. ----
dfs_port=$(free_port)
mkdir -p "$work/dfs-state"
write_dfs_config "$work/dfs.yaml" "$work/dfs-state" "$dfs_port" memory memory
"$dfs_bin" start --foreground --config "$work/dfs.yaml" >"$work/dfs.log" 2>&1 &
dfs_pid=$!
if ! wait_for_port "$dfs_port" "$dfs_pid" 30; then
  tail -n 20 "$work/dfs.log" >&2
  die "dfs did not start listening on 127.0.0.1:$dfs_port"
fi
log "dfs listening on 127.0.0.1:$dfs_port"

# ---- rpcbind: Ganesha exits at start when it cannot register NFSv3 with it. ----
if ! rpcinfo -p 127.0.0.1 >/dev/null 2>&1; then
  # (rpcbind -h 127.0.0.1 crashes with a double free in Debian 12's rpcbind 1.2.6.)
  rpcbind -f -w >"$work/rpcbind.log" 2>&1 &
  rpcbind_pid=$!
  for _ in $(seq 50); do
    rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break
    sleep 0.1
  done
  rpcinfo -p 127.0.0.1 >/dev/null 2>&1 || die "rpcbind did not start: $(cat "$work/rpcbind.log")"
  log "started rpcbind (pid $rpcbind_pid)"
fi

# ---- Ganesha. ----
ganesha_port=$(free_port)
ganesha_mount_port=$(free_port)
while [[ "$ganesha_mount_port" == "$ganesha_port" ]]; do ganesha_mount_port=$(free_port); done
if [[ "$ganesha_fsal" == VFS ]]; then
  vfs_root=$(mktemp -d /dev/shm/run_compare_ganesha.XXXXXX)
  export_path=$vfs_root
else
  export_path=/export
fi
mkdir -p "$work/ganesha-recovery"
protocols=3
$nfs4 && protocols="3, 4"
cat >"$work/ganesha.conf" <<EOF
NFS_CORE_PARAM {
  Bind_addr = 127.0.0.1;
  NFS_Port = $ganesha_port;
  MNT_Port = $ganesha_mount_port;
  Enable_NLM = false;
  Enable_UDP = false;
  Enable_RQUOTA = false;
  Protocols = $protocols;
  # MOUNT answers for the Pseudo path (/export) rather than the Path.
  mount_path_pseudo = true;
}
NFSv4 {
  Graceless = true;
  RecoveryRoot = "$work/ganesha-recovery";
}
EXPORT {
  Export_ID = 1;
  Path = "$export_path";
  Pseudo = /export;
  Access_Type = RW;
  Squash = No_Root_Squash;
  Transports = TCP;
  Protocols = $protocols;
  FSAL { Name = $ganesha_fsal; }
}
EOF
ganesha.nfsd -F -f "$work/ganesha.conf" -p "$work/ganesha.pid" -L "$work/ganesha.log" \
  -N NIV_EVENT >"$work/ganesha.out" 2>&1 &
ganesha_pid=$!
if ! wait_for_port "$ganesha_port" "$ganesha_pid" 60 ||
  ! wait_for_port "$ganesha_mount_port" "$ganesha_pid" 10; then
  tail -n 20 "$work/ganesha.log" "$work/ganesha.out" >&2 || true
  die "ganesha did not start listening on 127.0.0.1:$ganesha_port/$ganesha_mount_port"
fi
log "ganesha ($ganesha_fsal FSAL) listening on 127.0.0.1:$ganesha_port, MOUNT on $ganesha_mount_port"

# ---- The runs: one server at a time, the other idle, alternating for $rounds rounds so that
# slow spells of a noisy machine hit both; the table shows each figure's median over rounds. ----
status=0
ganesha_verify=()
[[ "$ganesha_fsal" == MEM ]] && ganesha_verify=(--no-verify)
: >"$work/dfs.results"
: >"$work/ganesha.results"
for round in $(seq "$rounds"); do
  log "round $round/$rounds: $bench_name against dfs"
  "$nfs_bench" --host 127.0.0.1 --port "$dfs_port" --export /export --label dfs \
    ${bench_args[@]+"${bench_args[@]}"} | tee -a "$work/dfs.results" || status=1
  log "round $round/$rounds: $bench_name against ganesha"
  ganesha_mount=(--mount-port "$ganesha_mount_port")
  $nfs4 && ganesha_mount=()  # NFSv4 has no MOUNT protocol
  "$nfs_bench" --host 127.0.0.1 --port "$ganesha_port" ${ganesha_mount[@]+"${ganesha_mount[@]}"} \
    --export /export --label ganesha ${ganesha_verify[@]+"${ganesha_verify[@]}"} \
    ${bench_args[@]+"${bench_args[@]}"} | tee -a "$work/ganesha.results" || status=1
done
kill -0 "$dfs_pid" 2>/dev/null || { log "dfs died during the run"; tail -n 20 "$work/dfs.log" >&2; status=1; }

# ---- The table. For throughput the ratio is dfs/ganesha; for latency ganesha/dfs. ----
echo
echo "ganesha FSAL: $ganesha_fsal. Medians over $rounds alternating rounds; ratio > 1 means dfs is better."
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
    printf "%-16s %-10s %14s %14s %8s\n", "metric", "unit", "dfs", "ganesha", "ratio"
    for (i = 1; i <= n; i++) {
      key = order[i]
      d = median("dfs", key)
      g = median("ganesha", key)
      ratio = "-"
      if (d != "" && g != "" && d + 0 > 0 && g + 0 > 0) {
        ratio = sprintf("%.2f", unit[key] == "us" ? g / d : d / g)
      }
      printf "%-16s %-10s %14s %14s %8s\n", key, unit[key], (d == "" ? "-" : d),
             (g == "" ? "-" : g), ratio
    }
  }' "$work/dfs.results" "$work/ganesha.results"

if [[ $status -ne 0 ]]; then
  log "a run failed (see above); its figures are missing from the table"
fi
exit $status
