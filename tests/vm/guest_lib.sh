# SPDX-License-Identifier: Apache-2.0
# Sourced by the guest scripts (*_guest.sh), which the host copies into the VM beside it:
# counted checks, string comparison, dropping the client's caches, timed sections.

fails=0
checks=0
known=0
# When set, a failing check is a documented gap: reported as KNOWN-FAILURE, not counted.
known_reason=""

# check DESCRIPTION COMMAND [ARG...]: runs the command; its exit status decides PASS or FAIL
# (or KNOWN-FAILURE), and is check's own.
check() {
  local description=$1
  shift
  checks=$((checks + 1))
  if "$@"; then
    echo "PASS: $description"
    return 0
  fi
  if [[ -n "$known_reason" ]]; then
    echo "KNOWN-FAILURE: $known_reason: $description"
    known=$((known + 1))
  else
    echo "FAIL: $description"
    fails=$((fails + 1))
  fi
  return 1
}

# same A B: true when the two strings are equal; says what differed otherwise.
same() {
  [[ "$1" == "$2" ]] && return 0
  echo "  got:      '$1'" >&2
  echo "  expected: '$2'" >&2
  return 1
}

# Forget cached pages, attributes and names so that what follows is read from the server.
fresh() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

# Sections print the time since the start (the run is slow under emulation; this shows where).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
start_ms=$(now_ms)
section() {
  local elapsed=$(($(now_ms) - start_ms))
  printf '== %s (at %d.%01d s)\n' "$1" $((elapsed / 1000)) $((elapsed % 1000 / 100))
}
