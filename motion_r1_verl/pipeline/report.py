"""The quickstart's ``report.md``: what the run learned, in one page.

- metrics tables (Real, SFT, SFT+GRPO) on ``test`` and ``test_heldout``, judged by the independent judge
  (Guo et al.'s architecture trained on our data) and, for contrast, by the reward's own encoder, with the
  share of well-formed generations and a motion-similarity column (mean cosine, under the judge's motion
  encoder, between each generated motion and its ground truth);
- GRPO's validation curves (format, motion and semantic similarity on the fixed validation prompts, per
  validation step) as ``validation.png``, and the run's own gain from its first to its last point;
- ``viewer.html`` (``motion-r1 view``): the GRPO run in the browser, linked from the report;
- the fixed validation prompts' clips at every validation (the decode hook's files) and its motion metrics;
- side-by-side videos of ground truth vs SFT vs GRPO for a few test captions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from motion_r1_verl.eval.protocol import METRICS
from motion_r1_verl.eval.report import HEADERS
from motion_r1_verl.motion.core.constants import MAX_FRAMES
from motion_r1_verl.pipeline.commands import motion_r1
from motion_r1_verl.runtime.files import write_text_atomic

MODELS = {"sft": "SFT", "grpo": "SFT+GRPO"}
# Validation keys of the Motion-R1 reward (verl's val-aux/<data_source>/<key>/mean@N), as plotted.
CURVE_KEYS = ("format", "motion", "semantic")


def validation_curve(metrics_jsonl: Path) -> list[dict[str, float]]:
    """verl's validation points of a GRPO run, each with the two similarities as raw cosines.

    The reward pays (1 + cos) / 2 per similarity, and 0 when the format fails (its format gate). From the
    means m, s and the strict-format rate f of a validation point:

    - ``motion_cos``, ``semantic_cos``, ``similarity`` (their sum): over the well-formed responses,
      ``2 m / f - 1`` and ``2 s / f - 1``: what the motions are worth, whatever the format rate;
    - ``similarity_all``: ``2 (m + s) - 2``, every response, a malformed one counted as cosine -1 twice.
    """
    from motion_r1_verl.verl_plugin.run_files import read_metrics, validation_points

    notes: list[str] = []
    points = validation_points(read_metrics(metrics_jsonl, notes)) if metrics_jsonl.exists() else []
    points = [p for p in points if all(k in p for k in CURVE_KEYS) and p["format"] > 0]
    for point in points:
        point["motion_cos"] = 2.0 * point["motion"] / point["format"] - 1.0
        point["semantic_cos"] = 2.0 * point["semantic"] / point["format"] - 1.0
        point["similarity"] = point["motion_cos"] + point["semantic_cos"]
        point["similarity_all"] = 2.0 * (point["motion"] + point["semantic"]) - 2.0
    return points


def validation_gain(metrics_jsonl: Path) -> str:
    """One line: the validation similarity and format at the first and the last validation point."""
    points = validation_curve(metrics_jsonl)
    if len(points) < 2:
        return "no validation points (trainer.val_before_train / test_freq off)"
    first, last = points[0], points[-1]
    return (
        f"validation motion + semantic similarity (raw cosine, well-formed responses) {first['similarity']:.3f} "
        f"at step {first['step']} -> {last['similarity']:.3f} at step {last['step']} "
        f"({last['similarity'] - first['similarity']:+.3f}); "
        f"strict format {first['format']:.3f} -> {last['format']:.3f}"
    )


def plot_validation(points: Sequence[dict[str, float]], out_png: Path) -> Path:
    """Format rate and the two similarities (raw cosine) per validation step, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [p["step"] for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110)
    left.plot(steps, [p["format"] for p in points], "o-", color="tab:gray")
    left.set(title="strict format (T = 1.0)", xlabel="GRPO step", ylim=(0, 1.02))
    for key, color in (("motion_cos", "tab:blue"), ("semantic_cos", "tab:orange")):
        right.plot(steps, [p[key] for p in points], "o-", color=color, label=key.replace("_cos", " similarity"))
    right.set(title="validation similarity (raw cosine, well-formed)", xlabel="GRPO step")
    right.legend(fontsize=8)
    for axis in (left, right):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def _cell(metrics: dict, name: str) -> str:
    value = metrics.get(name)
    return "-" if value is None else f"{value['mean']:.3f}±{value['ci95']:.3f}"


def load_judge(run_dir: Path, judge: str):
    """The evaluator object of ``judge`` (a key of ``pipeline.steps.JUDGES``) of a run."""
    from motion_r1_verl.eval.evaluators import GuoTextMotionEvaluator, OursEvaluator
    from motion_r1_verl.pipeline.steps import JUDGES

    kind, folder, _ = JUDGES[judge]
    if kind == "guo":
        return GuoTextMotionEvaluator.load_trained(run_dir / folder, "cpu")
    return OursEvaluator.load(run_dir / folder, "cpu")


def motion_similarity(evaluator, data_dir: Path, gen_dir: Path, split: str = "test") -> float:
    """Mean cosine between ``evaluator``'s embeddings of generated and ground-truth motion of the split
    (over every sample of a caption where there are several)."""
    from motion_r1_verl.eval.generated import load_generated
    from motion_r1_verl.motion.core.humanml3d import load_split

    clips, _report = load_split(data_dir, split)
    generated = load_generated(gen_dir, [c.id for c in clips])
    owner = [i for i, c in enumerate(clips) for _ in generated.samples[c.id]]
    fake = [s[:MAX_FRAMES] for c in clips for s in generated.samples[c.id]]  # as the eval protocol crops
    real = evaluator.embed_motions([c.features for c in clips])
    fake = evaluator.embed_motions(fake)
    real = real / np.linalg.norm(real, axis=1, keepdims=True)
    fake = fake / np.linalg.norm(fake, axis=1, keepdims=True)
    return float((real[owner] * fake).sum(axis=1).mean())


def valid_share(gen_dir: Path) -> tuple[int, int]:
    summary = json.loads((gen_dir / "summary.json").read_text())
    return int(summary["valid_samples"]), int(summary["samples"])


def metrics_table(run_dir: Path, judge: str, split: str) -> list[str]:
    """The Markdown table of one judge on one split (Real, SFT, SFT+GRPO)."""
    from motion_r1_verl.pipeline.steps import data_dir, eval_json

    evaluator = load_judge(run_dir, judge)
    lines = [
        "| Method | " + " | ".join(HEADERS[m] for m in METRICS) + " | Motion sim. ↑ | Well-formed |",
        "|---|" + "---|" * (len(METRICS) + 2),
    ]
    for model, label in (("real", "Real"), *MODELS.items()):
        path = eval_json(run_dir, judge, split, model)
        if not path.exists():
            continue
        metrics = json.loads(path.read_text())["metrics"]
        cells = [_cell(metrics, m) for m in METRICS]
        if model == "real":
            sim, formed = "1.000", "-"
        else:
            gen_dir = run_dir / "generated" / model / split
            ok, total = valid_share(gen_dir)
            sim, formed = f"{motion_similarity(evaluator, data_dir(run_dir), gen_dir, split):.3f}", f"{ok}/{total}"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {sim} | {formed} |")
    return lines


def validation_motion_lines(motions_dir: Path, run_dir: Path) -> list[str]:
    """The decode hook's output of a GRPO run: each fixed prompt's clip at every validation, and the
    validation set's motion metrics per step (``motion_r1_verl.verl_plugin.validation_motions``)."""
    steps = sorted(int(p.name) for p in motions_dir.glob("*") if p.is_dir() and p.name.isdigit())
    if not steps:
        return []
    clips: dict[int, dict] = {}
    for step in steps:
        for line in (motions_dir / str(step) / "motions.jsonl").read_text().splitlines():
            row = json.loads(line)
            entry = clips.setdefault(row["clip"], {"caption": row["caption"], "steps": []})
            if row.get("video"):
                path = (motions_dir / str(step) / row["video"]).relative_to(run_dir)
                entry["steps"].append(f"[step {step}]({path})" + ("" if row["reason"] == "ok" else " (malformed)"))
    lines = [
        "## The same validation prompts, decoded at every validation",
        "",
        "Rendered while GRPO trained (generated beside the decoded ground truth; `grpo-ckpt/validation/motions/`):",
        "",
    ]
    lines += [f"- {clip['caption']} — " + ", ".join(clip["steps"]) for _, clip in sorted(clips.items())]
    metrics_path = motions_dir / "metrics.jsonl"
    rows = [json.loads(line) for line in metrics_path.read_text().splitlines()] if metrics_path.is_file() else []
    rows = [r for r in rows if r.get("partition") == "val"]
    if rows:
        lines += [
            "",
            "| step | decodable | seconds | root travel (m) | foot skate (cm/frame) |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['step']} | {r['val-motion/decoded']:.3f} | {r.get('val-motion/seconds', float('nan')):.2f} "
            f"| {r.get('val-motion/root_travel_m', float('nan')):.2f} "
            f"| {r.get('val-motion/foot_skate_cm_per_frame', float('nan')):.2f} |"
            for r in rows
        ]
    return [*lines, ""]


def write_report(run_dir: Path, stage_lines: Sequence[str], videos: int = 3) -> Path:
    """Write ``run_dir/report.md`` (and ``validation.png``, ``videos/``); returns the report's path."""
    from motion_r1_verl.motion.core.humanml3d import load_split
    from motion_r1_verl.motion.outputs.render import render_animation
    from motion_r1_verl.pipeline.steps import JUDGES, SPLITS, data_dir

    lines = [
        "# Motion-R1 quickstart report",
        "",
        "Embedded synthetic dataset. Mean ± 95% CI over 20 replications of the evaluation draws (R-Precision "
        "in batches of 32). A response without a well-formed motion span is scored as a motionless clip, so "
        "malformed output lowers every metric instead of dropping out.",
        "",
    ]
    for judge, (_, folder, what) in JUDGES.items():
        for split in SPLITS:
            title = "test_heldout (held-out action compositions)" if split == "test_heldout" else "test"
            lines += [f"## {title}, judged by {what}: `{folder}/`", ""]
            lines += metrics_table(run_dir, judge, split) + [""]
    points = validation_curve(run_dir / "grpo-ckpt" / "metrics.jsonl")
    lines += ["## GRPO on the fixed validation prompts (this run's own seed)", ""]
    if len(points) >= 2:
        png = plot_validation(points, run_dir / "validation.png")
        lines += [
            f"![validation curves]({png.name})",
            "",
            validation_gain(run_dir / "grpo-ckpt" / "metrics.jsonl") + ".",
            "",
            "| step | strict format | motion sim. (cos) | semantic sim. (cos) | sum | sum, malformed as -1 |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {p['step']} | {p['format']:.3f} | {p['motion_cos']:.3f} | {p['semantic_cos']:.3f} "
            f"| {p['similarity']:.3f} | {p['similarity_all']:.3f} |"
            for p in points
        ]
        lines += [
            "",
            "Sampled at temperature 1.0, 4 responses per prompt; similarities by the reward encoder, over the "
            "well-formed responses (last column: over all, a malformed response counting as cosine -1). "
            "`motion-r1 rollouts grpo-ckpt` prints every training step.",
            "",
        ]
    else:
        lines += ["No validation points in grpo-ckpt/metrics.jsonl.", ""]
    lines += ["## What the policy did, in the browser", ""]
    viewer = run_dir / "viewer.html"
    motion_r1("view", run_dir / "grpo-ckpt", "--out", viewer)
    lines += [
        f"[viewer.html](viewer.html) ({viewer.stat().st_size / 1e6:.1f} MB, opens offline): the GRPO run's training "
        "and validation curves, its rollouts by step and prompt group (reasoning, plan, score, components, failure "
        "reason; filters), and the best sample of some groups beside its ground truth as 3D skeletons "
        "(`motion-r1 view grpo-ckpt`).",
        "",
    ]
    lines += validation_motion_lines(run_dir / "grpo-ckpt" / "validation" / "motions", run_dir)
    lines += ["## Ground truth vs SFT vs GRPO", ""]
    clips, _ = load_split(data_dir(run_dir), "test")
    for clip in clips[:videos]:
        motions = [clip.features] + [np.load(run_dir / "generated" / m / "test" / f"{clip.id}.npy") for m in MODELS]
        out = run_dir / "videos" / f"{clip.id}.mp4"
        out.parent.mkdir(parents=True, exist_ok=True)
        caption = clip.captions[0].text
        render_animation(motions, out, caption=caption, labels=["ground truth", *MODELS.values()])
        lines.append(f"- [{caption}]({out.relative_to(run_dir)})")
    lines += ["", "## Stages", "", *[f"- {line}" for line in stage_lines], ""]
    return write_text_atomic(run_dir / "report.md", "\n".join(lines))
