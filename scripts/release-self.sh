#!/usr/bin/env bash
# Gatehouse's own release through Gatehouse's own gate (issue 20):
#
#   build     the tools, statically linked, each carrying its dependency list (cargo auditable)
#   image     localhost/gatehouse:<version> and :dev FROM scratch, within MAX_IMAGE_MB
#   smoke     every tool's --version inside the image, non-root, read-only root filesystem
#   sboms     CycloneDX per binary and for the workspace (cargo cyclonedx), the image's (syft)
#   gate      sbom-diff against the previous release (release/sbom-budget.yaml), alert-lint
#             over the chart's PrometheusRules rendered with the image pinned by digest,
#             SLSA provenance for the image digest and every binary (evidence-pack provenance)
#   pack      evidence-pack gate / build / verify with release/promote-self.yaml
#
# The gate runs the binaries this release just built (they are static: they run here too).
#
#   scripts/release-self.sh [--out DIR] [--rev REV] [--key FILE] [--previous-sbom DIR] [--pin-chart]
#
#   --out DIR            where everything goes (default out/self-release)
#   --rev REV            the commit or tag to release (default HEAD); the working tree is
#                        never built, so uncommitted changes are not part of a release
#   --key FILE           the signing key (PKCS#8 PEM); its public half FILE.pub or the
#                        .pub beside it. Without it a key pair is made in DIR/keys (a dry run:
#                        nobody trusts that key). Encrypted keys: GATEHOUSE_KEY_PASSWORD.
#   --previous-sbom DIR  the previous release's image.cdx.json and workspace.cargo.cdx.json
#                        (default: what the last successful run kept in DIR-previous/, else
#                        none: on a first release every component counts as added and is judged)
#   --pin-chart          also write the image's tag and digest into charts/gatehouse/values.yaml
#
# Exit: 0 released (the pack verifies and the gate promotes); 1 the gate says no; 2 broken.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/out/self-release"
key="" prev_sbom="" pin_chart=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --key) key=$2; shift 2 ;;
    --previous-sbom) prev_sbom=$2; shift 2 ;;
    --pin-chart) pin_chart=1; shift ;;
    --rev) export GH_REV=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "release-self: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
keep="${out}-previous"

GH_ROOT="$root"
# shellcheck source=lib/image.sh
source "$root/scripts/lib/image.sh"

started=$(date +%s)
step() { printf '\033[1m==> %s\033[0m (%ss)\n' "$*" "$(($(date +%s) - started))" >&2; }
die() { echo "release-self: $*" >&2; exit 2; }

step "setup (scripts/setup.sh --release)"
"$root/scripts/setup.sh" --release
export PATH="$root/.tools/cargo/bin:$root/.tools/venv/bin:$PATH"
gh_need podman jq git openssl syft cargo-cyclonedx || exit 2

commit=$(git -C "$root" rev-parse --verify "${GH_REV:-HEAD}^{commit}") || die "no commit ${GH_REV:-HEAD}"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct "$commit")}
version=$(gh_version)
rel="v$version"
# The release is the commit: everything below reads its tree ($GH_SRC), never the
# working tree, so uncommitted changes are simply not part of it.
gh_snapshot || die "cannot unpack the tree of $commit"
src="$GH_SRC"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  echo "release-self: uncommitted changes in the checkout are not part of this release (it builds $commit)" >&2
fi
rm -rf "$out/bin" "$out/sbom" "$out/reports" "$out/chart" "$out/sbom-none" "$out/sbom-diff.md"
mkdir -p "$out/sbom" "$out/reports" "$out/chart"

step "build: static, auditable release binaries"
gh_build_bins "$out/bin" || die "the build failed"
mapfile -t tools < <(gh_tools)
ep="$out/bin/evidence-pack"

step "image: $GH_REPO:$version FROM scratch"
gh_build_image "$out/bin" "$GH_REPO:$version" "$GH_REPO:dev" || exit $?
digest=$(gh_image_digest "$GH_REPO:$version")
echo "$GH_REPO:$version $digest" >"$out/image.txt"

step "smoke: every tool's --version in the image (non-root, read-only)"
for t in "${tools[@]}"; do
  gh_podman run --rm --read-only --network none --user 65532:65532 "$GH_REPO:$version" "$t" --version \
    >>"$out/versions.txt" || die "$t --version failed in the image"
done

step "sboms: cargo cyclonedx (per binary, workspace), syft (binaries, image)"
# cargo cyclonedx writes beside each Cargo.toml: in HEAD's tree, never in the checkout.
find "$src/tools" "$src/examples" -maxdepth 2 -name '*_bin.cdx.json' -delete
(cd "$src" && CARGO_NET_OFFLINE=true cargo cyclonedx --format json --spec-version 1.5 \
  --describe binaries --target "$GH_TRIPLE" -q) || die "cargo cyclonedx failed"
for t in "${tools[@]}"; do
  f=$(find "$src/tools" -maxdepth 2 -name "${t}_bin.cdx.json" | head -n 1)
  [ -n "$f" ] || die "cargo cyclonedx wrote no SBOM for $t"
  mv "$f" "$out/sbom/$t.cargo.cdx.json"
done
# The workspace's: every binary's components once (by purl), licences included.
jq -s --arg v "$version" '{bomFormat: "CycloneDX", specVersion: "1.5", version: 1,
    metadata: {component: {type: "application", name: "gatehouse", version: $v,
      "bom-ref": "gatehouse-workspace"}},
    components: ([.[].components[]] | unique_by(.purl) | sort_by(.purl))}' \
  "$out"/sbom/*.cargo.cdx.json >"$out/sbom/workspace.cargo.cdx.json"
find "$src/tools" "$src/examples" -maxdepth 2 -name '*_bin.cdx.json' -delete
gh_podman save -q --format oci-archive -o "$out/image.oci.tar" "$GH_REPO:$version" >/dev/null
syft -q "oci-archive:$out/image.oci.tar" -o "cyclonedx-json=$out/sbom/image.cdx.json" \
  || die "syft over the image failed"
rm -f "$out/image.oci.tar"
for t in "${tools[@]}"; do
  jq -e --arg t "$t" 'any(.components[]; .name == $t)' "$out/sbom/image.cdx.json" >/dev/null \
    || die "the image's SBOM does not list $t"
done

step "gate: sbom-diff against the previous release (image, then workspace with licences)"
if [ -z "$prev_sbom" ] && [ -d "$keep" ]; then prev_sbom="$keep"; fi
if [ -z "$prev_sbom" ]; then
  prev_sbom="$out/sbom-none"
  mkdir -p "$prev_sbom"
  for f in image.cdx.json workspace.cargo.cdx.json; do
    printf '{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[]}\n' >"$prev_sbom/$f"
  done
  echo "release-self: no previous release SBOMs: every component counts as added" >&2
fi
[ -f "$prev_sbom/image.cdx.json" ] && [ -f "$prev_sbom/workspace.cargo.cdx.json" ] \
  || die "$prev_sbom: expected image.cdx.json and workspace.cargo.cdx.json of the previous release"
# Both must pass; the gate reads the newest sbom-diff report, the workspace's (the one that
# carries licences), so the image's runs first.
sbom_fail=0
for f in image.cdx.json workspace.cargo.cdx.json; do
  rc=0
  "$out/bin/sbom-diff" "$prev_sbom/$f" "$out/sbom/$f" --budget "$src/release/sbom-budget.yaml" \
    --report "$out/reports/sbom-diff-${f%%.*}.json" --format markdown -q >>"$out/sbom-diff.md" || rc=$?
  [ "$rc" -le 1 ] || die "sbom-diff could not judge $f (see $out/reports/sbom-diff-${f%%.*}.json)"
  [ "$rc" = 0 ] || sbom_fail=1
done

step "gate: alert-lint over the chart's PrometheusRules (image pinned by digest)"
cat >"$out/chart/values-image.yaml" <<EOF
# Written by scripts/release-self.sh: the image this release built, pinned by digest.
image:
  repository: $GH_REPO
  tag: "$version"
  digest: "$digest"
EOF
helm="$root/.tools/helm/helm/helm"
[ -x "$helm" ] || die "helm is missing: run scripts/setup.sh"
# ci/all-values.yaml: every part of the chart on (its own lint values), then our image.
chart_values=(-f "$src/charts/gatehouse/ci/all-values.yaml" -f "$out/chart/values-image.yaml")
"$helm" template gatehouse "$src/charts/gatehouse" "${chart_values[@]}" \
  >"$out/chart/rendered.yaml" || die "helm template failed"
grep -q "$digest" "$out/chart/rendered.yaml" || die "the rendered chart does not run $digest"
"$helm" template gatehouse "$src/charts/gatehouse" "${chart_values[@]}" \
  --show-only templates/prometheusrule.yaml >"$out/chart/prometheusrule.yaml" \
  || die "the chart renders no PrometheusRule"
rc=0
"$out/bin/alert-lint" check "$out/chart/prometheusrule.yaml" --report "$out/reports/alert-lint-check.json" \
  -q >/dev/null || rc=$?
[ "$rc" -le 1 ] || die "alert-lint could not judge (see $out/reports/alert-lint-check.json)"

step "gate: SLSA provenance for $digest and ${#tools[@]} binaries"
if [ -z "$key" ]; then
  "$ep" keygen --out-dir "$out/keys" --force -q >/dev/null
  key="$out/keys/gatehouse.key"
  echo "release-self: no --key: signed with a key made for this run ($out/keys); a dry run" >&2
fi
pub="${key%.key}.pub"
[ -f "$pub" ] || pub="$key.pub"
[ -f "$pub" ] || die "no public key beside $key (tried ${key%.key}.pub and $key.pub)"
pw=()
[ -z "${GATEHOUSE_KEY_PASSWORD:-}" ] || pw=(--key-password-env GATEHOUSE_KEY_PASSWORD)
subjects=()
for t in "${tools[@]}"; do subjects+=(--subject "$out/bin/$t"); done
"$ep" provenance --key "$key" "${pw[@]}" -o "$out/provenance.intoto.json" \
  --builder-id "https://gatehouse.dev/scripts/release-self.sh@$(hostname -s 2>/dev/null || echo local)" \
  --source-uri https://github.com/gatehouse-dev/gatehouse --source-commit "$commit" \
  --build-command "scripts/release-self.sh (cargo auditable build --release --locked --target $GH_TRIPLE; podman build -f Containerfile)" \
  --build-type https://gatehouse.dev/release-self/v1 \
  --parameter "rustflags=$(gh_rustflags | sed "s|$root|<checkout>|; s|${CARGO_HOME:-$HOME/.cargo}|<cargo-home>|")" \
  --parameter "opt_level=$CARGO_PROFILE_RELEASE_OPT_LEVEL" \
  --parameter "rustc=$(rustc --version)" \
  --material "$src/Cargo.lock" --material "$src/Containerfile" \
  "${subjects[@]}" --subject-digest "$GH_REPO:$version=$digest" \
  --report "$out/reports/evidence-pack-provenance.json" -q >/dev/null \
  || die "provenance failed (see $out/reports/evidence-pack-provenance.json)"

step "pack: evidence-pack gate / build / verify"
policy="$src/release/promote-self.yaml"
gate=0
"$ep" gate --policy "$policy" "$out/reports" --format text >"$out/gate.txt" || gate=$?
[ "$gate" -le 1 ] || die "evidence-pack gate could not judge: $(cat "$out/gate.txt")"
pack="$out/gatehouse-$rel.evidence.zip"
build=0
"$ep" build --release "$rel" --key "$key" "${pw[@]}" --policy "$policy" \
  --reports "$out/reports" --artifact "$out/sbom" --artifact "$out/provenance.intoto.json" \
  --artifact "$out/chart/values-image.yaml" --artifact "$out/image.txt" \
  --artifact "$out/versions.txt" --compression best -o "$pack" \
  --report "$out/evidence-pack-build.json" -q >/dev/null || build=$?
[ "$build" -le 1 ] || die "evidence-pack build failed (see $out/evidence-pack-build.json)"
verify=0
"$ep" verify "$pack" --key "$pub" --policy "$policy" --format text >"$out/verify.txt" || verify=$?
cat "$out/verify.txt" >&2
[ "$verify" -le 1 ] || die "evidence-pack verify could not judge"

if [ "$pin_chart" = 1 ] && [ "$gate" = 0 ]; then
  values="$root/charts/gatehouse/values.yaml"
  sed -i -E "0,/^  tag: \"[^\"]*\"/s//  tag: \"$version\"/; 0,/^  digest: \"[^\"]*\"/s//  digest: \"$digest\"/" "$values"
  echo "release-self: charts/gatehouse/values.yaml pins $GH_REPO:$version@$digest" >&2
fi
if [ "$gate" = 0 ] && [ "$verify" = 0 ] && [ "$sbom_fail" = 0 ]; then
  mkdir -p "$keep"
  cp "$out/sbom/image.cdx.json" "$out/sbom/workspace.cargo.cdx.json" "$keep/"
fi

elapsed=$(($(date +%s) - started))
echo "release-self: $rel ($commit) image $digest; gate $( [ "$gate" = 0 ] && echo promote || echo 'says no') ; pack $pack; verify $( [ "$verify" = 0 ] && echo ok || echo FAILED); ${elapsed}s" >&2
if [ "$verify" != 0 ] || [ "$sbom_fail" != 0 ]; then exit 1; fi
exit "$gate"
