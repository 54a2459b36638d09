#!/usr/bin/env bash
# The release-gate pipeline on the bundled examples (`make demo`).
#
# Builds the tools in release mode, starts throwaway local services, runs every stage in
# scripts/gate.d/ in order over examples/release/ (a good release, which must promote) and
# examples/bad-release/ (real defects, which the gates must block), writes every report
# into out/demo/, and prints a one-screen summary. Exits 0 when both releases get the
# expected outcome and every command exited as expected.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/demo.sh
source scripts/lib/pg.sh

# Relative paths, so reports and findings name files as a user in the checkout would.
export EX="examples"
export OUT="out/demo"
export BIN="${CARGO_TARGET_DIR:-$root/target}/release"

rm -rf "$OUT"
mkdir -p "$OUT/release" "$OUT/bad-release"
: >"$OUT/summary.tsv"

tools=$(sed -n '/^members = \[/,/^\]/p' Cargo.toml | grep -o '"tools/[^"]*"' | tr -d '"' | sed 's#tools/##' | grep -v -x -e gatehouse -e testkit)
step "building $(echo $tools | tr ' ' ',') (release)"
pkgs=()
for t in $tools; do pkgs+=(-p "$t"); done
cargo build --release --quiet --bins "${pkgs[@]}" -p sample-service

step "starting a throwaway PostgreSQL"
pg_start
export DEMO_PG_URL="$PG_URL"

# The service under test for the live gates: v1 and a v2 canary, stopped when the demo
# exits (also after a failed stage). Sets SAMPLE_V1_URL, SAMPLE_V2_URL, DEMO_REDIS_URL.
step "starting a throwaway Redis and the sample service (v1 and a v2 canary)"
source examples/sample-service/demo-services.sh
svc_start || { echo "demo: the sample service did not start" >&2; exit 1; }

for stage in scripts/gate.d/*.sh; do
  [ -e "$stage" ] || continue
  name=$(basename "$stage" .sh)
  tool=${name#*-}
  if [ ! -x "$BIN/$tool" ]; then
    echo "demo: skipping $name: $tool is not built" >&2
    continue
  fi
  step "stage $name"
  if ! bash -c 'set -euo pipefail; source scripts/lib/demo.sh; source "$1"' _ "$stage"; then
    echo "demo: stage $name failed" >&2
    echo "stage $name" >>"$OUT/unexpected.txt"
  fi
done

# One screen: per release, each tool's result and key figure, then the decision.
{
  printf '\n'
  for rel in release bad-release; do
    printf '\033[1m%s\033[0m\n' "$rel"
    awk -F'\t' -v rel="$rel" '$1 == rel && $2 != "decision" {
        r = $3; c = (r == "ok" || r == "promote") ? "32" : (r == "fail" || r == "block" || r == "rollback") ? "31" : "33";
        printf "  %-23s \033[%sm%-6s\033[0m %s\n", $2, c, r, $4 }' "$OUT/summary.tsv"
    awk -F'\t' -v rel="$rel" '$1 == rel && $2 == "decision" {
        c = ($3 == "promote") ? "32" : "31";
        printf "  \033[1mdecision: \033[%sm%s\033[0m  %s\n", c, $3, $4 }' "$OUT/summary.tsv"
  done
  printf '\nreports: %s/\n' "$OUT"
} | if [ -n "${NO_COLOR:-}" ] || [ ! -t 1 ]; then sed 's/\x1b\[[0-9;]*m//g'; else cat; fi

if [ -s "$OUT/unexpected.txt" ]; then
  echo "demo: FAILED — unexpected outcomes:" >&2
  sed 's/^/  /' "$OUT/unexpected.txt" >&2
  exit 1
fi
decisions=$(awk -F'\t' '$2 == "decision" {print $1 "=" $3}' "$OUT/summary.tsv" | sort | tr '\n' ' ')
if [ -n "$decisions" ] && [ "$decisions" != "bad-release=block release=promote " ]; then
  echo "demo: FAILED — expected release=promote and bad-release=block, got: $decisions" >&2
  exit 1
fi
echo "demo: ok" >&2
