# shellcheck shell=bash
# Stage 10, alert-lint: compile the alert catalog (when the examples have one) into
# PrometheusRule objects and check what it wrote, then judge the release's rule files. The
# good release passes; the bad one fails on a paging alert without runbook and a $labels
# template on a label its query sums away.
#
# Environment (scripts/release-gate.sh): REL, BIN, EX, OUT; `summary`, `expect_exit`,
# `result_of`, `expected_fail`, `step` from scripts/lib/demo.sh.

al="$BIN/alert-lint"
mkdir -p "$OUT/$REL"

# The catalog's outputs go beside the release, not into it: the gate reads every report in
# the release's directory, and the catalog is not a release's rule set.
if [ -f "$EX/alert-catalog.yaml" ]; then
  mkdir -p "$OUT/catalog"
  step "alert-lint catalog $EX/alert-catalog.yaml"
  expect_exit 0 "$al" catalog "$EX/alert-catalog.yaml" -o "$OUT/catalog/slo-rules.yaml" \
    --report "$OUT/catalog/alert-lint-catalog.json" --format json -q >/dev/null
  expect_exit 0 "$al" check "$OUT/catalog/slo-rules.yaml" --format json -q \
    >"$OUT/catalog/alert-lint-check.json"
  slos=$(jq -r '.data.slos | length' "$OUT/catalog/alert-lint-catalog.json" 2>/dev/null || echo 0)
  echo "alert-lint: catalog: $slos SLOs → $OUT/catalog/slo-rules.yaml" >&2
fi

step "alert-lint check $EX/$REL/rules/"
# Runbook paths in rule files are repository-relative: --root is the checkout.
report="$OUT/$REL/alert-lint-check.json"
expect_exit "$(expected_fail)" "$al" check --root "$(dirname "$EX")" "$EX/$REL/rules/" --report "$report" \
  --format text -q >&2
rules=$(jq -r '.data.totals.rules // 0' "$report" 2>/dev/null || echo 0)
fails=$(jq -r '.data.totals.fail // 0' "$report" 2>/dev/null || echo 0)
summary "$REL" alert-lint "$(result_of "$report")" "$rules rules, $fails failed"
