"""Ablation of the Motion-R1 recipe on the embedded dataset: does RL binding help, and which reward?

From ONE finished quickstart run (its data, VQ-VAE, reward encoders, held-out evaluator, CoT-SFT model
and RL parquet) this trains and evaluates:

- ``nocot-sft``: SFT whose responses are the motion span alone (no ``<think>``, no ``<output>``),
  same tiny base model, steps and batch as the quickstart's CoT-SFT;
- ``cot-sft``: the quickstart's CoT-SFT model, no RL;
- ``grpo-semantic`` / ``grpo-motion`` / ``grpo-both``: GRPO from that same CoT-SFT checkpoint with the
  same budget (steps x prompts x group) and reward format + semantic, format + motion, format + both.

Every model generates one motion per caption of the ``test`` split and of ``test_heldout`` (compositions
of action pairs never seen in training) and is judged by the held-out evaluator (another seed and size
than the reward encoder, so no reward is judged by the model it optimises). Replications: seed s sets
the GRPO data order and rollout sampling seeds and the generation seed; the SFT rows replicate sampling
only (one SFT checkpoint each; every GRPO run starts from the same CoT-SFT one). A cell is the mean over
seeds of each seed's metric, with a 95% Student-t interval over seeds.

Resumable: every unit (a training run, a generation, an evaluation) leaves a marker in ``OUT/.stages``
and is skipped on the next call. Units run seed by seed, so a stopped run still has whole replications.

Run (after ``make quickstart``; on 2 idle cores about 20 minutes per seed, three GRPO runs of 5 minutes
and ten generations + evaluations, plus 4 minutes once for the no-CoT SFT)::

    .venv/bin/python bench/ablation.py --run runs/quickstart --out runs/ablation --seeds 3

Writes ``OUT/ablation.json`` (every per-seed metric) and ``OUT/ablation.md`` (the tables, printed too).
"""

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from motion_r1_verl.errors import UserError
from motion_r1_verl.pipeline import Stage, marker_path, run_stages
from motion_r1_verl.quickstart import (
    QuickstartConfig,
    data_dir,
    evaluate_split,
    generate_split,
    motion_r1,
    train_grpo,
    train_sft,
)
from motion_r1_verl.quickstart_report import motion_similarity

SPLITS = ("test", "test_heldout")
METRICS = ("R@1", "R@2", "R@3", "FID", "MM-Dist", "Diversity")
HIGHER_IS_BETTER = {"R@1": True, "R@2": True, "R@3": True, "FID": False, "MM-Dist": False}


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    reward_weights: dict[str, float] | None  # None: no GRPO (an SFT row)


VARIANTS = (
    Variant("nocot-sft", "No-CoT SFT", None),
    Variant("cot-sft", "CoT-SFT only", None),
    Variant("grpo-semantic", "+ semantic reward", {"w_format": 1.0, "w_motion": 0.0, "w_semantic": 1.0}),
    Variant("grpo-motion", "+ motion reward", {"w_format": 1.0, "w_motion": 1.0, "w_semantic": 0.0}),
    Variant("grpo-both", "+ both rewards", {"w_format": 1.0, "w_motion": 1.0, "w_semantic": 1.0}),
)
# Quickstart stages the ablation reads from; it trains nothing the quickstart already has.
NEEDED_STAGES = ("data", "vq", "retrieval", "evaluator", "cot", "llm", "codes", "sft", "rl-data")


@dataclass(frozen=True)
class AblationConfig:
    run: Path
    out: Path
    seeds: int = 3
    sft_steps: int = QuickstartConfig.sft_steps
    sft_batch_size: int = QuickstartConfig.sft_batch_size
    grpo_steps: int = QuickstartConfig.grpo_steps
    grpo_prompts_per_step: int = QuickstartConfig.grpo_prompts_per_step
    grpo_group_size: int = QuickstartConfig.grpo_group_size

    def __post_init__(self) -> None:
        missing = [s for s in NEEDED_STAGES if not marker_path(self.run, s).exists()]
        if missing:
            raise UserError(
                f"{self.run} is not a finished quickstart run (stages not done: {', '.join(missing)}); "
                f"run `motion-r1 quickstart --out {self.run}` first"
            )
        if self.seeds < 2:
            raise UserError(f"--seeds must be >= 2 for a confidence interval, got {self.seeds}")


def trained_steps(ckpt_dir: Path) -> int | None:
    """Steps of the verl run in ``ckpt_dir`` (its latest checkpoint), None without one."""
    latest = ckpt_dir / "latest_checkpointed_iteration.txt"
    return int(latest.read_text().strip()) if latest.exists() else None


def grpo_dir(config: AblationConfig, variant: Variant, seed: int) -> Path:
    """A GRPO run's folder: ``ckpt/`` (verl's checkpoints and metrics.jsonl) and ``model/`` (merged)."""
    return config.out / "grpo" / f"{variant.name}-s{seed}"


def model_dir(config: AblationConfig, variant: Variant, seed: int) -> Path:
    if variant.name == "cot-sft":
        return config.run / "sft-model"
    if variant.name == "nocot-sft":
        return config.out / "nocot-sft-model"
    return grpo_dir(config, variant, seed) / "model"


def gen_dir(config: AblationConfig, variant: Variant, seed: int, split: str) -> Path:
    return config.out / "generated" / variant.name / f"s{seed}" / split


def eval_json(config: AblationConfig, variant: Variant, seed: int, split: str) -> Path:
    return config.out / "eval" / variant.name / f"s{seed}" / f"{split}.json"


def build_stages(config: AblationConfig) -> list[Stage]:
    run = config.run

    def nocot_data(out: Path) -> str:
        sft_data = out / "nocot-sft-data"
        motion_r1("build-sft", "--cot", run / "cot.jsonl", "--codes", run / "codes.jsonl", "--out", sft_data,
                  "--reasoning", "none")  # fmt: skip
        return f"no-CoT SFT parquet (motion span only) in {sft_data}"

    def nocot_sft(out: Path) -> str:
        target = out / "nocot-sft-model"
        train_sft(
            run / "tiny-llm-motion",
            out / "nocot-sft-data",
            out / "nocot-sft-ckpt",
            target,
            steps=config.sft_steps,
            batch_size=config.sft_batch_size,
        )
        return f"no-CoT SFT model in {target}"

    def grpo(variant: Variant, seed: int):
        def train(out: Path) -> str:
            weights = variant.reward_weights or {}
            overrides = tuple(f"+reward.custom_reward_function.reward_kwargs.{k}={v}" for k, v in weights.items())
            overrides += (
                f"data.seed={seed}",
                f"actor_rollout_ref.rollout.seed={seed}",
                f"trainer.experiment_name=ablation_{variant.name}_s{seed}",
            )
            run_dir = grpo_dir(config, variant, seed)
            train_grpo(
                run,
                run / "sft-model",
                run_dir / "ckpt",
                run_dir / "model",
                steps=config.grpo_steps,
                prompts_per_step=config.grpo_prompts_per_step,
                group_size=config.grpo_group_size,
                overrides=overrides,
            )
            return f"GRPO ({variant.label}, seed {seed}) in {run_dir / 'model'}"

        return train

    def generate(variant: Variant, seed: int, split: str):
        def run_generate(_out: Path) -> str:
            target = gen_dir(config, variant, seed, split)
            ok, total = generate_split(model_dir(config, variant, seed), data_dir(run), split, target, seed)
            return f"{ok}/{total} well-formed {split} generations in {target}"

        return run_generate

    def evaluate(variant: Variant, seed: int, split: str):
        def run_eval(_out: Path) -> str:
            out_json = eval_json(config, variant, seed, split)
            evaluate_split(run, split, gen_dir(config, variant, seed, split), variant.label, out_json, seed=seed)
            return f"{variant.label} seed {seed} on {split} in {out_json}"

        return run_eval

    def reference(split: str):
        def run_reference(out: Path) -> str:
            out_json = out / "eval" / "real" / f"{split}.json"
            out_json.parent.mkdir(parents=True, exist_ok=True)
            motion_r1("eval", "--data", data_dir(run), "--split", split, "--reference", "--ckpt", run / "evaluator",
                      "--label", "Real", "--json", out_json)  # fmt: skip
            return f"Real on {split} in {out_json}"

        return run_reference

    stages = [Stage(f"real-{split}", f"evaluate the real {split} motions", reference(split)) for split in SPLITS]
    stages += [
        Stage("nocot-sft-data", "build the no-CoT SFT parquet", nocot_data),
        Stage("nocot-sft", "no-CoT SFT with verl's sft_trainer, then merge", nocot_sft),
    ]
    for seed in range(config.seeds):
        for variant in VARIANTS:
            tag = f"{variant.name}-s{seed}"
            if variant.reward_weights is not None:
                stages.append(Stage(f"train-{tag}", f"GRPO {variant.label}, seed {seed}", grpo(variant, seed)))
            for split in SPLITS:
                stages.append(Stage(f"gen-{tag}-{split}", f"generate {split}", generate(variant, seed, split)))
                stages.append(Stage(f"eval-{tag}-{split}", f"evaluate {split}", evaluate(variant, seed, split)))
    return stages


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of the 95% Student-t interval (nan with one value)."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return float(array.mean()), math.nan
    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array))
    return float(array.mean()), float(half)


def reward_trend(metrics_jsonl: Path, window: int = 5) -> tuple[float, float] | None:
    """Mean GRPO training reward (verl's ``critic/score/mean``) over the first and the last ``window`` steps."""
    if not metrics_jsonl.exists():
        return None
    scores = [json.loads(line)["data"].get("critic/score/mean") for line in metrics_jsonl.read_text().splitlines()]
    scores = [s for s in scores if s is not None]
    if len(scores) < 2 * window:
        return None
    return float(np.mean(scores[:window])), float(np.mean(scores[-window:]))


def collect(config: AblationConfig) -> dict:
    """Every per-seed metric of every variant and split that has been evaluated."""
    run = config.run
    results: dict = {"config": {k: str(v) for k, v in config.__dict__.items()}, "variants": {}, "real": {}}
    for split in SPLITS:
        real = config.out / "eval" / "real" / f"{split}.json"
        if real.exists():
            metrics = json.loads(real.read_text())["metrics"]
            results["real"][split] = {m: metrics[m]["mean"] for m in METRICS}
    for variant in VARIANTS:
        per_split: dict = {}
        for split in SPLITS:
            seeds = []
            for seed in range(config.seeds):
                path = eval_json(config, variant, seed, split)
                if not path.exists():
                    continue
                metrics = json.loads(path.read_text())["metrics"]
                generated = gen_dir(config, variant, seed, split)
                summary = json.loads((generated / "summary.json").read_text())
                row = {m: metrics[m]["mean"] for m in METRICS}
                row["motion_sim"] = motion_similarity(run / "evaluator", data_dir(run), generated, split)
                row["well_formed"] = summary["valid_samples"] / summary["samples"]
                seeds.append({"seed": seed, **row})
            per_split[split] = seeds
        trends = []
        if variant.reward_weights is not None:
            for seed in range(config.seeds):
                trend = reward_trend(grpo_dir(config, variant, seed) / "ckpt" / "metrics.jsonl")
                if trend is not None:
                    trends.append({"seed": seed, "first": trend[0], "last": trend[1]})
        results["variants"][variant.name] = {"label": variant.label, "splits": per_split, "reward_trend": trends}
    return results


def _cell(values: Sequence[float]) -> str:
    if not values:
        return "-"
    mean, half = t_interval(values)
    return f"{mean:.3f}" if math.isnan(half) else f"{mean:.3f}±{half:.3f}"


# (a, b): "is a better than b?", the steps of the paper's ordering no-CoT < CoT-only < single rewards < both.
ORDERING_CHECKS = (
    ("cot-sft", "nocot-sft"),
    ("grpo-semantic", "cot-sft"),
    ("grpo-motion", "cot-sft"),
    ("grpo-both", "grpo-semantic"),
    ("grpo-both", "grpo-motion"),
)


def ordering_lines(results: dict, split: str, metric: str = "R@1") -> list[str]:
    """Each step of the paper's ordering on ``metric``: the seed-paired difference a - b (signed so that
    > 0 means a is better), mean ± 95% t-interval, and whether that interval excludes 0.

    Paired by seed because both sides of a pair share the seed's evaluation draws, so the draw-to-draw
    noise they share cancels.
    """
    rows = results["variants"]
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    lines = []
    for a, b in ORDERING_CHECKS:
        value_a = {row["seed"]: row[metric] for row in rows[a]["splits"].get(split, [])}
        value_b = {row["seed"]: row[metric] for row in rows[b]["splits"].get(split, [])}
        seeds = sorted(value_a.keys() & value_b.keys())
        if len(seeds) < 2:
            continue
        mean, half = t_interval([sign * (value_a[seed] - value_b[seed]) for seed in seeds])
        if mean - half > 0:
            verdict = "better (interval above 0)"
        elif mean + half < 0:
            verdict = "WORSE (interval below 0)"
        else:
            verdict = "not resolved (interval spans 0)"
        label_a, label_b = rows[a]["label"], rows[b]["label"]
        lines.append(f"- {split}, {metric}: {label_a} vs {label_b}: {mean:+.3f}±{half:.3f} -> {verdict}")
    return lines


def tables(results: dict) -> str:
    seeds = max((len(v) for r in results["variants"].values() for v in r["splits"].values()), default=0)
    lines = []
    for split in SPLITS:
        title = "test" if split == "test" else "test_heldout (held-out action compositions)"
        lines += [
            f"### {title}",
            "",
            "| Method | R@1 ↑ | R@2 ↑ | R@3 ↑ | FID ↓ | MM-Dist ↓ | Diversity → | Motion sim. ↑ | Well-formed "
            "| Seeds |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        real = results["real"].get(split)
        if real:
            lines.append("| Real | " + " | ".join(f"{real[m]:.3f}" for m in METRICS) + " | 1.000 | - | - |")
        for variant in results["variants"].values():
            rows = variant["splits"].get(split, [])
            cells = [_cell([r[m] for r in rows]) for m in (*METRICS, "motion_sim", "well_formed")]
            lines.append(f"| {variant['label']} | " + " | ".join(cells) + f" | {len(rows)} |")
        lines.append("")
    lines += [
        "The paper's ordering (no-CoT < CoT-only < single rewards < both), step by step: seed-paired "
        "difference (> 0: the first is better), mean ± 95% t-interval:",
        "",
    ]
    for split in SPLITS:
        lines += ordering_lines(results, split, "R@1") + ordering_lines(results, split, "FID")
    trend_rows = [(v["label"], v["reward_trend"]) for v in results["variants"].values() if v.get("reward_trend")]
    if trend_rows:
        lines += [
            "",
            "GRPO training reward (its own reward, mean of verl's critic/score/mean over the first and the last "
            "5 steps; seed-paired change, mean ± 95% t-interval):",
            "",
            "| Method | first 5 steps | last 5 steps | change |",
            "|---|---|---|---|",
        ]
        for label, trend in trend_rows:
            first, last = [t["first"] for t in trend], [t["last"] for t in trend]
            change = _cell([b - a for a, b in zip(first, last, strict=True)])
            lines.append(f"| {label} | {_cell(first)} | {_cell(last)} | {change} |")
    lines += ["", f"Mean ± 95% t-interval over {seeds} seeds (per seed: the evaluator's mean over 20 draws)."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=Path("runs/quickstart"), help="a finished quickstart run")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"), help="output folder")
    parser.add_argument("--seeds", type=int, default=3, help="replications (default 3)")
    parser.add_argument("--grpo-steps", type=int, default=None, help="GRPO steps per run (default: the run's)")
    parser.add_argument("--sft-steps", type=int, default=None, help="no-CoT SFT steps (default: the CoT-SFT's)")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the tables from what is done")
    args = parser.parse_args(argv)
    try:
        # The same budgets as the run's own CoT-SFT and GRPO, unless asked otherwise.
        sft_steps = args.sft_steps or trained_steps(args.run / "sft-ckpt") or QuickstartConfig.sft_steps
        grpo_steps = args.grpo_steps or trained_steps(args.run / "grpo-ckpt") or QuickstartConfig.grpo_steps
        config = AblationConfig(args.run, args.out, args.seeds, sft_steps=sft_steps, grpo_steps=grpo_steps)
        if not args.report_only:
            run_stages(build_stages(config), config.out)
        results = collect(config)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    (config.out / "ablation.json").write_text(json.dumps(results, indent=2))
    text = tables(results)
    (config.out / "ablation.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
