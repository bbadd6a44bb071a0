#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs Samba's smbtorture (Debian samba-testsuite) against dfs: each suite on a fresh dfs
# (memory stores, loopback, free ports), a few suites at a time. Every failing test must be in
# smbtorture_known_failures.txt, each with its reason; a failure not listed, or a suite that
# dies or hangs, fails this script. Listed tests that now pass are printed, so the list shrinks.
#
# usage: smbtorture.sh DFS_BIN [SUITE...]     (default: the suites the SMB issue names)
# A SUITE written SUITE@ca runs against the share /ca, which is continuously available
# (persistent handles); the others against /export.
# Environment: DFS_TORTURE_JOBS (parallel suites, default 3), DFS_TORTURE_TIMEOUT (per suite,
# seconds, default 600), DFS_TORTURE_KEEP=1 keeps the logs' directory.
# The suites of DFS_TORTURE_USER_SUITES (default: smb2.acls) run as an ordinary user (uid 1000,
# made through the REST API), not as admin: admin is uid 0, and root passes every permission
# check, as it does on Samba, where Windows' administrators do not.
# Exit status 0: no unexpected failure (or "SKIPPED: smbtorture is not installed").

set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dfs=${1:?usage: smbtorture.sh DFS_BIN [SUITE...]}
shift
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
  suites=(smb2.connect smb2.read smb2.create smb2.rename smb2.delete-on-close-perms smb2.dir
          smb2.getinfo smb2.setinfo smb2.compound smb2.credits smb2.session smb2.lock
          smb2.oplock smb2.lease smb2.sharemode smb2.maxfid smb2.ioctl smb2.acls smb2.notify
          smb2.streams smb2.ea smb2.durable-open smb2.durable-v2-open smb2.durable-open-disconnect
          smb2.multichannel smb2.replay smb2.durable-v2-open@ca smb2.replay.replay5@ca)
fi
if ! command -v smbtorture >/dev/null; then
  echo "SKIPPED: smbtorture is not installed (Debian samba-testsuite)"
  exit 0
fi
known="$here/smbtorture_known_failures.txt"
work=$(mktemp -d /tmp/dfs-torture.XXXXXX)
trap '[ "${DFS_TORTURE_KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT

# make_user DIR ADMIN_PASSWORD: makes user "torture" (uid and gid 1000, read-write on /export)
# through the REST API of the dfs whose log is DIR/dfs.log; prints "torture%PASSWORD". The
# first admin login must change the generated password: it is changed, and changed back.
make_user() {
  local dir=$1 pw=$2 api token code
  api="http://$(sed -n 's/.*REST API listening on \([0-9.:]*\).*/\1/p' "$dir/dfs.log")/api/v1"
  login() {
    curl -s -X POST -H 'Content-Type: application/json' \
      -d "{\"username\":\"admin\",\"password\":\"$1\"}" "$api/auth/login" |
      sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
  }
  call() {  # call TOKEN METHOD PATH BODY: prints the HTTP status
    curl -s -o /dev/null -w '%{http_code}' -X "$2" -H "Authorization: Bearer $1" \
      -H 'Content-Type: application/json' -d "$4" "$api$3"
  }
  token=$(login "$pw")
  code=$(call "$token" POST /auth/password "{\"current_password\":\"$pw\",\"new_password\":\"Interim-Pw-9\"}")
  [ "$code" = 204 ] || { echo "password change: $code"; return 1; }
  token=$(login Interim-Pw-9)
  call "$token" POST /auth/password "{\"current_password\":\"Interim-Pw-9\",\"new_password\":\"$pw\"}" >/dev/null
  token=$(login "$pw")
  code=$(call "$token" POST /users '{"username":"torture","password":"Torture-Pw-1","uid":1000,"gid":1000}')
  [ "$code" = 201 ] || { echo "user: $code"; return 1; }
  code=$(call "$token" PUT /shares/%2Fexport/permissions '{"kind":"user","name":"torture","level":"read-write"}')
  [ "$code" = 200 ] || { echo "grant: $code"; return 1; }
  echo "torture%Torture-Pw-1"
}
export -f make_user

# run_suite SUITE: one dfs, one smbtorture run; writes $work/SUITE.{log,dfs.log,rc}.
run_suite() {
  local suite=$1 dir="$work/$1"
  mkdir -p "$dir"
  cat >"$dir/config.yaml" <<EOC
logging: {level: info, format: text}
server: {state_dir: $dir/state}
nfs: {bind: 127.0.0.1, port: 0, udp: false}
smb: {bind: 127.0.0.1, port: 0, max_connections_per_client: 1024}
api: {bind: 127.0.0.1, port: 0}
shares:
  - {name: /export, metadata: memory, block: memory, squash: none}
  - {name: /ca, metadata: memory, block: memory, squash: none, continuously_available: true}
EOC
  setsid "$dfs" start --foreground --config "$dir/config.yaml" >"$dir/dfs.log" 2>&1 &
  local pid=$! port="" pw=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*SMB 2.0.2-3.1.1 listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/dfs.log")
    pw=$(sed -n 's/.*initial password: \([^ ]*\).*/\1/p' "$dir/dfs.log")
    [ -n "$port" ] && [ -n "$pw" ] && break
    sleep 0.1
  done
  if [ -z "$port" ] || [ -z "$pw" ]; then
    echo "dfs did not start" >"$dir/log"
    echo 99 >"$dir/rc"
    kill -9 "$pid" 2>/dev/null
    return
  fi
  local user="admin%$pw"
  if [[ " ${DFS_TORTURE_USER_SUITES-smb2.acls} " == *" $suite "* ]]; then
    user=$(make_user "$dir" "$pw") || { echo "cannot make the user: $user" >"$dir/log"; user="admin%$pw"; }
  fi
  local share=export torture=$suite
  if [[ "$suite" == *@ca ]]; then share=ca torture=${suite%@ca}; fi
  timeout "${DFS_TORTURE_TIMEOUT:-600}" smbtorture "//127.0.0.1/$share" -p "$port" \
    -U "$user" --option="netbios name=localhost" "$torture" >"$dir/log" 2>&1
  echo $? >"$dir/rc"
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo $? >"$dir/dfs.rc"
}
export -f run_suite
export dfs work
printf '%s\n' "${suites[@]}" | xargs -P "${DFS_TORTURE_JOBS:-3}" -I{} bash -c 'run_suite {}'

status=0
passed=0
failed_known=0
now_pass=()
for suite in "${suites[@]}"; do
  dir="$work/$suite"
  rc=$(cat "$dir/rc" 2>/dev/null || echo 99)
  ok=$(grep -c '^success: ' "$dir/log")
  passed=$((passed + ok))
  # A suite that died (not a test failure: smbtorture exits 1 for those) or hung.
  if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
    echo "UNEXPECTED: $suite ended with status $rc (crash, hang or no server)"
    tail -n 20 "$dir/log"
    status=1
  fi
  if [ "$(cat "$dir/dfs.rc" 2>/dev/null)" != 0 ]; then
    echo "UNEXPECTED: dfs did not stop cleanly after $suite"
    tail -n 20 "$dir/dfs.log"
    status=1
  fi
  while IFS= read -r name; do
    full="$suite.$name"
    if grep -qxF -- "$full" <(cut -f1 "$known" | sed 's/ *$//'); then
      failed_known=$((failed_known + 1))
    else
      echo "UNEXPECTED FAILURE: $full"
      grep -A3 -F "failure: $name [" "$dir/log" | head -n 4
      grep -A3 -F "error: $name [" "$dir/log" | head -n 4
      status=1
    fi
  done < <(sed -n 's/^\(failure\|error\): \(.*\) \[.*/\2/p' "$dir/log")
  while IFS= read -r name; do
    if grep -qxF -- "$suite.$name" <(cut -f1 "$known" | sed 's/ *$//'); then now_pass+=("$suite.$name"); fi
  done < <(sed -n 's/^success: \(.*\)$/\1/p' "$dir/log")
done
echo "smbtorture: $passed passed, $failed_known known failures (tests/smb/smbtorture_known_failures.txt)"
if [ ${#now_pass[@]} -gt 0 ]; then
  echo "now passing, to take off the known-failures list: ${now_pass[*]}"
fi
exit $status
