# shellcheck shell=bash
# Stage 50, replayctl: the ingest path of the service. With the demo's throwaway services
# (SAMPLE_V1_ADMIN set), the good release plays the whole incident: dead letters from two
# causes — poisoned payloads (the poison_rate knob) and a sink constraint that refuses a
# tenant — are triaged into an incident comment; after the "fix" (the constraint dropped)
# the fixable ones are redriven, each exactly once, and the worker writes them; a tenant's
# window lost from the sink is replayed with exactly-once effect and verified; the lag gate
# passes. In the bad release the consumers are stopped and the lag gate fails (and nothing
# was verified: the policy names that too). Against a real environment: the lag gate
# (GATE_MAX_LAG, default 60s) and, when GATE_VERIFY_TENANT and GATE_SINK_URL are set, a
# verify of that tenant's last hour.
#
# Environment (scripts/release-gate.sh): REL, BIN, OUT, DEMO_REDIS_URL; demo: PG_URL,
# PG_BIN, SAMPLE_V1_URL, SAMPLE_V1_ADMIN, SAMPLE_V2_ADMIN; `summary`, `expect_exit`,
# `result_of`, `step` from scripts/lib/demo.sh.

rc="$BIN/replayctl"
mkdir -p "$OUT/$REL"

if [ -z "${SAMPLE_V1_ADMIN:-}" ]; then
  # A real environment: the lag gate, and a verify of one tenant's last hour when asked.
  step "replayctl lag --max-lag ${GATE_MAX_LAG:-60s}"
  expect_exit 0 "$rc" lag --redis-url "$DEMO_REDIS_URL" --stream "${GATE_STREAM:-events}" \
    --group "${GATE_GROUP:-sample-service}" --max-lag "${GATE_MAX_LAG:-60s}" --format json >"$OUT/$REL/replayctl-lag.json"
  if [ -n "${GATE_VERIFY_TENANT:-}" ] && [ -n "${GATE_SINK_URL:-}" ]; then
    expect_exit 0 "$rc" verify --redis-url "$DEMO_REDIS_URL" --stream "${GATE_STREAM:-events}" \
      --tenant "$GATE_VERIFY_TENANT" --from "$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)" \
      --to "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --sink "$GATE_SINK_URL" --format json >"$OUT/$REL/replayctl-verify.json"
  fi
  summary "$REL" replayctl "$(result_of "$OUT/$REL/replayctl-lag.json")" "$(jq -r .summary "$OUT/$REL/replayctl-lag.json" 2>/dev/null)"
  return 0
fi

sink="${PG_URL%/*}/sample_shop"
psql_shop=("$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$sink")
faults() { for a in "$SAMPLE_V1_ADMIN" "$SAMPLE_V2_ADMIN"; do curl -fsS -X PUT -H 'Content-Type: application/json' -d "$1" "$a/admin/faults" >/dev/null; done; }
customer() { curl -fsS -X POST -H 'Content-Type: application/json' -H "X-Tenant: $1" -d "{\"email\":\"$2@example.com\",\"name\":\"$2\"}" "$SAMPLE_V1_URL/customers" >/dev/null; }
dlq_len() { redis-cli -u "$DEMO_REDIS_URL" XLEN events:dlq; }
from=$(date -u +%Y-%m-%dT%H:%M:%SZ)

if [ "$REL" != bad-release ]; then
  step "replayctl: dead letters from a poisoned payload and from a refusing sink"
  "${psql_shop[@]}" -c "ALTER TABLE events_sink ADD CONSTRAINT demo_blocked CHECK (tenant <> 'blocked')"
  faults '{"poison_rate": 1.0}'
  customer poisoned p1; customer poisoned p2
  faults '{"poison_rate": 0.0}'
  customer blocked b1; customer blocked b2; customer blocked b3
  for i in $(seq 1 12); do customer acme "a$i"; done
  # Three deliveries, --claim-idle (5s) apart, then the DLQ: up to a minute.
  for _ in $(seq 1 600); do [ "$(dlq_len)" -ge 5 ] && break; sleep 0.1; done

  step "replayctl dlq triage --dlq events:dlq"
  expect_exit 0 "$rc" dlq triage --redis-url "$DEMO_REDIS_URL" --dlq events:dlq --format markdown \
    --report "$OUT/$REL/replayctl-triage.json" >"$OUT/$REL/replayctl-triage.md"

  step "replayctl redrive --filter tenant=blocked (after the fix)"
  "${psql_shop[@]}" -c "ALTER TABLE events_sink DROP CONSTRAINT demo_blocked"
  expect_exit 0 "$rc" redrive --redis-url "$DEMO_REDIS_URL" --dlq events:dlq --to events \
    --filter tenant=blocked --rate 50/s --format json >"$OUT/$REL/replayctl-redrive.json"
  for _ in $(seq 1 300); do
    [ "$("${psql_shop[@]}" -c "SELECT count(*) FROM events_sink WHERE tenant = 'blocked'")" = 3 ] && break
    sleep 0.1
  done

  step "replayctl replay --tenant acme (its rows were lost from the sink)"
  "${psql_shop[@]}" -c "DELETE FROM events_sink WHERE tenant = 'acme'"
  to=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  window=(--redis-url "$DEMO_REDIS_URL" --stream events --tenant acme --from "$from" --to "$to" --sink "$sink")
  expect_exit 0 "$rc" replay "${window[@]}" --group sample-service --pause-above 1000 --format json \
    >"$OUT/$REL/replayctl-replay.json"
  expect_exit 0 "$rc" verify "${window[@]}" --format json >"$OUT/$REL/replayctl-verify.json"
  expect_exit 0 "$rc" lag --redis-url "$DEMO_REDIS_URL" --stream events --group sample-service --max-lag 60s \
    --format json >"$OUT/$REL/replayctl-lag.json"
  written=$(jq -r '.data.inserted' "$OUT/$REL/replayctl-replay.json" 2>/dev/null || echo '?')
  moved=$(jq -r '.data.moved | length' "$OUT/$REL/replayctl-redrive.json" 2>/dev/null || echo '?')
  summary "$REL" replayctl "$(result_of "$OUT/$REL/replayctl-verify.json")" \
    "$moved redriven, $written replayed, verify $(jq -r '.data.sink_rows' "$OUT/$REL/replayctl-verify.json" 2>/dev/null)/$(jq -r '.data.stream_rows' "$OUT/$REL/replayctl-verify.json" 2>/dev/null)"

else
  step "replayctl lag with the consumers stopped (bad release)"
  trap "faults '{\"consumer_stopped\": false}' || true" EXIT
  faults '{"consumer_stopped": true}'
  for i in $(seq 1 5); do customer acme "late$i"; done
  sleep 2
  expect_exit 1 "$rc" lag --redis-url "$DEMO_REDIS_URL" --stream events --group sample-service --max-lag 1s \
    --format json >"$OUT/$REL/replayctl-lag.json"
  faults '{"consumer_stopped": false}'
  summary "$REL" replayctl "$(result_of "$OUT/$REL/replayctl-lag.json")" \
    "oldest undelivered $(jq -r '.data.groups[0].oldest_undelivered_age_ms' "$OUT/$REL/replayctl-lag.json" 2>/dev/null) ms (budget 1s)"
fi
