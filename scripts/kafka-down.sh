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

# Alive = some thread is not a zombie. While the JVM exits, its main thread
# is already a zombie (and /proc/PID/cmdline reads empty) for a second or two
# while the shutdown hooks still run in other threads.
running() {
  local f st
  for f in /proc/"$1"/task/*/stat; do
    st="$(cat "$f" 2>/dev/null)" || continue
    st="${st##*) }"            # drop "pid (comm) ", comm may contain spaces
    [[ "${st%% *}" != Z ]] && return 0
  done
  return 1
}

# Only signal a pid that is really our broker (pid files can go stale).
# Empty cmdline = a process already exiting, i.e. our broker mid-shutdown.
is_broker() {
  local cmd
  running "$1" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ -z "$cmd" || "$cmd" == *kafka.Kafka* ]]
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
  while running "$pid" && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if running "$pid"; then
    log "still running after ${timeout_s}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while running "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
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
