#!/usr/bin/env bash
# replayctl's benchmark: replay throughput (events/s from a Redis stream into PostgreSQL,
# exactly once: batches with ON CONFLICT DO NOTHING and the checkpoint in the same
# transaction) against, in the same hyperfine run over the same rows:
#  - a naive loop, one INSERT per transaction (psql, autocommit);
#  - `psql \copy` of the same rows from a CSV file: the physical ceiling (no Redis read, no
#    idempotency, no checkpoint).
# Both of replayctl's ways of writing a batch are measured (--method insert: one INSERT ..
# SELECT FROM unnest(..); --method copy: COPY straight into the sink, insert's way for a batch
# that meets a key already there).
# Target: replay >= 50 % of the \copy ceiling. Results: out/bench/replayctl.{json,md}.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN="${BIN:-target/release}"
source scripts/lib/bench.sh
hf_runs 1 3
if quick; then N=${REPLAY_EVENTS:-2000}; else N=${REPLAY_EVENTS:-100000}; fi
[ -x "$BIN/replayctl" ] || cargo build --release -q -p replayctl
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing; run scripts/setup.sh" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "bench: redis-server missing; run scripts/setup.sh" >&2; exit 1; }
rc="$BIN/replayctl"
[ "${rc:0:1}" = / ] || rc="$root/$rc"

source scripts/lib/pg.sh
pg_start
work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-replayctl-XXXXXX")
REDIS_PORT=$(pg_free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --daemonize no --logfile "$work/redis.log" &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$work"; pg_stop; }
trap cleanup EXIT
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

# The same N events three ways: RESP for the stream, CSV for \copy, SQL for the naive loop.
python3 - "$N" "$work" <<'PY'
import sys, uuid, datetime
n, work = int(sys.argv[1]), sys.argv[2]
t0 = 1767225600000  # 2026-01-01T00:00:00Z
def resp(*a):
    return "*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x.encode()), x) for x in a)
with open(f"{work}/events.resp", "w") as r, open(f"{work}/events.csv", "w") as c, open(f"{work}/naive.sql", "w") as s:
    for i in range(n):
        ms = t0 + i
        eid = str(uuid.UUID(int=(0x12345678 << 96) | i, version=4))
        at = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)
        payload = '{"order_id": %d, "total_cents": %d, "items": [{"sku": "sku-%d", "quantity": 1}]}' % (i, 100 + i % 997, i % 50)
        sid = f"{ms}-0"
        r.write(resp("XADD", "bench", sid, "event_id", eid, "tenant", "bench", "type", "order.created",
                     "occurred_at", at, "payload", payload))
        c.write('%s,bench,order.created,%s,"%s",%s\n' % (eid, at, payload.replace('"', '""'), sid))
        s.write("INSERT INTO events_sink VALUES ('%s','bench','order.created','%s','%s','%s') ON CONFLICT DO NOTHING;\n"
                % (eid, at, payload, sid))
PY
redis-cli -p "$REDIS_PORT" --pipe <"$work/events.resp" >/dev/null
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$PG_URL")
"${psql[@]}" -c "CREATE TABLE events_sink (event_id uuid PRIMARY KEY, tenant text NOT NULL, type text NOT NULL,
  occurred_at timestamptz NOT NULL, payload jsonb NOT NULL, stream_id text NOT NULL)"
reset="$PG_BIN/psql -X -q -d '$PG_URL' -c 'TRUNCATE events_sink' -c 'DROP TABLE IF EXISTS replayctl_checkpoints'"
window="--redis-url $REDIS_URL --stream bench --tenant bench --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z --sink '$PG_URL'"

echo "bench: replay of $N events into PostgreSQL vs one row per transaction vs psql \\copy" >&2
hyperfine "${HF_RUNS[@]}" --prepare "$reset" \
  --export-json "$BENCH_OUT/replayctl.json" --export-markdown "$BENCH_OUT/replayctl.md" \
  -n "psql \\copy" "$PG_BIN/psql -X -q -d '$PG_URL' -c \"\\copy events_sink FROM '$work/events.csv' CSV\"" \
  -n "replayctl replay --method insert" "$rc replay $window --format json --method insert >/dev/null" \
  -n "replayctl replay --method copy" "$rc replay $window --format json --method copy >/dev/null" \
  -n "one row per transaction" "$PG_BIN/psql -X -q -d '$PG_URL' -f '$work/naive.sql'" >&2
jq -r --argjson n "$N" '.results as $r
  | ($r[] | select(.command=="psql \\copy") | .mean) as $c
  | ($r[] | select(.command=="replayctl replay --method insert") | .mean) as $i
  | ($r[] | select(.command=="replayctl replay --method copy") | .mean) as $k
  | ($r[] | select(.command=="one row per transaction") | .mean) as $o
  | "replay \($n) events: psql \\copy \($n/$c|floor)/s; replayctl insert \($n/$i|floor)/s (\($c/$i*100|floor) % of \\copy); replayctl copy \($n/$k|floor)/s (\($c/$k*100|floor) %); one row per transaction \($n/$o|floor)/s"' \
  "$BENCH_OUT/replayctl.json"
