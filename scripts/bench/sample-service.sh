#!/usr/bin/env bash
# `make bench` stage for the sample service (examples/sample-service): its throughput under
# wrk on loopback, against a throwaway PostgreSQL and Redis, release build, no fault knobs.
#   GET /healthz   (the cheapest route: routing, the metrics middleware, the fault checks)
#                  target >= 10,000 requests/s with no errors
#   POST /orders   (a transaction of three INSERTs, then an XADD; the worker drains the
#                  stream into events_sink meanwhile) target >= 1,000 requests/s, no errors
# wrk runs 10 s each with 2 threads; the service and wrk share this machine's cores, as a
# load test on one host does. Results: $BENCH_OUT/sample-service.txt (wrk's own output) and
# sample-service.json (the figures). Exits 1 when a target is missed.
# BENCH_QUICK=1 (the smoke test) runs each for 1 s with one connection and judges nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN=${BIN:-$root/target/release}
source scripts/lib/bench.sh
source scripts/lib/pg.sh
out=$BENCH_OUT

if ! command -v wrk >/dev/null 2>&1; then
  # The smoke test runs after plain scripts/setup.sh, which does not install bench peers.
  if quick; then echo "sample-service bench: wrk not found; skipped (scripts/setup.sh --bench installs it)" >&2; exit 0; fi
  echo "sample-service bench: wrk not found; run scripts/setup.sh --bench" >&2
  exit 1
fi
svc=$BIN/sample-service
[ -x "$svc" ] || cargo build --release --quiet -p sample-service >&2

if quick; then duration=1s; get_conns=2; post_conns=2; else duration=10s; get_conns=64; post_conns=32; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-svc-XXXXXX")
svc_pid=
redis_pid=
cleanup() {
  [ -n "$svc_pid" ] && kill -TERM "$svc_pid" 2>/dev/null && wait "$svc_pid" 2>/dev/null || true
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  pg_stop
  rm -rf "$work"
}
pg_start
trap cleanup EXIT

redis_port=$(pg_free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
redis_pid=$!

port=$(pg_free_port)
admin_port=$(pg_free_port)
"$svc" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin_port" \
  --database-url "$PG_URL" --redis-url "redis://127.0.0.1:$redis_port" -q 2>"$work/service.log" &
svc_pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$svc_pid" 2>/dev/null || { echo "sample-service bench: the service exited: $(cat "$work/service.log")" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "sample-service bench: not ready after 30s" >&2; exit 1; }
customer=$(curl -fsS -H 'content-type: application/json' -d '{"email": "bench@example.com"}' \
  "http://127.0.0.1:$port/customers" | jq -r .id)

cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Tenant"] = "bench"
wrk.body = '{"customer_id": $customer, "items": [{"sku": "SKU-1", "quantity": 2, "price_cents": 250}, {"sku": "SKU-2", "quantity": 1, "price_cents": 999}]}'
LUA

report=$out/sample-service.txt
: >"$report"
# run NAME CONNECTIONS URL [wrk args...]: prints "requests/s errors" and appends wrk's output.
run() {
  local name=$1 conns=$2 url=$3
  shift 3
  local text
  text=$(wrk -t2 -c"$conns" -d"$duration" "$@" "$url")
  printf '== %s\n%s\n\n' "$name" "$text" >>"$report"
  local rps non2xx sock
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$text")
  sock=$(awk -F'[ ,]+' '/Socket errors:/ {s=0; for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+$/) s+=$i; print s}' <<<"$text")
  echo "${rps:-0} $(( ${non2xx:-0} + ${sock:-0} ))"
}
read -r get_rps get_err < <(run "GET /healthz" "$get_conns" "http://127.0.0.1:$port/healthz")
read -r post_rps post_err < <(run "POST /orders" "$post_conns" "http://127.0.0.1:$port/orders" -s "$work/post.lua")
orders=$("$PG_BIN/psql" -X -A -t -q "$PG_URL" -c 'SELECT count(*) FROM orders' 2>/dev/null || echo "?")

jq -n --arg get "$get_rps" --arg post "$post_rps" --argjson ge "$get_err" --argjson pe "$post_err" \
  --arg orders "$orders" --arg d "$duration" \
  '{duration: $d, get_healthz: {requests_per_s: ($get|tonumber), errors: $ge},
    post_orders: {requests_per_s: ($post|tonumber), errors: $pe}, orders_in_db: $orders}' \
  >"$out/sample-service.json"
printf 'sample-service: GET /healthz %s req/s (%s errors), POST /orders %s req/s (%s errors), %s orders written\n' \
  "$get_rps" "$get_err" "$post_rps" "$post_err" "$orders" >&2

quick && exit 0
status=0
awk -v r="$get_rps" 'BEGIN {exit !(r >= 10000)}' || { echo "sample-service bench: GET /healthz below 10,000 req/s" >&2; status=1; }
awk -v r="$post_rps" 'BEGIN {exit !(r >= 1000)}' || { echo "sample-service bench: POST /orders below 1,000 req/s" >&2; status=1; }
[ "$get_err" = 0 ] && [ "$post_err" = 0 ] || { echo "sample-service bench: errors under load" >&2; status=1; }
exit $status
