#!/usr/bin/env bash
# The release-gate pipeline on the bundled examples (`make demo`).
#
# Builds the tools in release mode, starts throwaway local services (PostgreSQL, Redis, the
# sample service as v1 and a v2 canary), then runs scripts/release-gate.sh — the same
# script the GitHub workflows run — once per example:
#
#   examples/release/      a good release: must promote (its pack verified, also by openssl)
#   examples/bad-release/  real defects: must be blocked, naming every failing gate
#   examples/release/ again with the canary's error knob on (30 % 500s): must roll back
#
# Reports go to out/demo/<release>/ (the canary run: out/demo/canary/release/). Exits 0
# when each run gets its expected decision and every tool exited as expected.
#
#   scripts/demo.sh [--no-build]    # --no-build: use the release binaries already built
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/demo.sh
source scripts/lib/pg.sh

build=1
[ "${1:-}" = --no-build ] && build=0

# Relative paths, so reports and findings name files as a user in the checkout would.
export OUT="out/demo"
export BIN="${CARGO_TARGET_DIR:-$root/target}/release"

rm -rf "$OUT"
mkdir -p "$OUT"

if [ "$build" = 1 ]; then
  tools=$(sed -n '/^members = \[/,/^\]/p' Cargo.toml | grep -o '"tools/[^"]*"' | tr -d '"' | sed 's#tools/##' | grep -v -x -e gatehouse -e testkit)
  step "building $(echo $tools | tr ' ' ',') (release)"
  pkgs=()
  for t in $tools; do pkgs+=(-p "$t"); done
  cargo build --release --quiet --bins "${pkgs[@]}" -p sample-service
fi
start=$(date +%s)

step "starting a throwaway PostgreSQL"
pg_start
export DEMO_PG_URL="$PG_URL"

# The service under test for the live gates: v1 and a v2 canary, stopped when the demo
# exits (also after a failed stage). Sets SAMPLE_V1_URL, SAMPLE_V2_URL, DEMO_REDIS_URL.
step "starting a throwaway Redis and the sample service (v1 and a v2 canary)"
source examples/sample-service/demo-services.sh
svc_start || { echo "demo: the sample service did not start" >&2; exit 1; }

# One trace per release run; the version the evidence pack records.
failed=()
run() {
  local expect=$1
  shift
  TRACEPARENT= scripts/release-gate.sh --version v2.4.0 --expect "$expect" "$@" || failed+=("$* (expected $expect)")
}
run promote examples/release
run block examples/bad-release
OUT="$OUT/canary" run rollback --only verify-goldens --canary-faults '{"error_rate": {"*": 0.3}}' examples/release

# Every decision (YAML and Rego, every release) went into one hash-chained audit log.
if [ -s "$OUT/audit.jsonl" ]; then
  step "evidence-pack audit verify $OUT/audit.jsonl"
  "$BIN/evidence-pack" audit verify "$OUT/audit.jsonl" --format json -q >"$OUT/audit-verify.json" \
    || failed+=("evidence-pack audit verify $OUT/audit.jsonl")
  echo "demo: audit log: $(wc -l <"$OUT/audit.jsonl") gate decisions, chain $(jq -r .result "$OUT/audit-verify.json")" >&2
fi

elapsed=$(($(date +%s) - start))
if [ ${#failed[@]} -gt 0 ]; then
  echo "demo: FAILED after ${elapsed}s — unexpected outcomes:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  cat "$OUT/unexpected.txt" "$OUT/canary/unexpected.txt" 2>/dev/null | sed 's/^/  /' >&2
  exit 1
fi
echo "demo: ok in ${elapsed}s (after the build): release=promote bad-release=block canary=rollback; reports in $OUT/" >&2
for page in "$OUT"/release/report.html "$OUT"/bad-release/report.html; do
  [ -s "$page" ] && echo "demo: release page: $page" >&2
done
true
