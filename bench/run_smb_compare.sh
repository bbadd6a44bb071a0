#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs smb_bench against dfs and against Samba's smbd on this host (both on loopback ports,
# both keeping everything in memory: dfs on its memory stores, Samba on a tmpfs folder), with
# the same parameters, and prints a comparison table.
#
# usage: bench/run_smb_compare.sh [--durable] [--no-samba] [--rounds N] [--keep] [-- SMB_BENCH_ARGS...]
#
#   --durable      also run a second dfs on the durable stores (rocksdb metadata, localfs
#                  blocks, state under the temporary folder) and add its column
#   --rounds N     alternate the servers N times (default 1); the table shows each figure's
#                  median over the rounds
#   --no-samba     dfs only, no ratios (e.g. the 50,000-entry rows: Samba's create_50000
#                  alone takes about 16 minutes)
#   --keep         keep the temporary folder (configs, logs, raw results)
#   SMB_BENCH_ARGS passed to every run, e.g. -- --tests meta --dir-sizes 500
#
# Environment: DFS_BIN (default <repo>/build/bin/dfs), SMB_BENCH (default
# <repo>/build-bench/bin/smb_bench, else <repo>/build/bin/smb_bench), SAMBA_USER (default
# dfsbench: the Unix account Samba's share belongs to; created with useradd when missing, and
# removed again at the end).
#
# Samba runs from a private smb.conf in the temporary folder (its own private, lock, state,
# cache and pid directories and passdb), as
#   setsid smbd --foreground --no-process-group --debug-stdout -s CONF
# on 127.0.0.1 only, so it leaves any system Samba alone. Must run as root (smbd, useradd).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || (cd "$here/.." && pwd))

durable=false
samba=true
keep=false
rounds=1
bench_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --durable)
      durable=true
      shift
      ;;
    --keep)
      keep=true
      shift
      ;;
    --no-samba)
      samba=false
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
      sed -n '3,27p' "$0"
      exit 0
      ;;
    *)
      echo "run_smb_compare: unknown argument $1 (see --help)" >&2
      exit 2
      ;;
  esac
done

log() { echo "run_smb_compare: $*" >&2; }
die() {
  log "$*"
  exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root (smbd, useradd)"
! $samba || command -v smbd >/dev/null || die "no smbd (apt-get install samba, or scripts/install-deps.sh --bench)"

dfs_bin=${DFS_BIN:-$repo_root/build/bin/dfs}
[[ -x "$dfs_bin" ]] || die "no dfs binary at $dfs_bin (build it, or set DFS_BIN)"
smb_bench=${SMB_BENCH:-}
if [[ -z "$smb_bench" ]]; then
  for candidate in "$repo_root/build-bench/bin/smb_bench" "$repo_root/build/bin/smb_bench"; do
    if [[ -x "$candidate" ]]; then
      smb_bench=$candidate
      break
    fi
  done
fi
[[ -n "$smb_bench" && -x "$smb_bench" ]] ||
  die "no smb_bench (apt-get install libsmbclient-dev; cmake -S . -B build-bench -G Ninja" \
    "-DCMAKE_BUILD_TYPE=Release && cmake --build build-bench --target smb_bench), or set SMB_BENCH"

# ---- Cleanup of everything this script starts or creates. ----
work=$(mktemp -d "${TMPDIR:-/tmp}/run_smb_compare.XXXXXX")
chmod 755 "$work"
share_root=""
samba_pid=""
samba_user=${SAMBA_USER:-dfsbench}
created_user=false
dfs_pids=()

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
  local pid
  for pid in ${dfs_pids[@]+"${dfs_pids[@]}"}; do stop "$pid" dfs; done
  if [[ -n "$samba_pid" ]]; then
    # setsid made smbd the leader of a process group of its own, which its children (one per
    # connection, and samba-dcerpcd if it started one) share: stop the whole group.
    kill -TERM -- "-$samba_pid" 2>/dev/null || true
    stop "$samba_pid" smbd
    kill -KILL -- "-$samba_pid" 2>/dev/null || true
  fi
  [[ -n "$share_root" ]] && rm -rf "$share_root"
  if $created_user; then userdel "$samba_user" 2>/dev/null || true; fi
  if $keep; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source "$repo_root/bench/lib.sh"

random_password() { python3 -c 'import secrets; print(secrets.token_urlsafe(18))'; }

# ---- dfs: memory metadata and memory blocks (and optionally rocksdb + localfs). ----
# start_dfs LABEL METADATA BLOCK: starts a dfs and sets dfs_port and dfs_password (the admin
# password it prints on its first start). Not in a command substitution: its subshell would
# keep the pid from cleanup.
start_dfs() {
  local label=$1 metadata=$2 block=$3 nfs_port pid deadline
  nfs_port=$(free_port)
  dfs_port=$(free_port)
  mkdir -p "$work/$label-state"
  write_dfs_config "$work/$label.yaml" "$work/$label-state" "$nfs_port" "$metadata" "$block" \
    "$dfs_port"
  "$dfs_bin" start --foreground --config "$work/$label.yaml" >"$work/$label.log" 2>&1 &
  pid=$!
  dfs_pids+=("$pid")
  if ! wait_for_port "$dfs_port" "$pid" 30; then
    tail -n 20 "$work/$label.log" >&2
    die "$label dfs did not start listening on 127.0.0.1:$dfs_port"
  fi
  deadline=$((SECONDS + 10))
  dfs_password=""
  while [[ -z "$dfs_password" ]] && ((SECONDS < deadline)); do
    dfs_password=$(sed -n 's/.*initial password: \([^ ]*\).*/\1/p' "$work/$label.log" | head -n1)
    [[ -n "$dfs_password" ]] || sleep 0.1
  done
  [[ -n "$dfs_password" ]] || die "$label dfs printed no initial admin password"
  log "$label dfs ($metadata metadata, $block blocks) serving SMB on 127.0.0.1:$dfs_port"
}

labels=(dfs)
start_dfs dfs memory memory
declare -A ports passwords users
ports[dfs]=$dfs_port
passwords[dfs]=$dfs_password
users[dfs]="admin"
if $durable; then
  labels+=(dfs-durable)
  start_dfs dfs-durable rocksdb localfs
  ports[dfs-durable]=$dfs_port
  passwords[dfs-durable]=$dfs_password
  users[dfs-durable]="admin"
fi

# ---- Samba: a private configuration, a share on tmpfs, a user in a private passdb. ----
if $samba; then
  if ! id "$samba_user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$samba_user" ||
      die "useradd $samba_user failed"
    created_user=true
  fi
  share_root=$(mktemp -d /dev/shm/run_smb_compare.XXXXXX)
  chown "$samba_user:" "$share_root"
  samba_dir=$work/samba
  mkdir -p "$samba_dir"/{private,lock,state,cache,pid,ncalrpc,bind-dns,log}
  chmod 700 "$samba_dir/private"
  samba_port=$(free_port)
  cat >"$work/smb.conf" <<EOF
[global]
  server role = standalone server
  workgroup = WORKGROUP
  netbios name = SMBBENCH
  smb ports = $samba_port
  bind interfaces only = yes
  interfaces = lo
  disable netbios = yes
  server min protocol = SMB2_02
  private dir = $samba_dir/private
  lock directory = $samba_dir/lock
  state directory = $samba_dir/state
  cache directory = $samba_dir/cache
  pid directory = $samba_dir/pid
  ncalrpc dir = $samba_dir/ncalrpc
  binddns dir = $samba_dir/bind-dns
  log file = $samba_dir/log/log.%m
  passdb backend = tdbsam:$samba_dir/private/passdb.tdb
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes

[export]
  path = $share_root
  read only = no
  valid users = $samba_user
EOF
  samba_password=$(random_password)
  printf '%s\n%s\n' "$samba_password" "$samba_password" |
    smbpasswd -c "$work/smb.conf" -s -a "$samba_user" >"$work/smbpasswd.log" 2>&1 ||
    die "smbpasswd -a $samba_user failed: $(cat "$work/smbpasswd.log")"
  setsid smbd --foreground --no-process-group --debug-stdout -s "$work/smb.conf" \
    >"$work/smbd.log" 2>&1 &
  samba_pid=$!
  if ! wait_for_port "$samba_port" "$samba_pid" 30; then
    tail -n 20 "$work/smbd.log" >&2
    die "smbd did not start listening on 127.0.0.1:$samba_port"
  fi
  log "samba $(smbd --version | sed 's/^Version //') serving SMB on 127.0.0.1:$samba_port ($share_root)"
  labels+=(samba)
  ports[samba]=$samba_port
  passwords[samba]=$samba_password
  users[samba]=$samba_user
fi

# ---- The runs: one server at a time, the others idle, alternating for $rounds rounds. ----
status=0
for label in "${labels[@]}"; do : >"$work/$label.results"; done
for round in $(seq "$rounds"); do
  for label in "${labels[@]}"; do
    log "round $round/$rounds: smb_bench against $label"
    SMB_BENCH_PASSWORD=${passwords[$label]} "$smb_bench" --host 127.0.0.1 \
      --port "${ports[$label]}" --share export --user "${users[$label]}" --label "$label" \
      ${bench_args[@]+"${bench_args[@]}"} | tee -a "$work/$label.results" || status=1
  done
done
for pid in "${dfs_pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { log "a dfs died during the run"; status=1; }
done
if $samba; then
  kill -0 "$samba_pid" 2>/dev/null || { log "smbd died during the run"; status=1; }
fi

# ---- The table. For rates the ratio is dfs/samba; for latencies (unit us) samba/dfs, so that
# above 1 always means dfs is better. ----
echo
echo "Medians over $rounds round(s); ratio > 1 means dfs is better (rates: dfs/samba," \
  "latencies: samba/dfs)."
files=()
for label in "${labels[@]}"; do files+=("$work/$label.results"); done
awk -v labels="${labels[*]}" '
  function median(label, key,    k, i, j, t, a) {
    k = count[label, key]
    if (k == 0) return ""
    for (i = 1; i <= k; i++) a[i] = samples[label, key, i] + 0
    for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return a[int((k + 1) / 2)]
  }
  function ratio(d, s, u) {
    if (d == "" || s == "" || d + 0 <= 0 || s + 0 <= 0) return "-"
    return sprintf("%.2f", u == "us" ? s / d : d / s)
  }
  $1 == "RESULT" {
    key = $3
    if (!(key in unit)) { order[++n] = key; unit[key] = $5 }
    samples[$2, key, ++count[$2, key]] = $4
  }
  END {
    m = split(labels, l, " ")
    printf "%-18s %-10s", "metric", "unit"
    for (c = 1; c <= m; c++) printf " %12s", l[c]
    for (c = 1; c <= m; c++) if (l[c] != "samba") printf " %12s", (l[c] == "dfs" ? "ratio" : "ratio-" l[c])
    printf "\n"
    for (i = 1; i <= n; i++) {
      key = order[i]
      printf "%-18s %-10s", key, unit[key]
      for (c = 1; c <= m; c++) { v = median(l[c], key); printf " %12s", (v == "" ? "-" : v) }
      s = median("samba", key)
      for (c = 1; c <= m; c++) if (l[c] != "samba") printf " %12s", ratio(median(l[c], key), s, unit[key])
      printf "\n"
    }
  }' "${files[@]}"

if [[ $status -ne 0 ]]; then
  log "a run failed (see above); its figures are missing from the table"
fi
exit $status
