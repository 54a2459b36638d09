# shellcheck shell=bash
# Stage 20, sbom-diff: what changed between the previous release's SBOM and this one's,
# judged against the diff budget. The good release upgrades 24 packages, adds two, changes
# one license and brings one new high vulnerability that is excepted (time-boxed) and one
# new medium within budget: ok. The bad release's base image went back to Debian 11:
# seven downgrades and zlib's CVE-2022-37434 (critical, CVSS 9.8): fail.
#
# Environment (scripts/demo.sh): BIN, EX, OUT; `summary`, `expect_exit`, `result_of` from
# scripts/lib/demo.sh.

sd="$BIN/sbom-diff"
budget="$EX/release/sbom-budget.yaml"
old="$EX/release/sbom-v1.cdx.json"

for rel in release bad-release; do
  mkdir -p "$OUT/$rel"
  report="$OUT/$rel/sbom-diff-diff.json"
  want=0
  [ "$rel" = bad-release ] && want=1
  # The markdown rendering is what a reviewer reads in the pull request.
  expect_exit "$want" "$sd" "$old" "$EX/$rel/sbom-v2.cdx.json" --budget "$budget" \
    --report "$report" --format markdown -q >"$OUT/$rel/sbom-diff.md"
  figure=$(jq -r '
    (.data.counts // {}) as $c
    | (.data.vulnerabilities.counts.new // {}) as $v
    | "\($c.upgraded // 0) upgraded, \($c.downgraded // 0) downgraded, \($c.added // 0) added; new vulns: \($v.critical // 0) critical, \($v.high // 0) high"
      + ([.checks[] | select(.result == "fail") | .id] | if length > 0 then " — over budget: " + join(", ") else "" end)' \
    "$report" 2>/dev/null || echo "no report")
  summary "$rel" sbom-diff "$(result_of "$report")" "$figure"
  echo "sbom-diff: $rel: $(jq -r .summary "$report" 2>/dev/null)" >&2
done
