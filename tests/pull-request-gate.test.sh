# Two gates piped into the promotion decision, as a PR workflow chains them: the good
# release promotes, the bad release's SBOM blocks it, and every report of the run shares the
# trace id of TRACEPARENT.
cd "$ROOT"
export TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
export GATEHOUSE_PHASE=P1
policy=examples/policies/pull-request.yaml

gates() { # $1: the new SBOM
  "$BIN/alert-lint" check --root . examples/release/rules/ --format json || true
  "$BIN/sbom-diff" examples/release/sbom-v1.cdx.json "$1" --budget examples/release/sbom-budget.yaml --format json || true
}

gates examples/release/sbom-v2.cdx.json | tee "$TMP/good.jsonl" \
  | "$BIN/evidence-pack" gate --policy "$policy" - --format json >"$TMP/good-gate.json"
[ "$(jq -r .data.decision "$TMP/good-gate.json")" = promote ]
[ "$(jq -s 'map(.trace_id) | unique | length' "$TMP/good.jsonl")" = 1 ]
[ "$(jq -r .trace_id "$TMP/good-gate.json")" = 4bf92f3577b34da6a3ce929d0e0e4736 ]
[ "$(jq -r .phase "$TMP/good-gate.json")" = P1 ]

status=0
gates examples/bad-release/sbom-v2.cdx.json \
  | "$BIN/evidence-pack" gate --policy "$policy" - --format json >"$TMP/bad-gate.json" || status=$?
[ "$status" = 1 ]
[ "$(jq -r .data.decision "$TMP/bad-gate.json")" = block ]
jq -e '[.checks[] | select(.result == "fail")] | length >= 1' "$TMP/bad-gate.json" >/dev/null

# A missing required report never passes.
status=0
"$BIN/alert-lint" check --root . examples/release/rules/ --format json \
  | "$BIN/evidence-pack" gate --policy "$policy" - --format json >"$TMP/missing.json" || status=$?
[ "$status" = 1 ]
