#!/usr/bin/env bash
# servers.sh - run a real Redis 8 and a single-node Kafka 4 (KRaft) on loopback
# for Lyceum's tests, with their data in a temp dir.
#
# Usage: servers.sh up|down|status|env|stop-kafka|start-kafka
#   up           start Redis and Kafka (if not running), wait until both answer,
#                create the topics in deploy/kafka-topics.txt, print the addresses
#   down         stop both and remove the temp data
#   status       show what runs (exit 0 when both answer, 3 otherwise)
#   env          print `export LYCEUM_REDIS_URL=...` / `export LYCEUM_KAFKA_BROKERS=...`
#                and, once `up` ran, `export LYCEUM_REDIS_BIN_DIR=...` (its redis-server)
#   stop-kafka   stop only the broker, keeping its data (simulates an outage)
#   start-kafka  start the broker again on the same data and wait until it answers
#
# Environment: LYCEUM_REDIS_PORT (6399), LYCEUM_KAFKA_PORT (9392),
#   LYCEUM_KAFKA_CONTROLLER_PORT (Kafka port + 1), LYCEUM_RUN_DIR
#   (${TMPDIR:-/tmp}/lyceum-servers: pid files and the state file naming the data
#   dir), LYCEUM_CACHE (binaries, see redis8.sh and kafka.sh), time-outs in seconds
#   LYCEUM_REDIS_TIMEOUT (30), LYCEUM_KAFKA_TIMEOUT (120), LYCEUM_TOPIC_TIMEOUT (60).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly TOPICS_FILE="$SCRIPT_DIR/../kafka-topics.txt"
readonly RUN_DIR="${LYCEUM_RUN_DIR:-${TMPDIR:-/tmp}/lyceum-servers}"
readonly STATE_FILE="$RUN_DIR/state"
readonly REDIS_PID_FILE="$RUN_DIR/redis.pid"
readonly KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
readonly REDIS_TIMEOUT="${LYCEUM_REDIS_TIMEOUT:-30}"
readonly KAFKA_TIMEOUT="${LYCEUM_KAFKA_TIMEOUT:-120}"
readonly TOPIC_TIMEOUT="${LYCEUM_TOPIC_TIMEOUT:-60}"
readonly STOP_TIMEOUT=60
# A fixed, valid Kafka cluster id (base64url of "LyceumLocalKafka").
readonly CLUSTER_ID="THljZXVtTG9jYWxLYWZrYQ"

log() { echo "[servers] $*" >&2; }
die() { echo "[servers] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- state ----

# Loads the state file (written by `up`) into STATE_<KEY> variables.
load_state() {
  STATE_DATA_DIR="" STATE_REDIS_PORT="" STATE_KAFKA_PORT="" STATE_KAFKA_CONTROLLER_PORT=""
  STATE_REDIS_BIN_DIR=""
  [[ -f "$STATE_FILE" ]] || return 0
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      DATA_DIR|REDIS_PORT|KAFKA_PORT|KAFKA_CONTROLLER_PORT|REDIS_BIN_DIR)
        printf -v "STATE_$key" '%s' "$value" ;;
    esac
  done <"$STATE_FILE"
}

# Ports: the environment wins, then what `up` recorded, then the defaults.
resolve_ports() {
  REDIS_PORT="${LYCEUM_REDIS_PORT:-${STATE_REDIS_PORT:-6399}}"
  KAFKA_PORT="${LYCEUM_KAFKA_PORT:-${STATE_KAFKA_PORT:-9392}}"
  KAFKA_CONTROLLER_PORT="${LYCEUM_KAFKA_CONTROLLER_PORT:-${STATE_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}}"
}

save_state() {
  mkdir -p "$RUN_DIR"
  {
    echo "DATA_DIR=$DATA_DIR"
    echo "REDIS_PORT=$REDIS_PORT"
    echo "KAFKA_PORT=$KAFKA_PORT"
    echo "KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT"
    echo "REDIS_BIN_DIR=$REDIS_BIN_DIR"
  } >"$STATE_FILE.tmp"
  mv "$STATE_FILE.tmp" "$STATE_FILE"
}

# Serialises the commands that start or stop servers (taken before the state
# is read, so two concurrent `up`s share one data dir).
take_lock() {
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/.lock"
  flock -w 300 8 || die "another servers.sh holds $RUN_DIR/.lock for more than 300 s"
}

# ------------------------------------------------------------ processes ----

# Prints the pid in pid file $1 if that process runs and its command line
# contains $2; returns 1 otherwise.
running_pid() {
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" || return 1
  echo "$pid"
}

redis_pid() { running_pid "$REDIS_PID_FILE" redis-server; }
kafka_pid() { running_pid "$KAFKA_PID_FILE" kafka.Kafka; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts "$@" in its own session, detached, writing its pid to $1 first.
# The pid survives because every step execs the next one.
spawn() {
  local pid_file="$1" out="$2" i
  shift 2
  rm -f "$pid_file"
  # 8>&- : the daemon must not inherit (and so keep holding) our lock.
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner bash
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" </dev/null >>"$out" 2>&1 8>&- &
  for i in $(seq 50); do [[ -s "$pid_file" ]] && return 0; sleep 0.1; done
  die "could not start $* (no pid written to $pid_file)"
}

# Prints the last lines of each log file given (or says it is not there yet).
show_logs() {
  local f
  for f in "$@"; do
    if [[ -s "$f" ]]; then
      echo "---- last lines of $f" >&2
      tail -n 30 "$f" >&2
    else
      echo "---- $f: empty or not written yet" >&2
    fi
  done
}

# Waits until `$2` succeeds, for at most $3 seconds; fails early when the
# process of pid file $4 dies. Prints the tails of the log files $5... on failure.
wait_until() {
  local what="$1" check="$2" limit="$3" pid_file="$4" deadline
  shift 4
  deadline=$((SECONDS + limit))
  while ! "$check"; do
    if ! kill -0 "$(cat "$pid_file" 2>/dev/null || echo 0)" 2>/dev/null; then
      show_logs "$@"
      die "$what exited during start-up (logs above)"
    fi
    if ((SECONDS >= deadline)); then
      show_logs "$@"
      die "$what did not answer within ${limit} s (logs above; it may still be starting: 'servers.sh status', or 'servers.sh down' to clean up)"
    fi
    sleep 0.2
  done
}

# Sends SIGTERM to the process of pid file $1 (checked with pattern $2), waits
# up to STOP_TIMEOUT s, then SIGKILLs it.
stop_process() {
  local name="$1" pid_file="$2" pattern="$3" pid deadline
  if ! pid="$(running_pid "$pid_file" "$pattern")"; then
    rm -f "$pid_file"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name: still running after ${STOP_TIMEOUT} s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  rm -f "$pid_file"
}

# ---------------------------------------------------------------- redis ----

redis_answers() {
  [[ "$(timeout 2 "$REDIS_BIN_DIR/redis-cli" -h 127.0.0.1 -p "$REDIS_PORT" PING 2>/dev/null)" == PONG ]]
}

start_redis() {
  local pid dir="$DATA_DIR/redis"
  if pid="$(redis_pid)"; then
    log "redis: already running (pid $pid)"
  else
    port_in_use "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process (not our Redis); set LYCEUM_REDIS_PORT"
    mkdir -p "$dir"
    log "redis: starting on 127.0.0.1:$REDIS_PORT"
    spawn "$REDIS_PID_FILE" "$dir/redis.out" "$REDIS_BIN_DIR/redis-server" \
      --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$dir" --save '' --appendonly no \
      --logfile "$dir/redis.log" --daemonize no
  fi
  wait_until "redis" redis_answers "$REDIS_TIMEOUT" "$REDIS_PID_FILE" "$dir/redis.out" "$dir/redis.log"
}

# ---------------------------------------------------------------- kafka ----

# Runs a Kafka command-line tool class, killed after TOPIC_TIMEOUT s.
kafka_tool() { timeout "$TOPIC_TIMEOUT" bash "$SCRIPT_DIR/kafka.sh" tool "$@"; }

# Kafka protocol probe: sends an ApiVersions v0 request (correlation id "LYK1")
# and checks that the reply carries that id and error code 0.
kafka_answers() {
  local hex
  # shellcheck disable=SC2016 # $0 belongs to the inner bash
  hex="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x4c\x59\x4b\x31\x00\x00" >&3
    head -c 10 <&3 | od -An -tx1' "$KAFKA_PORT" 2>/dev/null | tr -d ' \n')" || return 1
  [[ "$hex" == ????????4c594b310000 ]]
}

write_kafka_config() {
  local dir="$DATA_DIR/kafka"
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<EOF
# Single-node KRaft (combined broker + controller) for Lyceum's local tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=2
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=4
group.initial.rebalance.delay.ms=0
# After a crash (kill -9) the restarted broker cannot register until its old
# session expires. Tests stop the broker cleanly, so the session can keep
# Kafka's default length: shorter ones fenced the broker when a loaded
# machine stalled it for a few seconds.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=9000
EOF
}

format_kafka_storage() {
  local dir="$DATA_DIR/kafka"
  [[ -f "$dir/data/meta.properties" ]] && return 0
  log "kafka: formatting storage in $dir/data (cluster id $CLUSTER_ID)"
  kafka_tool kafka.tools.StorageTool format \
    --standalone -t "$CLUSTER_ID" -c "$dir/server.properties" >"$dir/logs/format.out" 2>&1 \
    || { cat "$dir/logs/format.out" >&2; die "kafka storage format failed (output above)"; }
}

start_kafka() {
  local pid dir="$DATA_DIR/kafka"
  if pid="$(kafka_pid)"; then
    log "kafka: already running (pid $pid)"
  else
    port_in_use "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process (not our Kafka); set LYCEUM_KAFKA_PORT"
    port_in_use "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is taken; set LYCEUM_KAFKA_CONTROLLER_PORT"
    write_kafka_config
    format_kafka_storage
    log "kafka: starting on 127.0.0.1:$KAFKA_PORT (controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)"
    spawn "$KAFKA_PID_FILE" "$dir/logs/kafka.out" \
      bash "$SCRIPT_DIR/kafka.sh" broker "$dir/server.properties" "$dir/logs"
  fi
  wait_until "kafka" kafka_answers "$KAFKA_TIMEOUT" "$KAFKA_PID_FILE" \
    "$dir/logs/kafka.out" "$dir/logs/server.log"
}

# Topics in the topics file: "name partitions" lines, # comments allowed.
wanted_topics() { grep -v '^[[:space:]]*\(#\|$\)' "$TOPICS_FILE"; }

create_topic() {
  kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    --create --if-not-exists --topic "$1" --partitions "$2" --replication-factor 1 >/dev/null
}

# Creates the missing topics, in parallel (one JVM each); each has a time-out.
create_topics() {
  local existing name partitions failed=() pids=() names=() i
  [[ -f "$TOPICS_FILE" ]] || die "topics file $TOPICS_FILE not found"
  existing="$(kafka_tool org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list)" \
    || die "listing Kafka topics failed or took more than ${TOPIC_TIMEOUT} s"
  while read -r name partitions; do
    grep -qxF "$name" <<<"$existing" && continue
    log "kafka: creating topic $name ($partitions partitions)"
    create_topic "$name" "$partitions" &
    pids+=("$!") names+=("$name")
  done < <(wanted_topics)
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
  done
  [[ ${#failed[@]} -eq 0 ]] \
    || die "creating topic(s) ${failed[*]} failed or took more than ${TOPIC_TIMEOUT} s (errors above)"
}

# ------------------------------------------------------------- commands ----

print_env() {
  local bin_dir="${REDIS_BIN_DIR:-$STATE_REDIS_BIN_DIR}"
  echo "export LYCEUM_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export LYCEUM_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  # The Redis build that runs (with TLS): tests that start a server of their own use it.
  [[ -n "$bin_dir" ]] && echo "export LYCEUM_REDIS_BIN_DIR=$bin_dir"
  return 0
}

# Refuses to change the port of a server that already runs.
check_same_ports() {
  if redis_pid >/dev/null && [[ -n "$STATE_REDIS_PORT" && "$STATE_REDIS_PORT" != "$REDIS_PORT" ]]; then
    die "Redis already runs on port $STATE_REDIS_PORT, not $REDIS_PORT: run 'servers.sh down' first"
  fi
  if kafka_pid >/dev/null && [[ -n "$STATE_KAFKA_PORT" && "$STATE_KAFKA_PORT" != "$KAFKA_PORT" ]]; then
    die "Kafka already runs on port $STATE_KAFKA_PORT, not $KAFKA_PORT: run 'servers.sh down' first"
  fi
}

# Reuses the recorded data dir, or makes a new temp one.
ensure_data_dir() {
  DATA_DIR="$STATE_DATA_DIR"
  if [[ -z "$DATA_DIR" || ! -f "$DATA_DIR/.lyceum-data" ]]; then
    DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/lyceum-data.XXXXXX")"
    touch "$DATA_DIR/.lyceum-data"
    log "data dir: $DATA_DIR"
  fi
}

cmd_up() {
  check_same_ports
  REDIS_BIN_DIR="$(bash "$SCRIPT_DIR/redis8.sh")" || die "no Redis 8 server (deploy/local/redis8.sh failed)"
  bash "$SCRIPT_DIR/kafka.sh" libs >/dev/null || die "no Kafka jars (deploy/local/kafka.sh failed)"
  ensure_data_dir
  save_state
  start_redis
  start_kafka
  create_topics
  log "up: Redis redis://127.0.0.1:$REDIS_PORT, Kafka 127.0.0.1:$KAFKA_PORT, data $DATA_DIR"
  log "redis-cli: $REDIS_BIN_DIR/redis-cli"
  print_env
}

cmd_down() {
  stop_process kafka "$KAFKA_PID_FILE" kafka.Kafka
  stop_process redis "$REDIS_PID_FILE" redis-server
  if [[ -n "$STATE_DATA_DIR" && -f "$STATE_DATA_DIR/.lyceum-data" ]]; then
    rm -rf "$STATE_DATA_DIR"
    log "removed $STATE_DATA_DIR"
  fi
  rm -f "$STATE_FILE"   # the run dir and its .lock stay: others may wait on it
}

cmd_status() {
  local pid rc=0
  REDIS_BIN_DIR="$STATE_REDIS_BIN_DIR"
  if pid="$(redis_pid)" && redis_answers; then
    echo "redis: up   pid $pid  redis://127.0.0.1:$REDIS_PORT  ($REDIS_BIN_DIR/redis-server)"
  else
    echo "redis: down"; rc=3
  fi
  if pid="$(kafka_pid)" && kafka_answers; then
    echo "kafka: up   pid $pid  127.0.0.1:$KAFKA_PORT  (Kafka $(bash "$SCRIPT_DIR/kafka.sh" version))"
  else
    echo "kafka: down"; rc=3
  fi
  echo "data:  ${STATE_DATA_DIR:-none}"
  return "$rc"
}

cmd_stop_kafka() {
  stop_process kafka "$KAFKA_PID_FILE" kafka.Kafka
}

cmd_start_kafka() {
  [[ -n "$STATE_DATA_DIR" && -f "$STATE_DATA_DIR/.lyceum-data" ]] \
    || die "no data dir recorded in $STATE_FILE: run 'servers.sh up' first"
  DATA_DIR="$STATE_DATA_DIR"
  local start=$SECONDS
  start_kafka
  log "kafka: answering on 127.0.0.1:$KAFKA_PORT ($((SECONDS - start)) s)"
}

main() {
  [[ $# -eq 1 ]] || die "usage: servers.sh up|down|status|env|stop-kafka|start-kafka"
  case "$1" in
    up|down|stop-kafka|start-kafka) take_lock ;;
  esac
  load_state
  resolve_ports
  case "$1" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) print_env ;;
    stop-kafka) cmd_stop_kafka ;;
    start-kafka) cmd_start_kafka ;;
    *) die "unknown command '$1' (use: up, down, status, env, stop-kafka, start-kafka)" ;;
  esac
}

main "$@"
