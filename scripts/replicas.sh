#!/usr/bin/env bash
# Search replicas on one machine: N `aisle serve` nodes on loopback ports behind HAProxy.
#
# Each node has an index of its own, built by `aisle reindex` from the catalog (PostgreSQL and the
# attribute documents), and follows the catalog's change log itself (`aisle serve --database`), so
# nodes share nothing but the catalog. HAProxy balances read traffic (GET/HEAD, and POST
# /api/v1/search) round-robin over the nodes whose /readyz answers 200 (alive, and caught up with
# the catalog's change log, which they read without errors), sends a request that meets a
# dead node to another one, and takes a dead node out of the pool within about 0.3 s.
#
#   scripts/replicas.sh start [--nodes 2] [--port 8090]   # reindex + serve each node, then HAProxy on --port
#   scripts/replicas.sh add-node                          # one more node: fresh reindex, caught up, then into the pool
#   scripts/replicas.sh restart-node NAME                 # a stopped or crashed node again, on its own index (held out of the pool until caught up)
#   scripts/replicas.sh remove-node NAME                  # drain, stop, take out of the pool
#   scripts/replicas.sh kill-node NAME                    # kill -9 (a drill: HAProxy must route around it)
#   scripts/replicas.sh status                            # HAProxy's view, and each node: pid, memory, documents, catalog lag
#   scripts/replicas.sh nodes                             # one line per node: name port pid index-dir (for scripts)
#   scripts/replicas.sh stop [--clean]                    # stop HAProxy and every node; --clean removes the run directory
#
# Options (any subcommand): --dir DIR (run directory; default /tmp/aisle-replicas-PORT, or
# $AISLE_REPLICAS_DIR), --port PORT (HAProxy's port; default $AISLE_REPLICAS_PORT or 8090). For start:
# --nodes N, --stats-port P (HAProxy's stats page; default PORT+1, 0: none), --node-port P (the first
# node's port; default PORT+10), --database URL, --attributes FILE, --timeout S (per node, for the
# reindex, the start and catching up; default 300).
#
# Environment:
#   DATABASE_URL       the catalog (PostgreSQL), loaded with `aisle catalog load`; required (or --database).
#                      `eval "$(scripts/services.sh start)"` gives a local one.
#   AISLE_ATTRIBUTES   the attribute documents file (the one `aisle catalog load` wrote; default
#                      .aisle-data/product_attributes.json), unless MONGODB_URI names a MongoDB.
#   AISLE_BIN          the aisle binary (default .build/release/aisle: `swift build -c release --product aisle`).
#                      It is copied into the run directory at start, so every node, added ones too, runs one build.
#   AISLE_SERVE_ARGS   more `aisle serve` flags for every node (e.g. "--search-threads 2").
#   AISLE_LB_TIMEOUT_CONNECT  HAProxy's connect timeout to a node (default 100ms; raise it when nodes
#                      are across a slow network).
#
# The nodes serve search only: REDIS_URL and AISLE_API_TOKEN are not passed on (no carts, no index
# writes through a replica: the catalog is written in PostgreSQL and every node follows it).
# HAProxy is installed with apt-get when it is missing (as scripts/services.sh does for PostgreSQL).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "replicas: $*" >&2; }
die() { echo "replicas: error: $*" >&2; exit 1; }

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }

CMD="${1:-}"
[ -n "$CMD" ] || usage
shift
NODES=2
LB_PORT="${AISLE_REPLICAS_PORT:-8090}"
DIR="${AISLE_REPLICAS_DIR:-}"
STATS_PORT=""
NODE_PORT=""
DB_URL="${DATABASE_URL:-}"
ATTRS="${AISLE_ATTRIBUTES:-}"
TIMEOUT=300
CLEAN=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES="${2:?--nodes needs a number}"; shift 2 ;;
    --port) LB_PORT="${2:?--port needs a port}"; shift 2 ;;
    --dir) DIR="${2:?--dir needs a directory}"; shift 2 ;;
    --stats-port) STATS_PORT="${2:?--stats-port needs a port}"; shift 2 ;;
    --node-port) NODE_PORT="${2:?--node-port needs a port}"; shift 2 ;;
    --database) DB_URL="${2:?--database needs a URL}"; shift 2 ;;
    --attributes) ATTRS="${2:?--attributes needs a file}"; shift 2 ;;
    --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
    --clean) CLEAN=1; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1 (scripts/replicas.sh --help)" ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
case "$NODES" in ''|*[!0-9]*) die "--nodes must be a whole number, found '$NODES'" ;; esac
case "$LB_PORT" in ''|*[!0-9]*) die "--port must be a port number, found '$LB_PORT'" ;; esac
DIR="${DIR:-/tmp/aisle-replicas-$LB_PORT}"
STATE="$DIR/replicas.state"
NODE_LIST="$DIR/nodes.tsv"
CFG="$DIR/haproxy.cfg"
SOCK="$DIR/haproxy.sock"
HAP_PIDFILE="$DIR/haproxy.pid"
BACKEND=aisle_nodes

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# MARK: - Prerequisites

ensure_haproxy() {
  command -v haproxy >/dev/null 2>&1 && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    die "haproxy is not installed and there is no apt-get to install it: install HAProxy (2.2 or later) yourself"
  fi
  log "installing haproxy (apt-get install -y haproxy)"
  local SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null 2>&1 \
         || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends haproxy >/dev/null; }; }; then
    die "could not install haproxy with apt-get: run \`apt-get install -y haproxy\` (as root) and try again"
  fi
  command -v haproxy >/dev/null 2>&1 || die "haproxy is still not on PATH after apt-get install"
}

check_tools() {
  command -v curl >/dev/null 2>&1 || die "curl is needed (health checks of the nodes): apt-get install -y curl"
  command -v python3 >/dev/null 2>&1 || die "python3 is needed (to talk to HAProxy's admin socket)"
  command -v flock >/dev/null 2>&1 && command -v setsid >/dev/null 2>&1 || die "flock and setsid (util-linux) are needed"
  ensure_haproxy
}

# What start needs besides the tools: the binary, the catalog, the attribute documents.
check_inputs() {
  local bin="${AISLE_BIN:-$ROOT/.build/release/aisle}"
  [ -x "$bin" ] || die "no aisle binary at $bin: build it with \`swift build -c release --product aisle\` or set AISLE_BIN"
  AISLE_SRC="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
  [ -n "$DB_URL" ] || die "no catalog database: set DATABASE_URL or give --database URL (\`eval \"\$(scripts/services.sh start)\"\` starts a local PostgreSQL; load it with \`aisle catalog load --corpus FILE\`)"
  if [ -z "${MONGODB_URI:-}" ]; then
    ATTRS="${ATTRS:-.aisle-data/product_attributes.json}"
    case "$ATTRS" in /*) ;; *) ATTRS="$PWD/$ATTRS" ;; esac
    [ -f "$ATTRS" ] || die "no attribute documents at $ATTRS: set AISLE_ATTRIBUTES (or --attributes) to the file \`aisle catalog load\` wrote, the same for every node"
  fi
}

# Checks the catalog answers and has products (prints its status line).
check_catalog() {
  local out
  if ! out=$(catalog_status "" 2>&1); then
    die "the catalog at $(redact "$DB_URL") does not answer: $(echo "$out" | tail -3)"
  fi
  local n
  n=$(echo "$out" | sed -n 's/.*, \([0-9,]*\) products (\([0-9,]*\) active).*/\2/p' | tr -d ,)
  [ -n "$n" ] || die "unexpected answer from \`aisle catalog status\`: $out"
  [ "$n" -gt 0 ] || die "the catalog at $(redact "$DB_URL") has no active products: load it first (\`aisle catalog load --corpus FILE\`)"
  log "catalog: $(echo "$out" | head -1)"
}

redact() { echo "$1" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#'; }

# MARK: - State

write_state() {
  {
    printf 'LB_PORT=%q\nSTATS_PORT=%q\nNODE_PORT=%q\nDB_URL=%q\nATTRS=%q\nBIN=%q\nTIMEOUT=%q\n' \
      "$LB_PORT" "$STATS_PORT" "$NODE_PORT" "$DB_URL" "$ATTRS" "$BIN" "$TIMEOUT"
  } >"$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

read_state() {
  [ -f "$STATE" ] || die "no replicas in $DIR (start them with \`scripts/replicas.sh start\`; --dir / --port say where)"
  # shellcheck disable=SC1090
  source "$STATE"
}

hap_pid() { [ -f "$HAP_PIDFILE" ] && head -1 "$HAP_PIDFILE" || true; }

node_names() { [ -f "$NODE_LIST" ] && cut -f1 "$NODE_LIST" || true; }
node_port() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$NODE_LIST"; }
node_dir() { echo "$DIR/nodes/$1"; }
node_pid() { local f; f="$(node_dir "$1")/pid"; [ -f "$f" ] && cat "$f" || true; }
node_fact() { local f; f="$(node_dir "$1")/facts"; [ -f "$f" ] && sed -n "s/^$2=//p" "$f" | tail -1 || true; }
set_fact() { echo "$2=$3" >>"$(node_dir "$1")/facts"; }

# Serialises the commands that change the set of nodes (two add-node at once would pick one port).
take_lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/lock"
  flock -w 600 9 || die "another replicas.sh command holds $DIR/lock"
}

# MARK: - The catalog

# Runs the aisle binary with the catalog's stores (and nothing of the commerce side).
aisle_env() {
  AENV=(-u REDIS_URL -u AISLE_API_TOKEN "DATABASE_URL=$DB_URL")
  [ -n "$ATTRS" ] && AENV+=("AISLE_ATTRIBUTES=$ATTRS")
  return 0
}
run_aisle() { aisle_env; env "${AENV[@]}" "$BIN" "$@"; }

# `aisle catalog status [--index DIR]`.
catalog_status() {
  if [ -n "${1:-}" ]; then run_aisle catalog status --index "$1"; else run_aisle catalog status; fi
}

# The change log's head (txid/id) and an index's committed position ("-" when it has none).
head_position() { catalog_status "" 2>/dev/null | sed -n 's/^change log head: \([0-9]*\/[0-9]*\).*/\1/p'; }
index_position() { catalog_status "$1" 2>/dev/null | sed -n 's/^index .*: position \([0-9]*\/[0-9]*\), .*/\1/p'; }
index_lag() { catalog_status "$1" 2>/dev/null | sed -n 's/^index .*: position [0-9]*\/[0-9]*, \([0-9,]*\) changes after it.*/\1/p' | tr -d ,; }
# a >= b for positions txid/id
pos_ge() {
  local at=${1%/*} ai=${1#*/} bt=${2%/*} bi=${2#*/}
  [ "$at" -gt "$bt" ] || { [ "$at" -eq "$bt" ] && [ "$ai" -ge "$bi" ]; }
}

# MARK: - Nodes

next_node_name() {
  local k=1
  while [ -d "$DIR/nodes/node$k" ]; do k=$((k + 1)); done
  echo "node$k"
}

next_node_port() {
  local p=$NODE_PORT
  while awk -F'\t' -v p="$p" '$2 == p { f = 1 } END { exit !f }' "$NODE_LIST" 2>/dev/null || port_busy "$p" \
        || [ "$p" = "$LB_PORT" ] || [ "$p" = "$STATS_PORT" ]; do
    p=$((p + 1))
  done
  echo "$p"
}

reindex_node() {  # name
  local name=$1 d; d="$(node_dir "$1")"
  log "$name: aisle reindex --index $d/index"
  local t0; t0=$(now)
  if ! run_aisle reindex --index "$d/index" --quiet >"$d/reindex.log" 2>&1; then
    die "$name: aisle reindex failed:
$(tail -5 "$d/reindex.log")"
  fi
  local secs; secs=$(elapsed "$t0")
  set_fact "$name" reindex_seconds "$secs"
  set_fact "$name" reindex_line "$(tail -1 "$d/reindex.log")"
  set_fact "$name" index_bytes "$(du -sb "$d/index" | cut -f1)"
  log "$name: $(tail -1 "$d/reindex.log")"
}

# Starts `aisle serve` on the node's index and waits for /healthz, then for the node's committed
# change-log position to reach the head the log had when it started (every change made before
# the node came up is applied).
start_serve() {  # name
  local name=$1 port d; port=$(node_port "$1"); d="$(node_dir "$1")"
  local head; head=$(head_position)
  [ -n "$head" ] || die "$name: cannot read the change log's head (aisle catalog status)"
  local t0; t0=$(now)
  local extra=()
  read -r -a extra <<<"${AISLE_SERVE_ARGS:-}"
  aisle_env
  echo "== $(date -u +%FT%TZ) aisle serve --port $port ${AISLE_SERVE_ARGS:-}" >>"$d/serve.log"
  env "${AENV[@]}" setsid "$BIN" serve --index "$d/index" --host 127.0.0.1 --port "$port" \
    --database "$DB_URL" "${extra[@]}" </dev/null >>"$d/serve.log" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$d/pid"
  local i
  for ((i = 0; i < TIMEOUT * 10; i++)); do
    alive "$pid" || die "$name: aisle serve exited at start:
$(tail -8 "$d/serve.log")"
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null || { kill -KILL "$pid" 2>/dev/null || true; die "$name: /healthz did not answer within ${TIMEOUT}s (see $d/serve.log)"; }
  set_fact "$name" serve_ready_seconds "$(elapsed "$t0")"
  local pos=""
  for ((i = 0; i < TIMEOUT * 2; i++)); do
    alive "$pid" || die "$name: aisle serve exited while catching up:
$(tail -8 "$d/serve.log")"
    pos=$(index_position "$d/index")
    if [ -n "$pos" ] && pos_ge "$pos" "$head"; then break; fi
    sleep 0.5
  done
  if [ -z "$pos" ] || ! pos_ge "$pos" "$head"; then
    die "$name: did not catch up with the change log within ${TIMEOUT}s (committed position ${pos:--}, head when it started $head; see $d/serve.log)"
  fi
  set_fact "$name" catch_up_seconds "$(elapsed "$t0")"
  log "$name: serving on 127.0.0.1:$port (pid $pid), caught up with the change log (position $pos >= $head) $(elapsed "$t0") s after start"
}

create_node() {  # name
  local name=$1 port; port=$(next_node_port)
  mkdir -p "$(node_dir "$name")"
  : >"$(node_dir "$name")/facts"
  printf '%s\t%s\n' "$name" "$port" >>"$NODE_LIST"
  reindex_node "$name"
  start_serve "$name"
}

stop_node() {  # name [signal]
  local pid; pid=$(node_pid "$1")
  alive "$pid" || return 0
  kill -"${2:-TERM}" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 300; i++)); do alive "$pid" || return 0; sleep 0.1; done
  log "$1: still running 30 s after SIGTERM; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# MARK: - HAProxy

# How HAProxy checks and treats each node (the config's default-server line, and `add server`,
# which takes no defaults).
SERVER_OPTS="inter 500ms fastinter 250ms downinter 1s fall 2 rise 2 observe layer4 error-limit 1 on-error fastinter"

hap_cmd() {  # a command on the admin socket; prints the answer
  python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    sys.exit("cannot reach HAProxy's admin socket %s: %s" % (sys.argv[1], e))
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PY
}

write_config() {
  local stats=""
  if [ -n "$STATS_PORT" ] && [ "$STATS_PORT" != 0 ]; then
    stats="
frontend stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /
    stats refresh 2s
    stats show-legends"
  fi
  local servers="" name
  for name in $(node_names); do
    servers+="    server $name 127.0.0.1:$(node_port "$name") check
"
  done
  cat >"$CFG.tmp" <<EOF
# Generated by scripts/replicas.sh ($(date -u +%FT%TZ)); rewritten when nodes are added or removed.
global
    master-worker
    maxconn 4096
    # Admin socket: status, drain / maintenance of a node, and the listening sockets handed to the
    # new worker on a reload (expose-fd listeners), so a reload refuses no connection.
    stats socket $SOCK mode 600 level admin expose-fd listeners
    stats timeout 10s
    # Servers keep their state (maintenance, down) across a reload.
    server-state-file $DIR/server-state
    hard-stop-after 30s
    # No log target: there is no syslog here. The stats page and \`scripts/replicas.sh status\` tell.

defaults
    mode http
    load-server-state-from-file global
    option http-keep-alive
    # A refused connection is retried at once on another node, except while fewer than two nodes
    # are UP: then HAProxy waits min(timeout connect, 1 s) first (the "turn-around" of
    # back_handle_st_cer), which is what a search racing a node's DOWN transition pays. On loopback
    # or a LAN a connection takes well under a millisecond, so 100 ms keeps that stall short.
    timeout connect ${AISLE_LB_TIMEOUT_CONNECT:-100ms}
    timeout client 30s
    timeout server 10s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 5s
    timeout check 1s
    # A request a node dropped (refused connection, or closed with nothing answered: kill -9
    # in the middle of a search) is sent again, to another node (redispatch on every retry).
    # Only reads reach the backend (see the frontend), so sending one twice is harmless.
    # Not covered: a request the node had not read yet when it died gets a reset (RST), not a
    # close, and HAProxy 2.6 retries L7 only on a close: it answers 502 or, on a kept-alive
    # client connection, closes that connection without an answer (a client that retries, as
    # browsers do, sees nothing). Only requests in flight at the moment of death are exposed.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend aisle_search
    bind 127.0.0.1:$LB_PORT
    # Reads only: searches, product pages, suggestions, recommendations, /healthz. The catalog is
    # written in PostgreSQL and every node follows its change log.
    acl read method GET HEAD
    acl search_body method POST
    acl search_path path /api/v1/search
    http-request return status 405 content-type application/json string "{\"error\": \"the search replicas take reads only (GET, HEAD, POST /api/v1/search); write the catalog in PostgreSQL\"}" unless read or search_body search_path
    default_backend $BACKEND

backend $BACKEND
    # roundrobin, not leastconn: after a refused connection HAProxy waits min(timeout connect, 1 s)
    # before retrying unless the balance is of the round-robin kind and another server is up
    # (back_handle_st_cer in HAProxy 2.6), so with leastconn a search that meets a just-killed node
    # would stall even though it is redispatched to a live one.
    balance roundrobin
    # /readyz, not /healthz: a node that cannot read the catalog's change log, or is catching up
    # after a restart, is alive but would serve stale products; /readyz answers it 503.
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    # A new connection to a node for each request (clients keep theirs to HAProxy). Over a kept-alive
    # connection to a node that has just died, a request fails without an answer, and HAProxy,
    # unable to tell whether the node saw it, closes the client's connection without a response
    # (only a client that retries notices nothing). A fresh connection to a dead node is refused
    # instead, which HAProxy retries on another node. A loopback connect costs microseconds.
    option http-server-close
    # Which node answered (for tests and debugging).
    http-response set-header X-Aisle-Node %s
    # Checks every 500 ms (250 ms while changing state, 1 s while down): down after 2 failed checks,
    # up after 2 good ones. A failed connection from live traffic (observe layer4) brings the next
    # check forward (fastinter), so a killed node is out within about 0.3 s; meanwhile its requests
    # are redispatched at once. Not "on-error mark-down": marking the node down at the first
    # refused connection leaves one server up, and then HAProxy waits min(timeout connect, 1 s)
    # before the redispatched attempt (back_handle_st_cer), so that search would stall a second.
    default-server $SERVER_OPTS
$servers$stats
EOF
  haproxy -c -q -f "$CFG.tmp" || die "HAProxy refuses the generated configuration $CFG.tmp (see above)"
  mv "$CFG.tmp" "$CFG"
}

save_server_state() {
  local p; p=$(hap_pid)
  alive "$p" || return 0
  hap_cmd "show servers state" >"$DIR/server-state.tmp" 2>/dev/null && mv "$DIR/server-state.tmp" "$DIR/server-state" || true
}

start_haproxy() {
  port_busy "$LB_PORT" && die "port $LB_PORT is in use: choose another with --port"
  echo 1 >"$DIR/server-state"   # an empty state (the format version alone)
  # (9>&-: the daemons must not inherit the lock of this script.)
  haproxy -W -D -f "$CFG" -p "$HAP_PIDFILE" >"$DIR/haproxy.log" 2>&1 9>&- || die "HAProxy did not start: $(tail -5 "$DIR/haproxy.log")"
  local i
  for ((i = 0; i < 100; i++)); do port_busy "$LB_PORT" && [ -S "$SOCK" ] && break; sleep 0.05; done
  port_busy "$LB_PORT" || die "HAProxy does not listen on $LB_PORT: $(tail -5 "$DIR/haproxy.log")"
  log "HAProxy on 127.0.0.1:$LB_PORT (master pid $(hap_pid))$([ -n "$STATS_PORT" ] && [ "$STATS_PORT" != 0 ] && echo ", stats on http://127.0.0.1:$STATS_PORT/")"
}

# Seamless reload: the master re-reads the configuration and starts a new worker, which takes the
# listening sockets over from the old one (expose-fd listeners); the old worker finishes what it has.
reload_haproxy() {
  local p; p=$(hap_pid)
  alive "$p" || die "HAProxy is not running (pid ${p:--}): \`scripts/replicas.sh stop\` and start again"
  save_server_state
  local before; before=$(hap_cmd "show info" 2>/dev/null | sed -n 's/^Pid: //p')
  kill -USR2 "$p"
  local i now_pid
  for ((i = 0; i < 200; i++)); do
    sleep 0.05
    now_pid=$(hap_cmd "show info" 2>/dev/null | sed -n 's/^Pid: //p' || true)
    [ -n "$now_pid" ] && [ "$now_pid" != "$before" ] && break
  done
  [ -n "$now_pid" ] && [ "$now_pid" != "$before" ] || die "HAProxy's worker did not change after the reload (see $DIR/haproxy.log)"
  log "HAProxy reloaded (worker pid $before -> $now_pid)"
}

# Adds a node to the running HAProxy through the admin socket (HAProxy 2.4+ dynamic servers):
# in maintenance first, then its health check and the server enabled.
runtime_add_server() {  # name
  local out
  out=$(hap_cmd "add server $BACKEND/$1 127.0.0.1:$(node_port "$1") check $SERVER_OPTS" 2>&1) || return 1
  case "$out" in
    *"New server registered"*) ;;
    *) log "$1: HAProxy did not take it at run time ($(echo "$out" | head -1)); reloading instead"; return 1 ;;
  esac
  hap_cmd "enable health $BACKEND/$1" >/dev/null
  hap_cmd "enable server $BACKEND/$1" >/dev/null
  log "$1: added to the running HAProxy (no reload)"
}

# Takes a (stopped) node out of the running HAProxy; fails when HAProxy still holds connections to it.
runtime_del_server() {  # name
  hap_cmd "disable server $BACKEND/$1" >/dev/null
  local out
  out=$(hap_cmd "del server $BACKEND/$1" 2>&1) || return 1
  case "$out" in
    *"Server deleted"*) log "$1: deleted from the running HAProxy (no reload)" ;;
    *) log "$1: HAProxy did not delete it at run time ($(echo "$out" | head -1)); reloading instead"; return 1 ;;
  esac
}

# Prints "name<TAB>status" for each server of the backend as HAProxy sees it (UP, DOWN, MAINT,
# "UP 1/2" while going down after a failed check or before the first check, "DOWN 1/2" going up).
server_status() {
  hap_cmd "show stat" 2>/dev/null | awk -F, -v b="$BACKEND" '$1 == b && $2 != "BACKEND" { print $2 "\t" $18 }'
}

wait_server_up() {  # name
  local i st
  for ((i = 0; i < 200; i++)); do
    st=$(server_status | awk -F'\t' -v n="$1" '$1 == n { print $2 }')
    [ "$st" = "UP" ] && return 0
    sleep 0.05
  done
  die "$1: HAProxy does not report it UP (status ${st:-unknown})"
}

# MARK: - Commands

cmd_start() {
  take_lock
  if [ -f "$STATE" ]; then
    read_state
    alive "$(hap_pid)" && die "replicas already run from $DIR (HAProxy pid $(hap_pid)): \`scripts/replicas.sh status\`, or stop them first"
    die "$DIR holds stopped replicas: \`scripts/replicas.sh stop --clean\` first (or --dir elsewhere)"
  fi
  [ "$NODES" -ge 1 ] || die "--nodes must be at least 1"
  if [ -d "$DIR/nodes" ] && [ -n "$(ls -A "$DIR/nodes")" ]; then
    die "$DIR holds the nodes of an earlier run: \`scripts/replicas.sh stop --clean\` removes them (or give another --dir)"
  fi
  check_tools
  check_inputs
  STATS_PORT="${STATS_PORT:-$((LB_PORT + 1))}"
  NODE_PORT="${NODE_PORT:-$((LB_PORT + 10))}"
  port_busy "$LB_PORT" && die "port $LB_PORT is in use: choose another with --port"
  if [ "$STATS_PORT" != 0 ] && port_busy "$STATS_PORT"; then die "the stats port $STATS_PORT is in use: --stats-port P (0: none)"; fi
  mkdir -p "$DIR/nodes"
  trap start_failed EXIT
  # One build for every node, added ones included.
  cp "$AISLE_SRC" "$DIR/aisle"
  BIN="$DIR/aisle"
  : >"$NODE_LIST"
  check_catalog
  write_state
  local k
  for ((k = 1; k <= NODES; k++)); do create_node "$(next_node_name)"; done
  write_config
  start_haproxy
  local name
  for name in $(node_names); do wait_server_up "$name"; done
  trap - EXIT
  log "$NODES node(s) in the pool; run directory $DIR"
  echo "export AISLE_REPLICAS_URL='http://127.0.0.1:$LB_PORT'"
}

# A start that failed half way: stop what it started and remove what it made (the error said why).
start_failed() {
  local rc=$?
  trap - EXIT
  local p; p=$(hap_pid)
  alive "$p" && kill -TERM "$p" 2>/dev/null || true
  local name
  for name in $(node_names); do stop_node "$name" KILL; done
  rm -rf "$DIR/nodes" "$DIR/aisle" "$STATE" "$NODE_LIST" "$CFG" "$CFG.tmp" "$SOCK" "$HAP_PIDFILE" "$DIR/server-state" "$DIR/haproxy.log" "$DIR/lock"
  rmdir "$DIR" 2>/dev/null || true
  log "start failed; stopped what it had started"
  exit "$rc"
}

cmd_add_node() {
  take_lock
  read_state
  alive "$(hap_pid)" || die "HAProxy is not running: start the replicas first"
  [ -x "$BIN" ] || die "the replicas' aisle binary $BIN is gone"
  local name; name=$(next_node_name)
  local t0; t0=$(now)
  create_node "$name"
  # The configuration names the node for later reloads and restarts; the running HAProxy takes
  # it through the admin socket (a dynamic server), so no reload closes clients' idle kept-alive
  # connections. A reload is the fallback.
  write_config
  if ! runtime_add_server "$name"; then reload_haproxy; fi
  wait_server_up "$name"
  set_fact "$name" add_seconds "$(elapsed "$t0")"
  log "$name: in the pool $(elapsed "$t0") s after add-node began"
  echo "$name $(node_port "$name")"
}

# The node a subcommand names (its first argument).
node_arg() {  # subcommand
  [ -n "${ARGS[0]:-}" ] || die "$1 needs a node name (scripts/replicas.sh nodes)"
  echo "${ARGS[0]}"
}

# Takes the lock and reads the state for a subcommand on a node that must exist.
lock_node() {  # name
  take_lock
  read_state
  [ -n "$(node_port "$1")" ] || die "no node $1 (scripts/replicas.sh nodes)"
}

cmd_restart_node() {
  local name; name=$(node_arg restart-node) || exit 1
  lock_node "$name"
  alive "$(hap_pid)" || die "HAProxy is not running: start the replicas first"
  # Out of the pool until it has caught up: a node coming back serves its last commit at once.
  hap_cmd "disable server $BACKEND/$name" >/dev/null
  stop_node "$name"
  start_serve "$name"
  hap_cmd "enable server $BACKEND/$name" >/dev/null
  wait_server_up "$name"
  log "$name: back in the pool"
}

cmd_remove_node() {
  local name; name=$(node_arg remove-node) || exit 1
  lock_node "$name"
  if alive "$(hap_pid)"; then
    hap_cmd "set server $BACKEND/$name state drain" >/dev/null
    local i cur
    for ((i = 0; i < 100; i++)); do
      cur=$(hap_cmd "show stat" | awk -F, -v b="$BACKEND" -v n="$name" '$1 == b && $2 == n { print $5 }')
      [ "${cur:-0}" = 0 ] && break
      sleep 0.1
    done
  fi
  stop_node "$name"
  awk -F'\t' -v n="$name" '$1 != n' "$NODE_LIST" >"$NODE_LIST.tmp" && mv "$NODE_LIST.tmp" "$NODE_LIST"
  mv "$(node_dir "$name")" "$DIR/removed-$name-$(date +%s)"
  if alive "$(hap_pid)"; then
    write_config
    if ! runtime_del_server "$name"; then reload_haproxy; fi
  fi
  log "$name: removed"
}

cmd_kill_node() {
  local name; name=$(node_arg kill-node) || exit 1
  read_state
  local pid; pid=$(node_pid "$name")
  alive "$pid" || die "$name is not running"
  kill -KILL "$pid"
  log "$name: killed (pid $pid, SIGKILL)"
}

cmd_nodes() {
  read_state
  local name
  for name in $(node_names); do
    printf '%s\t%s\t%s\t%s\n' "$name" "$(node_port "$name")" "$(node_pid "$name")" "$(node_dir "$name")/index"
  done
}

cmd_status() {
  read_state
  local p; p=$(hap_pid)
  if alive "$p"; then
    echo "haproxy  127.0.0.1:$LB_PORT  master pid $p$([ "$STATS_PORT" != 0 ] && echo ", stats http://127.0.0.1:$STATS_PORT/")"
  else
    echo "haproxy  not running"
  fi
  local hv=""
  alive "$p" && hv=$(server_status)
  local head; head=$(head_position || true)
  echo "change log head: ${head:-?}"
  printf '%-8s %-6s %-8s %-8s %-8s %-9s %-10s %-8s %s\n' node port pid state haproxy rss_mib documents index_mib "position (changes after it)"
  local name
  for name in $(node_names); do
    local port pid st rss docs idx pos lag
    port=$(node_port "$name"); pid=$(node_pid "$name")
    if alive "$pid"; then
      st=running
      rss=$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo "?")
      docs=$(curl -fsS -m 2 "http://127.0.0.1:$port/healthz" 2>/dev/null | sed -n 's/.*"documents":\([0-9]*\).*/\1/p')
    else
      st=stopped; rss=-; docs=-
    fi
    idx=$(du -sm "$(node_dir "$name")/index" 2>/dev/null | cut -f1)
    pos=$(index_position "$(node_dir "$name")/index" || true)
    lag=$(index_lag "$(node_dir "$name")/index" || true)
    printf '%-8s %-6s %-8s %-8s %-8s %-9s %-10s %-8s %s\n' "$name" "$port" "${pid:--}" "$st" \
      "$(echo "$hv" | awk -F'\t' -v n="$name" '$1 == n { print $2 }' | tr ' ' '_')" "$rss" "${docs:--}" "${idx:--}" "${pos:--} (${lag:--})"
    echo "         reindex $(node_fact "$name" reindex_seconds) s, /healthz $(node_fact "$name" serve_ready_seconds) s and caught up $(node_fact "$name" catch_up_seconds) s after start"
  done
}

cmd_stop() {
  if [ ! -f "$STATE" ]; then
    if [ "$CLEAN" = 1 ] && [ -f "$NODE_LIST" ]; then
      rm -rf "$DIR"
      log "nothing running; removed $DIR"
    else
      log "nothing running in $DIR"
    fi
    return 0
  fi
  read_state
  local p; p=$(hap_pid)
  if alive "$p"; then
    kill -TERM "$p" 2>/dev/null || true
    local i
    for ((i = 0; i < 200; i++)); do alive "$p" || break; sleep 0.05; done
    alive "$p" && kill -KILL "$p" 2>/dev/null || true
  fi
  local name
  for name in $(node_names); do stop_node "$name" & done
  wait
  if [ "$CLEAN" = 1 ]; then
    rm -rf "$DIR"
    log "stopped; removed $DIR"
  else
    rm -f "$STATE"
    log "stopped; logs and indexes kept in $DIR (--clean removes them)"
  fi
}

case "$CMD" in
  start) cmd_start ;;
  add-node) cmd_add_node ;;
  restart-node) cmd_restart_node ;;
  remove-node) cmd_remove_node ;;
  kill-node) cmd_kill_node ;;
  nodes) cmd_nodes ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  -h|--help|help) usage ;;
  *) die "unknown command '$CMD' (start, add-node, restart-node, remove-node, kill-node, status, nodes, stop)" ;;
esac
