# shellcheck shell=bash
# Stage 30, migration-gate: lint both releases' migrations (no database), then dry-run them
# on a throwaway copy of a seeded database in $DEMO_PG_URL: the release (expand steps only)
# passes; the bad release fails on a blocking CREATE INDEX (SHARE lock on orders for the
# whole build) and an int -> bigint change (ACCESS EXCLUSIVE + rewrite), and shows the locks.
#
# Environment (scripts/demo.sh): BIN, EX, OUT, DEMO_PG_URL; `summary`, `expect_exit`,
# `result_of`, `step` from scripts/lib/demo.sh.

mg="$BIN/migration-gate"
mkdir -p "$OUT/release" "$OUT/bad-release"
psql_bin="${PG_BIN:-$(pg_config --bindir)}/psql"
db="gatehouse_shop"
base_url="${DEMO_PG_URL%/*}"
shop_url="$base_url/$db"

# The database as production looks before release 2.4: migrations 0001-0003 and
# golang-migrate's schema_migrations table, 2,000 customers, 20,000 orders, 40,000 items.
step "migration-gate: seeding $db"
"$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$DEMO_PG_URL" \
  -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
for f in "$EX"/release/migrations/000[123]_*.up.sql "$EX/release/migration-gate-seed.sql"; do
  "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$shop_url" -f "$f" >/dev/null
done

for rel in release bad-release; do
  want=0
  [ "$rel" = bad-release ] && want=1
  step "migration-gate lint $EX/$rel/migrations"
  expect_exit "$want" "$mg" lint "$EX/$rel/migrations" --report "$OUT/$rel/migration-gate-lint.json" \
    --format text -q >&2
  hazards=$(jq -r '.data.counts.fail // 0' "$OUT/$rel/migration-gate-lint.json" 2>/dev/null || echo "?")
  summary "$rel" "migration-gate lint" "$(result_of "$OUT/$rel/migration-gate-lint.json")" "$hazards hazards"

  step "migration-gate dry-run --with-load 2 $EX/$rel/migrations"
  expect_exit "$want" "$mg" dry-run --database-url "$shop_url" --with-load 2 "$EX/$rel/migrations" \
    --report "$OUT/$rel/migration-gate-dry-run.json" --format text -q >&2
  figure=$(jq -r '
    ([.data.statements[]?
      | (.locks | map(select(.mode | test("^(Share|ShareRowExclusive|Exclusive|AccessExclusive)Lock$")) | select(.relation | test("_(pkey|idx|key)$") | not)
                | "\(.mode | sub("Lock$"; "")) \(.relation)")) + (.rewrites | map("rewrite " + .))
      | .[]] | unique | join(", ")) as $locks
    | "\(.data.applied | length) migrations applied; longest blocked session \(.data.load.longest_blocked_ms // 0 | floor) ms\(if $locks != "" then "; " + $locks else "" end)"' \
    "$OUT/$rel/migration-gate-dry-run.json" 2>/dev/null || echo "?")
  summary "$rel" "migration-gate dry-run" "$(result_of "$OUT/$rel/migration-gate-dry-run.json")" "$figure"
done

"$psql_bin" -X -q -d "$DEMO_PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
