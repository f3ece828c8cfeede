"""Ablation of the Motion-R1 recipe on the embedded dataset: does RL binding help, and which reward?

From ONE finished quickstart run (its data, VQ-VAE, codes, reward encoder, independent judge, CoT, tiny
LM and the SFT / RL parquet) this trains and evaluates, per seed s:

- ``nocot-sft``: SFT whose responses are the motion span alone (no ``<think>``, no ``<output>``);
- ``cot-sft``: SFT on the quickstart's CoT rows (``<think>``, ``<output>`` plan, motion span);
- ``grpo-format`` / ``grpo-semantic`` / ``grpo-motion`` / ``grpo-both``: GRPO from that seed's CoT-SFT
  model with the reward format only, format + semantic, format + motion, format + both (similarities paid
  only when the format holds), each with the quickstart's GRPO budget.

Both SFTs of a seed start from a tiny LM initialised with that seed (same tokenizer) and train the
quickstart's epochs; seed s also sets the GRPO data order, the rollout sampling and the generation
sampling. A **ceiling** row evaluates the ground-truth codes decoded by the VQ-VAE: what any LM can reach
through this tokenizer.

Measured on fixed sets: every model generates one motion per caption of ``test`` (276 clips) and of
``test_heldout`` (compositions of action pairs never seen in training), judged by the independent judge
(Guo et al.'s architecture trained on our data, sharing nothing with the reward) and, for contrast, by
the reward's own encoder. Every GRPO run validates on the same fixed validation prompts (the dataset's
val clips, one caption each, 4 samples at T = 1.0) before training and at the end: the SFT start and the
GRPO end of the reward's components. Comparisons are seed-paired (the same seed's evaluation draws), with
95% Student-t intervals over seeds.

Resumable: every unit (a training run, a generation, an evaluation) leaves a marker in ``OUT/.stages``
and is skipped on the next call. Units run seed by seed, so a stopped run still has whole replications.

Run (after ``make quickstart``; about an hour per seed with every arm on 2 cores)::

    .venv/bin/python bench/ablation.py --run runs/quickstart --out runs/ablation --seeds 5

Cheaper designs for a smaller budget: ``--arms cot-sft,grpo-format,grpo-both`` trains only those;
``--shared-sft`` starts every seed's GRPO from the quickstart's own ``sft-model`` (the seeds then replicate
GRPO and generation, not SFT); ``--validation-only`` compares the GRPO arms on the validation prompts and
skips the test generations and judges.

Writes ``OUT/ablation.json`` (every per-seed figure) and ``OUT/ablation.md`` (the tables, printed too).
"""

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline.commands import motion_r1
from motion_r1_verl.pipeline.quickstart import QuickstartConfig
from motion_r1_verl.pipeline.report import load_judge, motion_similarity, validation_curve
from motion_r1_verl.pipeline.stages import Stage, marker_path, run_stages
from motion_r1_verl.pipeline.steps import (
    JUDGES,
    SPLITS,
    data_dir,
    evaluate_split,
    generate_split,
    sft_steps_for,
    train_grpo,
    train_sft,
    write_decoded_codes,
)

METRICS = ("R@1", "R@2", "R@3", "FID", "MM-Dist", "Diversity")
HIGHER_IS_BETTER = {"R@1": True, "R@2": True, "R@3": True, "FID": False, "MM-Dist": False, "similarity": True}


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    reward_weights: dict[str, float] | None  # None: no GRPO (an SFT row)


VARIANTS = (
    Variant("nocot-sft", "No-CoT SFT", None),
    Variant("cot-sft", "CoT-SFT only", None),
    Variant("grpo-format", "+ format reward only", {"w_format": 1.0, "w_motion": 0.0, "w_semantic": 0.0}),
    Variant("grpo-semantic", "+ semantic reward", {"w_format": 1.0, "w_motion": 0.0, "w_semantic": 1.0}),
    Variant("grpo-motion", "+ motion reward", {"w_format": 1.0, "w_motion": 1.0, "w_semantic": 0.0}),
    Variant("grpo-both", "+ both rewards", {"w_format": 1.0, "w_motion": 1.0, "w_semantic": 1.0}),
)
BY_NAME = {v.name: v for v in VARIANTS}
# Quickstart stages the ablation reads from; it retrains what it compares.
NEEDED_STAGES = ("data", "vq", "codes", "retrieval", "judge", "cot", "llm", "sft-data", "rl-data")


@dataclass(frozen=True)
class AblationConfig:
    run: Path
    out: Path
    seeds: int = 5
    sft_epochs: float = QuickstartConfig.sft_epochs
    sft_batch_size: int = QuickstartConfig.sft_batch_size
    grpo_steps: int = QuickstartConfig.grpo_steps
    grpo_prompts_per_step: int = QuickstartConfig.grpo_prompts_per_step
    grpo_group_size: int = QuickstartConfig.grpo_group_size
    grpo_updates_per_step: int = QuickstartConfig.grpo_updates_per_step
    grpo_lr: float = QuickstartConfig.grpo_lr
    grpo_temperature: float = QuickstartConfig.grpo_temperature
    grpo_entropy_coeff: float = QuickstartConfig.grpo_entropy_coeff
    # Extra hydra overrides for every GRPO run (e.g. algorithm.adv_estimator=grpo_positive).
    grpo_overrides: tuple[str, ...] = ()
    arms: tuple[str, ...] = tuple(v.name for v in VARIANTS)  # the variants to train and evaluate
    samples: int = 2  # generations per caption (the evaluation's draws spread over them)
    # The cheaper designs: every seed's GRPO starts from the quickstart's own SFT model (seeds then vary
    # GRPO and generation only), and/or the GRPO arms are compared on the validation prompts only.
    shared_sft: bool = False
    validation_only: bool = False
    # The seen-prompt regime (a diagnostic): GRPO trains on a fixed pool of this many training prompts and
    # validates on the same prompts, so it measures whether GRPO raises its own reward where it trains.
    train_pool: int = 0

    def __post_init__(self) -> None:
        unknown = [a for a in self.arms if a not in BY_NAME]
        if unknown:
            raise UserError(f"--arms: unknown {', '.join(unknown)} (choose from {', '.join(BY_NAME)})")
        grpo_arms = any(BY_NAME[a].reward_weights is not None for a in self.arms)
        if grpo_arms and "cot-sft" not in self.arms and not self.shared_sft:
            raise UserError("--arms: the GRPO arms start from the seed's CoT-SFT model, so cot-sft must be among them")
        missing = [s for s in NEEDED_STAGES if not marker_path(self.run, s).exists()]
        if missing:
            raise UserError(
                f"{self.run} is not a finished quickstart run (stages not done: {', '.join(missing)}); "
                f"run `motion-r1 quickstart --out {self.run}` first"
            )
        if self.train_pool and not self.validation_only:
            raise UserError("--train-pool compares on the pool's prompts only: pass --validation-only too")
        if self.train_pool < 0:
            raise UserError(f"--train-pool must be >= 0, got {self.train_pool}")
        if self.seeds < 2:
            raise UserError(f"--seeds must be >= 2 for a confidence interval, got {self.seeds}")


def seed_dir(config: AblationConfig, seed: int) -> Path:
    return config.out / f"s{seed}"


def grpo_dir(config: AblationConfig, variant: Variant, seed: int) -> Path:
    """A GRPO run's folder: ``ckpt/`` (verl's checkpoints and metrics.jsonl) and ``model/`` (merged)."""
    return seed_dir(config, seed) / variant.name


def model_dir(config: AblationConfig, variant: Variant, seed: int) -> Path:
    if config.shared_sft and variant.name == "cot-sft":
        return config.run / "sft-model"
    if variant.reward_weights is None:
        return seed_dir(config, seed) / f"{variant.name}-model"
    return grpo_dir(config, variant, seed) / "model"


def gen_dir(config: AblationConfig, name: str, seed: int | None, split: str) -> Path:
    where = config.out / "ceiling" if seed is None else seed_dir(config, seed)
    return where / "generated" / name / split


def eval_json(config: AblationConfig, name: str, seed: int | None, split: str, judge: str) -> Path:
    where = config.out / "ceiling" if seed is None else seed_dir(config, seed)
    return where / "eval" / judge / split / f"{name}.json"


# Every unit: (config, ..., the ablation folder) -> a one-line summary; build_stages binds them with partial.


def nocot_data(config: AblationConfig, _out: Path) -> str:
    run, target = config.run, config.out / "nocot-sft-data"
    motion_r1("dataset", "sft", "--cot", run / "cot.jsonl", "--codes", run / "codes.jsonl", "--out", target,
              "--reasoning", "none", "--val-split", "val", "--data", data_dir(run),
              "--val-captions-per-clip", "1")  # fmt: skip
    return f"no-CoT SFT parquet (motion span only) in {target}"


def base_llm(config: AblationConfig, seed: int, _out: Path) -> str:
    run, folder = config.run, seed_dir(config, seed)
    motion_r1("llm", "make-tiny", "--out", folder / "tiny-llm", "--data", data_dir(run), "--cot",
              run / "cot.jsonl", "--seed", str(seed), "--overwrite")  # fmt: skip
    codebook = json.loads((run / "tiny-llm-motion" / "motion_vocab.json").read_text())["codebook_size"]
    motion_r1("llm", "extend-vocab", "--base", folder / "tiny-llm", "--codebook-size", str(codebook), "--init",
              "codebook", "--codec", run / "vq", "--pad-to-multiple-of", "64", "--seed", str(seed),
              "--overwrite", "--out", folder / "tiny-llm-motion")  # fmt: skip
    return f"tiny LM initialised with seed {seed} in {folder / 'tiny-llm-motion'}"


def sft(config: AblationConfig, variant: Variant, seed: int, _out: Path) -> str:
    data = config.out / "nocot-sft-data" if variant.name == "nocot-sft" else config.run / "sft-data"
    folder = seed_dir(config, seed)
    steps = sft_steps_for(data, config.sft_epochs, config.sft_batch_size)
    train_sft(folder / "tiny-llm-motion", data, folder / f"{variant.name}-ckpt",
              model_dir(config, variant, seed), steps=steps, batch_size=config.sft_batch_size)  # fmt: skip
    return f"{variant.label} (seed {seed}, {steps} steps) in {model_dir(config, variant, seed)}"


def grpo(config: AblationConfig, variant: Variant, seed: int, _out: Path) -> str:
    weights = variant.reward_weights or {}
    overrides = [f"+reward.custom_reward_function.reward_kwargs.{k}={v}" for k, v in weights.items()]
    overrides += [
        f"data.seed={seed}",
        f"actor_rollout_ref.rollout.seed={seed}",
        f"trainer.experiment_name=ablation_{variant.name}_s{seed}",
        # Validation at the SFT start and at the end only: the two points the comparison reads.
        f"trainer.test_freq={config.grpo_steps}",
    ]
    if config.train_pool:
        # A few prompts, many visits each: 8 validation samples per prompt instead of 4.
        overrides.append("actor_rollout_ref.rollout.val_kwargs.n=8")
    overrides += config.grpo_overrides
    folder = grpo_dir(config, variant, seed)
    train_grpo(
        config.run,
        model_dir(config, BY_NAME["cot-sft"], seed),
        folder / "ckpt",
        folder / "model",
        steps=config.grpo_steps,
        prompts_per_step=config.grpo_prompts_per_step,
        group_size=config.grpo_group_size,
        updates_per_step=config.grpo_updates_per_step,
        lr=config.grpo_lr,
        temperature=config.grpo_temperature,
        entropy_coeff=config.grpo_entropy_coeff,
        overrides=overrides,
        rl_data=pool_dir(config) if config.train_pool else None,
    )
    return f"GRPO ({variant.label}, seed {seed}) in {folder / 'model'}"


def pool_dir(config: AblationConfig) -> Path:
    return config.out / "pool-rl-data"


def pool_data(config: AblationConfig, _out: Path) -> str:
    """``train_pool`` training prompts (a fixed draw, seed 0) as both the train and the val parquet."""
    frame = pd.read_parquet(config.run / "rl-data" / "train.parquet")
    if config.train_pool > len(frame):
        raise UserError(f"--train-pool {config.train_pool}: the RL parquet has only {len(frame)} training prompts")
    pool = frame.sample(config.train_pool, random_state=0).reset_index(drop=True)
    pool_dir(config).mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        pool.to_parquet(pool_dir(config) / f"{split}.parquet")
    return f"{config.train_pool} training prompts as train and val in {pool_dir(config)}"


def generate(config: AblationConfig, variant: Variant, seed: int, split: str, _out: Path) -> str:
    target = gen_dir(config, variant.name, seed, split)
    reasoning = "none" if variant.name == "nocot-sft" else "think+output"  # the prompt each SFT was trained on
    ok, total = generate_split(
        model_dir(config, variant, seed), data_dir(config.run), split, target, seed, config.samples, reasoning
    )
    return f"{ok}/{total} well-formed {split} generations in {target}"


def evaluate(config: AblationConfig, name: str, label: str, seed: int | None, split: str, _out: Path) -> str:
    for judge in JUDGES:
        out_json = eval_json(config, name, seed, split, judge)
        gen = None if name == "real" else gen_dir(config, name, seed, split)
        evaluate_split(config.run, split, gen, label, out_json, seed=seed or 0, judge=judge)
    return f"{label}{'' if seed is None else f' (seed {seed})'} on {split}, both judges"


def ceiling(config: AblationConfig, split: str, _out: Path) -> str:
    target = gen_dir(config, "ceiling", None, split)
    run = config.run
    n = write_decoded_codes(run / "codes.jsonl", run / "vq", data_dir(run), split, target)
    return f"{n} decoded ground-truth code sequences of {split} in {target}"


def seed_stages(config: AblationConfig, seed: int) -> list[Stage]:
    """One replication: the seed's tiny LM (when an SFT arm trains), each arm, and its test units."""
    arms = [v for v in VARIANTS if v.name in config.arms]
    sft_arms = [v for v in arms if v.reward_weights is None and not (config.shared_sft and v.name == "cot-sft")]
    stages = [Stage(f"llm-s{seed}", f"tiny LM, seed {seed}", partial(base_llm, config, seed))] if sft_arms else []
    for variant in arms:
        tag = f"{variant.name}-s{seed}"
        if variant.reward_weights is not None:
            stages.append(
                Stage(f"train-{tag}", f"GRPO {variant.label}, seed {seed}", partial(grpo, config, variant, seed))
            )
        elif variant in sft_arms:
            stages.append(Stage(f"train-{tag}", f"{variant.label}, seed {seed}", partial(sft, config, variant, seed)))
        if config.validation_only:
            continue
        for split in SPLITS:
            stages.append(
                Stage(f"gen-{tag}-{split}", f"generate {split}", partial(generate, config, variant, seed, split))
            )
            run_eval = partial(evaluate, config, variant.name, variant.label, seed, split)
            stages.append(Stage(f"eval-{tag}-{split}", f"evaluate {split}", run_eval))
    return stages


def build_stages(config: AblationConfig) -> list[Stage]:
    """Reference rows (Real, ceiling), the no-CoT data when that arm runs, then every seed in turn."""
    stages: list[Stage] = []
    for split in SPLITS:
        real = partial(evaluate, config, "real", "Real", None, split)
        stages.append(Stage(f"real-{split}", f"evaluate the real {split} motions", real))
        stages.append(
            Stage(f"ceiling-{split}", f"decode the ground-truth codes of {split}", partial(ceiling, config, split))
        )
        ceiling_eval = partial(evaluate, config, "ceiling", "Ceiling", None, split)
        stages.append(Stage(f"eval-ceiling-{split}", "evaluate them", ceiling_eval))
    if "nocot-sft" in config.arms:
        stages.append(Stage("nocot-sft-data", "build the no-CoT SFT parquet", partial(nocot_data, config)))
    if config.train_pool:
        stages.append(Stage("pool-rl-data", "the seen-prompt pool", partial(pool_data, config)))
    for seed in range(config.seeds):
        stages += seed_stages(config, seed)
    return stages


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t interval (nan with one value)."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return float(array.mean()), math.nan
    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array))
    return float(array.mean()), float(half)


def validation_points(metrics_jsonl: Path) -> tuple[dict, dict] | None:
    """(first, last) validation point of a GRPO run: its SFT start and its end, on the fixed prompts."""
    points = validation_curve(metrics_jsonl)
    if len(points) < 2:
        return None
    return points[0], points[-1]


def collect(config: AblationConfig) -> dict:
    """Every per-seed figure of every variant, split and judge that has been evaluated."""
    run = config.run
    judges: dict = {}

    def judge_of(name: str):  # loaded on first use: a report of nothing evaluated needs no checkpoint
        if name not in judges:
            judges[name] = load_judge(run, name)
        return judges[name]

    results: dict = {
        "config": {k: str(v) for k, v in config.__dict__.items()},
        "reference": {},
        "variants": {},
        "validation": {},
    }
    for name in ("real", "ceiling"):
        for split in SPLITS:
            for judge in JUDGES:
                path = eval_json(config, name, None, split, judge)
                if path.exists():
                    metrics = json.loads(path.read_text())["metrics"]
                    row = {m: metrics[m]["mean"] for m in METRICS}
                    if name == "ceiling":
                        gen = gen_dir(config, "ceiling", None, split)
                        row["motion_sim"] = motion_similarity(judge_of(judge), data_dir(run), gen, split)
                    results["reference"].setdefault(name, {}).setdefault(split, {})[judge] = row
    for variant in (v for v in VARIANTS if v.name in config.arms):
        per: dict = {}
        for split in SPLITS:
            for judge in JUDGES:
                seeds = []
                for seed in range(config.seeds):
                    path = eval_json(config, variant.name, seed, split, judge)
                    if not path.exists():
                        continue
                    metrics = json.loads(path.read_text())["metrics"]
                    generated = gen_dir(config, variant.name, seed, split)
                    summary = json.loads((generated / "summary.json").read_text())
                    row = {m: metrics[m]["mean"] for m in METRICS}
                    row["motion_sim"] = motion_similarity(judge_of(judge), data_dir(run), generated, split)
                    row["well_formed"] = summary["valid_samples"] / summary["samples"]
                    seeds.append({"seed": seed, **row})
                per.setdefault(split, {})[judge] = seeds
        results["variants"][variant.name] = {"label": variant.label, "splits": per}
        if variant.reward_weights is not None:
            points = []
            for seed in range(config.seeds):
                pair = validation_points(grpo_dir(config, variant, seed) / "ckpt" / "metrics.jsonl")
                if pair is not None:
                    points.append({"seed": seed, "start": pair[0], "end": pair[1]})
            results["validation"][variant.name] = points
    return results


def _cell(values: Sequence[float]) -> str:
    if not values:
        return "-"
    mean, half = t_interval(values)
    return f"{mean:.3f}" if math.isnan(half) else f"{mean:.3f}±{half:.3f}"


def paired(rows_a: Sequence[dict], rows_b: Sequence[dict], key: str) -> list[float]:
    """Seed-paired differences a - b of ``key`` (seeds present on both sides)."""
    a, b = {r["seed"]: r[key] for r in rows_a}, {r["seed"]: r[key] for r in rows_b}
    return [a[s] - b[s] for s in sorted(a.keys() & b.keys())]


def verdict(diffs: Sequence[float], higher_is_better: bool = True) -> str:
    """``+0.012±0.008 -> better (interval above 0)``, signed so that > 0 means the first is better."""
    if len(diffs) < 2:
        return "fewer than 2 paired seeds"
    sign = 1.0 if higher_is_better else -1.0
    mean, half = t_interval([sign * d for d in diffs])
    if mean - half > 0:
        word = "better (interval above 0)"
    elif mean + half < 0:
        word = "WORSE (interval below 0)"
    else:
        word = "not resolved (interval spans 0)"
    return f"{mean:+.3f}±{half:.3f} -> {word}"


# (a, b): "is a better than b?"
COMPARISONS = (
    ("grpo-both", "cot-sft"),
    ("grpo-both", "grpo-format"),
    ("grpo-semantic", "cot-sft"),
    ("grpo-motion", "cot-sft"),
    ("grpo-both", "grpo-semantic"),
    ("grpo-both", "grpo-motion"),
    ("cot-sft", "nocot-sft"),
    ("grpo-format", "cot-sft"),
)


def comparison_lines(results: dict, split: str, judge: str, metric: str) -> list[str]:
    rows = results["variants"]
    lines = []
    for a, b in COMPARISONS:
        if a not in rows or b not in rows:
            continue
        diffs = paired(rows[a]["splits"].get(split, {}).get(judge, []), rows[b]["splits"].get(split, {}).get(judge, []),
                       metric)  # fmt: skip
        if len(diffs) < 2:
            continue
        text = verdict(diffs, HIGHER_IS_BETTER[metric])
        base = [r[metric] for r in rows[b]["splits"][split][judge]]
        relative = ""
        if metric == "R@1" and base and np.mean(base) > 0:
            relative = f" (relative {np.mean(diffs) / np.mean(base):+.0%})"
        lines.append(f"- {split}, {judge}, {metric}: {rows[a]['label']} vs {rows[b]['label']}: {text}{relative}")
    return lines


def validation_lines(results: dict) -> list[str]:
    """GRPO's own reward components on the fixed validation prompts: start (SFT) and end, per arm."""
    lines = [
        "| Method | strict format: SFT → GRPO | motion + semantic (raw cos): SFT → GRPO | gain (seed-paired) |",
        "|---|---|---|---|",
    ]
    for name, points in results["validation"].items():
        if not points:
            continue
        label = results["variants"][name]["label"]
        fmt = f"{_cell([p['start']['format'] for p in points])} → {_cell([p['end']['format'] for p in points])}"
        start, end = [p["start"]["similarity"] for p in points], [p["end"]["similarity"] for p in points]
        gain = verdict([e - s for s, e in zip(start, end, strict=True)])
        lines.append(f"| {label} | {fmt} | {_cell(start)} → {_cell(end)} | {gain} |")
    both, fmt_only = results["validation"].get("grpo-both", []), results["validation"].get("grpo-format", [])
    end_both = {p["seed"]: p["end"]["similarity"] for p in both}
    end_fmt = {p["seed"]: p["end"]["similarity"] for p in fmt_only}
    shared = sorted(end_both.keys() & end_fmt.keys())
    if len(shared) >= 2:
        lines += ["", f"- validation similarity at the end, + both rewards vs + format reward only: "
                  f"{verdict([end_both[s] - end_fmt[s] for s in shared])}"]  # fmt: skip
    return lines


def tables(results: dict) -> str:
    seeds = max(
        (len(rows) for v in results["variants"].values() for split in v["splits"].values() for rows in split.values()),
        default=0,
    )
    seeds = max(seeds, max((len(points) for points in results["validation"].values()), default=0))
    lines = []
    for judge, (_, folder, what) in JUDGES.items():
        for split in SPLITS:
            title = "test" if split == "test" else "test_heldout (held-out action compositions)"
            lines += [
                f"### {title}, judged by {what} (`{folder}/`)",
                "",
                "| Method | R@1 ↑ | R@2 ↑ | R@3 ↑ | FID ↓ | MM-Dist ↓ | Diversity → | Motion sim. ↑ | Well-formed "
                "| Seeds |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            for name, label in (("real", "Real"), ("ceiling", "Ceiling (decoded ground-truth codes)")):
                row = results["reference"].get(name, {}).get(split, {}).get(judge)
                if row:
                    sim = f"{row['motion_sim']:.3f}" if "motion_sim" in row else "1.000"
                    lines.append(f"| {label} | " + " | ".join(f"{row[m]:.3f}" for m in METRICS) + f" | {sim} | - | - |")
            for variant in results["variants"].values():
                rows = variant["splits"].get(split, {}).get(judge, [])
                cells = [_cell([r[m] for r in rows]) for m in (*METRICS, "motion_sim", "well_formed")]
                lines.append(f"| {variant['label']} | " + " | ".join(cells) + f" | {len(rows)} |")
            lines.append("")
    lines += [
        (
            f"### GRPO's reward on the {pool} prompts it trains on (seen-prompt regime; 8 samples each at T = 1.0, "
            "reward encoder)"
            if (pool := int(results.get("config", {}).get("train_pool", "0")))
            else "### GRPO's validation reward (fixed validation prompts, 4 samples each at T = 1.0, reward encoder)"
        ),
        "",
        *validation_lines(results),
        "",
        "### Seed-paired differences (> 0: the first is better), mean ± 95% t-interval",
        "",
    ]
    for judge in JUDGES:
        for split in SPLITS:
            lines += comparison_lines(results, split, judge, "R@1") + comparison_lines(results, split, judge, "FID")
    lines += ["", f"Mean ± 95% t-interval over {seeds} seeds (per seed: the judge's mean over 20 draws)."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/quickstart"), help="a finished quickstart run")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"), help="output folder")
    parser.add_argument("--seeds", type=int, default=5, help="replications (default 5)")
    parser.add_argument("--grpo-steps", type=int, default=QuickstartConfig.grpo_steps, help="GRPO steps per run")
    parser.add_argument("--grpo-lr", type=float, default=QuickstartConfig.grpo_lr, help="GRPO learning rate")
    parser.add_argument(
        "--grpo-temperature",
        type=float,
        default=QuickstartConfig.grpo_temperature,
        help="GRPO rollout temperature (validation samples at T = 1.0 whatever it is)",
    )
    parser.add_argument(
        "--grpo-entropy-coeff",
        type=float,
        default=QuickstartConfig.grpo_entropy_coeff,
        help="weight of the policy's entropy in the GRPO actor loss (negative: sharpen)",
    )
    parser.add_argument(
        "--grpo-override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra hydra override for every GRPO run, e.g. algorithm.adv_estimator=grpo_positive (repeatable)",
    )
    parser.add_argument(
        "--grpo-updates",
        type=int,
        default=QuickstartConfig.grpo_updates_per_step,
        help="GRPO optimiser steps per rollout batch (PPO mini-batches)",
    )
    parser.add_argument("--sft-epochs", type=float, default=QuickstartConfig.sft_epochs, help="SFT epochs")
    parser.add_argument("--samples", type=int, default=2, help="generations per caption (default 2)")
    parser.add_argument("--arms", default=",".join(BY_NAME), help="comma-separated variants (default: all)")
    parser.add_argument(
        "--shared-sft",
        action="store_true",
        help="every seed's GRPO starts from RUN/sft-model (no SFT per seed: seeds vary GRPO and generation)",
    )
    parser.add_argument(
        "--validation-only",
        action="store_true",
        help="train the arms and compare them on the validation prompts only (no test generations, no judges)",
    )
    parser.add_argument(
        "--train-pool",
        type=int,
        default=0,
        help="diagnostic: GRPO trains on this many fixed training prompts and validates on the same ones",
    )
    parser.add_argument("--report-only", action="store_true", help="only rebuild the tables from what is done")
    args = parser.parse_args(argv)
    try:
        config = AblationConfig(
            args.run,
            args.out,
            args.seeds,
            sft_epochs=args.sft_epochs,
            grpo_steps=args.grpo_steps,
            grpo_lr=args.grpo_lr,
            grpo_updates_per_step=args.grpo_updates,
            grpo_temperature=args.grpo_temperature,
            grpo_entropy_coeff=args.grpo_entropy_coeff,
            grpo_overrides=tuple(args.grpo_override),
            samples=args.samples,
            shared_sft=args.shared_sft,
            validation_only=args.validation_only,
            train_pool=args.train_pool,
            arms=tuple(a for a in args.arms.split(",") if a),
        )
        if not args.report_only:
            run_stages(build_stages(config), config.out)
        results = collect(config)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "ablation.json").write_text(json.dumps(results, indent=2))
    text = tables(results)
    (config.out / "ablation.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
