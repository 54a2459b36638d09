#!/usr/bin/env bash
# The promotion gate for one release in one environment: every gate of the release train,
# then the decision and the signed evidence.
#
#   scripts/release-gate.sh [OPTIONS] RELEASE_DIR
#
#   alert-lint check · sbom-diff · migration-gate lint + dry-run · verify-goldens run, slo,
#   canary · perf-gate run + headroom · replayctl lag + verify · dr-drill freshness (+ drill)
#   → evidence-pack gate, build, verify (and openssl over the DSSE signature)
#
# Every report is kept in OUT/NAME/ (NAME: the release directory's name);
# one TRACEPARENT joins them into one trace (taken from the environment when set, as a CI
# job would pass it; else a new one, printed). Exit status: the decision's — 0 promote,
# 1 block or rollback, 2 the gate could not judge. `make demo` (scripts/demo.sh) calls this
# script once per example release against throwaway local services; the GitHub workflows
# (workflows/release-gate.yml) call it against real environments. One code path.
#
# Options (each also from the environment variable in brackets; a flag wins):
#   --version V           [GATE_VERSION]   release version written into the evidence pack
#                                          (default: `git describe --tags --always`)
#   --env ENV             [GATE_ENV]       environment name: the golden paths' --env (default local)
#   --out DIR             [OUT]            report root (default out/release-gate)
#   --bin DIR             [BIN]            where the tools are (default target/release)
#   --policy FILE         [GATE_POLICY]    promotion policy (default RELEASE_DIR/promote.yaml,
#                                          else examples/release/promote.yaml)
#   --service-url URL     [SERVICE_URL]    the service (baseline): golden paths, perf target
#   --canary-url URL      [CANARY_URL]     the canary instance scraped beside the baseline
#   --prometheus URL      [PROMETHEUS_URL] Prometheus for SLO and canary (default: a throwaway
#                                          one scraping --service-url and --canary-url)
#   --database-url URL    [DATABASE_URL]   PostgreSQL server for the migration dry-run copy
#   --redis-url URL       [REDIS_URL]      Redis of the ingest path (replayctl)
#   --expected-peak RATE  [GATE_EXPECTED_PEAK] expected peak for perf headroom (default 50/s)
#   --key FILE            [GATE_SIGNING_KEY]   signing key (default: a throwaway pair in OUT/keys)
#   --canary-faults JSON  [GATE_CANARY_FAULTS] demo only: fault knobs put on the canary's admin
#                                          port (CANARY_ADMIN) before the SLO and canary checks
#   --only TOOLS          [GATE_ONLY]      comma-separated tools to run (evidence-pack always runs)
#   --expect DECISION     [GATE_EXPECT]    demo/tests: also exit 1 unless the decision is DECISION
#                                          and every tool exited as the example expects
#
# Stages: scripts/gate.d/NN-TOOL.sh, in order, each sourced in its own bash (set -euo
# pipefail) with scripts/lib/demo.sh loaded. A stage whose TOOL is not built in BIN is
# skipped: its reports are then missing, and the policy blocks on them. The interface a
# stage may rely on (stable; new variables only ever get added):
#   REL               the release being judged: RELEASE_DIR's name; reports go to $OUT/$REL/
#   RELEASES          the same, for stages that loop (`for rel in $RELEASES`)
#   EX                the directory holding the release directory ($EX/$REL = RELEASE_DIR);
#                     the examples keep shared inputs in $EX/release and $EX/alert-catalog.yaml
#   OUT, BIN, GATE_ENV, GATE_POLICY, GATE_VERSION, GATE_EXPECTED_PEAK, TRACEPARENT
#   DEMO_PG_URL       PostgreSQL server URL (= --database-url); PG_URL the same; PG_BIN its
#                     client binaries (psql)
#   DEMO_REDIS_URL    Redis URL (= --redis-url)
#   SAMPLE_V1_URL, SAMPLE_V2_URL  service and canary (= --service-url, --canary-url);
#   SAMPLE_V1_ADMIN, SAMPLE_V2_ADMIN  their fault-knob admin ports (demo only; may be unset)
#   PROMETHEUS_URL    when set, stages use it instead of starting their own
#   $OUT/summary.tsv  rows "release<TAB>gate<TAB>result<TAB>key figure" via `summary`
#   $OUT/unexpected.txt  commands whose exit code was not what the example expects
#                     (`expect_exit`); the demo fails on any, a real run just lists them
# Helpers (scripts/lib/demo.sh): summary, expect_exit, result_of, step.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
caller=$(pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "release-gate: $*" >&2; exit 2; }

version=${GATE_VERSION:-} env_name=${GATE_ENV:-local}
out=${OUT:-out/release-gate} bin=${BIN:-${CARGO_TARGET_DIR:-$root/target}/release}
policy=${GATE_POLICY:-} service=${SERVICE_URL:-${SAMPLE_V1_URL:-}} canary=${CANARY_URL:-${SAMPLE_V2_URL:-}}
prometheus=${PROMETHEUS_URL:-} database=${DATABASE_URL:-${DEMO_PG_URL:-}} redis=${REDIS_URL:-${DEMO_REDIS_URL:-}}
peak=${GATE_EXPECTED_PEAK:-50/s} key=${GATE_SIGNING_KEY:-} canary_faults=${GATE_CANARY_FAULTS:-}
only=${GATE_ONLY:-} expect=${GATE_EXPECT:-} dir=
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --version) version=${2:?--version needs a value}; shift ;;
    --env) env_name=${2:?--env needs a value}; shift ;;
    --out) out=${2:?--out needs a value}; shift ;;
    --bin) bin=${2:?--bin needs a value}; shift ;;
    --policy) policy=${2:?--policy needs a value}; shift ;;
    --service-url) service=${2:?--service-url needs a value}; shift ;;
    --canary-url) canary=${2:?--canary-url needs a value}; shift ;;
    --prometheus) prometheus=${2:?--prometheus needs a value}; shift ;;
    --database-url) database=${2:?--database-url needs a value}; shift ;;
    --redis-url) redis=${2:?--redis-url needs a value}; shift ;;
    --expected-peak) peak=${2:?--expected-peak needs a value}; shift ;;
    --key) key=${2:?--key needs a value}; shift ;;
    --canary-faults) canary_faults=${2:?--canary-faults needs a value}; shift ;;
    --only) only=${2:?--only needs a value}; shift ;;
    --expect) expect=${2:?--expect needs a value}; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$dir" ] || die "one release directory only (got $dir and $1)"; dir=${1%/} ;;
  esac
  shift
done
[ -n "$dir" ] || die "usage: scripts/release-gate.sh [OPTIONS] RELEASE_DIR (see --help)"
# Paths are the caller's; the stages run from the checkout (scripts/gate.d/). Relative
# paths stay relative when both are the same, so reports name files as a user sees them.
from_caller() { case "$1" in "" | /*) printf '%s' "$1" ;; *) if [ "$caller" = "$root" ]; then printf '%s' "$1"; else printf '%s/%s' "$caller" "$1"; fi ;; esac; }
dir=$(from_caller "$dir") out=$(from_caller "$out") bin=$(from_caller "$bin") policy=$(from_caller "$policy") key=$(from_caller "$key")
cd "$root"
[ -d "$dir" ] || die "$dir: not a directory"
case "$expect" in "" | promote | block | rollback) ;; *) die "--expect: promote, block or rollback, not $expect" ;; esac
name=$(basename "$dir")
if [ -z "$policy" ]; then
  policy="$dir/promote.yaml"
  [ -f "$policy" ] || policy="$(dirname "$dir")/release/promote.yaml"
fi
[ -f "$policy" ] || die "$policy: no such policy file"
[ -n "$version" ] || version=$(git describe --tags --always 2>/dev/null || echo "0.0.0-$name")
[ -n "$canary_faults" ] && ! jq -e 'type == "object"' <<<"$canary_faults" >/dev/null 2>&1 \
  && die "--canary-faults: not a JSON object: $canary_faults"

# One trace for every tool of this run: W3C traceparent, version 00, sampled.
if [ -z "${TRACEPARENT:-}" ]; then
  TRACEPARENT="00-$(openssl rand -hex 16)-$(openssl rand -hex 8)-01"
fi

EX=$(dirname "$dir")
export REL="$name" RELEASES="$name" EX OUT="$out" BIN="$bin" TRACEPARENT
export GATE_ENV="$env_name" GATE_POLICY="$policy" GATE_VERSION="$version" GATE_EXPECTED_PEAK="$peak"
export GATE_SIGNING_KEY="$key" GATE_CANARY_FAULTS="$canary_faults"
[ -n "$service" ] && export SAMPLE_V1_URL="$service" SERVICE_URL="$service"
[ -n "$canary" ] && export SAMPLE_V2_URL="$canary"
[ -n "$prometheus" ] && export PROMETHEUS_URL="$prometheus"
[ -n "$database" ] && export DEMO_PG_URL="$database" PG_URL="$database"
[ -n "$redis" ] && export DEMO_REDIS_URL="$redis"
source scripts/lib/pg.sh
PG_BIN=${PG_BIN:-$(pg_bindir)}
export PG_BIN

source scripts/lib/demo.sh
# The report directory is emptied first: it must not be (or hold) the release's inputs.
dir_abs=$(cd "$dir" && pwd -P)
out_abs=$(mkdir -p "$OUT" && cd "$OUT" && pwd -P)/$REL
case "$dir_abs/" in "$out_abs"/*) die "--out $OUT: $OUT/$REL would hold the release's own inputs ($dir)" ;; esac
rm -rf "${OUT:?}/$REL"
mkdir -p "$OUT/$REL"
touch "$OUT/summary.tsv"
# This run's rows replace an earlier run's for the same release.
awk -F'\t' -v rel="$REL" '$1 != rel' "$OUT/summary.tsv" >"$OUT/summary.tsv.tmp" && mv "$OUT/summary.tsv.tmp" "$OUT/summary.tsv"
[ -f "$OUT/unexpected.txt" ] && { grep -v "^\[$REL\] " "$OUT/unexpected.txt" >"$OUT/unexpected.tmp" || true; mv "$OUT/unexpected.tmp" "$OUT/unexpected.txt"; }
trace_id=$(cut -d- -f2 <<<"$TRACEPARENT")
step "release-gate: $REL ($dir) in $GATE_ENV, version $GATE_VERSION, trace $trace_id"

for stage in scripts/gate.d/*.sh; do
  [ -e "$stage" ] || continue
  stage_name=$(basename "$stage" .sh)
  tool=${stage_name#*-}
  if [ -n "$only" ] && [ "$tool" != evidence-pack ] && ! grep -qx "$tool" <<<"${only//,/$'\n'}"; then
    continue
  fi
  if [ ! -x "$BIN/$tool" ]; then
    echo "release-gate: skipping $stage_name: $BIN/$tool is not built (its reports will be missing)" >&2
    continue
  fi
  step "$REL: stage $stage_name"
  if ! bash -c 'set -euo pipefail; source scripts/lib/demo.sh; source "$1"' _ "$stage"; then
    echo "release-gate: stage $stage_name failed" >&2
    echo "[$REL] stage $stage_name failed" >>"$OUT/unexpected.txt"
  fi
done

# One screen: each gate's result and key figure, then the decision.
{
  printf '\n\033[1m%s\033[0m (%s)\n' "$REL" "$GATE_ENV"
  awk -F'\t' -v rel="$REL" '$1 == rel && $2 != "decision" {
      r = $3; c = (r == "ok" || r == "promote") ? "32" : (r == "fail" || r == "block" || r == "rollback") ? "31" : "33";
      printf "  %-30s \033[%sm%-6s\033[0m %s\n", $2, c, r, $4 }' "$OUT/summary.tsv"
  awk -F'\t' -v rel="$REL" '$1 == rel && $2 == "decision" {
      c = ($3 == "promote") ? "32" : "31";
      printf "  \033[1mdecision: \033[%sm%s\033[0m  %s\n", c, $3, $4 }' "$OUT/summary.tsv"
  printf '  reports: %s/%s/  trace: %s  (%ss)\n' "$OUT" "$REL" "$trace_id" "$SECONDS"
} | if [ -n "${NO_COLOR:-}" ] || [ ! -t 1 ]; then sed 's/\x1b\[[0-9;]*m//g'; else cat; fi

gate="$OUT/$REL/evidence-pack-gate.json"
decision=$(jq -r '.data.decision // "error"' "$gate" 2>/dev/null || echo error)
status=2
case "$decision" in promote) status=0 ;; block | rollback) status=1 ;; esac

if [ -n "$expect" ]; then
  if [ -s "$OUT/unexpected.txt" ] && grep -q "^\[$REL\] " "$OUT/unexpected.txt"; then
    echo "release-gate: $REL: unexpected exit codes:" >&2
    grep "^\[$REL\] " "$OUT/unexpected.txt" | sed 's/^/  /' >&2
    status=1
  fi
  if [ "$decision" != "$expect" ]; then
    echo "release-gate: $REL: expected decision $expect, got $decision" >&2
    status=1
  elif [ "$status" != 2 ] && ! grep -q "^\[$REL\] " "$OUT/unexpected.txt" 2>/dev/null; then
    status=0
  fi
fi
exit "$status"
