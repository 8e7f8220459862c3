#!/usr/bin/env bash
# A local multi-process RingAttention cluster: Redis membership + N silo processes on this machine.
#   scripts/local-cluster.sh start [N]   start Redis if none answers, build and start N silos (default 3), wait until joined
#   scripts/local-cluster.sh stop        stop the silos (and Redis, if this script started it)
#   scripts/local-cluster.sh status      readiness of each silo
#   scripts/local-cluster.sh kill I      kill -9 silo I (fault drills)
#   scripts/local-cluster.sh restart I   start silo I again
# Then: ringattn run --cluster "$(scripts/local-cluster.sh gateways)" --cluster-id "$(scripts/local-cluster.sh id)" ...
# Environment: RINGATTN_CLUSTER_DIR (state, default .cluster), RINGATTN_REDIS_PORT (6379), RINGATTN_PORT_BASE (0: ports
# silo 11111+i, gateway 30000+i, data 11200+i, http 8080+i, all shifted by the base), RINGATTN_NO_BUILD=1 to skip the build,
# RINGATTN_SILO_ARGS for extra silo settings.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${RINGATTN_CLUSTER_DIR:-$root/.cluster}
redis_port=${RINGATTN_REDIS_PORT:-6379}
base=${RINGATTN_PORT_BASE:-0}
dll=$root/src/Silo/RingAttention.Silo/bin/Release/net10.0/RingAttention.Silo.dll
mkdir -p "$state"

silo_port() { echo $((11111 + base + $1)); }
gateway_port() { echo $((30000 + base + $1)); }
http_port() { echo $((8080 + base + $1)); }
count() { cat "$state/count" 2>/dev/null || echo 0; }

ensure_redis() {
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then return; fi
  if ! command -v redis-server >/dev/null; then
    echo "redis-server is not installed; installing Debian's redis-server" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y redis-server >/dev/null || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }
    else sudo apt-get install -y redis-server >/dev/null; fi
  fi
  redis-server --port "$redis_port" --daemonize yes --save "" --appendonly no \
    --dir "$state" --pidfile "$state/redis.pid" --logfile "$state/redis.log"
  touch "$state/redis.ours"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "Redis did not start on port $redis_port (see $state/redis.log)" >&2; exit 1
}

start_silo() {
  local i=$1
  # shellcheck disable=SC2086
  nohup dotnet "$dll" --Silo:Clustering=redis --Silo:RedisConnectionString="localhost:$redis_port" \
    --Silo:ClusterId="$(cat "$state/cluster-id")" --Silo:SiloName="silo$i" \
    --Silo:SiloPort="$(silo_port "$i")" --Silo:GatewayPort="$(gateway_port "$i")" \
    --Silo:DataPort=$((11200 + base + i)) --Silo:HttpPort="$(http_port "$i")" ${RINGATTN_SILO_ARGS:-} \
    >"$state/silo-$i.log" 2>&1 &
  echo $! >"$state/silo-$i.pid"
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
    ensure_redis
    [ "${RINGATTN_NO_BUILD:-}" = 1 ] || dotnet build -c Release "$root/src/Silo/RingAttention.Silo" -v quiet -nologo >/dev/null
    echo "ringattn-$(date +%s)-$$" >"$state/cluster-id"   # fresh membership table: no stale rows from earlier runs
    echo "$n" >"$state/count"
    for i in $(seq 0 $((n - 1))); do start_silo "$i"; done
    for i in $(seq 0 $((n - 1))); do wait_ready "$i"; done
    echo "cluster ready: $n silos, gateways $(gateways), cluster id $(cat "$state/cluster-id")"
    ;;
  stop)
    for pidfile in "$state"/silo-*.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"
    done
    if [ -f "$state/redis.ours" ]; then redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; rm -f "$state/redis.ours"; fi
    echo "stopped"
    ;;
  status)
    for i in $(seq 0 $(($(count) - 1))); do
      printf 'silo %s: %s\n' "$i" "$(curl -s "http://127.0.0.1:$(http_port "$i")/healthz/ready" || echo down)"
    done
    ;;
  kill) kill -9 "$(cat "$state/silo-$2.pid")" ;;
  restart) start_silo "$2"; wait_ready "$2" ;;
  gateways) gateways ;;
  id) cat "$state/cluster-id" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
