#!/usr/bin/env bash
# Stop the broker started by scripts/kafka-up.sh. Safe to run twice.
#
#   --wipe   also delete the broker's data (topics, offsets, cluster id);
#            the cached jars stay, so the next kafka-up.sh needs no network.
#
#   OKR_KAFKA_HOME          cache dir (default <repo>/.cache/kafka)
#   OKR_KAFKA_STOP_TIMEOUT  seconds to wait after SIGTERM (default 30)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
cache="${OKR_KAFKA_HOME:-$repo_root/.cache/kafka}"
pid_file="$cache/kafka.pid"
timeout_s="${OKR_KAFKA_STOP_TIMEOUT:-30}"

wipe=0
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) printf 'kafka-down: unknown argument: %s\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf 'kafka-down: %s\n' "$*"; }

# Only signal a pid that is really our broker (pid files can go stale).
is_broker() {
  kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

pid=""
if [[ -s "$pid_file" ]]; then
  pid="$(<"$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || pid=""
fi

if [[ -n "$pid" ]] && is_broker "$pid"; then
  # SIGTERM lets Kafka shut down cleanly (flush logs, leave the quorum), so
  # the next start needs no log recovery.
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + timeout_s))
  while is_broker "$pid" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if is_broker "$pid"; then
    log "still running after ${timeout_s}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while is_broker "$pid"; do sleep 0.2; done
  fi
  log "stopped"
else
  log "no broker running (per $pid_file)"
fi
rm -f "$pid_file"

if ((wipe)); then
  # Data and cluster id go together: a new format needs a fresh id anyway.
  rm -rf "$cache/data" "$cache/cluster.id"
  log "wiped $cache/data"
fi
