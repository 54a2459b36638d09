#!/usr/bin/env bash
# migration-gate's benchmarks, each against its peer in the same hyperfine run:
#  1. `lint` over the whole migrations corpus (1,326 files) vs squawk over the same files;
#  2. `dry-run` over examples/release/migrations vs the same work with psql alone (copy the
#     database from its template, apply the pending files, drop the copy), on a throwaway
#     PostgreSQL seeded with examples/release/migration-gate-seed.sql.
# Results: out/bench/migration-gate-lint.{json,md} and out/bench/migration-gate-dry-run.{json,md}.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
BIN="${BIN:-target/release}"
corpus="${CORPUS:-$root/tests/corpus/migrations}"
source scripts/lib/bench.sh
hf_runs 2 10
[ -x "$BIN/migration-gate" ] || cargo build --release -q -p migration-gate
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing; run scripts/setup.sh" >&2; exit 1; }
mg="$root/$BIN/migration-gate"
[ -x "$mg" ] || mg="$BIN/migration-gate"

# --- 1. lint vs squawk ---------------------------------------------------------------------
squawk="$root/.tools/node/node_modules/@squawk-cli/linux-x64/bin/squawk"
[ -x "$squawk" ] || squawk="$root/.tools/node/node_modules/.bin/squawk"
if [ -x "$squawk" ]; then
  # Two crates.io directories have spaces in their names: quote every path for the shell
  # hyperfine runs the commands in (it subtracts the shell's own start-up time).
  mapfile -t file_list < <(cd "$corpus" && find lemmy crates.io supabase-auth squawk -name '*.sql' | sort)
  files=$(printf '%q ' "${file_list[@]}")
  echo "bench: lint over ${#file_list[@]} corpus files vs $("$squawk" --version)" >&2
  # Both exit 1 on this corpus (findings); -i ignores that. migration-gate gets the four
  # project directories (it finds and orders the files itself), squawk the file list.
  (cd "$corpus" && hyperfine "${HF_RUNS[@]}" -i \
    --export-json "$BENCH_OUT/migration-gate-lint.json" --export-markdown "$BENCH_OUT/migration-gate-lint.md" \
    -n "migration-gate lint" "$mg lint --format json --template-var Namespace=auth lemmy crates.io supabase-auth squawk" \
    -n "squawk" "$squawk --reporter json $files") >&2
  jq -r '.results as $r | ($r[] | select(.command=="migration-gate lint") | .mean) as $a
    | ($r[] | select(.command=="squawk") | .mean) as $s
    | "lint: migration-gate \($a*1000|floor) ms, squawk \($s*1000|floor) ms (migration-gate takes \(($a/$s*100|floor)/100)x squawk'"'"'s time)"' \
    "$BENCH_OUT/migration-gate-lint.json"
else
  echo "bench: squawk not installed (.tools/node); skipping lint vs squawk" >&2
fi

# --- 2. dry-run vs psql alone ----------------------------------------------------------------
source scripts/lib/pg.sh
pg_start
psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1)
"${psql[@]}" -d "$PG_URL" -c "CREATE DATABASE shop" >/dev/null
shop="${PG_URL%/*}/shop"
for f in examples/release/migrations/000[123]_*.up.sql examples/release/migration-gate-seed.sql; do
  "${psql[@]}" -d "$shop" -f "$f" >/dev/null
done
pending=(examples/release/migrations/000[4-9]_*.up.sql)
# psql alone: the same copy, the same statements (one transaction per file, except the
# no-transaction one), the same drop; no observation, no rollback proof.
cat >"$BENCH_OUT/migration-gate-psql.sh" <<SH
set -e
"${psql[0]}" -X -q -d "$PG_URL" -c "CREATE DATABASE bench_copy TEMPLATE shop"
for f in ${pending[*]}; do
  if grep -q 'migration-gate: no-transaction' "\$f"; then one=""; else one="-1"; fi
  "${psql[0]}" -X -q -v ON_ERROR_STOP=1 \$one -d "${PG_URL%/*}/bench_copy" -f "\$f" >/dev/null
done
"${psql[0]}" -X -q -d "$PG_URL" -c "DROP DATABASE bench_copy"
SH
echo "bench: dry-run of ${#pending[@]} pending migrations on 62,000 rows vs psql alone" >&2
hyperfine "${HF_RUNS[@]}" -i \
  --export-json "$BENCH_OUT/migration-gate-dry-run.json" --export-markdown "$BENCH_OUT/migration-gate-dry-run.md" \
  -n "psql alone" "bash $BENCH_OUT/migration-gate-psql.sh" \
  -n "dry-run --no-rollback" "$mg dry-run --format json --no-rollback --database-url '$shop' examples/release/migrations" \
  -n "dry-run" "$mg dry-run --format json --database-url '$shop' examples/release/migrations" >&2
jq -r '.results as $r | ($r[] | select(.command=="psql alone") | .mean) as $p
  | ($r[] | select(.command=="dry-run --no-rollback") | .mean) as $n
  | ($r[] | select(.command=="dry-run") | .mean) as $d
  | "dry-run: psql alone \($p*1000|floor) ms, dry-run without rollback \($n*1000|floor) ms (\(($n/$p*100|floor)/100)x), with rollback proof \($d*1000|floor) ms (\(($d/$p*100|floor)/100)x)"' \
  "$BENCH_OUT/migration-gate-dry-run.json"
