# shellcheck shell=bash
# The sample service for `make demo` (sourced by scripts/demo.sh after pg_start): a
# throwaway Redis, then two instances of one release build against a `sample_shop`
# database in the demo's PostgreSQL and that Redis — v1 (the baseline) and v2 (the canary) — each on free loopback ports.
#
#   svc_start   # sets SAMPLE_V1_URL, SAMPLE_V2_URL, SAMPLE_V1_ADMIN, SAMPLE_V2_ADMIN, DEMO_REDIS_URL
#
# Everything is stopped when the demo exits, also when a stage failed or the demo was
# interrupted: the EXIT trap stops both instances (SIGTERM: they drain), then Redis, then
# PostgreSQL (pg_stop, which pg_start's own trap would have run).

svc_stop() {
  local pid
  for pid in ${SVC_PIDS:-}; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in ${SVC_PIDS:-}; do
    wait "$pid" 2>/dev/null || true
  done
  SVC_PIDS=
  if [ -n "${SVC_REDIS_PID:-}" ]; then
    kill -TERM "$SVC_REDIS_PID" 2>/dev/null || true
    wait "$SVC_REDIS_PID" 2>/dev/null || true
    SVC_REDIS_PID=
  fi
  [ -n "${SVC_DIR:-}" ] && rm -rf "$SVC_DIR"
  SVC_DIR=
}

# _svc_wait URL LOG PID: waits up to 30 s for URL/readyz.
_svc_wait() {
  local i
  for i in $(seq 1 300); do
    curl -fsS "$1/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || { echo "sample-service exited: $(tail -n 3 "$2")" >&2; return 1; }
    sleep 0.1
  done
  echo "sample-service not ready at $1 after 30s: $(tail -n 3 "$2")" >&2
  return 1
}

svc_start() {
  local bin=${BIN:-target/release}/sample-service
  [ -x "$bin" ] || { echo "$bin is not built" >&2; return 1; }
  SVC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-demo-svc-XXXXXX") || return 1
  SVC_PIDS=
  trap 'svc_stop; pg_stop' EXIT
  local redis_port i
  redis_port=$(pg_free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$SVC_DIR" --logfile "$SVC_DIR/redis.log" --daemonize no &
  SVC_REDIS_PID=$!
  for i in $(seq 1 100); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
  DEMO_REDIS_URL="redis://127.0.0.1:$redis_port"
  # Its own database, beside the ones the stages create and drop.
  "$PG_BIN/psql" -X -q -d "$PG_URL" -c "CREATE DATABASE sample_shop" >/dev/null || return 1
  local db_url="${PG_URL%/*}/sample_shop"
  local v port admin log pid
  for v in v1 v2; do
    port=$(pg_free_port)
    admin=$(pg_free_port)
    log="$OUT/sample-service-$v.log"
    "$bin" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" \
      --database-url "$db_url" --redis-url "$DEMO_REDIS_URL" --version-label "$v" 2>"$log" &
    pid=$!
    SVC_PIDS="$SVC_PIDS $pid"
    _svc_wait "http://127.0.0.1:$port" "$log" "$pid" || return 1
    if [ "$v" = v1 ]; then
      SAMPLE_V1_URL="http://127.0.0.1:$port" SAMPLE_V1_ADMIN="http://127.0.0.1:$admin"
    else
      SAMPLE_V2_URL="http://127.0.0.1:$port" SAMPLE_V2_ADMIN="http://127.0.0.1:$admin"
    fi
  done
  export SAMPLE_V1_URL SAMPLE_V2_URL SAMPLE_V1_ADMIN SAMPLE_V2_ADMIN DEMO_REDIS_URL
}
