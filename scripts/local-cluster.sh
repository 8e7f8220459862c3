#!/usr/bin/env bash
# A local multi-process RingAttention cluster: Redis membership + N silo processes on this machine (loopback only).
#   scripts/local-cluster.sh start [N]     start Redis if none answers, build and start N silos (default 3), wait until joined
#   scripts/local-cluster.sh start --gpus  one silo per GPU of this host (silo i owns cuda:i; K/V between them device to
#                                          device through CUDA IPC)
#   scripts/local-cluster.sh stop          stop the silos (and Redis, if this script started it; its AOF is deleted)
#   scripts/local-cluster.sh status        readiness of each silo
#   scripts/local-cluster.sh kill I        kill -9 silo I (fault drills)
#   scripts/local-cluster.sh restart I     start silo I again (stopping it first if it still runs); its log is rotated
#   scripts/local-cluster.sh redis-restart shut down the Redis this script started and start it again (AOF keeps membership)
#   scripts/local-cluster.sh redis-kill    kill -9 that Redis (fault drills)
#   scripts/local-cluster.sh redis-start   start it again, from its AOF
#   scripts/local-cluster.sh gateways      the silos' gateway endpoints, for a client's --cluster
#   scripts/local-cluster.sh id            the cluster id, for a client's --cluster-id
#   scripts/local-cluster.sh data-dir      the directory job inputs and outputs must lie under
#   scripts/local-cluster.sh env           export lines for RINGATTN_CLUSTER and RINGATTN_CLUSTER_ID (eval them)
# Then: ringattn run --cluster "$(scripts/local-cluster.sh gateways)" --cluster-id "$(scripts/local-cluster.sh id)" ...
#   or: eval "$(scripts/local-cluster.sh env)"; ringattn run ...   (sets RINGATTN_CLUSTER and RINGATTN_CLUSTER_ID)
# Environment: RINGATTN_CLUSTER_DIR (state, default .cluster), RINGATTN_REDIS_PORT (6379), RINGATTN_PORT_BASE (0: ports
# silo 11111+i, gateway 30000+i, data 11200+i, http 8080+i, all shifted by the base), RINGATTN_NO_BUILD=1 to skip the build,
# RINGATTN_SILO_ARGS for extra silo settings, RINGATTN_DATA_DIR (default: the directory `start` runs in): job inputs and
# outputs must lie under it (--RingAttention:AllowedRoots:0; symlinks resolved), kept for `restart` in $state/data-dir.
# Redis persists to an append-only file in the state dir (fsync every second). Logs: $state/silo-I.log (.1 to .5 older).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${RINGATTN_CLUSTER_DIR:-$root/.cluster}
redis_port=${RINGATTN_REDIS_PORT:-6379}
base=${RINGATTN_PORT_BASE:-0}
dll=$root/src/Silo/RingAttention.Silo/bin/Release/net10.0/RingAttention.Silo.dll
mkdir -p "$state"
state=$(cd "$state" && pwd)   # absolute: Redis's --dir and the pidfile must not depend on where a later call runs

silo_port() { echo $((11111 + base + $1)); }
gateway_port() { echo $((30000 + base + $1)); }
http_port() { echo $((8080 + base + $1)); }
count() { cat "$state/count" 2>/dev/null || echo 0; }

data_dir() {
  if [ ! -f "$state/data-dir" ]; then echo "no data directory recorded in $state (run start first)" >&2; return 1; fi
  cat "$state/data-dir"
}

silo_index() {   # validates the I of kill/restart
  local i=${1:-}
  if ! [[ "$i" =~ ^[0-9]+$ ]] || [ "$i" -ge "$(count)" ]; then
    echo "silo index must be 0..$(($(count) - 1)), got '$i'" >&2; exit 2
  fi
  echo "$i"
}

redis_up() { [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ]; }

redis_ours() {
  if [ ! -f "$state/redis.ours" ]; then
    echo "the Redis on port $redis_port was not started by this script (no $state/redis.ours); not touching it" >&2; exit 1
  fi
}

# Membership survives a Redis restart: append-only file in $state, fsync'ed every second (a kill -9 of the process
# loses nothing already written; only a machine crash can lose the last second). No RDB snapshots besides. No --bind:
# Redis's protected mode (no password, default bind) already refuses clients other than loopback ones.
start_redis() {
  redis-server --port "$redis_port" --daemonize yes --save "" \
    --appendonly yes --appendfsync everysec \
    --dir "$state" --pidfile "$state/redis.pid" --logfile "$state/redis.log"
  for _ in $(seq 100); do redis_up && return 0; sleep 0.1; done
  echo "Redis did not start on port $redis_port (see $state/redis.log)" >&2; exit 1
}

wait_redis_down() {
  local pid
  pid=$(cat "$state/redis.pid" 2>/dev/null || true)
  for _ in $(seq 150); do
    if ! redis_up && { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; }; then return 0; fi
    sleep 0.1
  done
  echo "Redis on port $redis_port did not stop within 15 s" >&2; exit 1
}

ensure_redis() {
  if redis_up; then return 0; fi
  if ! command -v redis-server >/dev/null; then
    echo "redis-server is not installed; installing Debian's redis-server" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y redis-server >/dev/null || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }
    else sudo apt-get install -y redis-server >/dev/null; fi
  fi
  start_redis
  touch "$state/redis.ours"
}

# silo-I.log -> silo-I.log.1 -> ... -> silo-I.log.5 (dropped): a restarted silo keeps the log of the one that died.
rotate_log() {
  local log=$state/silo-$1.log k
  if [ ! -e "$log" ]; then return 0; fi
  rm -f "$log.5"
  for k in 4 3 2 1; do
    if [ -e "$log.$k" ]; then mv -f "$log.$k" "$log.$((k + 1))"; fi
  done
  mv -f "$log" "$log.1"
}

start_silo() {
  local i=$1 dir
  dir=$(data_dir)
  rotate_log "$i"
  rm -f "$state/silo-$i.pid"
  # A silo that exits with 75 (its membership table vanished from Redis) is started again so that it registers afresh;
  # any other exit (kill, stop, a crash) ends the loop. The pid file always holds the running silo process's pid.
  # shellcheck disable=SC2086
  nohup bash -c '
    while true; do
      dotnet "$0" "$@" & echo $! >"'"$state/silo-$i.pid"'"
      wait $! && exit 0 || code=$?
      [ "$code" = 75 ] || exit "$code"
      echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) warn: local-cluster.sh: silo exited 75 (membership table gone): starting it again" >&2
    done' "$dll" --Silo:Clustering=redis --Silo:RedisConnectionString="localhost:$redis_port" \
    --Silo:ClusterId="$(cat "$state/cluster-id")" --Silo:SiloName="silo$i" \
    --Silo:SiloPort="$(silo_port "$i")" --Silo:GatewayPort="$(gateway_port "$i")" \
    --Silo:DataPort=$((11200 + base + i)) --Silo:HttpPort="$(http_port "$i")" \
    --RingAttention:AllowedRoots:0="$dir" $(device_arg "$i") ${RINGATTN_SILO_ARGS:-} \
    >>"$state/silo-$i.log" 2>&1 &
  # Wait for the wrapper to record the silo's own pid (kill and stop signal the silo, not the wrapper).
  for _ in $(seq 100); do [ -s "$state/silo-$i.pid" ] && break; sleep 0.05; done
}

device_arg() {   # with start --gpus, silo I owns GPU I
  if [ -f "$state/gpus" ]; then echo "--Silo:Device=cuda:$1"; fi
}

stop_silo() {   # SIGTERM (graceful: the silo leaves the membership table), SIGKILL after 15 s
  local pidfile=$state/silo-$1.pid pid
  if [ ! -f "$pidfile" ]; then return 0; fi
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

wait_ready() {
  local i=$1
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$(http_port "$i")/healthz/ready" >/dev/null 2>&1 && return 0
    kill -0 "$(cat "$state/silo-$i.pid")" 2>/dev/null || { echo "silo $i exited (see $state/silo-$i.log)" >&2; return 1; }
    sleep 0.1
  done
  echo "silo $i did not become ready in 60 s (see $state/silo-$i.log)" >&2; return 1
}

gateways() { local n; n=$(count); for i in $(seq 0 $((n - 1))); do printf '%slocalhost:%s' "$([ "$i" -gt 0 ] && echo ,)" "$(gateway_port "$i")"; done; echo; }

case "${1:-}" in
  start)
    n=${2:-3}
    rm -f "$state/gpus"
    if [ "$n" = --gpus ]; then
      n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
      if [ "$n" -lt 1 ]; then echo "start --gpus: no GPU found (nvidia-smi -L lists none); start N silos on the CPU instead" >&2; exit 1; fi
      touch "$state/gpus"
    fi
    data=${RINGATTN_DATA_DIR:-$PWD}
    if [ ! -d "$data" ]; then echo "data directory $data (RINGATTN_DATA_DIR) does not exist" >&2; exit 1; fi
    (cd "$data" && pwd -P) >"$state/data-dir"
    ensure_redis
    [ "${RINGATTN_NO_BUILD:-}" = 1 ] || dotnet build -c Release "$root/src/Silo/RingAttention.Silo" -v quiet -nologo >/dev/null
    echo "ringattn-$(date +%s)-$$" >"$state/cluster-id"   # fresh membership table: no stale rows from earlier runs
    echo "$n" >"$state/count"
    for i in $(seq 0 $((n - 1))); do start_silo "$i"; done
    for i in $(seq 0 $((n - 1))); do wait_ready "$i"; done
    echo "cluster ready: $n silos$([ -f "$state/gpus" ] && echo ", one per GPU"), gateways $(gateways), cluster id $(cat "$state/cluster-id"), files confined to $(data_dir)"
    ;;
  stop)
    for pidfile in "$state"/silo-*.pid; do
      [ -f "$pidfile" ] || continue
      i=${pidfile##*/silo-}; stop_silo "${i%.pid}"
    done
    if [ -f "$state/redis.ours" ]; then
      redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
      wait_redis_down
      # The next start uses a fresh cluster id: the old membership table is of no use.
      rm -rf "$state/appendonlydir" "$state/appendonly.aof" "$state/redis.ours"
    fi
    echo "stopped"
    ;;
  status)
    for i in $(seq 0 $(($(count) - 1))); do
      printf 'silo %s: %s\n' "$i" "$(curl -s "http://127.0.0.1:$(http_port "$i")/healthz/ready" || echo down)"
    done
    ;;
  kill) i=$(silo_index "${2:-}"); kill -9 "$(cat "$state/silo-$i.pid")" ;;
  restart) i=$(silo_index "${2:-}"); stop_silo "$i"; start_silo "$i"; wait_ready "$i" ;;
  redis-restart)
    redis_ours
    redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true   # flushes the AOF
    wait_redis_down
    start_redis
    echo "redis restarted on port $redis_port"
    ;;
  redis-kill)
    redis_ours
    kill -9 "$(cat "$state/redis.pid")"
    wait_redis_down
    echo "redis killed (port $redis_port); redis-start brings it back"
    ;;
  redis-start)
    redis_ours
    if redis_up; then echo "redis already answers on port $redis_port"; exit 0; fi
    start_redis
    echo "redis started on port $redis_port"
    ;;
  gateways) gateways ;;
  id) cat "$state/cluster-id" ;;
  # For eval: every later ringattn command finds this cluster without --cluster/--cluster-id.
  env) printf 'export RINGATTN_CLUSTER=%q RINGATTN_CLUSTER_ID=%q\n' "$(gateways)" "$(cat "$state/cluster-id")" ;;
  data-dir) data_dir ;;
  *) sed -n '2,21p' "$0"; exit 2 ;;
esac
