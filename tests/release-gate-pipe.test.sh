# The README's one-report pipe (the block after "tests/release-gate-pipe.test.sh runs this
# block"), run as written with the tools on PATH: sbom-diff's report flows through stdin
# into `evidence-pack gate … -`, which blocks — sbom-diff failed its budget and alert-lint's
# report, which the policy also requires, is missing.
cd "$ROOT"
awk '/<!-- tests\/release-gate-pipe.test.sh runs this block -->/ {found = 1; next}
     found && /^```sh$/ {inside = 1; next}
     inside && /^```$/ {exit}
     inside {print}' README.md >"$TMP/pipe.sh"
grep -q 'evidence-pack gate --policy .* -' "$TMP/pipe.sh" || { echo "README: the pipe block is gone" >&2; exit 1; }
status=0
PATH="$BIN:$PATH" bash -o pipefail "$TMP/pipe.sh" >"$TMP/out.txt" 2>"$TMP/err.txt" || status=$?
[ "$status" = 1 ] || { cat "$TMP/out.txt" "$TMP/err.txt" >&2; echo "exit $status, want 1" >&2; exit 1; }
grep -q '^evidence-pack gate FAIL  block' "$TMP/out.txt"
grep -q 'sbom-diff diff .*fail' "$TMP/out.txt"
grep -q 'alert-lint check .*missing' "$TMP/out.txt"
# The same pipe with --format json: the decision and both reasons, machine-readable.
sed 's/--format text/--format json/' "$TMP/pipe.sh" >"$TMP/pipe-json.sh"
PATH="$BIN:$PATH" bash "$TMP/pipe-json.sh" >"$TMP/gate.json" 2>/dev/null || true
[ "$(jq -r .data.decision "$TMP/gate.json")" = block ]
[ "$(jq -r '[.data.reasons[] | "\(.agent):\(.kind)"] | sort | join(" ")' "$TMP/gate.json")" = "alert-lint:missing sbom-diff:result" ]
