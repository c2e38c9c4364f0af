#!/usr/bin/env bash
# Throwaway local services on 127.0.0.1 for development and tests: PostgreSQL (Debian's
# postgresql package) and Redis (redis-server), data under a temporary directory, and optionally
# the MongoDB wire-protocol test server (scripts/mongo_wire_server.py; no mongod exists here).
#
#   scripts/services.sh start [--mongo-wire]   # start; prints `export DATABASE_URL=… REDIS_URL=…` lines
#   scripts/services.sh env                    # print those lines again (for eval)
#   scripts/services.sh status                 # what runs where
#   scripts/services.sh stop                   # stop everything and remove the data directory
#
#   eval "$(scripts/services.sh start)"        # typical use
#
# Ports: AISLE_PG_PORT (default 55432), AISLE_REDIS_PORT (56379), AISLE_MONGO_PORT (57017).
# AISLE_PG_OPTIONS adds server settings (e.g. "-c shared_preload_libraries=pg_stat_statements" to profile).
# Each set of ports is its own instance (state in /tmp/aisle-services-PGPORT.state), so tests
# and `scripts/run.sh` can run side by side with different ports. Installs postgresql and
# redis-server with apt-get when they are missing (sudo if not root). As root, PostgreSQL runs
# as the `postgres` user (initdb refuses root), through setpriv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_PORT="${AISLE_PG_PORT:-55432}"
REDIS_PORT="${AISLE_REDIS_PORT:-56379}"
MONGO_PORT="${AISLE_MONGO_PORT:-57017}"
STATE="/tmp/aisle-services-${PG_PORT}.state"

log() { echo "services: $*" >&2; }

ensure_packages() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$d" ] || { log "PostgreSQL server binaries not found under /usr/lib/postgresql"; exit 1; }
  echo "$d"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

read_state() {
  DIR="" PG_PID="" REDIS_PID="" MONGO_PID=""
  [ -f "$STATE" ] || return 1
  # shellcheck disable=SC1090
  source "$STATE"
}

print_env() {
  echo "export DATABASE_URL='postgresql://postgres@127.0.0.1:${PG_PORT}/postgres'"
  echo "export REDIS_URL='redis://127.0.0.1:${REDIS_PORT}/0'"
  if alive "${MONGO_PID:-}"; then
    echo "export AISLE_TEST_MONGODB_URI='mongodb://127.0.0.1:${MONGO_PORT}/?serverSelectionTimeoutMS=3000'"
  fi
}

wait_port() {  # host port seconds
  local i
  for ((i = 0; i < $3 * 50; i++)); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.02
  done
  return 1
}

start() {
  local mongo=0
  for a in "$@"; do [ "$a" = "--mongo-wire" ] && mongo=1; done
  if read_state && alive "$PG_PID" && alive "$REDIS_PID"; then
    if [ $mongo = 1 ] && ! alive "${MONGO_PID:-}"; then start_mongo; write_state; fi
    log "already running (data in $DIR)"
    print_env
    return 0
  fi
  [ -f "$STATE" ] && stop >/dev/null 2>&1 || true
  ensure_packages
  local bin; bin=$(pg_bin)
  DIR=$(mktemp -d /tmp/aisle-services.XXXXXX)
  chmod 755 "$DIR"
  local AS=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$DIR"
    AS=(setpriv --reuid=postgres --regid="$(id -g postgres)" --init-groups --)
  fi
  "${AS[@]}" "$bin/initdb" -D "$DIR/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
  if ! "${AS[@]}" "$bin/pg_ctl" -D "$DIR/pg" -l "$DIR/pg.log" -w -t 60 start -o \
      "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${AISLE_PG_OPTIONS:-}" >/dev/null; then
    log "PostgreSQL did not start on port $PG_PORT:"; tail -20 "$DIR/pg.log" >&2; exit 1
  fi
  PG_PID=$(head -1 "$DIR/pg/postmaster.pid")
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$DIR" \
    --logfile "$DIR/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
  REDIS_PID=$!
  if ! wait_port 127.0.0.1 "$REDIS_PORT" 10; then
    log "Redis did not start on port $REDIS_PORT:"; tail -20 "$DIR/redis.log" >&2; write_state; stop; exit 1
  fi
  MONGO_PID=""
  [ $mongo = 1 ] && start_mongo
  write_state
  log "PostgreSQL on 127.0.0.1:$PG_PORT (pid $PG_PID), Redis on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)$([ -n "$MONGO_PID" ] && echo ", MongoDB wire test server on 127.0.0.1:$MONGO_PORT (pid $MONGO_PID)"); data in $DIR"
  print_env
}

start_mongo() {
  python3 "$ROOT/scripts/mongo_wire_server.py" --host 127.0.0.1 --port "$MONGO_PORT" </dev/null >"$DIR/mongo-wire.log" 2>&1 &
  MONGO_PID=$!
  if ! wait_port 127.0.0.1 "$MONGO_PORT" 10; then
    log "the MongoDB wire test server did not start on port $MONGO_PORT:"; tail -20 "$DIR/mongo-wire.log" >&2; exit 1
  fi
}

write_state() {
  printf 'DIR=%q\nPG_PID=%q\nREDIS_PID=%q\nMONGO_PID=%q\n' "$DIR" "$PG_PID" "$REDIS_PID" "${MONGO_PID:-}" >"$STATE"
}

stop() {
  read_state || { log "nothing running for port $PG_PORT"; return 0; }
  alive "$PG_PID" && kill -INT "$PG_PID" 2>/dev/null || true
  alive "$REDIS_PID" && kill -TERM "$REDIS_PID" 2>/dev/null || true
  alive "${MONGO_PID:-}" && kill -TERM "$MONGO_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 500; i++)); do
    alive "$PG_PID" || alive "$REDIS_PID" || alive "${MONGO_PID:-}" || break
    sleep 0.02
  done
  for p in "$PG_PID" "$REDIS_PID" "${MONGO_PID:-}"; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
  [ -n "$DIR" ] && case "$DIR" in /tmp/aisle-services.*) rm -rf "$DIR" ;; esac
  rm -f "$STATE"
  log "stopped"
}

status() {
  if read_state; then
    echo "data: $DIR"
    echo "postgresql 127.0.0.1:$PG_PORT pid $PG_PID: $(alive "$PG_PID" && echo running || echo stopped)"
    echo "redis      127.0.0.1:$REDIS_PORT pid $REDIS_PID: $(alive "$REDIS_PID" && echo running || echo stopped)"
    [ -n "${MONGO_PID:-}" ] && echo "mongo-wire 127.0.0.1:$MONGO_PORT pid $MONGO_PID: $(alive "$MONGO_PID" && echo running || echo stopped)"
  else
    echo "not running (port $PG_PORT)"
  fi
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  env) read_state >/dev/null 2>&1 || true; print_env ;;
  *) echo "usage: $0 start [--mongo-wire] | stop | status | env" >&2; exit 2 ;;
esac
