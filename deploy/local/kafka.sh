#!/usr/bin/env bash
# kafka.sh - make sure the Apache Kafka 4.x jars are cached outside the clone
# (${LYCEUM_CACHE:-/var/cache/lyceum}/kafka-<version>/libs, gathered from Maven
# Central with `mvn dependency:copy-dependencies` on kafka-pom.xml), and run
# Kafka's Java classes from them with Java >= 17.
#
# Usage:
#   kafka.sh [libs]                      ensure the jars; print the libs dir
#   kafka.sh version                     print the Kafka version in kafka-pom.xml
#   kafka.sh tool CLASS ARGS...          run a command-line tool (logs WARN to stderr),
#                                        e.g. kafka.sh tool org.apache.kafka.tools.TopicCommand
#                                             --bootstrap-server 127.0.0.1:9392 --list
#   kafka.sh broker PROPS LOG_DIR        run the broker (kafka.Kafka PROPS) in the
#                                        foreground, heap 512 MiB, logging to LOG_DIR/server.log
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly POM="$SCRIPT_DIR/kafka-pom.xml"
readonly CACHE_ROOT="${LYCEUM_CACHE:-/var/cache/lyceum}"

log() { echo "[kafka] $*" >&2; }
die() { echo "[kafka] ERROR: $*" >&2; exit 1; }

kafka_version() {
  local v
  v="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
  [[ -n "$v" ]] || die "no <kafka.version> in $POM"
  echo "$v"
}

home_dir() { echo "$CACHE_ROOT/kafka-$(kafka_version)"; }

java_bin() {
  local java="${JAVA_HOME:+$JAVA_HOME/bin/}java" major
  command -v "$java" >/dev/null || die "java not found (install default-jre-headless, Java >= 17)"
  major="$("$java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [[ -n "$major" && "$major" -ge 17 ]] || die "Kafka 4 needs Java >= 17, $java is version ${major:-unknown}"
  echo "$java"
}

# Runs mvn on a copy of the pom in a temp dir (so nothing is written into the
# clone) and moves the jars into place only when the copy succeeded.
fetch_jars() {
  local home="$1" work
  command -v mvn >/dev/null || die "mvn not found (install maven)"
  work="$(mktemp -d "${TMPDIR:-/tmp}/lyceum-kafka-fetch.XXXXXX")"
  cp "$POM" "$work/pom.xml"
  log "fetching Kafka $(kafka_version) jars from Maven Central (mvn dependency:copy-dependencies)"
  if ! timeout 900 mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1; then
    tail -n 30 "$work/mvn.log" >&2
    rm -rf "$work"
    die "mvn dependency:copy-dependencies failed for $POM (log tail above)"
  fi
  rm -rf "$home/libs"
  mkdir -p "$home"
  mv "$work/libs" "$home/libs"
  rm -rf "$work"
  log "cached $(find "$home/libs" -name '*.jar' | wc -l) jars in $home/libs"
}

# Ensures the jars exist (one fetch at a time) and prints the libs dir.
ensure_libs() {
  local home main_jar
  home="$(home_dir)"
  main_jar="$home/libs/kafka_2.13-$(kafka_version).jar"
  if [[ ! -f "$main_jar" ]]; then
    mkdir -p "$CACHE_ROOT" || die "cannot create cache dir $CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.kafka-$(kafka_version).lock"
    flock -w 900 9 || die "timed out waiting for another kafka.sh fetch (lock in $CACHE_ROOT)"
    [[ -f "$main_jar" ]] || fetch_jars "$home"
    [[ -f "$main_jar" ]] || die "$main_jar missing after the fetch"
  fi
  echo "$home/libs"
}

broker_log_config() {
  cat <<'EOF'
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
EOF
}

tools_log_config() {
  cat <<'EOF'
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# Writes file $1 from the output of function $2 when it differs (atomically).
write_if_changed() {
  local file="$1" content="$2"
  cmp -s "$file" <("$content") && return 0
  mkdir -p "$(dirname "$file")"
  "$content" >"$file.$$"
  mv "$file.$$" "$file"
}

# log4j2 configurations: the broker logs to a file, the tools WARN to stderr.
write_log_configs() {
  write_if_changed "$1/log4j2-broker.properties" broker_log_config
  write_if_changed "$1/log4j2-tools.properties" tools_log_config
}

run_tool() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh tool CLASS ARGS..."
  local libs java conf
  libs="$(ensure_libs)"; java="$(java_bin)"; conf="$(home_dir)/config"
  write_log_configs "$conf"
  # Small heap and C1 only: tools are short-lived, start-up time is what counts.
  exec "$java" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$conf/log4j2-tools.properties" -cp "$libs/*" "$@"
}

# Class-data sharing (AppCDS) saves the broker's start-up CPU, which is what a
# restart waits for on a busy machine. A broker run without an archive writes
# the classes it loaded to broker-<jdk>.jsa.<pid> when it exits; a later start
# checks that file with a throw-away JVM (a truncated archive can crash the JVM)
# and only then renames it to broker-<jdk>.jsa, used by every run after.
java_build_id() { "$1" -version 2>&1 | sed -n 's/.*(build \([^)]*\)).*/\1/p' | head -n1 | tr -c 'A-Za-z0-9.\n' '_'; }

promote_cds_archive() {
  local java="$1" libs="$2" final="$3" candidate pid
  for candidate in "$final".*; do
    [[ -f "$candidate" ]] || continue
    pid="${candidate##*.}"
    kill -0 "$pid" 2>/dev/null && continue   # that broker still runs: not written yet
    if "$java" -Xshare:on -XX:SharedArchiveFile="$candidate" -XX:+VerifySharedSpaces \
        -cp "$libs/*" -version >/dev/null 2>&1; then
      mv "$candidate" "$final"
      log "class-data archive ready: $final"
      return 0
    fi
    rm -f "$candidate"
  done
}

# Prints the JVM options to use or to write the archive; $$ becomes the JVM's pid.
broker_cds_options() {
  local java="$1" libs="$2" dir final
  dir="$(home_dir)/cds"
  final="$dir/broker-$(java_build_id "$java").jsa"
  mkdir -p "$dir" 2>/dev/null || return 0
  [[ -s "$final" ]] || promote_cds_archive "$java" "$libs" "$final"
  if [[ -s "$final" ]]; then
    echo "-XX:SharedArchiveFile=$final -XX:+VerifySharedSpaces"
  else
    echo "-XX:ArchiveClassesAtExit=$final.$$ -XX:+VerifySharedSpaces"
  fi
}

run_broker() {
  [[ $# -eq 2 ]] || die "usage: kafka.sh broker SERVER_PROPERTIES LOG_DIR"
  local props="$1" log_dir="$2" libs java conf cds
  [[ -f "$props" ]] || die "broker config $props not found"
  libs="$(ensure_libs)"; java="$(java_bin)"; conf="$(home_dir)/config"
  write_log_configs "$conf"
  mkdir -p "$log_dir"
  read -r -a cds <<<"$(broker_cds_options "$java" "$libs")"
  exec "$java" -Xmx512m -Xms512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 "${cds[@]}" \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dkafka.logs.dir="$log_dir" -Dlog4j2.configurationFile="$conf/log4j2-broker.properties" \
    -cp "$libs/*" kafka.Kafka "$props"
}

main() {
  local cmd="${1:-libs}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    libs) ensure_libs ;;
    version) kafka_version ;;
    tool) run_tool "$@" ;;
    broker) run_broker "$@" ;;
    *) die "unknown command '$cmd' (use: libs, version, tool, broker)" ;;
  esac
}

main "$@"
