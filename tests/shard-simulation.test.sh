# The chart's distributed load test, run on this machine (no Kubernetes API server can be
# installed here): the Indexed Job's container arguments are taken from the chart as helm
# renders them, and N processes run them as N pods would — JOB_COMPLETION_INDEX set, the
# kubelet's $(JOB_COMPLETION_INDEX) expansion done — against ONE sample service (PostgreSQL
# and Redis behind it), then the merge Job's arguments. Checked: the merged counts are the
# sum of the shards' and the scenario's whole schedule, and the verdict (every threshold's
# result) and the percentiles match a single run at the same total rate.
#
# Knobs (for the README's measurements; the defaults keep the test short):
#   SHARDS (4), RATE (200, requests/s in total), DURATION (8s), VUS (40 in total)
# Tolerance of the percentile comparison, stated: p50 and p90 of http_req_duration within
# max(5 ms, 50 %) of the single run's, p95 within max(10 ms, 50 %), p99 within
# max(50 ms, 100 %) — loopback
# latencies of a debug build are a few ms, and the machine's 2 cores are shared by the N
# load generators, the service, PostgreSQL and Redis (a scheduling hiccup moves a
# percentile by milliseconds: the bound is for "the same distribution", not a benchmark).
cd "$ROOT"
helm=.tools/helm/helm/helm
py=.tools/venv/bin/python
for t in "$helm" "$py"; do [ -x "$t" ] || { echo "$t not found; run scripts/setup.sh"; exit 1; }; done
for b in perf-gate sample-service; do
  [ -x "$BIN/$b" ] || { echo "$BIN/$b is not built (cargo build -p perf-gate -p sample-service)"; exit 1; }
done
command -v redis-server >/dev/null || { echo "redis-server not found; run scripts/setup.sh"; exit 1; }
shards=${SHARDS:-4} rate=${RATE:-200} duration=${DURATION:-8s} vus=${VUS:-40}

# One sample service: PostgreSQL, Redis and the service as make demo starts them
# (scripts/lib/pg.sh, examples/sample-service/demo-services.sh; stopped on exit).
source scripts/lib/pg.sh
source examples/sample-service/demo-services.sh
pg_start
OUT="$TMP" svc_start
url=$SAMPLE_V1_URL

scen="$TMP/etc/scenario.yaml"
mkdir -p "$TMP/etc" "$TMP/reports"
cat >"$scen" <<YAML
target: http://127.0.0.1:9
requests:
  - {name: healthz, path: /healthz, weight: 9, checks: {status: 200}}
  - {name: metrics, path: /metrics, checks: {status: 200}}
scenarios:
  steady: {executor: constant-arrival-rate, rate: $rate, timeUnit: 1s, duration: $duration, preAllocatedVUs: $vus, maxVUs: $((vus * 5))}
thresholds:
  http_req_duration: ["p(95)<2000", "max<0.001"]   # holds; crossed (no request takes under 1 µs)
  http_req_failed: ["rate<0.01"]
  checks: ["rate>0.99"]
  http_reqs: ["count>=$((rate * ${duration%s} * 9 / 10))"]   # a shard alone sends 1/N of it
YAML

# The chart's Indexed Job and merge Job, rendered with this scenario and target.
"$helm" template sim charts/gatehouse --set drDrill.enabled=false --set probes.enabled=false \
  --set loadtest.enabled=true --set "loadtest.shards=$shards" --set "loadtest.target=$url" \
  --set-file "loadtest.scenario=$scen" >"$TMP/chart.yaml"
"$py" - "$TMP/chart.yaml" "$TMP/args" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Job"}
cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
shard = jobs["sim-gatehouse-loadtest-shards"]["spec"]
merge = jobs["sim-gatehouse-loadtest-merge"]["spec"]
assert shard["completionMode"] == "Indexed"
for name, spec in (("shard", shard), ("merge", merge)):
    c = spec["template"]["spec"]["containers"][0]
    with open(f"{sys.argv[2]}.{name}", "w") as f:
        f.write("\n".join([c["command"][0].rsplit("/", 1)[1]] + c["args"]) + "\n")
open(f"{sys.argv[2]}.scenario.yaml", "w").write(cm["data"]["scenario.yaml"])
print(shard["completions"], shard["parallelism"])
PY
cmp "$TMP/args.scenario.yaml" <(cat "$scen")
# A pod's view: /etc/gatehouse is the ConfigMap, /reports the shared volume.
pod_args() { sed -e "s#\$(JOB_COMPLETION_INDEX)#$1#g" -e "s#^/etc/gatehouse/#$TMP/etc/#" -e "s#^/reports/#$TMP/reports/#" "$2"; }
[ "$(head -n 1 "$TMP/args.shard")" = perf-gate ]
grep -qx -- '--shard' "$TMP/args.shard"
grep -qx -- "\$(JOB_COMPLETION_INDEX)/$shards" "$TMP/args.shard"

# N pods at once (the Job's parallelism = completions), each with its index in the environment.
pids=()
for i in $(seq 0 $((shards - 1))); do
  mapfile -t argv < <(pod_args "$i" "$TMP/args.shard" | tail -n +2)
  JOB_COMPLETION_INDEX=$i "$BIN/perf-gate" "${argv[@]}" >"$TMP/shard-$i.out" 2>"$TMP/shard-$i.err" &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  status=0
  wait "${pids[$i]}" || status=$?
  # Each shard's share crosses count>=… and max<0.001, but a shard leaves its thresholds to
  # the merge (each check skip): exit 0, so the Indexed Job completes and the merge Job runs.
  [ "$status" = 0 ] || { echo "shard $i exited $status"; cat "$TMP/shard-$i.err"; exit 1; }
done
mapfile -t margv < <(pod_args x "$TMP/args.merge" | tail -n +2)
status=0
"$BIN/perf-gate" "${margv[@]}" >"$TMP/merge.out" 2>"$TMP/merge.err" || status=$?
[ "$status" = 1 ] || { echo "merge exited $status"; cat "$TMP/merge.err"; exit 1; }
merged=$(ls "$TMP"/reports/*-merged.json)

# One big run at the same total rate, afterwards (not competing with the shards).
status=0
"$BIN/perf-gate" run "$scen" --target "$url" --report "$TMP/single.json" --format json -q >/dev/null 2>"$TMP/single.err" || status=$?
[ "$status" = 1 ] || { echo "single run exited $status"; cat "$TMP/single.err"; exit 1; }

"$py" - "$TMP/single.json" "$merged" "$TMP"/reports/*-shard-*.json <<'PY'
import json, sys
single, merged = [json.load(open(p)) for p in sys.argv[1:3]]
shards = [json.load(open(p)) for p in sys.argv[3:]]
m = lambda r, k, f: r["data"]["metrics"][k][f]
d = lambda r: r["data"]
c = lambda r, k: r["data"]["metrics"].get(k, {}).get("count", 0)
# The figures first (the README's table comes from these lines), then the assertions.
print(f"{len(shards)} shards, {d(merged).get('target_rate', 0):.0f}/s planned: "
      f"merged {c(merged, 'http_reqs'):.0f} requests ({c(merged, 'dropped_iterations'):.0f} dropped), achieved {d(merged).get('achieved_rate', 0):.1f}/s, "
      f"p50/p95/p99 {m(merged, 'http_req_duration', 'p50'):.1f}/{m(merged, 'http_req_duration', 'p95'):.1f}/{m(merged, 'http_req_duration', 'p99'):.1f} ms | "
      f"single {c(single, 'http_reqs'):.0f} ({c(single, 'dropped_iterations'):.0f} dropped), achieved {d(single).get('achieved_rate', 0):.1f}/s, "
      f"p50/p95/p99 {m(single, 'http_req_duration', 'p50'):.1f}/{m(single, 'http_req_duration', 'p95'):.1f}/{m(single, 'http_req_duration', 'p99'):.1f} ms")
def fail(msg):
    print(msg); sys.exit(1)
for s in shards:
    judged = [c["message"] for c in s["checks"] if c["id"] == "load.threshold" and c["result"] != "skip"]
    if judged:
        fail(f"a shard judged its thresholds (the merge's to judge): {judged}")
for k in ("http_reqs", "iterations", "dropped_iterations"):
    if k not in merged["data"]["metrics"]:
        continue
    total = sum(m(s, k, "count") for s in shards)
    if m(merged, k, "count") != total:
        fail(f"{k}: merged {m(merged, k, 'count')} != sum of shards {total}")
# The whole arrival schedule was sent once: the same number of requests as the single run.
if m(merged, "http_reqs", "count") != m(single, "http_reqs", "count"):
    fail(f"http_reqs: merged {m(merged, 'http_reqs', 'count')}, single {m(single, 'http_reqs', 'count')}")
# Each check by its id and, for thresholds, the threshold ("http_req_duration: p(95)<2000").
verdict = lambda r: sorted((c["id"], ":".join(c.get("message", "").split(":")[:2]) if c["id"] == "load.threshold" else "", c["result"])
                           for c in r["checks"] if c["id"] != "merge.shards")
if verdict(merged) != verdict(single):
    fail(f"verdicts differ:\n merged {verdict(merged)}\n single {verdict(single)}")
if merged["result"] != single["result"]:
    fail(f"result: merged {merged['result']}, single {single['result']}")
rows = []
for p, floor, rel in (("p50", 5, 0.5), ("p90", 5, 0.5), ("p95", 10, 0.5), ("p99", 50, 1.0)):
    a, b = m(single, "http_req_duration", p), m(merged, "http_req_duration", p)
    rows.append(f"{p} single {a:.2f} ms merged {b:.2f} ms")
    if abs(a - b) > max(floor, rel * a):
        fail(f"http_req_duration {p}: single {a:.2f} ms, merged {b:.2f} ms (tolerance max({floor} ms, {rel:.0%}))")
PY
