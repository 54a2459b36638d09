#!/usr/bin/env bash
# `make bench` stage for perf-gate: requests/s one perf-gate worker thread generates against
# a loopback nginx serving a small file (so the server is not the bottleneck) vs wrk (one
# thread), oha (when on PATH; not packaged in Debian 12) and k6, same run length, same
# connection count. Targets: perf-gate >= 0.8x wrk and >= 2x k6 (perf-gate recording
# corrected latencies in HdrHistograms, wrk not). Then memory: RSS sampled every 10 s over a
# 5-minute constant-arrival-rate run must stay flat (last sample <= 1.2x the one at 30 s):
# histograms, not sample lists.
# Results: $BENCH_OUT/perf-gate.json (the figures) and perf-gate.txt (the peers' output).
# BENCH_QUICK=1 (the smoke test) runs each for 1 s with 2 connections and judges nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN=${BIN:-$root/target/release}
source scripts/lib/bench.sh
out=$BENCH_OUT

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
k6=$root/.tools/venv/bin/k6
[ -x "$k6" ] || missing+=(k6)
if [ ${#missing[@]} -gt 0 ]; then
  if quick; then echo "perf-gate bench: ${missing[*]} not found; skipped (scripts/setup.sh --bench installs them)" >&2; exit 0; fi
  echo "perf-gate bench: ${missing[*]} not found; run scripts/setup.sh --bench" >&2
  exit 1
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
pg=$BIN/perf-gate
[ -x "$pg" ] || cargo build --release --quiet -p perf-gate >&2

if quick; then secs=1; conns=2; mem_secs=2; else secs=10; conns=64; mem_secs=300; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-perf-XXXXXX")
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir -p "$work/www" "$work/tmp"
printf 'ok %.0s' $(seq 1 40) >"$work/www/small.txt"   # ~120 bytes
# nginx's workers drop to an unprivileged user when started as root: let them read the file.
chmod a+rx "$work" "$work/www" && chmod a+r "$work/www/small.txt"
cat >"$work/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
"$nginx_bin" -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!
url=http://127.0.0.1:$port/small.txt
for _ in $(seq 1 100); do curl -fsS "$url" >/dev/null 2>&1 && break; sleep 0.05; done
curl -fsS "$url" >/dev/null || { echo "perf-gate bench: nginx does not serve $url: $(tail -n 1 "$work/error.log")" >&2; exit 1; }

report=$out/perf-gate.txt
: >"$report"

# wrk: one thread, $conns connections.
text=$(wrk -t1 -c"$conns" -d"${secs}s" "$url")
printf '== wrk -t1 -c%s -d%ss\n%s\n\n' "$conns" "$secs" "$text" >>"$report"
wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")

# perf-gate: one worker thread, $conns VUs (closed model, as wrk), latencies recorded.
cat >"$work/closed.yaml" <<YAML
target: http://127.0.0.1:$port
requests:
  - {name: small, path: /small.txt}
scenarios:
  max: {executor: constant-vus, vus: $conns, duration: ${secs}s}
YAML
"$pg" run "$work/closed.yaml" --workers 1 --format json -q >"$work/pg.json" || true
pg_rps=$(jq -r '.data.achieved_rate // 0' "$work/pg.json")
pg_p99=$(jq -r '.data.metrics.http_req_duration.p99 // 0' "$work/pg.json")
printf '== perf-gate run --workers 1 (constant-vus %s)\n%s\n\n' "$conns" "$(jq -c '.summary' "$work/pg.json")" >>"$report"

# k6: the same closed-model run.
cat >"$work/k6.js" <<JS
import http from 'k6/http';
export const options = { scenarios: { max: { executor: 'constant-vus', vus: $conns, duration: '${secs}s' } } };
export default function () { http.get('$url'); }
JS
"$k6" run --no-usage-report --quiet --summary-export "$work/k6.json" "$work/k6.js" >>"$report" 2>&1 || true
k6_rps=$(jq -r '.metrics.http_reqs.rate // 0' "$work/k6.json")

oha_rps=null
if command -v oha >/dev/null 2>&1; then
  oha -z "${secs}s" -c "$conns" --no-tui --output-format json "$url" >"$work/oha.json" 2>/dev/null || true
  oha_rps=$(jq -r '.summary.requestsPerSec // null' "$work/oha.json" 2>/dev/null || echo null)
fi

# Memory over a long open-model run: RSS every 10 s (every 0.5 s in quick mode).
cat >"$work/steady.yaml" <<YAML
target: http://127.0.0.1:$port
requests:
  - {name: small, path: /small.txt}
scenarios:
  steady: {executor: constant-arrival-rate, rate: 2000, duration: ${mem_secs}s, preAllocatedVUs: 50, maxVUs: 200}
YAML
"$pg" run "$work/steady.yaml" --workers 1 --format json -q >"$work/steady.json" &
run_pid=$!
interval=10; quick && interval=0.5
rss=()
while kill -0 "$run_pid" 2>/dev/null; do
  r=$(awk '/^VmRSS:/ {print $2}' "/proc/$run_pid/status" 2>/dev/null || true)
  [ -n "$r" ] && rss+=("$r")
  sleep "$interval"
done
wait "$run_pid" || true
rss_json=$(printf '%s\n' "${rss[@]:-0}" | jq -s -c .)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "null"}'; }
jq -n --argjson secs "$secs" --argjson conns "$conns" \
  --argjson wrk "${wrk_rps:-0}" --argjson pg "${pg_rps:-0}" --argjson k6 "${k6_rps:-0}" --argjson oha "$oha_rps" \
  --argjson p99 "${pg_p99:-0}" --argjson rss "$rss_json" \
  --argjson vs_wrk "$(ratio "$pg_rps" "$wrk_rps")" --argjson vs_k6 "$(ratio "$pg_rps" "$k6_rps")" \
  '{seconds: $secs, connections: $conns,
    requests_per_s: {perf_gate_1_worker: $pg, wrk_1_thread: $wrk, k6: $k6, oha: $oha},
    perf_gate_over_wrk: $vs_wrk, perf_gate_over_k6: $vs_k6,
    perf_gate_corrected_p99_ms: $p99, rss_kib_samples: $rss}' >"$out/perf-gate.json"
printf 'perf-gate: %s req/s (1 worker) vs wrk %s (x%s), k6 %s (x%s), oha %s; RSS %s KiB\n' \
  "$pg_rps" "$wrk_rps" "$(ratio "$pg_rps" "$wrk_rps")" "$k6_rps" "$(ratio "$pg_rps" "$k6_rps")" "$oha_rps" "$rss_json" >&2

quick && exit 0
status=0
awk -v a="$pg_rps" -v b="$wrk_rps" 'BEGIN {exit !(a >= 0.8 * b)}' || { echo "perf-gate bench: below 0.8x wrk" >&2; status=1; }
awk -v a="$pg_rps" -v b="$k6_rps" 'BEGIN {exit !(a >= 2 * b)}' || { echo "perf-gate bench: below 2x k6" >&2; status=1; }
n=${#rss[@]}
if [ "$n" -ge 4 ]; then
  awk -v first="${rss[3]}" -v last="${rss[$((n - 1))]}" 'BEGIN {exit !(last <= 1.2 * first)}' \
    || { echo "perf-gate bench: RSS grew from ${rss[3]} to ${rss[$((n - 1))]} KiB" >&2; status=1; }
fi
exit $status
