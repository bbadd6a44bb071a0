#!/usr/bin/env bash
# Installs what is needed, builds DittoFS (release) and starts `dfs` in the foreground on its
# zero-config defaults: share /export over NFSv3 + MOUNT on TCP port 12049.
# Extra arguments go to `dfs start` (e.g. --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDITTOFS_BENCH=OFF >/dev/null
cmake --build build/release --target dfs_main
exec build/release/bin/dfs start --foreground "$@"
