# shellcheck shell=bash
# Stage 40, verify-goldens: the golden paths against the service, then the SLO gate and the
# canary decision from Prometheus (job checkout-api; PROMETHEUS_URL, or a throwaway one
# scraping the service and the canary). The good release: golden paths pass, no burn, the
# healthy canary is promoted (or held when traffic is short). The bad release: its golden
# path lost a field (fails at its step's line). With --canary-faults (the demo's canary run:
# the canary answers 30 % 500s under a bounded load) the SLO burns and the canary is rolled
# back.
#
# Environment (scripts/release-gate.sh): REL, BIN, EX, OUT, GATE_ENV, SAMPLE_V1_URL,
# SAMPLE_V2_URL; optional PROMETHEUS_URL, GATE_CANARY_FAULTS, SAMPLE_V1_ADMIN and
# SAMPLE_V2_ADMIN (throwaway services: the stage drives a bounded load through both).

vg="$BIN/verify-goldens"
dir="$OUT/$REL"
slo="$EX/$REL/slo.yaml"
[ -f "$slo" ] || slo="$EX/release/slo.yaml"
mkdir -p "$dir"

# Golden paths against the service (the bad release's order lost its currency).
report="$dir/verify-goldens-run.json"
SERVICE_URL="$SAMPLE_V1_URL" expect_exit "$(expected_fail)" "$vg" run "$EX/$REL/golden_paths.yaml" \
  --env "$GATE_ENV" --report "$report" --format text -q >"$dir/verify-goldens-run.txt"
summary "$REL" "verify-goldens run" "$(result_of "$report")" "$(jq -r .summary "$report" 2>/dev/null)"

# The canary's knobs are put back however the stage ends.
cleanup_faults() {
  if [ -n "${GATE_CANARY_FAULTS:-}" ]; then
    curl -fsS -X DELETE "$SAMPLE_V2_ADMIN/admin/faults" >/dev/null 2>&1 || true
  fi
}
if [ -n "${PROMETHEUS_URL:-}" ]; then
  trap cleanup_faults EXIT
  prom=$PROMETHEUS_URL
else
  prom_dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-gate-prom-XXXXXX")
  prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$prom_dir/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: checkout-api
    static_configs: [{targets: ['${SAMPLE_V1_URL#http://}', '${SAMPLE_V2_URL#http://}']}]
YAML
  prometheus --config.file="$prom_dir/prometheus.yml" --storage.tsdb.path="$prom_dir/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$prom_dir/prometheus.log" 2>&1 &
  prom_pid=$!
  trap 'kill -TERM $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null; rm -rf "$prom_dir"; cleanup_faults' EXIT
  prom="http://127.0.0.1:$prom_port"
  # Ready is not scraping: target discovery hands over its first targets ~5 s after the
  # start. Wait (at most 30 s) until both instances have been scraped.
  for _ in $(seq 1 300); do
    up=$(curl -fsG "$prom/api/v1/query" --data-urlencode 'query=count(up{job="checkout-api"} == 1)' 2>/dev/null \
      | jq -r '.data.result[0].value[1] // 0' 2>/dev/null || echo 0)
    [ "$up" = 2 ] && break
    sleep 0.1
  done
fi

# The canary's fault knobs (demo): its error rate for the canary run.
want=0
if [ -n "${GATE_CANARY_FAULTS:-}" ]; then
  want=1
  curl -fsS -X PUT -H 'content-type: application/json' -d "$GATE_CANARY_FAULTS" \
    "$SAMPLE_V2_ADMIN/admin/faults" >/dev/null
fi

# load URL: 300 GETs of /healthz in three bursts a second apart (one curl per burst, its
# URL globbing, 30 s deadline), so the counters rise across several scrapes.
load() {
  local b
  for b in 1 2 3; do
    curl -s -m 30 "$1/healthz?b=$b&i=[1-100]" >/dev/null || true
    sleep 1
  done
}
# Throwaway services get a bounded load on both instances (a real environment has traffic).
if [ -n "${SAMPLE_V2_ADMIN:-}" ]; then
  # Both series exist and are scraped once before the load (rate() needs a start).
  curl -s "$SAMPLE_V1_URL/healthz" "$SAMPLE_V2_URL/healthz" >/dev/null || true
  sleep 2
  load "$SAMPLE_V1_URL" &
  load_pid=$!
  load "$SAMPLE_V2_URL"
  wait "$load_pid"   # not a bare wait: Prometheus is a background job of this shell too
  sleep 3            # scrapes after the load
fi

report="$dir/verify-goldens-slo.json"
expect_exit "$want" "$vg" slo --prometheus "$prom" --slo "$slo" --report "$report" -q >/dev/null
summary "$REL" "verify-goldens slo" "$(result_of "$report")" "$(jq -r .summary "$report" 2>/dev/null)"

report="$dir/verify-goldens-canary.json"
expect_exit "$want" "$vg" canary --prometheus "$prom" --slo "$slo" \
  --canary 'version="v2"' --baseline 'version="v1"' --window 2m --min-requests 100 \
  --report "$report" -q >/dev/null
summary "$REL" "verify-goldens canary" "$(result_of "$report")" "$(jq -r .data.decision "$report" 2>/dev/null)"
echo "verify-goldens: $REL: canary $(jq -r .data.decision "$report" 2>/dev/null)" >&2
