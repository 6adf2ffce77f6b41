#!/bin/sh
# entrypoint.sh - the container image's entrypoint (deploy/Dockerfile): lays
# out the run dir the way `lyceum up` does on one machine, then runs the
# command (lyceum-router, lyceum-worker, ...), which becomes the process that
# receives SIGTERM.
#
#   $LYCEUM_RUN_DIR/cluster.yaml      the mounted cluster file ($LYCEUM_CONFIG)
#                                     with ${LYCEUM_RUN_DIR} and ${LYCEUM_RUN_ID}
#                                     replaced, as `lyceum up` replaces them
#   $LYCEUM_RUN_DIR/demo/demo.jsonl   the demo data set, generated at build time
#   $LYCEUM_RUN_DIR/spool, trainer/   room for the Kafka spool and trainer data
#
# LYCEUM_RUN_ID must be the same for every process of a cluster (it names the
# Redis key prefix in the demo cluster file); compose and Kubernetes set it.
set -eu

run_dir="${LYCEUM_RUN_DIR:-/var/lib/lyceum}"
config="${LYCEUM_CONFIG:-/etc/lyceum/lyceum.yaml}"
run_id="${LYCEUM_RUN_ID:-cluster}"

case "$run_dir$run_id" in
  *'|'* | *'\'* | *'&'* | *'"'*)
    echo "lyceum-entrypoint: LYCEUM_RUN_DIR and LYCEUM_RUN_ID must not contain | \\ & or \"" >&2
    exit 2 ;;
esac

mkdir -p "$run_dir/demo" "$run_dir/spool" "$run_dir/trainer"
if [ ! -s "$run_dir/demo/demo.jsonl" ] && [ -s /usr/share/lyceum/demo/demo.jsonl ]; then
  cp /usr/share/lyceum/demo/demo.jsonl "$run_dir/demo/demo.jsonl"
fi
if [ -f "$config" ]; then
  sed -e "s|\${LYCEUM_RUN_DIR}|$run_dir|g" -e "s|\${LYCEUM_RUN_ID}|$run_id|g" \
    "$config" >"$run_dir/cluster.yaml.tmp"
  mv "$run_dir/cluster.yaml.tmp" "$run_dir/cluster.yaml"
fi

exec "$@"
