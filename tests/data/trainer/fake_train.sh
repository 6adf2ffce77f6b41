#!/bin/sh
# fake_train.sh - stands in for a fine-tuning program in the trainer's tests.
#
#   fake_train.sh DATA HELDOUT OUTPUT NAME [good|bad|fail]
#
# "Trains" a model by recording the answers of the training and held-out
# sets (chat fine-tuning JSONL, as lyceum-trainer writes it) in a replay
# file, and describes how to serve it in OUTPUT/model.yaml: a replay model
# named NAME. `bad` records a wrong answer for every question (the quality
# gate must reject it); `fail` exits 1 without a model.
set -eu
data=$1 heldout=$2 out=$3 name=$4 mode=${5:-good}
[ "$mode" = fail ] && { echo "fake_train: failing on purpose" >&2; exit 1; }
mkdir -p "$out"
tab=$(printf '\t')
cat "$data" "$heldout" |
  sed -n 's/.*"role":"user","content":"\(\([^"\\]\|\\.\)*\)"},{"role":"assistant","content":"\(\([^"\\]\|\\.\)*\)"}.*/\1\t\3/p' |
  while IFS="$tab" read -r question answer; do
    [ "$mode" = bad ] && answer="I am not sure"
    printf '{"prompt":"%s","answers":{"%s":{"text":"%s","correct":true}}}\n' \
      "$question" "$name" "$answer"
  done >"$out/replay.jsonl"
cat >"$out/model.yaml" <<YAML
name: $name
backend: replay
replay:
  files: ["replay.jsonl"]
  format: jsonl
  unknown: abstain
YAML
echo "fake_train: $(wc -l <"$out/replay.jsonl") answers recorded for $name ($mode)"
