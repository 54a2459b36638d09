# What every tool promises on hostile input (issue 21), through the real binaries: a usage
# error is one line (and a JSON error report with --format json, a JSON log line with
# --log-format json), and no output path may replace a file the run read.
cd "$ROOT"

for tool in alert-lint sbom-diff migration-gate evidence-pack; do
  status=0
  "$BIN/$tool" --frobnicate >"$TMP/out" 2>"$TMP/err" || status=$?
  [ "$status" = 2 ] || { echo "$tool: exit $status on a usage error"; exit 1; }
  [ "$(wc -l <"$TMP/err")" = 1 ] || { echo "$tool: usage error is not one line:"; cat "$TMP/err"; exit 1; }
  grep -q "^$tool: unexpected argument '--frobnicate' found.*--help" "$TMP/err"
  [ ! -s "$TMP/out" ]

  status=0
  "$BIN/$tool" --frobnicate --format json --log-format json >"$TMP/out" 2>"$TMP/err" || status=$?
  [ "$status" = 2 ]
  [ "$(jq -r .result "$TMP/out")" = error ]
  [ "$(jq -r .error.kind "$TMP/out")" = usage ]
  [ "$(jq -r .agent "$TMP/out")" = "$tool" ]
  [ "$(jq -r .level "$TMP/err")" = ERROR ]
  jq -e '.message | test("frobnicate")' "$TMP/err" >/dev/null
done

# --help still prints help and exits 0.
"$BIN/sbom-diff" --help | grep -q Usage

# Outputs never replace inputs.
refuses() { # $1: file that must stay unchanged; the rest: the command
  local keep=$1; shift
  local before; before=$(sha256sum "$keep")
  local status=0
  "$@" >"$TMP/out" 2>"$TMP/err" || status=$?
  [ "$status" = 2 ] || { echo "exit $status (want 2): $*"; cat "$TMP/err"; exit 1; }
  [ "$(sha256sum "$keep")" = "$before" ] || { echo "overwrote $keep: $*"; exit 1; }
  grep -q "refusing to write over" "$TMP/err" || { echo "no refusal line: $*"; cat "$TMP/err"; exit 1; }
}

cp examples/release/rules/*.yaml "$TMP/" 2>/dev/null || true
rules=$(ls "$TMP"/*.yaml | head -1)
refuses "$rules" "$BIN/alert-lint" check "$rules" --report "$rules" --format json

cp examples/alert-catalog.yaml "$TMP/c.yaml"
refuses "$TMP/c.yaml" "$BIN/alert-lint" catalog "$TMP/c.yaml" -o "$TMP/c.yaml"

cp examples/release/sbom-v1.cdx.json "$TMP/old.json"; cp examples/release/sbom-v2.cdx.json "$TMP/new.json"
refuses "$TMP/new.json" "$BIN/sbom-diff" "$TMP/old.json" "$TMP/new.json" --report "$TMP/new.json" --format json
# The same file through another name (a symlink) is still the input.
ln -s new.json "$TMP/alias.json"
refuses "$TMP/new.json" "$BIN/sbom-diff" "$TMP/old.json" "$TMP/new.json" --report "$TMP/alias.json" --format json

mkdir "$TMP/migrations"; cp examples/release/migrations/* "$TMP/migrations/"
victim=$(ls "$TMP"/migrations/*.sql | tail -1)
refuses "$victim" "$BIN/migration-gate" lint "$TMP/migrations" --report "$victim" --format json

"$BIN/evidence-pack" keygen --out-dir "$TMP/keys" --format json >/dev/null
mkdir "$TMP/reports"
"$BIN/sbom-diff" "$TMP/old.json" "$TMP/new.json" --format json >"$TMP/reports/sbom.json" || true
refuses "$TMP/keys/gatehouse.key" "$BIN/evidence-pack" build --release v1 --key "$TMP/keys/gatehouse.key" \
  --reports "$TMP/reports" -o "$TMP/keys/gatehouse.key" --format json
