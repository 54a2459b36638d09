# shellcheck shell=bash
# Stage 40, verify-goldens: the golden paths against v1, then a Prometheus scraping v1 and
# v2 (job checkout-api), the SLO gate and the canary decision. The good release: golden
# paths pass, no burn, the healthy v2 is promoted (or held when traffic is short). The bad
# release: its golden path lost a field (fails at its step's line), and v2 with its error
# knob on (30 % 500s) under a bounded load burns the page pair and is rolled back.
#
# Environment (scripts/demo.sh): BIN, EX, OUT, SAMPLE_V1_URL, SAMPLE_V2_URL,
# SAMPLE_V2_ADMIN; `summary`, `expect_exit`, `result_of`, `step` from scripts/lib/demo.sh.

vg="$BIN/verify-goldens"

prom_dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-demo-prom-XXXXXX")
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$prom_dir/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: checkout-api
    static_configs: [{targets: ['${SAMPLE_V1_URL#http://}', '${SAMPLE_V2_URL#http://}']}]
YAML
# The availability SLO of the demo's catalog, the one the sample service's metrics answer.
cat >"$prom_dir/slo.yaml" <<'YAML'
services:
  - name: checkout-api
    team: payments
    runbook: https://runbooks.example.com/checkout-api
    slos:
      - name: availability
        objective: 99.9
        sli:
          errors: sum(rate(http_requests_total{job="checkout-api", code=~"5.."}[{{.window}}]))
          total: sum(rate(http_requests_total{job="checkout-api"}[{{.window}}]))
YAML
prometheus --config.file="$prom_dir/prometheus.yml" --storage.tsdb.path="$prom_dir/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$prom_dir/prometheus.log" 2>&1 &
prom_pid=$!
trap 'kill -TERM $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null; rm -rf "$prom_dir"' EXIT
prom="http://127.0.0.1:$prom_port"
for _ in $(seq 1 300); do curl -fs "$prom/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done

# load URL: 300 GETs of /healthz in three bursts a second apart (one curl per burst, its
# URL globbing, 30 s deadline), so the counters rise across several scrapes.
load() {
  local b
  for b in 1 2 3; do
    curl -s -m 30 "$1/healthz?b=$b&i=[1-100]" >/dev/null || true
    sleep 1
  done
}

for rel in release bad-release; do
  mkdir -p "$OUT/$rel"
  want=0
  [ "$rel" = bad-release ] && want=1
  # Golden paths (v1): the bad release's order lost its currency.
  report="$OUT/$rel/verify-goldens-run.json"
  SERVICE_URL="$SAMPLE_V1_URL" expect_exit "$want" "$vg" run "$EX/$rel/golden_paths.yaml" \
    --report "$report" --format text -q >"$OUT/$rel/verify-goldens-run.txt"
  summary "$rel" "verify-goldens run" "$(result_of "$report")" "$(jq -r .summary "$report" 2>/dev/null)"

  # Traffic for both instances; the bad release's v2 answers 30 % 500s.
  if [ "$rel" = bad-release ]; then
    curl -fsS -X PUT -H 'content-type: application/json' -d '{"error_rate": {"*": 0.3}}' \
      "$SAMPLE_V2_ADMIN/admin/faults" >/dev/null
  fi
  # Both series exist and are scraped once before the load (rate() needs a start).
  curl -s "$SAMPLE_V1_URL/healthz" "$SAMPLE_V2_URL/healthz" >/dev/null || true
  sleep 2
  load "$SAMPLE_V1_URL" &
  load_pid=$!
  load "$SAMPLE_V2_URL"
  wait "$load_pid"   # not a bare wait: Prometheus is a background job of this shell too
  sleep 3   # scrapes after the load

  report="$OUT/$rel/verify-goldens-slo.json"
  expect_exit "$want" "$vg" slo --prometheus "$prom" --slo "$prom_dir/slo.yaml" --report "$report" -q >/dev/null
  summary "$rel" "verify-goldens slo" "$(result_of "$report")" "$(jq -r .summary "$report" 2>/dev/null)"

  report="$OUT/$rel/verify-goldens-canary.json"
  expect_exit "$want" "$vg" canary --prometheus "$prom" --slo "$prom_dir/slo.yaml" \
    --canary 'version="v2"' --baseline 'version="v1"' --window 2m --min-requests 100 \
    --report "$report" -q >/dev/null
  summary "$rel" "verify-goldens canary" "$(result_of "$report")" "$(jq -r .data.decision "$report" 2>/dev/null)"
  echo "verify-goldens: $rel: canary $(jq -r .data.decision "$report" 2>/dev/null)" >&2
done
curl -fsS -X DELETE "$SAMPLE_V2_ADMIN/admin/faults" >/dev/null || true
