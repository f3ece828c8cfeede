"""End to end on CPU: data -> tiny model -> extend vocab -> upstream verl SFT under torchrun -> merge -> generate.

Runs the real recipe scripts (recipes/motion_r1/sft.sh with profile cpu_tiny, then merge.sh), i.e.
``torchrun -m verl.trainer.sft_trainer`` with our CPU platform plugin, on a handful of rows for a few
dozen steps, then checks: the loss fell, the checkpoint exists, the merged HF model loads, and the
overfit model answers a training caption with a well-formed ``<think>...</think>...<Motion>...</Motion>``.

Until the VQ codec and the CoT engine produce real files, the triplets are built here from a few
captions, ground-truth step chains rendered by the CoT oracle, and random codes.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from motion_r1_verl.cot.oracle import render_steps
from motion_r1_verl.datasets.sft import SFTBuildConfig, build_sft_dataset
from motion_r1_verl.datasets.triplets import Triplet
from motion_r1_verl.protocol import chat_prompt, scan_response
from tokenizer_ext import ExtendConfig, MotionVocab, extend_vocab
from tokenizer_ext.tiny_llm import make_tiny_llm

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "motion_r1"
CODEBOOK_SIZE = 32
N_CODES = 10
STEPS = 40
# Overfitting 4 rows wants the full lr on every step: the profile's warm-up and cosine decay would spend
# half of the 40 steps at a fraction of it.
CONSTANT_LR = ["optim.lr_scheduler_type=constant", "optim.lr_warmup_steps_ratio=0.0"]
RUN_TIMEOUT_S = 150

CLIPS = [
    ("a person walks forward three steps", [{"action": "walk", "direction": "forward", "count": 3}]),
    ("someone waves the right hand twice", [{"action": "wave", "side": "right", "count": 2}]),
    ("a man jumps up once", [{"action": "jump", "count": 1}]),
    ("the person squats down and stands up", [{"action": "squat"}, {"action": "stand_up"}]),
]


def _triplets(rng: random.Random) -> list[Triplet]:
    triplets = []
    for index, (caption, steps) in enumerate(CLIPS):
        timed = [dict(step, start=40 * i, end=40 * (i + 1)) for i, step in enumerate(steps)]
        think, plan = render_steps(timed)
        codes = tuple(rng.randrange(CODEBOOK_SIZE) for _ in range(N_CODES))
        triplets.append(Triplet(f"{index:06d}", caption, think, plan, codes))
    return triplets


def _run(cmd: list[str], env: dict[str, str], log: Path, timeout_s: int) -> None:
    """Run a recipe script in its own process group; on timeout kill that group (torchrun + ranks)."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"{cmd[-1]} timed out after {timeout_s} s; log tail:\n{log.read_text()[-3000:]}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert code == 0, f"{cmd} failed with {code}; log tail:\n{log.read_text()[-4000:]}"


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.skipif(shutil.which("bash") is None, reason="the recipe scripts need bash")
def test_sft_on_cpu(tmp_path):
    rng = random.Random(0)
    triplets = _triplets(rng)
    build_sft_dataset(triplets, tmp_path / "sft", SFTBuildConfig())
    texts = [t.caption for t in triplets] + [t.think for t in triplets] + [t.plan for t in triplets]
    make_tiny_llm(tmp_path / "tiny", texts)
    vocab = extend_vocab(
        ExtendConfig(
            base=str(tmp_path / "tiny"), codebook_size=CODEBOOK_SIZE, out=tmp_path / "model", pad_to_multiple_of=64
        )
    )

    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        PROFILE="cpu_tiny",
        MODEL_PATH=str(tmp_path / "model"),
        DATA_DIR=str(tmp_path / "sft"),
        OUT_DIR=str(tmp_path / "ckpt"),
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
    )
    overrides = [f"trainer.total_training_steps={STEPS}", f"trainer.total_epochs={STEPS}"]
    # One batch is the whole (4-row) dataset.
    overrides += [f"data.train_batch_size={len(triplets)}", f"data.micro_batch_size_per_gpu={len(triplets)}"]
    overrides += CONSTANT_LR
    _run(
        ["timeout", "-k", "10", str(RUN_TIMEOUT_S), "bash", str(RECIPE / "sft.sh"), *overrides],
        env,
        tmp_path / "sft.log",
        RUN_TIMEOUT_S + 20,
    )

    # Loss fell: verl's file logger wrote one JSON object per step.
    losses = [
        json.loads(line)["data"]["train/loss"]
        for line in (tmp_path / "ckpt" / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(losses) == STEPS
    assert sum(losses[-3:]) / 3 < 0.5 * losses[0], losses

    # Checkpoint exists (sharded model + HF copy) and merges into a loadable HF folder.
    step_dir = tmp_path / "ckpt" / f"global_step_{STEPS}"
    assert (step_dir / "model_world_size_1_rank_0.pt").is_file()
    assert (step_dir / "huggingface" / "model.safetensors").is_file()
    env.update(CKPT_DIR=str(tmp_path / "ckpt"), TARGET_DIR=str(tmp_path / "merged"))
    _run(["bash", str(RECIPE / "merge.sh")], env, tmp_path / "merge.log", 120)
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
    # The checkpoint's own HF export, at the precision it was trained in (verl's merger would give bf16).
    assert model.dtype == torch.float32
    tok = AutoTokenizer.from_pretrained(tmp_path / "merged")
    assert MotionVocab.load(tmp_path / "merged").first_code_id == vocab.first_code_id
    assert model.get_input_embeddings().weight.shape[0] == vocab.embedding_rows

    # Training changed the new motion-token rows (the embedding was really trained).
    start = AutoModelForCausalLM.from_pretrained(tmp_path / "model").get_input_embeddings().weight.float()
    rows = slice(vocab.first_code_id, vocab.first_code_id + CODEBOOK_SIZE)
    trained = model.get_input_embeddings().weight.float()
    assert (start[rows] - trained[rows]).abs().max() > 0.05

    # The overfit model answers a training caption in the Motion-R1 format.
    prompt = tok.apply_chat_template(
        chat_prompt(triplets[0].caption), add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=200, do_sample=False, eos_token_id=tok.eos_token_id)
    answer = tok.decode(out[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    assert answer.startswith("<think>") and "</think>" in answer, answer
    scan = scan_response(answer, CODEBOOK_SIZE)  # the reward's reading of the answer
    assert scan.parse_ok, f"no well-formed <Motion>...</Motion> span in {answer!r}: {scan.parse_reason}"


@pytest.mark.parametrize("profile", ["cpu_tiny", "qwen2.5-3b"])
def test_profiles_compose_onto_verl_config(profile):
    """Every key of each profile exists in verl's sft_trainer_engine schema and builds verl's dataclasses."""
    from hydra import compose, initialize_config_dir
    from verl.utils.config import omega_conf_to_dataclass

    with initialize_config_dir(config_dir=str(RECIPE / "config"), version_base=None):
        cfg = compose(config_name=profile, overrides=["model.path=/m", "data.train_files=/d/train.parquet"])
    for section in ("engine", "optim", "checkpoint"):
        omega_conf_to_dataclass(cfg[section])
    assert cfg.engine.strategy == "fsdp2"  # FSDP1 needs a GPU; FSDP2 everywhere keeps the profiles alike
    assert "hf_model" in cfg.checkpoint.save_contents
    if profile == "cpu_tiny":
        assert cfg.trainer.device == "cpu" and cfg.model.override_config.attn_implementation == "sdpa"
    else:
        assert cfg.trainer.n_gpus_per_node == 8 and cfg.engine.dtype == "bfloat16"
        assert cfg.data.train_batch_size % cfg.trainer.n_gpus_per_node == 0


@pytest.mark.parametrize("profile", ["cpu_tiny", "qwen2.5-3b"])
def test_grpo_profiles_compose_and_pass_verls_validate_config(profile):
    """Each GRPO profile composes onto verl's ppo_trainer.yaml and passes the check main_ppo runs first."""
    from hydra import compose, initialize_config_dir
    from verl.trainer.main_ppo import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    overrides = ["actor_rollout_ref.model.path=/m", "data.train_files=/d/t.parquet", "data.val_files=/d/v.parquet"]
    with initialize_config_dir(config_dir=str(RECIPE / "config"), version_base=None):
        cfg = compose(config_name=f"grpo_{profile}", overrides=overrides)
    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    assert cfg.algorithm.adv_estimator == "grpo" and cfg.actor_rollout_ref.rollout.n >= 2
    assert cfg.reward.custom_reward_function.path == "pkg://reward_fns.router"  # from the motion group
    assert cfg.trainer.v1.sampler.custom_sampler.name == "RewardMetricsReplayBuffer"
    # grpo.sh's ATTN_IMPLEMENTATION=sdpa override (no flash-attn) composes onto every profile.
    with initialize_config_dir(config_dir=str(RECIPE / "config"), version_base=None):
        attn = "++actor_rollout_ref.model.override_config.attn_implementation=sdpa"
        cfg = compose(config_name=f"grpo_{profile}", overrides=[*overrides, attn])
    assert cfg.actor_rollout_ref.model.override_config.attn_implementation == "sdpa"


def test_the_motion_group_adds_motion_to_verls_own_ppo_trainer():
    """``+motion=grpo`` with the package's searchpath turns verl's stock ppo_trainer.yaml into a Motion-R1 GRPO
    config that passes validate_config; its checkpoint settings reach the decode hook."""
    import verl.trainer.config
    from hydra import compose, initialize_config_dir
    from verl.trainer.main_ppo import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    overrides = [
        "hydra.searchpath=[pkg://motion_r1_verl.config]",
        "+motion=grpo",
        "algorithm.adv_estimator=grpo",
        "actor_rollout_ref.rollout.n=4",
        "actor_rollout_ref.model.path=/m",
        # what any user's GRPO config sets (verl's stock file leaves micro-batching to the user)
        "actor_rollout_ref.actor.use_dynamic_bsz=true",
        "actor_rollout_ref.ref.log_prob_use_dynamic_bsz=true",
        "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=true",
        "data.train_files=[/d/rl/train.parquet,/d/gsm8k/train.parquet]",
        "data.val_files=/d/rl/val.parquet",
        "reward.custom_reward_function.reward_kwargs.vq_ckpt=/runs/vq",
        "reward.custom_reward_function.reward_kwargs.retrieval_ckpt=/runs/retrieval",
        "+reward.custom_reward_function.reward_kwargs.data_dir=/runs/synth",
    ]
    with initialize_config_dir(config_dir=str(Path(verl.trainer.config.__file__).parent), version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=overrides)
    validate_config(cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    assert cfg.reward.custom_reward_function.path == "pkg://reward_fns.router"
    assert cfg.reward.custom_reward_function.reward_kwargs.data_dir == "/runs/synth"
    hook = cfg.trainer.v1.sampler.sampler_kwargs.validation_motions
    assert hook.vq_ckpt == "/runs/vq" and hook.tokenizer == "/m" and list(hook.loggers) == list(cfg.trainer.logger)
    assert cfg.trainer.v1.sampler.sampler_kwargs.max_response_length == cfg.data.max_response_length
