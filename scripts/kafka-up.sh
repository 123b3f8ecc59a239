#!/usr/bin/env bash
# Start a real single-node Apache Kafka broker (KRaft, combined
# broker+controller) on 127.0.0.1, built from jars that Maven resolves.
# Safe to run twice: a broker that already answers is left alone.
#
#   OKR_KAFKA_HOME             cache dir (default <repo>/.cache/kafka)
#   OKR_KAFKA_PORT             client listener port (default 19092)
#   OKR_KAFKA_CONTROLLER_PORT  KRaft controller port (default 19093)
#   OKR_KAFKA_START_TIMEOUT    seconds to wait for readiness (default 90)
#   JAVA                       java binary (default $JAVA_HOME/bin/java or java)
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/.." && pwd)"
pom="$script_dir/kafka/pom.xml"

cache="${OKR_KAFKA_HOME:-$repo_root/.cache/kafka}"
port="${OKR_KAFKA_PORT:-19092}"
controller_port="${OKR_KAFKA_CONTROLLER_PORT:-19093}"
timeout_s="${OKR_KAFKA_START_TIMEOUT:-90}"
host=127.0.0.1
bootstrap="$host:$port"

libs="$cache/libs"
data="$cache/data"
logs="$cache/logs"
props="$cache/server.properties"
pid_file="$cache/kafka.pid"

if [[ -n "${JAVA:-}" ]]; then
  java_bin="$JAVA"
elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  java_bin="$JAVA_HOME/bin/java"
else
  java_bin=java
fi

log() { printf 'kafka-up: %s\n' "$*"; }
die() { printf 'kafka-up: ERROR: %s\n' "$*" >&2; exit 1; }

command -v "$java_bin" >/dev/null 2>&1 || die "java not found (need Java 17+)"
mkdir -p "$cache" "$logs"

# Serialise concurrent runs (two shells calling kafka-up at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.kafka-up.lock"
  flock 9
fi

# --- helpers -----------------------------------------------------------------

# Short-lived JVM running a Kafka CLI class from the cached jars; quiet logging.
kafka_tool() {
  "$java_bin" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$cache/tools-log4j2.properties" \
    -cp "$libs/*" "$@"
}

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

# A real Kafka answer, not just an open socket: list topics needs metadata.
broker_answers() {
  port_open || return 1
  kafka_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$bootstrap" --list >/dev/null 2>&1
}

# Alive = some thread is not a zombie (an exiting JVM's main thread is a
# zombie while its shutdown hooks still run).
running() {
  local f st
  for f in /proc/"$1"/task/*/stat; do
    st="$(cat "$f" 2>/dev/null)" || continue
    st="${st##*) }"            # drop "pid (comm) ", comm may contain spaces
    [[ "${st%% *}" != Z ]] && return 0
  done
  return 1
}

# Sets $pid from the pid file if that process is still our broker.
pid=""
find_live_pid() {
  local cmd
  pid=""
  [[ -s "$pid_file" ]] || return 1
  pid="$(<"$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || { pid=""; return 1; }
  running "$pid" || { pid=""; return 1; }
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || { pid=""; return 1; }
  if [[ -z "$cmd" ]]; then
    # Empty cmdline: our broker is mid-shutdown. Let it finish, then start anew.
    log "broker $pid is shutting down; waiting for it to exit"
    local deadline=$((SECONDS + 60))
    while running "$pid" && ((SECONDS < deadline)); do sleep 0.5; done
    running "$pid" && die "broker $pid did not finish shutting down"
    pid=""
    return 1
  fi
  # Guard against pid reuse: the process must be kafka.Kafka.
  [[ "$cmd" == *kafka.Kafka* ]] || { pid=""; return 1; }
}

print_version() {
  local v
  # What the running broker itself logged at start-up (AppInfoParser).
  v="$(grep -o 'Kafka version: [^ ]*' "$logs/server.log" 2>/dev/null | tail -n 1 || true)"
  if [[ -n "$v" ]]; then
    log "$v (broker on $bootstrap)"
  else
    log "Kafka version: $(kafka_tool org.apache.kafka.tools.TopicCommand --version 2>/dev/null | head -n 1) (from jars)"
  fi
}

# --- 1. jars: resolve once with Maven, then run offline ---------------------

# Re-resolve only when the pom changed (or a previous copy was interrupted).
pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"
if [[ ! -f "$libs/.complete" || "$(<"$libs/.complete")" != "$pom_sum" ]]; then
  command -v mvn >/dev/null 2>&1 || die "mvn not found; needed once to fetch the Kafka jars"
  log "resolving Kafka jars with Maven into $libs (first run only)"
  tmp_libs="$cache/libs.tmp.$$"
  rm -rf "$tmp_libs"
  # Output goes to a log (Maven's -q still emits colour codes); shown on failure.
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp_libs" >"$logs/mvn.log" 2>&1; then
    tail -n 40 "$logs/mvn.log" >&2
    rm -rf "$tmp_libs"
    die "Maven could not resolve the Kafka jars (see $logs/mvn.log)"
  fi
  printf '%s\n' "$pom_sum" >"$tmp_libs/.complete"
  rm -rf "$libs"
  mv "$tmp_libs" "$libs"
fi
compgen -G "$libs/kafka_2.13-*.jar" >/dev/null || die "kafka_2.13 jar missing in $libs"

# --- 2. config (rewritten every run; cheap and keeps ports in sync) ---------

cat >"$props" <<EOF
# Generated by scripts/kafka-up.sh; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$controller_port
listeners=PLAINTEXT://$host:$port,CONTROLLER://$host:$controller_port
advertised.listeners=PLAINTEXT://$host:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
# Single node: every internal topic must live with one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
# Dev/test speed: no initial rebalance delay.
group.initial.rebalance.delay.ms=0
# 2-core machine: keep thread pools small.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF

# log4j2 (Kafka 4.x logs via SLF4J -> log4j2). Broker: rolling server.log.
cat >"$cache/log4j2.properties" <<'EOF'
status = warn
name = okr-kafka-broker
# Kafka shuts down in its own hook; log4j2's hook would stop logging midway.
shutdownHook = disable
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
# CLI tools: warnings only, to stderr.
cat >"$cache/tools-log4j2.properties" <<'EOF'
status = warn
name = okr-kafka-tools
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = err
EOF

# --- 3. already running? ------------------------------------------------------

if find_live_pid; then
  if broker_answers; then
    log "broker already running (pid $pid) on $bootstrap"
    print_version
    exit 0
  fi
  log "broker process $pid exists but is not answering yet; waiting for it"
elif port_open; then
  if broker_answers; then
    log "a Kafka broker already answers on $bootstrap (not started by this script); using it"
    exit 0
  fi
  die "port $port is in use by something that is not a Kafka broker"
else
  rm -f "$pid_file"
fi

# --- 4. format storage once ---------------------------------------------------

if [[ -z "$pid" && ! -f "$data/meta.properties" ]]; then
  cluster_id_file="$cache/cluster.id"
  if [[ ! -s "$cluster_id_file" ]]; then
    # StorageTool calls System.exit, so each use is its own JVM.
    kafka_tool kafka.tools.StorageTool random-uuid >"$cluster_id_file"
  fi
  cluster_id="$(<"$cluster_id_file")"
  log "formatting $data (cluster id $cluster_id)"
  kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$props" \
    --ignore-formatted >/dev/null
fi

# --- 5. start ------------------------------------------------------------------

if [[ -z "$pid" ]]; then
  log "starting Kafka broker on $bootstrap (controller $host:$controller_port)"
  # setsid: own session, so the broker outlives the shell/job that started it.
  # stdout/stderr catch anything before log4j2 is up (e.g. JVM errors).
  # 9>&- : the broker must not inherit (and forever hold) the run lock.
  nohup setsid "$java_bin" -Xms256m -Xmx512m \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dkafka.logs.dir="$logs" \
    -Dlog4j2.configurationFile="$cache/log4j2.properties" \
    -cp "$libs/*" kafka.Kafka "$props" \
    >>"$logs/kafka.out" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$pid_file"
fi

# --- 6. wait until it really answers -----------------------------------------

deadline=$((SECONDS + timeout_s))
until broker_answers; do
  if ! running "$pid"; then
    log "broker process $pid exited during start-up; last log lines:"
    tail -n 40 "$logs/server.log" "$logs/kafka.out" 2>/dev/null || true
    rm -f "$pid_file"
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    log "broker did not answer on $bootstrap within ${timeout_s}s; last log lines:"
    tail -n 40 "$logs/server.log" "$logs/kafka.out" 2>/dev/null || true
    exit 1
  fi
  sleep 1
done

log "broker ready (pid $pid) on $bootstrap after ${SECONDS}s"
print_version
