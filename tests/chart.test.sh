# The Helm chart (charts/gatehouse) rendered and linted by a real helm, every manifest
# validated by kubernetes-validate --strict for the oldest and newest Kubernetes minor the
# chart claims (Chart.yaml kubeVersion), and the properties the chart promises checked on the
# rendered objects: CronJobs with Forbid and history limits, non-root, read-only root,
# resources, secrets only from existing Secrets, the Indexed Job's shard arguments and the
# merge Job reading exactly the shards' reports. Gatehouse's own PrometheusRule passes alert-lint.
# No Kubernetes API server can be installed here: nothing is applied to a cluster.
cd "$ROOT"
helm=.tools/helm/helm/helm
kv=.tools/venv/bin/kubernetes-validate
py=.tools/venv/bin/python
cj=.tools/venv/bin/check-jsonschema
for t in "$helm" "$kv" "$py" "$cj"; do
  [ -x "$t" ] || { echo "$t not found; run scripts/setup.sh"; exit 1; }
done
chart=charts/gatehouse
oldest=1.29.0 newest=1.37.0
grep -q "kubeVersion: \">=${oldest%.0}.0-0\"" "$chart/Chart.yaml" || { echo "Chart.yaml kubeVersion is not >=$oldest"; exit 1; }

# The real inputs, not placeholders: the release's golden paths and perf-gate's demo scenario.
files=(--set-file probes.goldenPaths=examples/release/golden_paths.yaml
       --set-file loadtest.scenario=examples/release/perf-scenario.yaml)
"$helm" lint --strict "$chart" -f "$chart/ci/all-values.yaml" "${files[@]}" >"$TMP/lint.txt" 2>&1 \
  || { cat "$TMP/lint.txt"; exit 1; }
grep -q '0 chart(s) failed' "$TMP/lint.txt"

render() { "$helm" template gh "$chart" --namespace gatehouse "$@"; }
render -f "$chart/ci/all-values.yaml" "${files[@]}" --kube-version "$oldest" >"$TMP/all.yaml"
# The same without the load test and the rule (the chart's other shape), with a tag, no digest.
render -f "$chart/ci/all-values.yaml" "${files[@]}" --set loadtest.enabled=false \
  --set prometheusRule.enabled=false --set image.digest= --set image.tag=9.9.9 >"$TMP/cron-only.yaml"

for k in "$oldest" "$newest"; do
  for f in "$TMP/all.yaml" "$TMP/cron-only.yaml"; do
    "$kv" --strict --quiet -k "$k" "$f" >"$TMP/kv.txt" 2>&1 || { cat "$TMP/kv.txt"; exit 1; }
    # The one kind without a schema here is the Prometheus operator's CRD (alert-lint checks it below).
    if grep -v "Couldn't find schema for kind PrometheusRule" "$TMP/kv.txt" | grep -q .; then
      cat "$TMP/kv.txt"; exit 1
    fi
  done
done

# What a user gets wrong is refused with the value's name: no database URL, no Secret, a
# password in the URL, a concurrency policy other than Forbid, a tag-less digest typo.
refuse() {
  local want=$1; shift
  if render -f "$chart/ci/all-values.yaml" "${files[@]}" "$@" >"$TMP/refused.yaml" 2>"$TMP/refused.err"; then
    echo "rendered with $*"; exit 1
  fi
  grep -q -- "$want" "$TMP/refused.err" || { echo "want '$want' for $*:"; cat "$TMP/refused.err"; exit 1; }
}
refuse 'drDrill.databaseUrl is required' --set drDrill.databaseUrl=
refuse 'drDrill.existingSecret.name is required' --set drDrill.existingSecret.name=
refuse 'databaseUrl' --set 'drDrill.databaseUrl=postgres://drill:hunter2@db:5432/shop'
refuse 'concurrencyPolicy' --set probes.concurrencyPolicy=Allow
refuse 'digest' --set image.digest=sha256:abc
refuse 'readOnlyRootFilesystem' --set securityContext.readOnlyRootFilesystem=false
refuse "invalid propertyName 'API_TOKEN'" --set probes.extraEnv.API_TOKEN=x   # secrets go in envFromSecrets
# (--set-file outranks --set, so this one renders without the files: ci/ has a placeholder.)
if render -f "$chart/ci/all-values.yaml" --set probes.goldenPaths= >/dev/null 2>"$TMP/refused.err"; then
  echo "rendered probes without golden paths"; exit 1
fi
grep -q 'probes.goldenPaths or probes.existingConfigMap' "$TMP/refused.err"
# The defaults alone name what is missing instead of rendering a CronJob that cannot work.
if render >/dev/null 2>"$TMP/defaults.err"; then echo "defaults rendered without a database"; exit 1; fi
grep -q 'is required' "$TMP/defaults.err"

# The properties, on the rendered objects.
"$py" - "$TMP/all.yaml" "$TMP/cron-only.yaml" <<'PY'
import os, re, subprocess, sys, yaml
bin_dir = os.environ["BIN"]
def accepts(tool, args):
    """The built tool knows the command and every --flag the chart passes it."""
    exe = os.path.join(bin_dir, tool)
    if not os.path.exists(exe):
        if os.path.isdir(os.path.join("tools", tool)):
            fail(f"{exe} is not built (cargo build -p {tool})")
        return
    r = subprocess.run([exe, args[0], "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{tool} has no command {args[0]!r}")
    for a in args[1:]:
        if a.startswith("--") and not re.search(rf"(^|[\s,]){re.escape(a.split('=')[0])}[\s=<\[]", r.stdout, re.M):
            fail(f"{tool} {args[0]}: no flag {a}")
def fail(msg):
    print(msg); sys.exit(1)
for path in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    kinds = [d["kind"] for d in docs]
    if "Secret" in kinds:
        fail(f"{path}: the chart rendered a Secret: it must only read existing ones")
    def pods(d):
        if d["kind"] == "CronJob":
            return d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        if d["kind"] == "Job":
            return d["spec"]["template"]["spec"]
    for d in docs:
        name = f'{d["kind"]}/{d["metadata"]["name"]}'
        if d["kind"] == "CronJob":
            s = d["spec"]
            if s["concurrencyPolicy"] != "Forbid": fail(f"{name}: concurrencyPolicy {s['concurrencyPolicy']}")
            for k in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit", "startingDeadlineSeconds", "schedule", "timeZone"):
                if k not in s: fail(f"{name}: no {k}")
            if "activeDeadlineSeconds" not in s["jobTemplate"]["spec"]: fail(f"{name}: no activeDeadlineSeconds")
        p = pods(d)
        if p is None:
            continue
        if not p["securityContext"].get("runAsNonRoot"): fail(f"{name}: not runAsNonRoot")
        if p.get("automountServiceAccountToken") is not False: fail(f"{name}: mounts a service account token")
        for c in p["containers"]:
            sc = c["securityContext"]
            if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
                fail(f"{name}/{c['name']}: writable root or privilege escalation")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]: fail(f"{name}/{c['name']}: capabilities not dropped")
            r = c.get("resources", {})
            if not r.get("requests") or not r.get("limits"): fail(f"{name}/{c['name']}: no requests/limits")
            if "gatehouse" not in c["image"].split("@")[0].split(":")[0]: fail(f"{name}: image {c['image']}")
            accepts(os.path.basename(c["command"][0]), c["args"])
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "value" in e and any(w in e["name"].upper() for w in ("PASSWORD", "TOKEN", "SECRET")):
                    fail(f"{name}: {e['name']} given as a literal value")
            for a in c.get("args", []):
                if "@" in a and ":" in a.split("@")[0].split("//")[-1]:
                    fail(f"{name}: a password in an argument: {a}")
    if path.endswith("all.yaml"):
        byname = {d["metadata"]["name"]: d for d in docs if d["kind"] != "ConfigMap"}
        cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
        img = byname["gh-gatehouse-dr-drill"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]
        if img != "localhost/gatehouse@sha256:" + "0123456789abcdef" * 4: fail(f"digest not pinned: {img}")
        dr = byname["gh-gatehouse-dr-drill"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        probe = byname["gh-gatehouse-probes"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        if {"name": "SERVICE_URL", "value": "http://checkout-api.prod.svc:8080"} not in probe["env"]: fail(f"probes env: {probe['env']}")
        if probe["envFrom"] != [{"secretRef": {"name": "checkout-probe-token"}}]: fail(f"probes envFrom: {probe['envFrom']}")
        pw = [e for e in dr["env"] if e["name"] == "PGPASSWORD"][0]
        if pw["valueFrom"]["secretKeyRef"] != {"name": "shop-db-drill", "key": "password"}: fail(f"PGPASSWORD: {pw}")
        shards = byname["gh-gatehouse-loadtest-shards"]
        s = shards["spec"]
        if s["completionMode"] != "Indexed" or s["completions"] != 4 or s["parallelism"] != 4:
            fail(f"shards: {s['completionMode']} {s['completions']} {s['parallelism']}")
        args = s["template"]["spec"]["containers"][0]["args"]
        i = args.index("--shard")
        if args[i + 1] != "$(JOB_COMPLETION_INDEX)/4": fail(f"shard arg {args[i + 1]}")
        report = args[args.index("--report") + 1]
        merge = byname["gh-gatehouse-loadtest-merge"]
        margs = merge["spec"]["template"]["spec"]["containers"][0]["args"]
        want = [report.replace("$(JOB_COMPLETION_INDEX)", str(k)) for k in range(4)]
        if margs[0] != "merge" or margs[1:5] != want: fail(f"merge reads {margs[1:5]}, shards write {want}")
        if int(shards["metadata"]["annotations"]["helm.sh/hook-weight"]) >= int(merge["metadata"]["annotations"]["helm.sh/hook-weight"]):
            fail("the merge Job is not created after the shards Job")
        # The ConfigMaps carry the real files, which validate against the tools' schemas.
        open(sys.argv[1] + ".golden.yaml", "w").write(cms["gh-gatehouse-probes"]["data"]["golden_paths.yaml"])
        open(sys.argv[1] + ".scenario.yaml", "w").write(cms["gh-gatehouse-loadtest"]["data"]["scenario.yaml"])
        rules = [d for d in docs if d["kind"] == "PrometheusRule"]
        if len(rules) != 1: fail("no PrometheusRule")
        open(sys.argv[1] + ".rules.yaml", "w").write(yaml.safe_dump(rules[0]))
PY
"$cj" --schemafile schemas/verify-goldens.golden-paths.schema.json "$TMP/all.yaml.golden.yaml" >/dev/null
"$cj" --schemafile schemas/perf-gate.scenario.schema.json "$TMP/all.yaml.scenario.yaml" >/dev/null
cmp <("$py" -c 'import sys,yaml,json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$TMP/all.yaml.scenario.yaml") \
    <("$py" -c 'import sys,yaml,json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' examples/release/perf-scenario.yaml)

# Gatehouse's own alerts pass the gate every release's rules pass.
[ -x "$BIN/alert-lint" ] || { echo "$BIN/alert-lint is not built (cargo build -p alert-lint)"; exit 1; }
"$BIN/alert-lint" check "$TMP/all.yaml.rules.yaml" --format text >"$TMP/alert-lint.txt" 2>&1 || { cat "$TMP/alert-lint.txt"; exit 1; }
