# The release gate end to end (scripts/release-gate.sh, what `make demo` and the workflows
# run), against throwaway PostgreSQL, Redis and the sample service (v1 and a v2 canary):
#   - the good release promotes; its evidence pack verifies, also with openssl alone;
#     every report of the run carries the one trace of TRACEPARENT;
#   - the bad release is blocked, and the gate lists every gate that failed;
#   - the canary with its error knob on (30 % 500s) ends in `rollback`.
# Slow (a few minutes: every gate runs, load tests included).
cd "$ROOT"
source scripts/lib/pg.sh
export OUT="$TMP/out"
mkdir -p "$OUT"
pg_start
export DEMO_PG_URL="$PG_URL"
source examples/sample-service/demo-services.sh
svc_start

# --- the good release -----------------------------------------------------------------
trace=4bf92f3577b34da6a3ce929d0e0e4736
status=0
TRACEPARENT="00-$trace-00f067aa0ba902b7-01" scripts/release-gate.sh --bin "$BIN" --out "$OUT" \
  --version v2.4.0 --expect promote examples/release >"$TMP/release.log" 2>&1 || status=$?
if [ "$status" != 0 ]; then tail -n 40 "$TMP/release.log" >&2; exit 1; fi
dir="$OUT/release"
[ "$(jq -r .data.decision "$dir/evidence-pack-gate.json")" = promote ]
[ "$(jq -r .result "$dir/evidence-pack-verify.json")" = ok ]
# Every gate of the policy reported, and every report is in the one trace.
for r in alert-lint-check sbom-diff-diff migration-gate-lint migration-gate-dry-run perf-gate-run \
  perf-gate-headroom verify-goldens-run verify-goldens-slo verify-goldens-canary replayctl-lag replayctl-verify \
  evidence-pack-gate evidence-pack-build; do
  [ "$(jq -r .trace_id "$dir/$r.json")" = "$trace" ] || { echo "$r: not in trace $trace" >&2; exit 1; }
done
# The pack's signature, checked by openssl alone over the DSSE pre-authentication encoding.
unzip -p "$dir/evidence.zip" attestation.dsse.json >"$TMP/envelope.json"
jq -r .payload "$TMP/envelope.json" | base64 -d >"$TMP/payload"
jq -r '.signatures[0].sig' "$TMP/envelope.json" | base64 -d >"$TMP/sig"
ptype=$(jq -r .payloadType "$TMP/envelope.json")
{ printf 'DSSEv1 %d %s %d ' "${#ptype}" "$ptype" "$(wc -c <"$TMP/payload")"; cat "$TMP/payload"; } >"$TMP/pae"
openssl pkeyutl -verify -pubin -inkey "$OUT/keys/gatehouse.pub" -rawin -in "$TMP/pae" -sigfile "$TMP/sig" >/dev/null
# The signed statement recorded the promotion, and the manifest is the signed one.
[ "$(jq -r .predicate.gate.decision "$TMP/payload")" = promote ]
[ "$(jq -r '.subject[] | select(.name == "manifest.json") | .digest.sha256' "$TMP/payload")" \
  = "$(unzip -p "$dir/evidence.zip" manifest.json | sha256sum | cut -d' ' -f1)" ]
# One changed byte in the signed payload and openssl refuses it.
printf 'X' | dd of="$TMP/pae" bs=1 seek=40 conv=notrunc status=none
! openssl pkeyutl -verify -pubin -inkey "$OUT/keys/gatehouse.pub" -rawin -in "$TMP/pae" -sigfile "$TMP/sig" >/dev/null 2>&1

# --- the bad release --------------------------------------------------------------------
status=0
scripts/release-gate.sh --bin "$BIN" --out "$OUT" --version v2.4.0 examples/bad-release \
  >"$TMP/bad.log" 2>&1 || status=$?
[ "$status" = 1 ] || { tail -n 40 "$TMP/bad.log" >&2; echo "bad release: exit $status, want 1" >&2; exit 1; }
gate="$OUT/bad-release/evidence-pack-gate.json"
[ "$(jq -r .data.decision "$gate")" = block ]
# Every gate with a defect in the bad release is named, with why.
failed=$(jq -r '[.data.reasons[] | select(.waived_by == null) | "\(.agent) \(.action) \(.kind)"] | unique | .[]' "$gate")
for want in "alert-lint check result" "sbom-diff diff result" "migration-gate lint result" \
  "migration-gate dry-run result" "perf-gate run result" "perf-gate headroom result" \
  "perf-gate headroom figure" "verify-goldens run result" "replayctl lag result" "replayctl verify missing" \
  "dr-drill freshness result"; do
  grep -qx "$want" <<<"$failed" || { echo "bad release: no reason '$want' in:" >&2; echo "$failed" >&2; exit 1; }
done
# The expired waiver waives nothing, and says so.
jq -e '[.data.waivers[] | select(.status == "expired")] | length == 1' "$gate" >/dev/null
# The one-screen summary names them too.
line=$(grep '^  decision: block  failed: ' "$TMP/bad.log")
for gate in "alert-lint check" "sbom-diff diff" "migration-gate lint" "migration-gate dry-run" "perf-gate run" \
  "perf-gate headroom" "verify-goldens run" "replayctl lag" "dr-drill freshness"; do
  grep -q "failed: .*$gate" <<<"$line" || { echo "bad release: the summary does not name $gate: $line" >&2; exit 1; }
done
grep -q "missing: .*replayctl verify" <<<"$line"
# The evidence of a blocked release is kept, signed, and records the block.
[ "$(jq -r .result "$OUT/bad-release/evidence-pack-verify.json")" = ok ]
unzip -p "$OUT/bad-release/evidence.zip" attestation.dsse.json | jq -r .payload | base64 -d \
  | jq -e '.predicate.gate.decision == "block"' >/dev/null

# --- a canary with its error knob on --------------------------------------------------
status=0
scripts/release-gate.sh --bin "$BIN" --out "$OUT/canary" --only verify-goldens \
  --canary-faults '{"error_rate": {"*": 0.3}}' examples/release >"$TMP/canary.log" 2>&1 || status=$?
[ "$status" = 1 ] || { tail -n 40 "$TMP/canary.log" >&2; echo "canary: exit $status, want 1" >&2; exit 1; }
[ "$(jq -r .data.decision "$OUT/canary/release/verify-goldens-canary.json")" = rollback ]
[ "$(jq -r .data.decision "$OUT/canary/release/evidence-pack-gate.json")" = rollback ]
# The knob is off again: the canary answers.
[ "$(curl -s -o /dev/null -w '%{http_code}' "$SAMPLE_V2_URL/healthz")" = 200 ]
