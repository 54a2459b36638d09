# shellcheck shell=bash
# A throwaway PostgreSQL for the demo and the benchmarks (tests use tools/testkit instead).
#
#   source scripts/lib/pg.sh
#   pg_start            # sets PG_URL, PG_PORT, PG_DIR; stops and removes it on exit
#
# initdb + pg_ctl in a temp dir, 127.0.0.1 on a free port, superuser "postgres" with a
# random password over scram-sha-256. As root, the server runs as the unprivileged user
# nobody (PostgreSQL refuses to run as root).

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)"
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_pg_as() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}

pg_start() {
  PG_BIN=$(pg_bindir)
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL server binaries not found; run scripts/setup.sh" >&2
    return 1
  fi
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-pg-XXXXXX")
  chmod 755 "$PG_DIR"
  local password
  password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
  printf '%s\n' "$password" >"$PG_DIR/pwfile"
  [ "$(id -u)" = 0 ] && chown -R nobody:nogroup "$PG_DIR"
  _pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { echo "initdb failed: $(tail -n 3 "$PG_DIR/initdb.log")" >&2; return 1; }
  local attempt
  for attempt in 1 2 3; do
    PG_PORT=$(pg_free_port)
    if _pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c shared_preload_libraries=pg_stat_statements" \
      start >/dev/null 2>&1; then
      PG_URL="postgres://postgres:${password}@127.0.0.1:${PG_PORT}/postgres"
      export PG_URL PG_PORT PG_DIR PG_BIN
      trap pg_stop EXIT
      return 0
    fi
  done
  echo "PostgreSQL did not start: $(tail -n 3 "$PG_DIR/server.log")" >&2
  return 1
}
