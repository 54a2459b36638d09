#!/usr/bin/env bash
# `make bench` stage for sbom-diff: the diff of two large, real SBOMs (npm's own CycloneDX
# output over two versions of a ~6,000-package JavaScript tool chain), timed in one
# hyperfine run against sbom-tools (the strongest Rust peer), a jq pipeline and a Python
# script (the "pile of jq" a team writes by hand), on one core. Prints the ratios.
#
# The SBOMs are made, not synthesised: `npm install --package-lock-only` resolves the trees
# (no tarballs, no install scripts), `npm sbom --sbom-format cyclonedx` describes them. They
# are cached in out/bench/sbom-diff/, so reruns take seconds; the first run needs the npm
# registry and takes a few minutes. cyclonedx-cli is a .NET tool with no Debian package;
# it is compared when a `cyclonedx` binary is on PATH and skipped (with a note) otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN=${BIN:-$root/target/release}
source scripts/lib/bench.sh
hf_runs 2 10
out=$BENCH_OUT
# Absolute: make_sbom writes its npm logs from inside the cache folder.
cache=$out/sbom-diff
mkdir -p "$cache"

# Two releases of one large tool chain: the same 27 top-level packages, a year or two apart.
v1_deps='{"react-scripts": "4.0.3", "gatsby": "4.25.9", "@angular/cli": "15.2.11", "@nestjs/cli": "9.5.0", "@vue/cli": "5.0.9", "eslint": "8.30.0", "jest": "28.1.3", "typescript": "4.9.5", "nx": "15.9.7", "netlify-cli": "12.14.0", "firebase-tools": "11.30.0", "@docusaurus/core": "2.3.1", "truffle": "5.7.9", "serverless": "3.28.1", "hardhat": "2.12.7", "@storybook/cli": "6.5.16", "lerna": "6.6.2", "@backstage/cli": "0.22.14", "@salesforce/cli": "1.87.0", "@strapi/strapi": "4.9.2", "@angular-devkit/build-angular": "15.2.11", "react-native": "0.71.19", "@expo/cli": "0.7.3", "@graphql-codegen/cli": "3.3.1", "@ionic/cli": "6.20.9", "@medusajs/medusa": "1.8.2", "sails": "1.5.18"}'
v2_deps='{"react-scripts": "5.0.1", "gatsby": "5.16.1", "@angular/cli": "17.3.17", "@nestjs/cli": "10.4.9", "@vue/cli": "5.0.9", "eslint": "8.57.1", "jest": "29.7.0", "typescript": "5.4.5", "nx": "19.8.4", "netlify-cli": "17.38.1", "firebase-tools": "13.35.1", "@docusaurus/core": "3.5.2", "truffle": "5.11.5", "serverless": "3.40.0", "hardhat": "2.22.19", "@storybook/cli": "7.6.24", "lerna": "8.2.4", "@backstage/cli": "0.27.1", "@salesforce/cli": "2.146.3", "@strapi/strapi": "4.25.24", "@angular-devkit/build-angular": "17.3.17", "react-native": "0.74.7", "@expo/cli": "0.18.31", "@graphql-codegen/cli": "5.0.7", "@ionic/cli": "7.2.1", "@medusajs/medusa": "1.20.11", "sails": "1.5.18"}'

make_sbom() { # NAME DEPS_JSON
  local name=$1 deps=$2 dir="$cache/$1"
  if [ -s "$cache/$name.cdx.json" ]; then return; fi
  echo "sbom-diff bench: resolving the $name tree with npm (first run only; a few minutes)" >&2
  mkdir -p "$dir"
  printf '{"name": "bench-%s", "version": "1.0.0", "private": true, "dependencies": %s}\n' "$name" "$deps" >"$dir/package.json"
  (cd "$dir" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --legacy-peer-deps >/dev/null 2>"$cache/$name.npm.log" \
    && npm sbom --package-lock-only --legacy-peer-deps --sbom-format cyclonedx >"../$name.cdx.json.tmp" 2>>"../$name.npm.log")
  mv "$cache/$name.cdx.json.tmp" "$cache/$name.cdx.json"
}
if quick; then
  # Quick mode: a real pair from the corpus instead of two npm resolutions.
  old=$root/tests/corpus/sbom/pairs/juice-shop__v11.1.2.cdx-1.2.json
  new=$root/tests/corpus/sbom/pairs/juice-shop__v14.1.1.cdx-1.6.json
else
  make_sbom v1 "$v1_deps"
  make_sbom v2 "$v2_deps"
  old=$cache/v1.cdx.json
  new=$cache/v2.cdx.json
fi
n_old=$(jq '.components | length' "$old")
n_new=$(jq '.components | length' "$new")
echo "sbom-diff bench: $n_old → $n_new components ($(du -h "$old" | cut -f1), $(du -h "$new" | cut -f1))" >&2

sd=$BIN/sbom-diff
[ -x "$sd" ] || cargo build --release -p sbom-diff >&2

# The jq baseline: components keyed by purl without version; added, removed, version changed.
cat >"$cache/baseline.jq" <<'JQ'
def key: (.purl // ((.group // "") + "/" + .name)) | split("?")[0] | split("#")[0] | sub("@[^@/]*$"; "");
def index: reduce (.components[] | {k: key, v: (.version // "")}) as $c ({}; .[$c.k] += [$c.v]);
($old[0] | index) as $o | ($new[0] | index) as $n
| {
    added: [$n | keys[] | select($o[.] == null)] | length,
    removed: [$o | keys[] | select($n[.] == null)] | length,
    changed: [$n | keys[] | select($o[.] != null and ($o[.] | sort) != ($n[.] | sort))] | length
  }
JQ

st=$(command -v sbom-tools || true)
[ -z "$st" ] && [ -x "$HOME/.cargo/bin/sbom-tools" ] && st=$HOME/.cargo/bin/sbom-tools
cdx=$(command -v cyclonedx || command -v cyclonedx-cli || true)

one_core=()
command -v taskset >/dev/null && one_core=(taskset -c 0)

cmds=(
  -n sbom-diff "${one_core[*]} $sd $old $new --format json"
  -n jq "${one_core[*]} jq -n --slurpfile old $old --slurpfile new $new -f $cache/baseline.jq"
  -n python "${one_core[*]} python3 tools/sbom-diff/tests/independent_diff.py $old $new"
)
if [ -n "$st" ]; then
  cmds+=(-n sbom-tools "${one_core[*]} $st diff $old $new -o json --no-config --offline -q")
else
  echo "sbom-diff bench: sbom-tools not found (cargo install sbom-tools; scripts/setup.sh --bench): not compared" >&2
fi
if [ -n "$cdx" ]; then
  cmds+=(-n cyclonedx-cli "${one_core[*]} $cdx diff $old $new --component-versions --output-format json")
else
  echo "sbom-diff bench: cyclonedx-cli not found (a .NET tool, no Debian package): not compared" >&2
fi

hyperfine -N "${HF_RUNS[@]}" --style basic \
  --export-json "$out/sbom-diff.json" --export-markdown "$out/sbom-diff.md" "${cmds[@]}" >&2

# What each tool found, for the record (not timed).
{
  echo "sbom-diff: $("$sd" "$old" "$new" --format json | jq -c .data.counts)"
  echo "jq:        $(jq -n -c --slurpfile old "$old" --slurpfile new "$new" -f "$cache/baseline.jq")"
  echo "python:    $(python3 tools/sbom-diff/tests/independent_diff.py "$old" "$new")"
  if [ -n "$st" ]; then
    echo "sbom-tools: $("$st" diff "$old" "$new" -o json --no-config --offline -q 2>/dev/null | jq -c .summary.components)"
  fi
} | tee "$out/sbom-diff.findings.txt" >&2

jq -r '
  (.results[] | select(.command == "sbom-diff") | .mean) as $ours
  | .results[]
  | "\(.command): \(.mean * 1000 | . * 10 | round / 10) ms"
    + (if .command == "sbom-diff" then "" else "  (sbom-diff is \(.mean / $ours * 10 | round / 10)× faster)" end)
' "$out/sbom-diff.json"
