# shellcheck shell=bash
# Stage 45, perf-gate: the release's load scenario (a steady load and a 3x spike) against
# the service, thresholds as checks and the HdrHistogram kept; then a headroom search —
# the highest arrival rate that keeps p99 < 250 ms and the error budget, judged against
# the expected peak (GATE_EXPECTED_PEAK, default 50/s; 20 % required, the seed's rule).
# The good release passes both. The bad release's build is slow — in the demo, the
# service's latency knob from examples/bad-release/perf-faults.json (300 ms on every
# response): the thresholds are crossed and there is no headroom.
#
# Inputs: $EX/$REL/perf-scenario.yaml, else $EX/release/perf-scenario.yaml;
# $EX/$REL/perf-faults.json (demo only: put on SAMPLE_V1_ADMIN for this stage).
# Environment (scripts/release-gate.sh): REL, BIN, EX, OUT, SAMPLE_V1_URL,
# GATE_EXPECTED_PEAK; optional SAMPLE_V1_ADMIN; `summary`, `expect_exit`, `result_of`,
# `expected_fail`, `step` from scripts/lib/demo.sh.

pg="$BIN/perf-gate"
scenario="$EX/$REL/perf-scenario.yaml"
[ -f "$scenario" ] || scenario="$EX/release/perf-scenario.yaml"
dir="$OUT/$REL"
mkdir -p "$dir"
want=$(expected_fail)

faults="$EX/$REL/perf-faults.json"
if [ -f "$faults" ] && [ -n "${SAMPLE_V1_ADMIN:-}" ]; then
  curl -fsS -X PUT -H 'content-type: application/json' -d @"$faults" "$SAMPLE_V1_ADMIN/admin/faults" >/dev/null
  trap 'curl -fsS -X DELETE "$SAMPLE_V1_ADMIN/admin/faults" >/dev/null || true' EXIT
fi

step "perf-gate run $scenario --target $SAMPLE_V1_URL"
report="$dir/perf-gate-run.json"
expect_exit "$want" "$pg" run "$scenario" --target "$SAMPLE_V1_URL" --workers 1 \
  --out-histogram "$dir/perf-gate-latency.hgrm" --report "$report" --format json -q >/dev/null
figure=$(jq -r '"\(.data.metrics.http_reqs.count) requests, p95 \(.data.metrics.http_req_duration.p95) ms, p99 \(.data.metrics.http_req_duration.p99) ms"
    + ([.checks[] | select(.result == "fail") | .message] | if length > 0 then " — crossed: " + join("; ") else "" end)' \
  "$report" 2>/dev/null || echo "no report")
summary "$REL" "perf-gate run" "$(result_of "$report")" "$figure"

peak=${GATE_EXPECTED_PEAK:-50/s}
step "perf-gate headroom --expected-peak $peak"
report="$dir/perf-gate-headroom.json"
expect_exit "$want" "$pg" headroom "$scenario" --target "$SAMPLE_V1_URL" --slo 'p(99)<250' \
  --expected-peak "$peak" --required 20% --step-duration 2s --report "$report" --format json -q >/dev/null
figure=$(jq -r '"sustainable \(.data.sustainable_rate)/s against a peak of \(.data.expected_peak)/s: headroom \(.data.headroom * 100 | floor) %\(if .data.capped then " (search capped)" else "" end)"' \
  "$report" 2>/dev/null || echo "no report")
summary "$REL" "perf-gate headroom" "$(result_of "$report")" "$figure"
