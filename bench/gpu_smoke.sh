#!/usr/bin/env bash
# GPU smoke run of the recipes on ONE GPU, meant to finish in under 8 minutes:
#
#   make install TORCH_SPEC="torch==2.11.0" EXTRAS=gpu      # once, on the GPU machine
#   bench/gpu_smoke.sh                                      # WORK=runs/gpu_smoke by default
#
# 1. CPU stages of the quickstart at small sizes: synthetic data, VQ-VAE, codes, reward encoders, CoT,
#    SFT and RL parquets;
# 2. a randomly initialised Qwen2.5-0.5B-shaped LM from a config alone (24 layers, 14 heads x 64 = 896
#    wide, MLP 4864; 1 KV head and the run's own small tokenizer), with the motion vocabulary;
# 3. 10 SFT steps with the qwen2.5-3b profile on one GPU (sft.sh, NPROC=1), merged;
# 4. 2 GRPO steps with the qwen2.5-3b profile and vLLM on the same GPU, twice: the reward's models on
#    the CPU (the profile's default) and on the GPU (reward_kwargs.device=cuda, beside vLLM and FSDP);
# 5. the GRPO export (merge.sh) loaded by `motion-r1 generate` on the GPU.
#
# Writes WORK/summary.txt: the GPU's name, each phase's wall time, each GRPO run's step time and reward.
# ATTN_IMPLEMENTATION defaults to sdpa here (flash-attn is often missing on a fresh machine).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$ROOT/runs/gpu_smoke}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
RECIPE=$ROOT/recipes/motion_r1
export ATTN_IMPLEMENTATION=${ATTN_IMPLEMENTATION:-sdpa}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_smoke: no NVIDIA GPU visible (nvidia-smi -L failed); this script needs one" >&2
    exit 2
fi
test -x "$PYTHON" || { echo "gpu_smoke: $PYTHON not found (run make install first, or set PYTHON)" >&2; exit 2; }

mkdir -p "$WORK"
SUMMARY=$WORK/summary.txt
START=$SECONDS
mr1() { "$PYTHON" -m motion_r1_verl.cli.main "$@"; }
lap() { echo "$1: done at $((SECONDS - START)) s" | tee -a "$SUMMARY"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu: /' | tee "$SUMMARY"

# 1. Data, codec, encoders, CoT and parquets (CPU, small sizes; each stage resumes if rerun).
QS=$WORK/qs
mr1 quickstart --out "$QS" --clips 400 --vq-minutes 1 --retrieval-epochs 2 \
    --only data --only vq --only codes --only retrieval --only cot --only sft-data --only rl-data
lap "cpu stages"

# 2. The 0.5B-shaped model (random weights; nothing is downloaded).
CODEBOOK=$("$PYTHON" -c "import sys; from motion_r1_verl.vq.codec import MotionCodec; \
print(MotionCodec.from_pretrained(sys.argv[1], device='cpu').codebook_size)" "$QS/vq")
mr1 llm make-tiny --out "$WORK/llm" --data "$QS/data" --cot "$QS/cot.jsonl" \
    --layers 24 --heads 14 --intermediate-size 4864 --overwrite
mr1 llm extend-vocab --base "$WORK/llm" --codebook-size "$CODEBOOK" --init codebook --codec "$QS/vq" \
    --pad-to-multiple-of 64 --out "$WORK/llm-motion" --overwrite
lap "model"

# 3. SFT: 10 steps on one GPU.
rm -rf "$WORK/sft-ckpt" "$WORK/sft-model"
PROFILE=qwen2.5-3b NPROC=1 MODEL_PATH=$WORK/llm-motion DATA_DIR=$QS/sft-data OUT_DIR=$WORK/sft-ckpt PYTHON=$PYTHON \
    bash "$RECIPE/sft.sh" trainer.n_gpus_per_node=1 trainer.total_training_steps=10 trainer.save_freq=10 \
    trainer.test_freq=-1 data.train_batch_size=16 data.num_workers=0 optim.lr=1e-4 \
    > "$WORK/sft.log" 2>&1 || { tail -40 "$WORK/sft.log"; exit 1; }
CKPT_DIR=$WORK/sft-ckpt MODEL_PATH=$WORK/llm-motion TARGET_DIR=$WORK/sft-model PYTHON=$PYTHON bash "$RECIPE/merge.sh" > "$WORK/merge-sft.log" 2>&1
lap "sft (10 steps) + merge"

# 4. GRPO: 2 steps, the scorer on the CPU, then on the GPU.
grpo() {
    local name=$1 device=$2
    rm -rf "${WORK:?}/$name"
    PROFILE=qwen2.5-3b MODEL_PATH=$WORK/sft-model DATA_DIR=$QS/rl-data OUT_DIR=$WORK/$name PYTHON=$PYTHON \
        VQ_CKPT=$QS/vq RETRIEVAL_CKPT=$QS/retrieval MOTION_DATA=$QS/data \
        bash "$RECIPE/grpo.sh" trainer.n_gpus_per_node=1 trainer.total_training_steps=2 trainer.test_freq=2 \
        trainer.save_freq=2 trainer.val_before_train=false data.train_batch_size=8 data.val_max_samples=16 \
        actor_rollout_ref.rollout.n=4 actor_rollout_ref.actor.ppo_mini_batch_size=4 \
        actor_rollout_ref.rollout.gpu_memory_utilization=0.4 reward.num_workers=1 \
        "+reward.custom_reward_function.reward_kwargs.device=$device" \
        > "$WORK/$name.log" 2>&1 || { tail -60 "$WORK/$name.log"; exit 1; }
    "$PYTHON" - "$WORK/$name/metrics.jsonl" "$name" <<'EOF' | tee -a "$SUMMARY"
import json, sys
steps = [json.loads(line) for line in open(sys.argv[1])]
for step in steps:
    data = step["data"]
    print(f"{sys.argv[2]} step {step['step']}: {data.get('timing_s/step', float('nan')):.1f} s, "
          f"score {data.get('critic/score/mean', float('nan')):.3f}, format {data.get('reward/format/mean', float('nan')):.3f}")
EOF
    lap "$name (2 steps, scorer on $device)"
}
grpo grpo-scorer-cpu cpu
grpo grpo-scorer-gpu cuda

# 5. Export the GRPO policy and generate from it.
CKPT_DIR=$WORK/grpo-scorer-gpu MODEL_PATH=$WORK/sft-model TARGET_DIR=$WORK/grpo-model PYTHON=$PYTHON \
    bash "$RECIPE/merge.sh" > "$WORK/merge-grpo.log" 2>&1
mr1 generate "a person walks forward and then turns around" --model "$WORK/grpo-model" --codec "$QS/vq" \
    --out "$WORK/generate" --video none --retries 2 --device cuda || true  # 1: a malformed sample of a 10-step model
test -f "$WORK/generate/results.jsonl"
lap "export + generate"
echo "gpu_smoke: total $((SECONDS - START)) s (target < 480 s); summary in $SUMMARY"
