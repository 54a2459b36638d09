#!/usr/bin/env bash
# `make bench`: runs every tool's benchmark in scripts/bench/ against its peer, in the same
# run, with release binaries. Results go to out/bench/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export BIN="${BIN:-${CARGO_TARGET_DIR:-$root/target}/release}"
source scripts/lib/bench.sh
status=0
for b in scripts/bench/*.sh; do
  [ -e "$b" ] || continue
  echo "==> $(basename "$b" .sh)" >&2
  bash "$b" || { echo "bench: $(basename "$b") failed" >&2; status=1; }
done
exit $status
