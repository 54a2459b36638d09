#!/usr/bin/env bash
# evidence-pack benchmark (`make bench`): build + sign + verify a pack of 200 reports and a
# 50 MB SBOM-like artifact, against `sha256sum` over the same files in the same run.
#
#   BIN=target/release scripts/bench/evidence-pack.sh
#
# Writes out/bench/evidence-pack.{json,md} (hyperfine) and prints throughputs and ratios.
# `build --compression store` isolates hashing + I/O + signing (the fair comparison with
# sha256sum); the default (deflate level 1) and `best` (level 6) add compression; verify
# inflates and hashes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN=${BIN:-target/release}
ep="$BIN/evidence-pack"
[ -x "$ep" ] || cargo build --release --quiet -p evidence-pack
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing (scripts/setup.sh)" >&2; exit 2; }

source scripts/lib/bench.sh
hf_runs 1 5
# Quick mode (BENCH_QUICK=1): 20 reports and a 5 MB SBOM.
n_reports=200; sbom_mb=50
if quick; then n_reports=20; sbom_mb=5; fi
work=$BENCH_OUT/evidence-pack.d
mkdir -p "$work"
# Inputs are generated once (deterministically) and reused.
if [ ! -s "$work/sbom.cdx.json" ] || [ "$(ls "$work/reports" 2>/dev/null | wc -l)" != "$n_reports" ]; then
  echo "bench: generating $n_reports reports and a $sbom_mb MB SBOM in $work" >&2
  rm -rf "$work/reports"
  mkdir -p "$work/reports"
  python3 - "$work" "$n_reports" "$sbom_mb" <<'PY'
import json, random, sys
work = sys.argv[1]
n_reports, sbom_mb = int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(42)
agents = [("alert-lint", "check"), ("sbom-diff", "diff"), ("migration-gate", "lint"),
          ("migration-gate", "dry-run"), ("perf-gate", "run"), ("verify-goldens", "slo"),
          ("dr-drill", "backup"), ("replayctl", "replay")]
for i in range(n_reports):
    agent, action = agents[i % len(agents)]
    checks = [{"id": f"rule.check_{j}", "result": rnd.choice(["ok", "ok", "ok", "warn"]),
               "message": "x" * rnd.randint(20, 200),
               "location": {"file": f"rules/file{j}.yaml", "line": j + 1, "column": 3}}
              for j in range(rnd.randint(5, 60))]
    r = {"schema": "gatehouse.report/v1", "agent": agent, "action": action, "phase": "P1",
         "result": "ok", "summary": f"{agent} {action} run {i}", "checks": checks,
         "data": {"headroom": 0.3, "run": i}, "evidence": [],
         "trace_id": "%032x" % rnd.getrandbits(128), "span_id": "%016x" % rnd.getrandbits(64),
         "started_at": "2026-11-24T10:%02d:%02dZ" % (i // 60, i % 60), "duration_ms": rnd.randint(5, 9000),
         "tool_version": "0.1.0"}
    with open(f"{work}/reports/{i:03d}-{agent}-{action}.json", "w") as f:
        json.dump(r, f, indent=2)
comps = []
size = 0
i = 0
with open(f"{work}/sbom.cdx.json", "w") as f:
    f.write('{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[\n')
    while size < sbom_mb * 1024 * 1024:
        name = "pkg-%06d" % i
        ver = "%d.%d.%d" % (rnd.randint(0, 9), rnd.randint(0, 40), rnd.randint(0, 99))
        c = {"type": "library", "bom-ref": f"pkg:npm/{name}@{ver}", "name": name, "version": ver,
             "purl": f"pkg:npm/{name}@{ver}", "licenses": [{"license": {"id": rnd.choice(["MIT", "Apache-2.0", "BSD-3-Clause", "ISC"])}}],
             "hashes": [{"alg": "SHA-256", "content": "%064x" % rnd.getrandbits(256)}],
             "description": " ".join(rnd.choice(["fast", "small", "json", "parser", "http", "client", "utils", "core"]) for _ in range(12))}
        line = ("," if i else "") + json.dumps(c) + "\n"
        f.write(line)
        size += len(line)
        i += 1
    f.write("]}\n")
PY
fi
rm -rf "$work/keys"
"$ep" keygen --out-dir "$work/keys" -q --format json >/dev/null
export SOURCE_DATE_EPOCH=1795514400
mb=$(du -cb "$work"/reports/*.json "$work/sbom.cdx.json" | tail -1 | cut -f1)

build="$ep build --release v3.0.0 --key $work/keys/gatehouse.key --reports $work/reports --artifact $work/sbom.cdx.json -q --format json"
hyperfine "${HF_RUNS[@]}" --style basic \
  --export-json "$BENCH_OUT/evidence-pack.json" --export-markdown "$BENCH_OUT/evidence-pack.md" \
  -n "sha256sum (same files)" "sha256sum $work/reports/*.json $work/sbom.cdx.json" \
  -n "evidence-pack build --compression store" "$build --compression store -o $work/store.zip" \
  -n "evidence-pack build (fast, default)" "$build -o $work/pack.zip" \
  -n "evidence-pack build --compression best" "$build --compression best -o $work/best.zip" \
  -n "evidence-pack verify (deflated pack)" "$ep verify $work/pack.zip --key $work/keys/gatehouse.pub -q --format json" \
  -n "evidence-pack verify (stored pack)" "$ep verify $work/store.zip --key $work/keys/gatehouse.pub -q --format json" \
  >&2

"$ep" verify "$work/pack.zip" --key "$work/keys/gatehouse.pub" -q --format json >/dev/null
cp "$work/pack.zip" "$work/pack1.zip"
$build -o "$work/pack.zip" >/dev/null
cmp -s "$work/pack.zip" "$work/pack1.zip" && repro=identical || repro=DIFFERENT

jq -r --argjson bytes "$mb" '
  (.results | map({key: .command, value: .mean}) | from_entries) as $m
  | ($m["sha256sum (same files)"]) as $peer
  | "input: \($bytes / 1048576 | floor) MiB (reports + SBOM)",
    (.results[] | "  \(.command): \(.mean * 1000 | floor) ms ± \((.stddev // 0) * 1000 | floor) ms, \($bytes / 1048576 / .mean | floor) MiB/s"),
    "ratio build --compression store / sha256sum: \(($m["evidence-pack build --compression store"] / $peer * 100 | floor) / 100)x",
    "ratio build (fast, default) / sha256sum: \(($m["evidence-pack build (fast, default)"] / $peer * 100 | floor) / 100)x",
    "ratio build --compression best / sha256sum: \(($m["evidence-pack build --compression best"] / $peer * 100 | floor) / 100)x",
    "ratio verify (deflated pack) / sha256sum: \(($m["evidence-pack verify (deflated pack)"] / $peer * 100 | floor) / 100)x"
' "$BENCH_OUT/evidence-pack.json"
echo "pack: $(du -b "$work/pack.zip" | cut -f1) bytes (fast), $(du -b "$work/best.zip" | cut -f1) (best), $(du -b "$work/store.zip" | cut -f1) (stored); rebuild: $repro"
