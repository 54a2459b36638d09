#!/usr/bin/env bash
# Cross-tool tests: each tests/*.test.sh chains real tool binaries the way a user does.
# A test file runs with `set -euo pipefail`, gets BIN (debug binaries), ROOT and a fresh
# TMP, and fails by exiting non-zero. Tests whose tools are not built yet are reported.
#
#   tests/run.sh            every tests/*.test.sh (what make test runs)
#   tests/run.sh DIR        every DIR/*.test.sh (make test-image: tests/image/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export ROOT="$root"
export BIN="${CARGO_TARGET_DIR:-$root/target}/debug"
pass=0; fail=0
dir=${1:-$root/tests}
for t in "$dir"/*.test.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .test.sh)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pipeline-XXXXXX")
  if TMP="$tmp" bash -c 'set -euo pipefail; source "$1"' _ "$t" >"$tmp/.log" 2>&1; then
    echo "PASS  pipeline/$name"
    pass=$((pass + 1))
  else
    echo "FAIL  pipeline/$name"
    sed 's/^/      /' "$tmp/.log" | tail -n 30
    fail=$((fail + 1))
  fi
  rm -rf "$tmp"
done
echo "pipeline tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
