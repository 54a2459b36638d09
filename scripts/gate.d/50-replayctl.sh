# shellcheck shell=bash
# Stage 50, replayctl: the ingest path of the
# sample service. Dead letters from two causes — poisoned payloads (the poison_rate knob)
# and a sink constraint that refuses a tenant — are triaged into an incident comment; after
# the "fix" (the constraint dropped) the fixable ones are redriven, each exactly once, and
# the worker writes them; a tenant's window lost from the sink is replayed with exactly-once
# effect and verified; the lag gate passes. In the bad release the consumers are stopped
# and the lag gate fails.
#
# Environment (scripts/demo.sh): BIN, OUT, PG_URL, PG_BIN, DEMO_REDIS_URL, SAMPLE_V1_URL,
# SAMPLE_V1_ADMIN, SAMPLE_V2_ADMIN; `summary`, `expect_exit`, `result_of`, `step` from
# scripts/lib/demo.sh.

rc="$BIN/replayctl"
sink="${PG_URL%/*}/sample_shop"
psql_shop=("$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$sink")
faults() { for a in "$SAMPLE_V1_ADMIN" "$SAMPLE_V2_ADMIN"; do curl -fsS -X PUT -H 'Content-Type: application/json' -d "$1" "$a/admin/faults" >/dev/null; done; }
customer() { curl -fsS -X POST -H 'Content-Type: application/json' -H "X-Tenant: $1" -d "{\"email\":\"$2@example.com\",\"name\":\"$2\"}" "$SAMPLE_V1_URL/customers" >/dev/null; }
dlq_len() { redis-cli -u "$DEMO_REDIS_URL" XLEN events:dlq; }
from=$(date -u +%Y-%m-%dT%H:%M:%SZ)

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
  --report "$OUT/release/replayctl-triage.json" >"$OUT/release/replayctl-triage.md"

step "replayctl redrive --filter tenant=blocked (after the fix)"
"${psql_shop[@]}" -c "ALTER TABLE events_sink DROP CONSTRAINT demo_blocked"
expect_exit 0 "$rc" redrive --redis-url "$DEMO_REDIS_URL" --dlq events:dlq --to events \
  --filter tenant=blocked --rate 50/s --format json >"$OUT/release/replayctl-redrive.json"
for _ in $(seq 1 300); do
  [ "$("${psql_shop[@]}" -c "SELECT count(*) FROM events_sink WHERE tenant = 'blocked'")" = 3 ] && break
  sleep 0.1
done

step "replayctl replay --tenant acme (its rows were lost from the sink)"
"${psql_shop[@]}" -c "DELETE FROM events_sink WHERE tenant = 'acme'"
to=$(date -u +%Y-%m-%dT%H:%M:%SZ)
window=(--redis-url "$DEMO_REDIS_URL" --stream events --tenant acme --from "$from" --to "$to" --sink "$sink")
expect_exit 0 "$rc" replay "${window[@]}" --group sample-service --pause-above 1000 --format json \
  >"$OUT/release/replayctl-replay.json"
expect_exit 0 "$rc" verify "${window[@]}" --format json >"$OUT/release/replayctl-verify.json"
expect_exit 0 "$rc" lag --redis-url "$DEMO_REDIS_URL" --stream events --group sample-service --max-lag 60s \
  --format json >"$OUT/release/replayctl-lag.json"
written=$(jq -r '.data.inserted' "$OUT/release/replayctl-replay.json" 2>/dev/null || echo '?')
moved=$(jq -r '.data.moved | length' "$OUT/release/replayctl-redrive.json" 2>/dev/null || echo '?')
summary release replayctl "$(result_of "$OUT/release/replayctl-verify.json")" \
  "$moved redriven, $written replayed, verify $(jq -r '.data.sink_rows' "$OUT/release/replayctl-verify.json" 2>/dev/null)/$(jq -r '.data.stream_rows' "$OUT/release/replayctl-verify.json" 2>/dev/null)"

step "replayctl lag with the consumers stopped (bad release)"
faults '{"consumer_stopped": true}'
for i in $(seq 1 5); do customer acme "late$i"; done
sleep 2
expect_exit 1 "$rc" lag --redis-url "$DEMO_REDIS_URL" --stream events --group sample-service --max-lag 1s \
  --format json >"$OUT/bad-release/replayctl-lag.json"
faults '{"consumer_stopped": false}'
summary bad-release replayctl "$(result_of "$OUT/bad-release/replayctl-lag.json")" \
  "oldest undelivered $(jq -r '.data.groups[0].oldest_undelivered_age_ms' "$OUT/bad-release/replayctl-lag.json" 2>/dev/null) ms (budget 1s)"
