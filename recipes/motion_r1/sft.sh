#!/usr/bin/env bash
# Cold-start SFT with upstream verl's sft_trainer, for one profile (config/<PROFILE>.yaml).
#
#   PROFILE=cpu_tiny MODEL_PATH=runs/tiny-llm-motion DATA_DIR=runs/sft OUT_DIR=runs/sft-ckpt \
#       recipes/motion_r1/sft.sh [extra hydra overrides, e.g. trainer.total_training_steps=20]
#
# DATA_DIR holds train.parquet (and optionally val.parquet) from `motion-r1 dataset sft`; MODEL_PATH
# is an extended model from `motion-r1 llm extend-vocab`. Checkpoints land in OUT_DIR/global_step_N/;
# metrics (one JSON object per step) in OUT_DIR/metrics.jsonl. Profiles named cpu_* run on the CPU
# through the motion_r1_verl platform plugin.
set -xeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROFILE=${PROFILE:-cpu_tiny}
MODEL_PATH=${MODEL_PATH:?set MODEL_PATH to the extended model folder (motion-r1 llm extend-vocab --out)}
DATA_DIR=${DATA_DIR:?set DATA_DIR to the folder with train.parquet (motion-r1 dataset sft --out)}
OUT_DIR=${OUT_DIR:?set OUT_DIR to the checkpoint folder}
PYTHON=${PYTHON:-python}

test -f "$HERE/config/$PROFILE.yaml" || { echo "unknown profile $PROFILE (see $HERE/config/)" >&2; exit 2; }
test -f "$DATA_DIR/train.parquet" || { echo "$DATA_DIR/train.parquet not found" >&2; exit 2; }
mkdir -p "$OUT_DIR"

# Without val.parquet, validation is off (verl would iterate a missing val loader at test_freq).
VAL_ARGS=(data.val_files=null trainer.test_freq=-1)
if [[ -f "$DATA_DIR/val.parquet" ]]; then VAL_ARGS=(data.val_files="$DATA_DIR/val.parquet"); fi

if [[ "$PROFILE" == cpu_* ]]; then
    # The CPU platform plugin (motion_r1_verl.verl_plugin) is active only with VERL_PLATFORM=cpu.
    export VERL_PLATFORM=cpu
    # verl registers its FSDP engine for cuda/npu; the engine itself runs on the platform's device.
    export VERL_ENGINE_DEVICE=cuda
    # The CPU profiles run offline on a bare machine (CI): no tracker account, no Hub downloads. The GPU
    # profiles leave both to the user (trainer.logger=[console,wandb] then logs to W&B).
    export WANDB_MODE=${WANDB_MODE:-disabled}
    export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
    NPROC=${NPROC:-1}
else
    NPROC=${NPROC:-8}
fi
export VERL_FILE_LOGGER_PATH=${VERL_FILE_LOGGER_PATH:-$OUT_DIR/metrics.jsonl}

# Multi-node: run this script on every node with the same NNODES, MASTER_ADDR and MASTER_PORT and each node's
# NODE_RANK (0..NNODES-1); OUT_DIR must be on storage every node sees. One node: torchrun --standalone.
NNODES=${NNODES:-1}
if [[ "$NNODES" -gt 1 ]]; then
    RDZV=(--nnodes="$NNODES" --node_rank="${NODE_RANK:?set NODE_RANK (0..NNODES-1) on each node}"
          --master_addr="${MASTER_ADDR:?set MASTER_ADDR to node 0}" --master_port="${MASTER_PORT:-29500}")
else
    RDZV=(--standalone --nnodes=1)
fi

"$PYTHON" -m torch.distributed.run "${RDZV[@]}" --nproc_per_node="$NPROC" \
    -m verl.trainer.sft_trainer \
    --config-path="$HERE/config" --config-name="$PROFILE" \
    model.path="$MODEL_PATH" \
    data.train_files="$DATA_DIR/train.parquet" \
    "${VAL_ARGS[@]}" \
    trainer.default_local_dir="$OUT_DIR" \
    hydra.run.dir="$OUT_DIR/hydra" \
    "$@"
