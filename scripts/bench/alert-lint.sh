#!/usr/bin/env bash
# alert-lint check vs promtool check rules over the whole corpus (the valid plain rule files
# promtool can read, incl. the ~10k-rule file), in the same hyperfine run. Both exit non-zero
# on this corpus (promtool on two UTF-8-name files, alert-lint on policy findings), so exit
# codes are ignored: the work is the same either way. Results: out/bench/alert-lint.{json,md}.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN="${BIN:-target/release}"
corpus="${CORPUS:-$root/tests/corpus/prometheus-rules}"
source scripts/lib/bench.sh
hf_runs 3 20
[ -x "$BIN/alert-lint" ] || cargo build --release -q -p alert-lint
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing; run scripts/setup.sh" >&2; exit 1; }
command -v promtool >/dev/null || { echo "bench: promtool missing; run scripts/setup.sh" >&2; exit 1; }

mapfile -t files < <(find "$corpus/monitoring-mixins" "$corpus/node-exporter" "$corpus/prometheus-testdata" \
  -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
list=$(printf '%q ' "${files[@]}")
echo "bench: ${#files[@]} files, $(cat "${files[@]}" | grep -cE '^\s*- (alert|record):') rules" >&2

hyperfine "${HF_RUNS[@]}" -N -i \
  --export-json "$BENCH_OUT/alert-lint.json" --export-markdown "$BENCH_OUT/alert-lint.md" \
  -n "alert-lint check" "$BIN/alert-lint check --format json $list" \
  -n "promtool check rules" "promtool check rules $list" >&2

jq -r '.results as $r | ($r[] | select(.command=="alert-lint check") | .mean) as $a
  | ($r[] | select(.command=="promtool check rules") | .mean) as $p
  | "alert-lint check: \($a*1000|floor) ms, promtool check rules: \($p*1000|floor) ms; alert-lint is \(($p/$a*100|floor)/100)x promtool'"'"'s speed"' \
  "$BENCH_OUT/alert-lint.json"
