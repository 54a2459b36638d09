# shellcheck shell=bash
# Stage 90, evidence-pack: the promotion decision over every report the earlier stages
# wrote, then — for the good release — a signed evidence pack, verified by evidence-pack
# and, independently, by openssl over the DSSE pre-authentication encoding.
#
# Environment (scripts/demo.sh): BIN, EX, OUT; `summary` and `expect_exit` from
# scripts/lib/demo.sh. A report missing because an earlier stage did not run blocks the
# release: that is the gate working, not the demo breaking.

ep="$BIN/evidence-pack"

for rel in release bad-release; do
  dir="$OUT/$rel"
  # Each release may carry its own policy (the bad release's has an expired waiver).
  policy="$EX/$rel/promote.yaml"
  [ -f "$policy" ] || policy="$EX/release/promote.yaml"
  mkdir -p "$dir"
  want=0
  [ "$rel" = bad-release ] && want=1
  # Gate over every report of the run (the directory), before adding our own to it.
  gate_json="$dir/evidence-pack-gate.json.tmp"
  expect_exit "$want" "$ep" gate --policy "$policy" "$dir" --format json -q >"$gate_json"
  mv "$gate_json" "$dir/evidence-pack-gate.json"
  decision=$(jq -r '.data.decision // "error"' "$dir/evidence-pack-gate.json")
  reason=$(jq -r '[(.data.reasons // [])[] | select(.waived_by == null) | "\(.agent) \(.action)"] | unique
    | if length > 0 then "blocked by " + join(", ") else "" end' "$dir/evidence-pack-gate.json")
  reports=$(jq -r '.data.reports // 0' "$dir/evidence-pack-gate.json")
  summary "$rel" evidence-pack "$(result_of "$dir/evidence-pack-gate.json")" "$reports reports gated"
  echo "evidence-pack: $rel: $decision${reason:+ — $reason}" >&2

  if [ "$rel" = release ]; then
    keys="$OUT/keys"
    rm -rf "$keys"
    expect_exit 0 "$ep" keygen --out-dir "$keys" --format json -q >/dev/null
    pack="$OUT/$rel/evidence.zip"
    # Times inside the pack come from the commit, never the clock: rebuilding gives the
    # same bytes.
    epoch=$(git log -1 --format=%ct 2>/dev/null || echo 1795514400)
    expect_exit 0 env SOURCE_DATE_EPOCH="$epoch" "$ep" build --release v3.0.0 --key "$keys/gatehouse.key" \
      --policy "$policy" --reports "$dir" --artifact "$EX/release" \
      -o "$pack" --report "$dir/evidence-pack-build.json" --format json -q >/dev/null
    expect_exit 0 "$ep" verify "$pack" --key "$keys/gatehouse.pub" --policy "$policy" \
      --report "$dir/evidence-pack-verify.json" --format json -q >/dev/null

    # Independent check: openssl verifies the DSSE signature over PAE(payloadType, payload).
    tmp=$(mktemp -d)
    unzip -p "$pack" attestation.dsse.json >"$tmp/envelope.json"
    jq -r .payload "$tmp/envelope.json" | base64 -d >"$tmp/payload"
    jq -r '.signatures[0].sig' "$tmp/envelope.json" | base64 -d >"$tmp/sig"
    ptype=$(jq -r .payloadType "$tmp/envelope.json")
    { printf 'DSSEv1 %d %s %d ' "${#ptype}" "$ptype" "$(wc -c <"$tmp/payload")"; cat "$tmp/payload"; } >"$tmp/pae"
    openssl_ok=no
    if openssl pkeyutl -verify -pubin -inkey "$keys/gatehouse.pub" -rawin -in "$tmp/pae" -sigfile "$tmp/sig" >/dev/null 2>&1; then
      openssl_ok=yes
    else
      echo "demo: openssl could not verify the evidence pack's DSSE signature" >&2
      echo "openssl pkeyutl -verify (evidence pack)" >>"$OUT/unexpected.txt"
    fi
    rm -rf "$tmp"
    sha=$(jq -r '.data.sha256 // "?"' "$dir/evidence-pack-build.json")
    summary "$rel" decision "$decision" "evidence.zip sha256 ${sha:0:12}…, verified (evidence-pack: $(result_of "$dir/evidence-pack-verify.json"), openssl: $openssl_ok)"
  else
    summary "$rel" decision "$decision" "$reason"
  fi
done
