#!/usr/bin/env bash
# Screenshots of the release page for the README: docs/images/release-page-<release>.png for
# each demo release, from out/demo/<release>/ (run `make demo` first). Uses the release's
# report.html when the pipeline wrote one, else renders it with `evidence-pack report` (from
# the release's evidence.zip when there is one);
# headless chromium (scripts/setup.sh installs it) with the network blocked, fixed size.
#
#   scripts/report-screenshots.sh            # both demo releases
#   OUT=out/demo scripts/report-screenshots.sh release
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-out/demo}
SIZE=${SIZE:-1280,2400}
# The newer of the release and debug builds (a stale one may predate `report`).
ep=target/release/evidence-pack
if [ ! -x "$ep" ] || [ target/debug/evidence-pack -nt "$ep" ]; then ep=target/debug/evidence-pack; fi
[ -x "$ep" ] || { echo "report-screenshots: no evidence-pack binary: cargo build -p evidence-pack" >&2; exit 2; }
command -v chromium >/dev/null || { echo "report-screenshots: chromium is missing: run scripts/setup.sh" >&2; exit 2; }

releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(release bad-release)
for rel in "${releases[@]}"; do
  dir=$OUT/$rel
  [ -d "$dir" ] || { echo "report-screenshots: $dir is missing: run make demo first" >&2; exit 2; }
  page=$dir/report.html
  if [ ! -f "$page" ] && [ -s "$dir/evidence.zip" ]; then
    "$ep" report --pack "$dir/evidence.zip" -o "$page" --format json -q >/dev/null
  elif [ ! -f "$page" ]; then
    "$ep" report --reports "$dir" --release "$rel" -o "$page" --format json -q >/dev/null
  fi
  profile=$(mktemp -d)
  png=docs/images/release-page-$rel.png
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server=127.0.0.1:9 \
    --hide-scrollbars --user-data-dir="$profile" --window-size="$SIZE" \
    --screenshot="$png" "file://$(realpath "$page")" >/dev/null 2>&1
  rm -rf "$profile"
  echo "$png ($(wc -c <"$png") bytes) from $page"
done
