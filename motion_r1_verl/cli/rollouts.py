"""``motion-r1 rollouts RUN_DIR``: what a GRPO run's rollouts looked like, step by step.

Reads the run folder with :func:`motion_r1_verl.verl_plugin.rollout_dumps.diagnose_run` and prints one
table row per step (format rate, failure reasons, reward components, raw cosines, score, group spread,
zero-variance groups, lengths, truncation, verl's KL/entropy/clip), the validation points, and a short
summary; ``--json`` writes all of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from motion_r1_verl.errors import UserError

EXAMPLE = """examples:
  motion-r1 rollouts runs/grpo
  motion-r1 rollouts runs/grpo --every 10 --json runs/grpo/rollouts_report.json
  motion-r1 rollouts runs/grpo --steps 100-200 --examples
  motion-r1 rollouts old-run/ --codebook-size 512      # older run without rollouts/rewards/ nor motion_vocab.json

RUN_DIR is the OUT_DIR of recipes/motion_r1/grpo.sh: rollouts/<step>.jsonl (verl's dump),
rollouts/rewards/<step>.jsonl (reward components; older runs lack it: the format is then judged from the
text and the similarity columns stay empty), metrics.jsonl and hydra/.hydra/config.yaml.
"""
# Table columns: (StepStats field, header, format).
REWARD_COLUMNS = (
    ("step", "step", "d"),
    ("responses", "resp", "d"),
    ("format", "format", ".3f"),
    ("parse_ok", "parse", ".3f"),
    ("motion", "motion", ".3f"),
    ("semantic", "seman", ".3f"),
    ("motion_cos", "cos_m", "+.3f"),
    ("semantic_cos", "cos_s", "+.3f"),
    ("motion_len", "codes", ".1f"),
    ("score", "score", ".3f"),
    ("group_score_std", "grp_std", ".3f"),
    ("zero_std_groups", "zero_var", ".3f"),
    ("response_length", "len", ".1f"),
    ("truncated", "trunc", ".3f"),
)
TRAINER_COLUMNS = (
    ("ppo_kl", "ppo_kl", ".3g"),
    ("kl_loss", "kl_loss", ".3g"),
    ("entropy", "entropy", ".3f"),
    ("pg_clipfrac", "clip", ".3f"),
)
# Failure reasons shown per row (the summary lists them all).
REASONS_PER_ROW = 2
# Validation keys shown first, in this order (any others follow).
VALIDATION_ORDER = ("reward", "score", "format", "parse_ok", "motion", "semantic", "motion_len")
NOTES_SHOWN = 10
# An example response is shown as its start and its end (format problems sit mostly near the motion span).
EXAMPLE_HEAD, EXAMPLE_TAIL = 60, 120
# Where the reward components of a step came from, as the header says it.
SOURCE_NAMES = {"reward dump": "rollouts/rewards", "text": "judged from the text", "mixed": "both", "empty": "none"}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rollouts",
        help="diagnose a GRPO run from its rollout dumps: rewards, failure reasons, GRPO signal per step",
        description="Per training step of a GRPO run: responses, strict-format rate, the top failure reasons, "
        "the reward components and raw cosines, mean score, within-group score spread and the share of "
        "zero-variance groups (no GRPO signal), response length and truncation, verl's KL/entropy/clip fraction; "
        "then the validation points and a summary (first vs last validation point, or first vs last training "
        "steps) with the most common failure reasons.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the GRPO run's OUT_DIR (or its rollouts/ folder)")
    p.add_argument("--every", type=int, default=1, metavar="K", help="print every K-th step (and the last) only")
    p.add_argument("--steps", default=None, metavar="A-B", help="read only steps A..B (also A-, -B or A); default: all")
    p.add_argument(
        "--window",
        type=int,
        default=5,
        metavar="K",
        help="summary without two validation points: mean of the first vs the last K steps (default: 5)",
    )
    p.add_argument(
        "--codebook-size",
        type=int,
        default=None,
        metavar="K",
        help="motion codebook size for judging text of older runs (default: the model's motion_vocab.json)",
    )
    p.add_argument(
        "--max-response-length",
        type=int,
        default=None,
        metavar="N",
        help="truncation threshold in tokens (default: data.max_response_length of the run's config)",
    )
    p.add_argument("--examples", action="store_true", help="print a recent response for each failure reason")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write everything to this JSON file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from motion_r1_verl.verl_plugin.rollout_dumps import diagnose_run, parse_step_range

    if args.every < 1:
        raise UserError(f"--every must be at least 1, got {args.every}")
    diagnosis = diagnose_run(
        args.run_dir,
        steps=parse_step_range(args.steps) if args.steps else None,
        codebook_size=args.codebook_size,
        max_response_length=args.max_response_length,
        window=args.window,
    )
    print(format_report(diagnosis, every=args.every, examples=args.examples))
    if args.json is not None:
        diagnosis.write_json(args.json)
        print(f"wrote {args.json}")
    return 0


def _cell(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(headers: list[str], rows: list[list[str]], last_left: bool = False) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = []
    for cells in [headers, *rows]:
        parts = [c.rjust(w) for c, w in zip(cells, widths, strict=True)]
        if last_left:
            parts[-1] = cells[-1]
        lines.append("  ".join(parts).rstrip())
    return lines


def _failures(reasons: dict[str, float]) -> str:
    failing = [(r, share) for r, share in reasons.items() if r != "ok" and share > 0]
    return ", ".join(f"{r} {share:.0%}" for r, share in failing[:REASONS_PER_ROW]) or "-"


def _summary_format(key: str) -> str:
    if key in ("ppo_kl", "kl_loss"):
        return ".3g"
    return ".1f" if key in ("response_length", "motion_len") else ".3f"


def _excerpt(text: str) -> str:
    text = text.replace("\n", "\\n")
    if len(text) <= EXAMPLE_HEAD + EXAMPLE_TAIL + 5:
        return text
    return f"{text[:EXAMPLE_HEAD]} [...] {text[-EXAMPLE_TAIL:]}"


def _span(steps: list[int]) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def format_report(diagnosis, every: int = 1, examples: bool = False) -> str:
    """The text report of a :class:`~motion_r1_verl.verl_plugin.rollout_dumps.RunDiagnosis`."""
    steps, summary, config = diagnosis.steps, diagnosis.summary, diagnosis.config
    groups = sorted({s.groups for s in steps if s.responses})
    sources = sorted({s.source for s in steps})
    lines = [
        f"run {diagnosis.run_dir}: {summary['steps']} steps ({summary['first_step']}-{summary['last_step']}), "
        f"{summary['responses']} responses, {'/'.join(map(str, groups)) or 0} groups per step"
        + (f" x {config.rollout_n} samples" if config.rollout_n else "")
        + f"; reward components: {', '.join(SOURCE_NAMES.get(s, s) for s in sources)}",
    ]
    trainer = [c for c in TRAINER_COLUMNS if any(getattr(s, c[0]) is not None for s in steps)]
    limit = diagnosis.max_response_length or "? (unknown: pass --max-response-length)"
    kl = "; ppo_kl, kl_loss, entropy, clip = verl's actor/ppo_kl, actor/kl_loss, actor/entropy, actor/pg_clipfrac"
    lines += [
        "  format = strict-format rate (mean 0/1 format reward); parse = share with a well-formed motion span",
        "  motion, seman = mean reward (1+cos)/2 over all responses (0 when the format fails); "
        "cos_m, cos_s = raw cosine 2x-1 over responses whose similarities were paid (format held)",
        "  codes = mean motion codes; grp_std = mean within-group score std; "
        "zero_var = share of groups whose samples all scored the same (no GRPO signal)",
        f"  len = mean response tokens; trunc = share with len >= {limit}" + (kl if trainer else ""),
        "",
    ]
    columns = (*REWARD_COLUMNS, *trainer)
    shown = [s for i, s in enumerate(steps) if i % every == 0 or i == len(steps) - 1]
    rows = [[_cell(getattr(s, f), spec) for f, _, spec in columns] + [_failures(s.reasons)] for s in shown]
    lines += _table([h for _, h, _ in columns] + ["top failures (share)"], rows, last_left=True)

    if diagnosis.validation:
        keys = sorted({k for p in diagnosis.validation for k in p if k != "step"})
        keys = [k for k in VALIDATION_ORDER if k in keys] + [k for k in keys if k not in VALIDATION_ORDER]
        lines += ["", "validation (verl's val-core/val-aux mean@N):"]
        val_rows = [[str(p["step"])] + [_cell(p.get(k), ".3f") for k in keys] for p in diagnosis.validation]
        lines += ["  " + line for line in _table(["step", *keys], val_rows)]

    lines += ["", "summary:"]
    comparison = summary.get("comparison")
    if comparison:
        first, last = _span(comparison["first_steps"]), _span(comparison["last_steps"])
        what = "validation" if comparison["kind"] == "validation" else "training, mean of"
        lines.append(f"  {what} {first} -> {last}:")
        values = comparison["values"]
        if comparison["kind"] == "validation":
            order = [k for k in VALIDATION_ORDER if k in values] + [k for k in values if k not in VALIDATION_ORDER]
            values = {k: values[k] for k in order}
        width = max((len(k) for k in values), default=0)
        for key, v in values.items():
            spec = _summary_format(key)
            lines.append(
                f"    {key.ljust(width)}  {format(v['first'], spec):>9} -> {format(v['last'], spec):>9}  "
                f"({format(v['change'], '+' + spec)})"
            )
    else:
        lines.append("  one step only: nothing to compare")
    total = summary["responses"]
    counts = {r["reason"]: r for r in summary["reasons"]}
    ok = counts.get("ok", {}).get("share")
    failing = [r for r in summary["reasons"] if r["reason"] != "ok"]
    head = f"  format failures over {total} responses" + (f" (ok {ok:.1%})" if ok is not None else "")
    lines.append(head + (":" if failing else ": none"))
    width = max((len(r["reason"]) for r in failing), default=0)
    for r in failing:
        lines.append(f"    {r['reason'].ljust(width)}  {r['count']:6d}  {r['share']:6.1%}")
        example = summary["examples"].get(r["reason"])
        if examples and example:
            lines.append(f"      e.g. step {example['step']} {example['uid']}: {_excerpt(example['output'])}")
    if summary.get("zero_std_groups") is not None:
        lines.append(
            f"  zero-variance groups: {summary['zero_std_groups']:.1%} of groups per step on average (no GRPO signal)"
        )
    if diagnosis.notes:
        lines += ["", "notes:"]
        lines += [f"  - {note}" for note in diagnosis.notes[:NOTES_SHOWN]]
        if len(diagnosis.notes) > NOTES_SHOWN:
            lines.append(f"  ... {len(diagnosis.notes) - NOTES_SHOWN} more (all in --json)")
    return "\n".join(lines)
