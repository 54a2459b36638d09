# shellcheck shell=bash
# Stage 20, sbom-diff: what changed between the previous release's SBOM and this one's,
# judged against the diff budget. The good release upgrades 24 packages, adds two, changes
# one license and brings one new high vulnerability that is excepted (time-boxed) and one
# new medium within budget: ok. The bad release's base image went back to Debian 11:
# seven downgrades and zlib's CVE-2022-37434 (critical, CVSS 9.8): fail.
#
# Inputs: $EX/$REL/sbom-v2.cdx.json (this release), the previous release's SBOM and the
# budget from $EX/$REL/{sbom-v1.cdx.json,sbom-budget.yaml}, else $EX/release/'s
# (overridable: GATE_SBOM_OLD, GATE_SBOM_NEW, GATE_SBOM_BUDGET).
#
# Environment (scripts/release-gate.sh): REL, BIN, EX, OUT; `summary`, `expect_exit`,
# `result_of`, `expected_fail` from scripts/lib/demo.sh.

sd="$BIN/sbom-diff"
pick() { if [ -f "$EX/$REL/$1" ]; then echo "$EX/$REL/$1"; else echo "$EX/release/$1"; fi; }
old=${GATE_SBOM_OLD:-$(pick sbom-v1.cdx.json)}
new=${GATE_SBOM_NEW:-$EX/$REL/sbom-v2.cdx.json}
budget=${GATE_SBOM_BUDGET:-$(pick sbom-budget.yaml)}

mkdir -p "$OUT/$REL"
report="$OUT/$REL/sbom-diff-diff.json"
# The markdown rendering is what a reviewer reads in the pull request.
expect_exit "$(expected_fail)" "$sd" "$old" "$new" --budget "$budget" \
  --report "$report" --format markdown -q >"$OUT/$REL/sbom-diff.md"
figure=$(jq -r '
  (.data.counts // {}) as $c
  | (.data.vulnerabilities.counts.new // {}) as $v
  | "\($c.upgraded // 0) upgraded, \($c.downgraded // 0) downgraded, \($c.added // 0) added; new vulns: \($v.critical // 0) critical, \($v.high // 0) high"
    + ([.checks[] | select(.result == "fail") | .id] | if length > 0 then " — over budget: " + join(", ") else "" end)' \
  "$report" 2>/dev/null || echo "no report")
summary "$REL" sbom-diff "$(result_of "$report")" "$figure"
echo "sbom-diff: $REL: $(jq -r .summary "$report" 2>/dev/null)" >&2
