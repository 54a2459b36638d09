# shellcheck shell=bash
# Stage 60, dr-drill: DR freshness and a timed failover + cutback drill. The stage brings
# its own throwaway topology (never the release's database): a primary archiving WAL to a
# local directory, a streaming replica made with `pg_basebackup -R` and a base backup, all
# in a temp dir under $OUT, stopped and removed on every exit. Then:
#   dr-drill freshness   backup age + pg_verifybackup, pg_stat_archiver, replica lag
#   dr-drill failover    heartbeat every 100 ms, pg_ctl stop -m immediate, pg_promote()
#   dr-drill cutback     pg_rewind -R, switch back, rewind the other side
# and puts RTO/RPO in the summary; the promote policy reads data.rpo_seconds. In the bad
# release the primary's archive_command fails, so freshness fails and the gate blocks.
# With GATE_DR_CONFIG set (a real environment), the drill runs that config instead, and
# freshness asks GATE_DR_DATABASE_URL (default DEMO_PG_URL) with GATE_DR_BACKUP_DIR if set.
#
# Environment (scripts/release-gate.sh): REL, BIN, OUT, PG_BIN; GATE_DR_RTO, GATE_DR_RPO
# (default 30m, 5m); `summary`, `expect_exit`, `result_of`, `expected_fail`, `step` from
# scripts/lib/demo.sh.

dd="$BIN/dr-drill"
mkdir -p "$OUT/$REL"
rto=${GATE_DR_RTO:-30m} rpo=${GATE_DR_RPO:-5m}
PG_BIN=${PG_BIN:-$(source scripts/lib/pg.sh && pg_bindir)}

drill_row() { # name report
  local r=$2
  summary "$REL" "dr-drill $1" "$(result_of "$r")" \
    "$(jq -r '"RTO \(.data.rto_seconds // "?")s, RPO \(.data.rpo_seconds // "?")s (\(.data.rpo_transactions // "?") tx)"' "$r" 2>/dev/null || echo "no report")"
}

if [ -n "${GATE_DR_CONFIG:-}" ]; then
  step "dr-drill (real environment): $GATE_DR_CONFIG"
  fresh=(--database-url "${GATE_DR_DATABASE_URL:-${DEMO_PG_URL:?}}")
  [ -n "${GATE_DR_BACKUP_DIR:-}" ] && fresh+=(--backup-dir "$GATE_DR_BACKUP_DIR")
  expect_exit 0 "$dd" freshness "${fresh[@]}" --max-backup-age 24h --max-wal-lag 5m \
    --report "$OUT/$REL/dr-drill-freshness.json" --format text -q >&2
  summary "$REL" dr-drill "$(result_of "$OUT/$REL/dr-drill-freshness.json")" "$(jq -r .summary "$OUT/$REL/dr-drill-freshness.json" 2>/dev/null)"
  for cmd in failover cutback; do
    expect_exit 0 "$dd" "$cmd" --config "$GATE_DR_CONFIG" --rto "$rto" --rpo "$rpo" \
      --report "$OUT/$REL/dr-drill-$cmd.json" --format text -q >&2
    drill_row "$cmd" "$OUT/$REL/dr-drill-$cmd.json"
  done
  return 0
fi

as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
work=$(mktemp -d "$(realpath "$OUT")/dr-drill-$REL-XXXXXX")
chmod 755 "$work"
dr_cleanup() {
  for d in primary replica; do
    [ -f "$work/$d/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$work/$d" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap dr_cleanup EXIT
# The servers run as nobody when we are root: every directory above $work must let it in.
if ! as_pg test -x "$work"; then
  rm -rf "$work"
  work=$(mktemp -d "${TMPDIR:-/tmp}/dr-drill-$REL-XXXXXX")
  chmod 755 "$work"
fi

step "dr-drill: a throwaway primary, its streaming replica and a base backup in $work"
password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
printf '%s\n' "$password" >"$work/pwfile"
mkdir -p "$work/wal"
[ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$work"
as_pg "$PG_BIN/initdb" -D "$work/primary" -U postgres --pwfile="$work/pwfile" \
  --auth=scram-sha-256 -E UTF8 --no-locale --no-sync >"$work/initdb.log" 2>&1
rm -f "$work/pwfile"
archive="cp %p $work/wal/%f"
[ "$REL" = bad-release ] && archive="false" # the defect: WAL archiving fails
p1=$(free_port) p2=$(free_port)
cat >>"$work/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
fsync = off
wal_log_hints = on
archive_mode = on
archive_command = '$archive'
CONF
as_pg "$PG_BIN/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w -t 30 -o "-p $p1" start >/dev/null
export PGPASSWORD="$password"
as_pg env PGPASSWORD="$password" "$PG_BIN/pg_basebackup" -D "$work/replica" -R -X stream -c fast \
  -h 127.0.0.1 -p "$p1" -U postgres
as_pg env PGPASSWORD="$password" "$PG_BIN/pg_basebackup" -D "$work/backup" -X stream -c fast \
  -h 127.0.0.1 -p "$p1" -U postgres
as_pg "$PG_BIN/pg_ctl" -D "$work/replica" -l "$work/replica.log" -w -t 30 -o "-p $p2" start >/dev/null
primary_url="postgres://postgres:${password}@127.0.0.1:$p1/postgres"
replica_url="postgres://postgres:${password}@127.0.0.1:$p2/postgres"
for _ in $(seq 1 100); do
  [ "$("$PG_BIN/psql" -X -At -d "$replica_url" -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null)" = streaming ] && break
  sleep 0.1
done
"$PG_BIN/psql" -X -q -d "$primary_url" -c "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 1000); SELECT pg_switch_wal();" >/dev/null
sleep 1
unset PGPASSWORD

step "dr-drill freshness (backup, archiving, replica lag)"
expect_exit "$(expected_fail)" "$dd" freshness --database-url "$primary_url" --backup-dir "$work/backup" \
  --pg-bin-dir "$PG_BIN" --max-backup-age 24h --max-wal-lag 5m \
  --report "$OUT/$REL/dr-drill-freshness.json" --format text -q >&2
summary "$REL" dr-drill "$(result_of "$OUT/$REL/dr-drill-freshness.json")" \
  "$(jq -r .summary "$OUT/$REL/dr-drill-freshness.json" 2>/dev/null || echo "no report")"

cat >"$work/drill.yaml" <<YAML
name: demo-$REL
allow_destructive: true
targets: {rto: $rto, rpo: $rpo}
postgres:
  method: local
  bin_dir: $PG_BIN
  primary: {url: "postgres://postgres@127.0.0.1:$p1/postgres", data_dir: $work/primary}
  replica: {url: "postgres://postgres@127.0.0.1:$p2/postgres", data_dir: $work/replica}
  heartbeat: {table: dr_drill_heartbeat, interval: 100ms}
YAML
for cmd in failover cutback; do
  step "dr-drill $cmd (timed: RTO/RPO against $rto/$rpo)"
  PGPASSWORD="$password" expect_exit 0 "$dd" "$cmd" --config "$work/drill.yaml" \
    --report "$OUT/$REL/dr-drill-$cmd.json" --format text -q >&2
  drill_row "$cmd" "$OUT/$REL/dr-drill-$cmd.json"
done
