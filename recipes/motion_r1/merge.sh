#!/usr/bin/env bash
# Merge a verl checkpoint (sharded FSDP) into one Hugging Face folder, motion_vocab.json included.
#
#   CKPT_DIR=runs/sft-ckpt MODEL_PATH=runs/tiny-llm-motion TARGET_DIR=runs/sft-merged recipes/motion_r1/merge.sh
#
# CKPT_DIR is the sft.sh or grpo.sh OUT_DIR (its latest step is used), one global_step_N folder, or a GRPO
# run's global_step_N/actor (a GRPO step folder holds the policy in actor/). When the checkpoint holds verl's full-precision HF export (checkpoint.save_contents
# with hf_model, as the cpu_* profiles save), that is the model, at the precision it was trained in;
# otherwise verl.model_merger rebuilds it from the shards (always in bfloat16).
set -xeuo pipefail

CKPT_DIR=${CKPT_DIR:?set CKPT_DIR to the sft.sh OUT_DIR or a global_step_N folder}
MODEL_PATH=${MODEL_PATH:?set MODEL_PATH to the extended model the run started from (for motion_vocab.json)}
TARGET_DIR=${TARGET_DIR:?set TARGET_DIR to the output HF folder}
PYTHON=${PYTHON:-python}

STEP_DIR=$CKPT_DIR
if [[ -f "$CKPT_DIR/latest_checkpointed_iteration.txt" ]]; then
    STEP_DIR="$CKPT_DIR/global_step_$(cat "$CKPT_DIR/latest_checkpointed_iteration.txt")"
fi
if [[ -d "$STEP_DIR/actor" ]]; then STEP_DIR="$STEP_DIR/actor"; fi
test -d "$STEP_DIR" || { echo "merge.sh: $STEP_DIR is not a checkpoint folder" >&2; exit 2; }
test -f "$MODEL_PATH/motion_vocab.json" || { echo "merge.sh: $MODEL_PATH has no motion_vocab.json" >&2; exit 2; }
if [[ -f "$STEP_DIR/huggingface/model.safetensors" ]]; then
    "$PYTHON" -m motion_r1_verl.verl_plugin.hf_export "$STEP_DIR/huggingface" "$TARGET_DIR"
else
    "$PYTHON" -m verl.model_merger merge --backend fsdp --local_dir "$STEP_DIR" --target_dir "$TARGET_DIR"
fi
cp "$MODEL_PATH/motion_vocab.json" "$TARGET_DIR/motion_vocab.json"
