# shellcheck shell=bash
# Stage 90, evidence-pack: the promotion decision over every report the earlier stages
# wrote (GATE_POLICY), then a signed evidence pack of those reports and the release's
# inputs — built whatever the decision (the evidence of a blocked release is worth
# keeping) — verified by evidence-pack (and its gate re-run, for a promoted release) and,
# independently, by openssl over the DSSE pre-authentication encoding.
#
# Environment (scripts/release-gate.sh): REL, BIN, EX, OUT, GATE_POLICY, GATE_VERSION,
# optional GATE_SIGNING_KEY (else a throwaway pair in $OUT/keys); `summary`, `expect_exit`,
# `result_of` from scripts/lib/demo.sh. A report missing because an earlier stage did not
# run blocks the release: that is the gate working, not the script breaking.

ep="$BIN/evidence-pack"
dir="$OUT/$REL"
policy="$GATE_POLICY"
mkdir -p "$dir"
# What the example expects: the good release promotes, the bad one is blocked, a canary
# with faults is rolled back (expect_exit checks the exit code; release-gate.sh --expect
# checks the decision).
want=0
{ [ "$REL" = bad-release ] || [ -n "${GATE_CANARY_FAULTS:-}" ]; } && want=1

# Gate over every report of the run (the directory), before adding our own to it. The
# decision is appended to $OUT/audit.jsonl, hash-chained across the releases of the run.
gate_args=(--release "$GATE_VERSION" --environment "$GATE_ENV" --audit "$OUT/audit.jsonl")
gate_json="$dir/evidence-pack-gate.json.tmp"
expect_exit "$want" "$ep" gate --policy "$policy" "${gate_args[@]}" "$dir" --format json -q >"$gate_json"
# The same rule in Rego (examples/policies/promote.rego) must come to the same decision over
# the same reports.
rego=${GATE_REGO_POLICY:-$EX/policies/promote.rego}
rego_json="$dir/evidence-pack-gate-rego.json.tmp"
if [ -f "$rego" ]; then
  expect_exit "$want" "$ep" gate --policy "$rego" "${gate_args[@]}" \
    "$dir" --format json -q >"$rego_json"
fi
mv "$gate_json" "$dir/evidence-pack-gate.json"
if [ -s "$rego_json" ]; then
  mv "$rego_json" "$dir/evidence-pack-gate-rego.json"
  yaml_decision=$(jq -r '.data.decision // "error"' "$dir/evidence-pack-gate.json")
  rego_decision=$(jq -r '.data.decision // "error"' "$dir/evidence-pack-gate-rego.json")
  summary "$REL" "evidence-pack (rego)" "$(result_of "$dir/evidence-pack-gate-rego.json")" "$rego: $rego_decision"
  if [ "$yaml_decision" != "$rego_decision" ]; then
    echo "release-gate: $policy says $yaml_decision, $rego says $rego_decision" >&2
    echo "[$REL] YAML and Rego policies disagree: $yaml_decision vs $rego_decision" >>"$OUT/unexpected.txt"
  fi
else
  rm -f "$rego_json"
fi
decision=$(jq -r '.data.decision // "error"' "$dir/evidence-pack-gate.json")
# Why, in two lists: the gates that said no (or whose figure does not hold) and the
# reports that are missing or stale.
reason=$(jq -r '[(.data.reasons // [])[] | select(.waived_by == null)] as $r
  | ([(.data.figures // [])[] | select(.status == "missing") | "\(.agent) \(.action // "")"]) as $nofig
  | ([$r[] | select(.kind == "result" or .kind == "figure") | "\(.agent) \(.action // "")"] | unique - $nofig) as $failed
  | ([$r[] | select(.kind != "result" and .kind != "figure") | "\(.agent) \(.action // "")"] + $nofig | unique - $failed) as $missing
  | [if ($failed | length) > 0 then "failed: " + ($failed | join(", ")) else empty end,
     if ($missing | length) > 0 then "missing: " + ($missing | join(", ")) else empty end] | join("; ")' \
  "$dir/evidence-pack-gate.json")
reports=$(jq -r '.data.reports // 0' "$dir/evidence-pack-gate.json")
summary "$REL" evidence-pack "$(result_of "$dir/evidence-pack-gate.json")" "$reports reports gated"
echo "evidence-pack: $REL: $decision${reason:+ — $reason}" >&2

key=${GATE_SIGNING_KEY:-}
if [ -n "$key" ]; then
  pub="$dir/signing-key.pub"
  openssl pkey -in "$key" -pubout -out "$pub"
else
  # A throwaway pair for the whole run, made once.
  keys="$OUT/keys"
  [ -s "$keys/gatehouse.key" ] || expect_exit 0 "$ep" keygen --out-dir "$keys" --force --format json -q >/dev/null
  key="$keys/gatehouse.key" pub="$keys/gatehouse.pub"
fi

pack="$dir/evidence.zip"
# Times inside the pack come from the commit, never the clock: rebuilding gives the same
# bytes. build exits 1 when the decision is not promote, and writes the pack anyway.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 1795514400)
expect_exit "$want" env SOURCE_DATE_EPOCH="$epoch" "$ep" build --release "$GATE_VERSION" --key "$key" \
  --policy "$policy" --reports "$dir" --artifact "$EX/$REL" \
  -o "$pack" --report "$dir/evidence-pack-build.json" --format json -q >/dev/null
if [ "$decision" = promote ]; then
  expect_exit 0 "$ep" verify "$pack" --key "$pub" --policy "$policy" \
    --report "$dir/evidence-pack-verify.json" --format json -q >/dev/null
else
  expect_exit 0 "$ep" verify "$pack" --key "$pub" --report "$dir/evidence-pack-verify.json" --format json -q >/dev/null
fi

# The release page: one self-contained HTML file from the pack.
if [ -s "$pack" ]; then
  expect_exit 0 "$ep" report --pack "$pack" -o "$dir/report.html" --format json -q >/dev/null
  echo "evidence-pack: $REL: release page $dir/report.html" >&2
fi

# Independent check: openssl verifies the DSSE signature over PAE(payloadType, payload).
openssl_ok=no
if [ -s "$pack" ]; then
  tmp=$(mktemp -d)
  unzip -p "$pack" attestation.dsse.json >"$tmp/envelope.json"
  jq -r .payload "$tmp/envelope.json" | base64 -d >"$tmp/payload"
  jq -r '.signatures[0].sig' "$tmp/envelope.json" | base64 -d >"$tmp/sig"
  ptype=$(jq -r .payloadType "$tmp/envelope.json")
  { printf 'DSSEv1 %d %s %d ' "${#ptype}" "$ptype" "$(wc -c <"$tmp/payload")"; cat "$tmp/payload"; } >"$tmp/pae"
  digest=()
  openssl pkey -pubin -in "$pub" -noout -text 2>/dev/null | grep -q '^ED25519' || digest=(-digest sha256)
  if openssl pkeyutl -verify -pubin -inkey "$pub" -rawin "${digest[@]}" -in "$tmp/pae" -sigfile "$tmp/sig" >/dev/null 2>&1; then
    openssl_ok=yes
  fi
  rm -rf "$tmp"
fi
if [ "$openssl_ok" != yes ]; then
  echo "release-gate: openssl could not verify the evidence pack's DSSE signature" >&2
  echo "[$REL] openssl pkeyutl -verify (evidence pack)" >>"$OUT/unexpected.txt"
fi
sha=$(jq -r '.data.sha256 // "?"' "$dir/evidence-pack-build.json" 2>/dev/null || echo "?")
summary "$REL" decision "$decision" "${reason:+$reason; }evidence.zip sha256 ${sha:0:12}…, verified (evidence-pack: $(result_of "$dir/evidence-pack-verify.json"), openssl: $openssl_ok)"
