# terraform/: no terraform or OpenTofu binary can be installed here, so the modules are
# checked by what can run: every .tf file parses with python-hcl2 (its own venv: checkov
# ships a fork under the same module name), the evidence store's promises are read off the
# parsed HCL (versioning, object lock COMPLIANCE >= 365 days, a customer KMS key, public
# access blocked, lifecycle to colder storage, cross-region replication to the backup
# bucket, the chart's helm_release), and checkov finds no failed check; every skip carries
# its reason in the code.
cd "$ROOT"
hclpy=.tools/hcl2/bin/python
checkov=.tools/checkov/bin/checkov
for t in "$hclpy" "$checkov"; do
  [ -x "$t" ] || { echo "$t not found; run scripts/setup.sh"; exit 1; }
done

"$hclpy" - terraform <<'PY'
import json, pathlib, re, sys
import hcl2

def fail(msg):
    print(msg); sys.exit(1)

def norm(v):
    # python-hcl2 8 keeps HCL's quotes on keys and strings and marks blocks: drop both.
    if isinstance(v, dict):
        return {k.strip('"'): norm(x) for k, x in v.items() if k != "__is_block__"}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    return v

root = pathlib.Path(sys.argv[1])
files = sorted(root.rglob("*.tf"))
if len(files) < 12:
    fail(f"only {len(files)} .tf files under terraform/")
mods = {}
for f in files:
    try:
        with open(f) as fh:
            doc = norm(hcl2.load(fh))
    except Exception as e:  # a parse error names the file and the parser's position
        fail(f"{f}: does not parse: {str(e).splitlines()[0]}")
    m = mods.setdefault(str(f.parent.relative_to(root)), {"resource": {}, "variable": {}, "module": {}})
    for r in doc.get("resource", []):
        for typ, named in r.items():
            for name, body in named.items():
                m["resource"][(typ, name)] = body
    for v in doc.get("variable", []):
        m["variable"].update(v)
    for v in doc.get("module", []):
        m["module"].update(v)
print(f"{len(files)} .tf files parse")

def res(mod, typ, name):
    r = mods[mod]["resource"].get((typ, name))
    if r is None:
        fail(f"{mod}: no {typ}.{name}")
    return r

def block(r, key):
    b = r.get(key)
    return b[0] if isinstance(b, list) else b

for mod, b in (("modules/evidence-store", "evidence"), ("modules/backup-bucket", "backup")):
    bucket = res(mod, "aws_s3_bucket", b)
    if bucket.get("object_lock_enabled") is not True:
        fail(f"{mod}: object lock not enabled")
    if block(block(res(mod, "aws_s3_bucket_versioning", b), "versioning_configuration"), "status") != "Enabled":
        fail(f"{mod}: versioning not Enabled")
    ret = block(block(res(mod, "aws_s3_bucket_object_lock_configuration", b), "rule"), "default_retention")
    if ret.get("mode") != "COMPLIANCE":
        fail(f"{mod}: object lock mode {ret.get('mode')}, want COMPLIANCE")
    if ret.get("days") != "${var.retention_days}":
        fail(f"{mod}: retention is not var.retention_days: {ret.get('days')}")
    rv = mods[mod]["variable"]["retention_days"]
    if rv["default"] < 365 or "var.retention_days >= 365" not in rv["validation"][0]["condition"]:
        fail(f"{mod}: retention_days default {rv['default']} or its validation allows < 365 days")
    sse = block(block(res(mod, "aws_s3_bucket_server_side_encryption_configuration", b), "rule"), "apply_server_side_encryption_by_default")
    if sse.get("sse_algorithm") != "aws:kms" or not sse.get("kms_master_key_id", "").startswith("${aws_kms_key."):
        fail(f"{mod}: not encrypted with this module's customer KMS key: {sse}")
    key = res(mod, "aws_kms_key", b)
    if key.get("enable_key_rotation") is not True:
        fail(f"{mod}: KMS key rotation off")
    pab = res(mod, "aws_s3_bucket_public_access_block", b)
    for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        if pab.get(k) is not True:
            fail(f"{mod}: public access block {k} is not true")
    rule = block(res(mod, "aws_s3_bucket_lifecycle_configuration", b), "rule")
    classes = [t["storage_class"] for t in rule.get("transition", [])]
    if not any(c in ("GLACIER", "GLACIER_IR", "DEEP_ARCHIVE") for c in classes):
        fail(f"{mod}: lifecycle has no transition to colder storage: {classes}")

rep = res("modules/evidence-store", "aws_s3_bucket_replication_configuration", "evidence")
dest = block(block(rep, "rule"), "destination")
if dest.get("bucket") != "${var.backup.bucket_arn}" or "replica_kms_key_id" not in block(dest, "encryption_configuration"):
    fail(f"evidence store: replication does not go to the backup bucket, re-encrypted: {dest}")
ex = mods["examples/prod"]
if ex["module"]["backup"].get("providers") != {"aws": "${aws.replica}"}:
    fail(f"examples/prod: the backup bucket is not in the replica region's provider: {ex['module']['backup'].get('providers')}")
if ex["module"]["evidence_store"]["backup"]["bucket_arn"] != "${module.backup.bucket_arn}":
    fail("examples/prod: the evidence store does not replicate into module.backup")
hr = res("modules/gatehouse-release", "helm_release", "gatehouse")
chart = ex["module"]["gatehouse"]["chart_path"].replace("${path.root}", str(root / "examples/prod"))
if not (pathlib.Path(chart) / "Chart.yaml").is_file():
    fail(f"examples/prod: chart_path {chart} is not the chart")
if hr.get("chart") != "${var.chart_path}" or hr.get("atomic") is not True:
    fail(f"helm_release: {hr}")
PY

# Every skip says why: `#checkov:skip=CKV_ID:reason`, a reason of some words.
if grep -rn 'checkov:skip' terraform | grep -Ev 'checkov:skip=CKV2?_[A-Z0-9_]+:.{20,}'; then
  echo "a checkov skip without its reason (above)"; exit 1
fi
# --skip-download: no call to Bridgecrew's platform (it would try, and print a traceback here).
"$checkov" -d terraform --skip-download --compact --quiet -o json >"$TMP/checkov.json" 2>"$TMP/checkov.err" || true
"$hclpy" - "$TMP/checkov.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
runs = doc if isinstance(doc, list) else [doc]
failed = passed = 0
for r in runs:
    s = r.get("summary", {})
    failed += s.get("failed", 0); passed += s.get("passed", 0)
    for c in r.get("results", {}).get("failed_checks", []):
        print(f"{c['file_path']}:{c['file_line_range'][0]}: {c['check_id']} {c['check_name']} ({c['resource']})")
if failed or passed < 50:
    print(f"checkov: {passed} passed, {failed} failed"); sys.exit(1)
PY
