# The whole release train on the good release, against a throwaway PostgreSQL: every gate's
# report into one JSON Lines file, the promotion decision, then a signed evidence pack that
# verifies, and fails to verify once one byte of it changes.
cd "$ROOT"
source scripts/lib/pg.sh
pg_start
psql_bin="$PG_BIN/psql"
shop="${PG_URL%/*}/shop"
"$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$PG_URL" -c "CREATE DATABASE shop" >/dev/null
for f in examples/release/migrations/000[123]_*.up.sql examples/release/migration-gate-seed.sql; do
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$shop" -f "$f" >/dev/null
done

r="$TMP/reports.jsonl"
# The static half of the train (four gates, no live service): gated by the four-gate policy
# that examples/release/promote.yaml was before it grew to the seed's whole rule. The whole
# rule over all the gates is tests/release-gate.test.sh.
policy=tools/evidence-pack/tests/fixtures/promote-four.yaml
"$BIN/alert-lint" check --root . examples/release/rules/ --format json >>"$r"
"$BIN/sbom-diff" examples/release/sbom-v1.cdx.json examples/release/sbom-v2.cdx.json \
  --budget examples/release/sbom-budget.yaml --format json >>"$r"
"$BIN/migration-gate" lint examples/release/migrations --format json >>"$r"
"$BIN/migration-gate" dry-run --database-url "$shop" examples/release/migrations --format json >>"$r" 2>"$TMP/dry-run.err"
# The password of the database URL appears nowhere.
password=$(sed -n 's#^postgres://postgres:\([^@]*\)@.*#\1#p' <<<"$PG_URL")
if grep -q "$password" "$r" "$TMP/dry-run.err"; then echo "password leaked" >&2; exit 1; fi

"$BIN/evidence-pack" gate --policy "$policy" "$r" --format json >"$TMP/gate.json"
[ "$(jq -r .data.decision "$TMP/gate.json")" = promote ]

"$BIN/evidence-pack" keygen --out-dir "$TMP/keys" --format json >/dev/null
SOURCE_DATE_EPOCH=1795514400 "$BIN/evidence-pack" build --release v2.4.0 --key "$TMP/keys/gatehouse.key" \
  --reports "$r" --artifact examples/release/sbom-v2.cdx.json -o "$TMP/evidence.zip" --format json >/dev/null
"$BIN/evidence-pack" verify "$TMP/evidence.zip" --key "$TMP/keys/gatehouse.pub" \
  --policy "$policy" --format json >"$TMP/verify.json"
[ "$(jq -r .result "$TMP/verify.json")" = ok ]

# One changed byte inside the pack: verify names what broke and exits 1 or 2, never 0.
cp "$TMP/evidence.zip" "$TMP/tampered.zip"
size=$(stat -c %s "$TMP/tampered.zip")
printf 'X' | dd of="$TMP/tampered.zip" bs=1 seek=$((size / 2)) conv=notrunc status=none
status=0
"$BIN/evidence-pack" verify "$TMP/tampered.zip" --key "$TMP/keys/gatehouse.pub" --format json >"$TMP/tampered.json" 2>/dev/null || status=$?
[ "$status" != 0 ]
