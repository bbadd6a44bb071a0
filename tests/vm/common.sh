# SPDX-License-Identifier: Apache-2.0
# Shared by the kernel_*_test.sh scripts (sourced, after they set `here`, `repo_root` and
# `test_name`): where vmtest is, whether a VM can start here, free ports, starting and stopping
# dfs, checks on the host's side.

if [[ -n "${VMTEST_DIR:-}" ]]; then
  vmtest_dir=$VMTEST_DIR
elif [[ -x "$repo_root/../shared/vmtest/vm-run" ]]; then
  vmtest_dir=$repo_root/../shared/vmtest
else
  vmtest_dir=/work/shared/vmtest
fi
vm_run=$vmtest_dir/vm-run

log() { echo "$test_name: $*" >&2; }

# Exits 0 with "SKIPPED: ..." when there is no vmtest or no VM can start here (vm-run exits 125;
# it builds the image on first use), 1 when the probe fails otherwise.
vm_probe_or_skip() {
  if [[ ! -x "$vm_run" ]]; then
    echo "SKIPPED: no vmtest at $vmtest_dir (set VMTEST_DIR)"
    exit 0
  fi
  local probe status=0
  probe=$(mktemp)
  "$vm_run" --timeout 600 -- true >/dev/null 2>"$probe" || status=$?
  if [[ $status -eq 125 ]]; then
    echo "SKIPPED: the vmtest VM cannot start: $(tail -n 3 "$probe" | tr '\n' ' ')"
    rm -f "$probe"
    exit 0
  fi
  rm -f "$probe"
  if [[ $status -ne 0 ]]; then
    log "FAIL: probe 'vm-run -- true' exited $status"
    exit 1
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_port PORT SECONDS: true once something accepts TCP connections on 127.0.0.1:PORT
# (false early when $dfs_pid, if set, has exited).
wait_for_port() {
  local port=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if [[ -n "${dfs_pid:-}" ]] && ! kill -0 "$dfs_pid" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

show_dfs_log() {
  log "last lines of the dfs log:"
  tail -n 40 "$work/dfs.log" >&2 || true
}

# start_dfs CONFIG PORT...: starts $dfs_bin on CONFIG (log in $work/dfs.log, pid in dfs_pid)
# and waits until it listens on every PORT; exits 1 when it does not.
start_dfs() {
  local config=$1 port
  shift
  "$dfs_bin" start --foreground --config "$config" >"$work/dfs.log" 2>&1 &
  dfs_pid=$!
  for port in "$@"; do
    if ! wait_for_port "$port" 30; then
      log "FAIL: dfs did not start listening on 127.0.0.1:$port within 30 s"
      show_dfs_log
      exit 1
    fi
  done
}

# stop_dfs: stops dfs with SIGTERM; exits 1 (showing its log) when it had exited already, during
# the test, or its exit status is not 0.
stop_dfs() {
  local status=0
  if ! kill -0 "$dfs_pid" 2>/dev/null; then
    wait "$dfs_pid" || status=$?
    dfs_pid=""
    log "FAIL: dfs exited during the test (status $status)"
    show_dfs_log
    exit 1
  fi
  kill -TERM "$dfs_pid"
  wait "$dfs_pid" || status=$?
  dfs_pid=""
  if [[ $status -ne 0 ]]; then
    log "FAIL: dfs exited with status $status after SIGTERM (expected 0)"
    show_dfs_log
    exit 1
  fi
}

# host_check DESCRIPTION COMMAND [ARG...]: a check on the host's side; prints PASS or FAIL by the
# command's exit status and counts the failures in host_fails.
host_fails=0
host_check() {
  local description=$1
  shift
  if "$@"; then
    echo "PASS: $description"
  else
    echo "FAIL: $description"
    host_fails=$((host_fails + 1))
  fi
}

# Sets `password` to the one-time password of "admin" (it follows the listening lines on
# dfs's standard output); exits 1 when there is none.
read_admin_password() {
  password=""
  for _ in $(seq 1 50); do
    password=$(sed -n 's/.*initial password: \([^ ]*\).*/\1/p' "$work/dfs.log" | head -n 1)
    [[ -z "$password" ]] || return 0
    sleep 0.2
  done
  log "FAIL: no 'initial password:' line in the dfs output"
  show_dfs_log
  exit 1
}

# wait_for_upload DIR MIN_BYTES SECONDS: waits until the tiered store's remote directory DIR holds
# at least MIN_BYTES and has not grown for 3 s (what was written is carved and uploaded), at
# most SECONDS; prints the bytes it holds then.
wait_for_upload() {
  local dir=$1 min=$2 deadline=$((SECONDS + $3)) last=-1 stable=0 now
  while ((SECONDS < deadline && stable < 3)); do
    sleep 1
    now=$(du -sb "$dir" 2>/dev/null | cut -f1)
    if [[ "$now" == "$last" && "${now:-0}" -ge "$min" ]]; then stable=$((stable + 1)); else stable=0; fi
    last=$now
  done
  echo "$last"
}
