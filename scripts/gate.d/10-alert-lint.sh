# shellcheck shell=bash
# Stage 10, alert-lint: compile the alert catalog into PrometheusRule objects (and check
# what it wrote), then judge each release's rule files. The good release passes; the bad
# one fails on a paging alert without runbook and a $labels template on a label its query
# sums away.
#
# Environment (scripts/demo.sh): BIN, EX, OUT; `summary`, `expect_exit`, `result_of`, `step`
# from scripts/lib/demo.sh.

al="$BIN/alert-lint"
# The catalog's outputs go beside the releases, not into them: the gate reads every report
# in a release's directory, and the catalog is not a release's rule set.
mkdir -p "$OUT/release" "$OUT/bad-release" "$OUT/catalog"

step "alert-lint catalog $EX/alert-catalog.yaml"
expect_exit 0 "$al" catalog "$EX/alert-catalog.yaml" -o "$OUT/catalog/slo-rules.yaml" \
  --report "$OUT/catalog/alert-lint-catalog.json" --format json -q >/dev/null
expect_exit 0 "$al" check "$OUT/catalog/slo-rules.yaml" --format json -q \
  >"$OUT/catalog/alert-lint-check.json"
slos=$(jq -r '.data.slos | length' "$OUT/catalog/alert-lint-catalog.json" 2>/dev/null || echo 0)
echo "alert-lint: catalog: $slos SLOs → $OUT/catalog/slo-rules.yaml" >&2

for rel in release bad-release; do
  want=0
  [ "$rel" = bad-release ] && want=1
  step "alert-lint check $EX/$rel/rules/"
  # Runbook paths in rule files are repository-relative: --root is the checkout.
  expect_exit "$want" "$al" check --root "$(dirname "$EX")" "$EX/$rel/rules/" --report "$OUT/$rel/alert-lint-check.json" \
    --format text -q >&2
  rules=$(jq -r '.data.totals.rules // 0' "$OUT/$rel/alert-lint-check.json" 2>/dev/null || echo 0)
  fails=$(jq -r '.data.totals.fail // 0' "$OUT/$rel/alert-lint-check.json" 2>/dev/null || echo 0)
  summary "$rel" alert-lint "$(result_of "$OUT/$rel/alert-lint-check.json")" "$rules rules, $fails failed"
done
