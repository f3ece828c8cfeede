"""A GRPO run's dumps read back and aggregated per step: the diagnosis behind ``motion-r1 rollouts``.

A run of ``recipes/motion_r1/grpo.sh`` (verl's ``main_ppo``) leaves in its OUT_DIR:

- ``rollouts/<step>.jsonl``: verl's dump (``trainer.rollout_data_dir``), one line per response,
  ``{"input", "output", "gts", "score", "step", "uid"}``, ``uid`` = ``<prompt uid>_<session>_<index>``;
- ``rollouts/rewards/<step>.jsonl`` (newer runs): the reward components of each response, written by
  :class:`~motion_r1_verl.verl_plugin.replay_buffer.RewardMetricsReplayBuffer` (``uid``, ``score``,
  ``response_length``, ``format``, ``motion``, ``semantic``, ``parse_ok``, ``motion_len``, ``reason``);
- ``metrics.jsonl``: verl's file logger, ``{"step": N, "data": {metric: value}}`` (KL, entropy, clip
  fraction, and the validation points ``val-core/<source>/reward/mean@N``, ``val-aux/<source>/<key>/mean@N``);
- ``hydra/.hydra/config.yaml``: the composed config (max response length, model path, reward kwargs).

:func:`diagnose_run` joins the two dumps on ``uid`` step by step and aggregates each step with
:func:`~motion_r1_verl.verl_plugin.reward_stats.reward_metrics`, the same function that makes the
training-time ``reward/*`` metrics, so the offline numbers and the logged ones cannot drift apart. It adds
the raw cosines, the trainer's KL/entropy/clip metrics and the validation points, and a summary (first vs
last validation point, or first vs last training steps; the most common failure reasons).

Older runs without ``rollouts/rewards/`` are judged from the text: the strict format verdict and reason
come from :func:`reward_fns.format.check_format` with the run's reward settings (the codebook size from
the model's ``motion_vocab.json`` or given), lengths from re-tokenising the text with the model's
``tokenizer.json`` (verl decodes without special tokens, so the count is close to, not exactly, verl's);
the similarity columns stay empty, as they need the reward models.

Reading (:mod:`motion_r1_verl.verl_plugin.run_files`) imports neither verl, torch nor ray. A torn last
line (a run killed mid-write) is skipped and noted; any other malformed line is a
:class:`~motion_r1_verl.errors.UserError` naming file and line.

Run: ``motion-r1 rollouts runs/grpo`` (``--json report.json`` for everything as JSON).
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.runtime.files import write_text_atomic
from motion_r1_verl.verl_plugin.reward_stats import group_of, metric_name, reward_metrics
from motion_r1_verl.verl_plugin.run_files import (
    CONFIG_FILE,
    METRICS_FILE,
    REWARDS_DIR,
    ROLLOUTS_DIR,
    RunConfig,
    as_int,
    dump_dirs,
    read_jsonl,
    read_metrics,
    read_run_config,
    resolve_run_dir,
    step_files,
    validation_points,
)

MOTION_VOCAB_FILE = "motion_vocab.json"  # written by tokenizer_ext.extend
TOKENIZER_FILE = "tokenizer.json"
# Fields of a reward-dump line that are not reward extra keys.
_DUMP_FIELDS = frozenset({"uid", "step", "score", "response_length"})
# verl trainer metrics carried into the step rows (row field -> metrics.jsonl key).
TRAINER_METRICS = {
    "ppo_kl": "actor/ppo_kl",
    "kl_loss": "actor/kl_loss",
    "entropy": "actor/entropy",
    "pg_clipfrac": "actor/pg_clipfrac",
}
# First vs last this many training steps in the summary (when there are no two validation points).
DEFAULT_WINDOW = 5
# Reading shows a progress bar only past this many bytes of dumps (seconds of JSON parsing).
PROGRESS_MIN_BYTES = 64 << 20
# Characters of a response kept as the example of a failure reason (a whole response, unless garbage).
EXAMPLE_CHARS = 4000
# Two scores (verl's dump vs the reward dump) further apart than this are reported.
SCORE_TOLERANCE = 1e-4

# What each per-step field means (the CLI's legend, and part of the JSON).
COLUMNS = {
    "step": "training step (verl's global step)",
    "responses": "responses in the step",
    "groups": "prompt groups (responses sharing the uid prefix)",
    "source": "where the reward components came from: reward dump, text (recomputed), or mixed",
    "format": "strict-format rate: mean of the 0/1 format reward (the whole response is exactly the template)",
    "parse_ok": "share of responses with a well-formed motion span (all the similarities need)",
    "motion": "mean motion reward (1+cos)/2 over all responses (0 where no span parsed)",
    "semantic": "mean semantic reward (1+cos)/2 over all responses (0 where no span parsed)",
    "motion_cos": "mean raw cosine 2*motion-1, over responses whose similarities were paid (format held)",
    "semantic_cos": "mean raw cosine 2*semantic-1, over responses whose similarities were paid (format held)",
    "motion_len": "mean number of motion codes in the span",
    "score": "mean score (the reward GRPO sees)",
    "group_score_std": "mean within-group std of the score",
    "zero_std_groups": "share of groups whose samples all scored the same (no GRPO signal)",
    "response_length": "mean response length in tokens",
    "truncated": "share of responses with length >= data.max_response_length",
    "reasons": "share of responses per format reason ('ok' or the first problem)",
    "ppo_kl": "verl actor/ppo_kl",
    "kl_loss": "verl actor/kl_loss",
    "entropy": "verl actor/entropy",
    "pg_clipfrac": "verl actor/pg_clipfrac",
}
# Step fields averaged in the summary's first-vs-last comparison.
COMPARED_FIELDS = (
    "format",
    "parse_ok",
    "motion",
    "semantic",
    "motion_cos",
    "semantic_cos",
    "score",
    "group_score_std",
    "zero_std_groups",
    "response_length",
    "truncated",
    *TRAINER_METRICS,
)


@dataclass
class StepStats:
    """One training step's responses, aggregated (fields documented in :data:`COLUMNS`)."""

    step: int
    responses: int
    groups: int
    source: str
    format: float | None = None
    parse_ok: float | None = None
    motion: float | None = None
    semantic: float | None = None
    motion_cos: float | None = None
    semantic_cos: float | None = None
    motion_len: float | None = None
    score: float | None = None
    group_score_std: float | None = None
    zero_std_groups: float | None = None
    response_length: float | None = None
    truncated: float | None = None
    reasons: dict[str, float] = field(default_factory=dict)
    ppo_kl: float | None = None
    kl_loss: float | None = None
    entropy: float | None = None
    pg_clipfrac: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    """Everything :func:`reward_metrics` returned for the step (the training-time metric names)."""


@dataclass
class RunDiagnosis:
    """The result of :func:`diagnose_run`."""

    run_dir: Path
    config: RunConfig
    steps: list[StepStats]
    validation: list[dict[str, float]]
    """One dict per validation point: ``step`` and each validated key (``reward``, ``format``, ...)."""
    summary: dict[str, Any]
    notes: list[str]
    """Things the reader skipped or guessed (torn lines, recomputed steps, approximate lengths)."""
    codebook_size: int | None = None
    """The codebook size used to judge text (None: every step had its reward dump)."""
    max_response_length: int | None = None
    """The truncation threshold used (given, or ``data.max_response_length``; None: unknown)."""

    def to_json(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["path"] = str(self.config.path) if self.config.path else None
        config["codebook_size"] = self.codebook_size
        config["truncation_length"] = self.max_response_length
        return {
            "run_dir": str(self.run_dir),
            "config": config,
            "columns": COLUMNS,
            "steps": [asdict(s) for s in self.steps],
            "validation": self.validation,
            "summary": self.summary,
            "notes": self.notes,
        }

    def write_json(self, path: str | Path) -> None:
        """Everything as one JSON file, written atomically."""
        write_text_atomic(path, json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n")


# --------------------------------------------------------------------------------------------
# Judging responses from their text (runs without the reward dump)
# --------------------------------------------------------------------------------------------


def _bool_kwarg(value: Any, default: bool) -> bool:
    """A reward kwarg as ``reward_fns.motion_r1.RewardConfig.from_kwargs`` reads a bool."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


class _TextJudge:
    """Recomputes a response's format verdict and length from its text, loading what it needs once."""

    def __init__(self, config: RunConfig, codebook_size: int | None, notes: list[str]) -> None:
        self.config = config
        self.notes = notes
        self._codebook_size = codebook_size
        self._tokenizer: Any = None
        self._tokenizer_tried = False

    @property
    def known_codebook_size(self) -> int | None:
        """The codebook size given or read so far (None: no text needed judging)."""
        return self._codebook_size

    def _model_dir(self) -> Path | None:
        return Path(self.config.model_path).expanduser() if self.config.model_path else None

    def codebook_size(self, where: Path) -> int:
        if self._codebook_size is not None:
            return self._codebook_size
        model = self._model_dir()
        need = (
            f"{where}: no reward components for these responses (no reward dump), so the format is judged "
            "from the text, which needs the codebook size"
        )
        if model is None:
            raise UserError(
                f"{need}: the run has no {CONFIG_FILE} naming the model; pass codebook_size=K",
                mentions=("codebook_size",),
            )
        vocab = model / MOTION_VOCAB_FILE
        try:
            size = json.loads(vocab.read_text(encoding="utf-8")).get("codebook_size")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as err:
            raise UserError(
                f"{need}: cannot read {vocab} ({err}); pass codebook_size=K", mentions=("codebook_size",)
            ) from err
        if as_int(size) is None or int(size) <= 0:
            raise UserError(
                f"{need}: {vocab} has no positive integer codebook_size; pass codebook_size=K",
                mentions=("codebook_size",),
            )
        self._codebook_size = int(size)
        return self._codebook_size

    def judge(self, text: object, where: Path) -> dict[str, Any]:
        """The reward-dump fields the text decides: format (0/1), parse_ok, motion_len, reason."""
        # reward_fns sits after verl in the data flow; imported only for runs that need it.
        from reward_fns.format import check_format

        kwargs = self.config.reward_kwargs
        options: dict[str, Any] = {"with_output": _bool_kwarg(kwargs.get("with_output"), True)}
        for name in ("min_codes", "max_codes"):
            if (as_int(kwargs.get(name)) or 0) > 0:  # 0 = the default limits
                options[name] = int(kwargs[name])
        parsed = check_format(text, self.codebook_size(where), **options)
        return {
            "format": 1.0 if parsed.format_ok else 0.0,
            "parse_ok": parsed.parse_ok,
            "motion_len": int(parsed.codes.size),
            "reason": parsed.reason,
        }

    def length(self, text: object) -> int | None:
        """Tokens of ``text`` with the policy's tokenizer, or None when it cannot be loaded."""
        if not self._tokenizer_tried:
            self._tokenizer_tried = True
            self._tokenizer = self._load_tokenizer()
        if self._tokenizer is None or not isinstance(text, str):
            return None
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _load_tokenizer(self):
        model = self._model_dir()
        path = model / TOKENIZER_FILE if model else None
        if path is None or not path.is_file():
            self.notes.append(
                f"response lengths unknown for steps without a reward dump: no {path or TOKENIZER_FILE} to re-tokenise"
            )
            return None
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # tokenizers raises a bare Exception for a file it cannot parse
            self.notes.append(f"response lengths unknown for steps without a reward dump: {path}: {err}")
            return None
        self.notes.append(
            f"steps without a reward dump: response lengths re-tokenised from the text with {path} "
            "(verl decoded without special tokens: close to, not exactly, verl's counts)"
        )
        return tokenizer


# --------------------------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _reward_extra(row: dict[str, Any]) -> dict[str, Any]:
    """A reward-dump line's reward extra keys, plus the raw cosines where a motion span was parsed."""
    extra = {k: v for k, v in row.items() if k not in _DUMP_FIELDS}
    motion, semantic = _number(extra.get("motion")), _number(extra.get("semantic"))
    # The reward pays similarities only when the format holds (format_gate, its default): a malformed
    # response's 0 is no similarity. An ungated run pays them for any parsed span (then they are > 0).
    paid = bool(extra.get("format")) or (motion is not None and motion > 0)
    if extra.get("parse_ok") and paid:
        if motion is not None:
            extra["motion_cos"] = 2.0 * motion - 1.0
        if semantic is not None and extra.get("reason") != "no caption":
            extra["semantic_cos"] = 2.0 * semantic - 1.0
    return extra


def _require(row: dict[str, Any], path: Path, names: Iterable[str]) -> None:
    missing = [name for name in names if name not in row]
    if missing:
        raise UserError(f"{path}: a line has no {', '.join(missing)} (keys: {sorted(row)})")
    if _number(row["score"]) is None:
        raise UserError(f"{path}: uid {row.get('uid')!r} has a non-numeric score {row['score']!r}")


@dataclass
class _StepRead:
    stats: StepStats
    reasons: Counter
    examples: dict[str, dict[str, Any]]


def _read_step(
    step: int,
    verl_path: Path | None,
    reward_path: Path | None,
    judge: _TextJudge,
    max_response_length: int | None,
    notes: list[str],
) -> _StepRead:
    verl_rows = read_jsonl(verl_path, notes) if verl_path else []
    reward_rows = read_jsonl(reward_path, notes) if reward_path else []
    by_uid: dict[str, dict[str, Any]] = {}
    for row in reward_rows:
        _require(row, reward_path, ("uid", "score"))
        by_uid[str(row["uid"])] = row
    keys: list[str] = []
    scores: list[float] = []
    extras: list[dict[str, Any]] = []
    lengths: list[int] = []
    examples: dict[str, dict[str, Any]] = {}
    recomputed = mismatched = 0

    def add(uid: str, score: float, extra: dict[str, Any], length: Any) -> None:
        keys.append(uid)
        scores.append(score)
        extras.append(extra)
        if as_int(length) is not None:
            lengths.append(int(length))

    for row in verl_rows:
        _require(row, verl_path, ("uid", "output", "score"))
        uid, score = str(row["uid"]), float(row["score"])
        dumped = by_uid.pop(uid, None)
        if dumped is not None:
            if abs(float(dumped["score"]) - score) > SCORE_TOLERANCE * max(1.0, abs(score)):
                mismatched += 1
            extra, length = _reward_extra(dumped), dumped.get("response_length")
        else:
            recomputed += 1
            extra, length = judge.judge(row["output"], verl_path), judge.length(row["output"])
        add(uid, score, extra, length)
        reason = extra.get("reason")
        if isinstance(reason, str) and reason != "ok":
            examples[reason] = {"step": step, "uid": uid, "output": str(row["output"])[:EXAMPLE_CHARS]}
    for uid, row in by_uid.items():  # responses verl did not dump (e.g. rollout_data_dir unset)
        add(uid, float(row["score"]), _reward_extra(row), row.get("response_length"))

    if recomputed and reward_path is not None:
        notes.append(
            f"step {step}: {recomputed} responses of {verl_path} have no line in {reward_path}; judged from text"
        )
    if by_uid and verl_path is not None:
        notes.append(f"step {step}: {len(by_uid)} responses of {reward_path} are not in {verl_path}")
    if mismatched:
        notes.append(f"step {step}: {mismatched} responses score differently in verl's dump and the reward dump")
    if len(lengths) < len(keys) and lengths:
        notes.append(f"step {step}: lengths known for {len(lengths)} of {len(keys)} responses")

    metrics = reward_metrics(keys, scores, extras, lengths, max_response_length)
    reasons = Counter(e["reason"] for e in extras if isinstance(e.get("reason"), str))
    label = {metric_name(reason): reason for reason in reasons}
    shares = {
        label.get(key.rsplit("/", 1)[-1], key.rsplit("/", 1)[-1]): value
        for key, value in metrics.items()
        if key.startswith("reward/reason/")
    }
    if not keys:
        source = "empty"
    else:
        source = "text" if recomputed == len(keys) else "reward dump" if not recomputed else "mixed"
    stats = StepStats(
        step=step,
        responses=len(keys),
        groups=len({group_of(k) for k in keys}),
        source=source,
        format=metrics.get("reward/format/mean"),
        parse_ok=metrics.get("reward/parse_ok/mean"),
        motion=metrics.get("reward/motion/mean"),
        semantic=metrics.get("reward/semantic/mean"),
        motion_cos=metrics.get("reward/motion_cos/mean"),
        semantic_cos=metrics.get("reward/semantic_cos/mean"),
        motion_len=metrics.get("reward/motion_len/mean"),
        score=float(np.mean(scores)) if scores else None,
        group_score_std=metrics.get("reward/group_score_std/mean"),
        zero_std_groups=metrics.get("reward/zero_std_groups"),
        response_length=float(np.mean(lengths)) if lengths else None,
        truncated=metrics.get("response/truncated"),
        reasons=dict(sorted(shares.items(), key=lambda item: -item[1])),
        metrics=metrics,
    )
    return _StepRead(stats, reasons, examples)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def parse_step_range(text: str) -> tuple[int | None, int | None]:
    """``"A-B"``, ``"A-"``, ``"-B"`` or ``"A"`` -> (first, last), None for an open end."""
    match = re.fullmatch(r"\s*(\d*)\s*(-?)\s*(\d*)\s*", text)
    if match is None or not (match[1] or match[3]) or (not match[2] and not match[1]):
        raise field_error("steps", f"{text!r}: expected A-B, A-, -B or A (step numbers)")
    first = int(match[1]) if match[1] else None
    last = (int(match[3]) if match[3] else None) if match[2] else first
    if first is not None and last is not None and first > last:
        raise field_error("steps", f"{text!r}: the first step is after the last")
    return first, last


def _in_range(step: int, steps: tuple[int | None, int | None] | None) -> bool:
    if steps is None:
        return True
    first, last = steps
    return (first is None or step >= first) and (last is None or step <= last)


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _compare(first: dict[str, float | None], last: dict[str, float | None]) -> dict[str, dict[str, float]]:
    return {
        key: {"first": first[key], "last": last[key], "change": last[key] - first[key]}
        for key in first
        if key in last and first[key] is not None and last[key] is not None
    }


def summarize(
    steps: list[StepStats],
    validation: list[dict[str, float]],
    reasons: Counter,
    examples: dict[str, dict[str, Any]],
    window: int = DEFAULT_WINDOW,
) -> dict[str, Any]:
    """First vs last validation point (or the mean of the first vs last ``window`` training steps, at most
    half the run each, when there are fewer than two validation points) and the reasons over all responses."""
    total = sum(reasons.values())
    summary: dict[str, Any] = {
        "steps": len(steps),
        "first_step": steps[0].step if steps else None,
        "last_step": steps[-1].step if steps else None,
        "responses": sum(s.responses for s in steps),
        "zero_std_groups": _mean(s.zero_std_groups for s in steps),
        "reasons": [{"reason": r, "count": n, "share": n / total} for r, n in reasons.most_common()],
        "examples": {r: examples[r] for r, _ in reasons.most_common() if r in examples},
    }
    if len(validation) >= 2:
        first, last = validation[0], validation[-1]
        fields = [k for k in first if k != "step"]
        summary["comparison"] = {
            "kind": "validation",
            "first_steps": [first["step"]],
            "last_steps": [last["step"]],
            "values": _compare({k: first.get(k) for k in fields}, {k: last.get(k) for k in fields}),
        }
    elif len(steps) >= 2:
        k = max(1, min(window, len(steps) // 2))
        head, tail = steps[:k], steps[-k:]
        summary["comparison"] = {
            "kind": "training",
            "first_steps": [s.step for s in head],
            "last_steps": [s.step for s in tail],
            "values": _compare(
                {f: _mean(getattr(s, f) for s in head) for f in COMPARED_FIELDS},
                {f: _mean(getattr(s, f) for s in tail) for f in COMPARED_FIELDS},
            ),
        }
    return summary


def diagnose_run(
    run_dir: str | Path,
    *,
    steps: tuple[int | None, int | None] | None = None,
    codebook_size: int | None = None,
    max_response_length: int | None = None,
    window: int = DEFAULT_WINDOW,
    progress: bool | None = None,
) -> RunDiagnosis:
    """Read a GRPO run folder (see the module docstring) and aggregate it per step.

    Args:
        run_dir: the run's OUT_DIR (or its ``rollouts`` folder).
        steps: (first, last) steps to read, None ends open; None reads all.
        codebook_size: motion codebook size for judging text (default: the model's ``motion_vocab.json``).
        max_response_length: truncation threshold (default: ``data.max_response_length`` of the config).
        window: training steps per end in the summary's comparison.
        progress: show a progress bar (default: only for large dumps on a terminal).
    """
    if codebook_size is not None and codebook_size <= 0:
        raise field_error("codebook_size", f"must be positive, got {codebook_size}")
    if window < 1:
        raise field_error("window", f"must be at least 1, got {window}")
    run_dir = resolve_run_dir(Path(run_dir))
    config = read_run_config(run_dir)
    notes: list[str] = []
    rollouts, rewards = dump_dirs(run_dir, config)
    verl_files, reward_files = step_files(rollouts), step_files(rewards)
    if not verl_files and not reward_files:
        raise UserError(
            f"{run_dir}: no rollout dumps (expected {run_dir / ROLLOUTS_DIR}/<step>.jsonl, written when the run sets "
            f"trainer.rollout_data_dir, or {run_dir / ROLLOUTS_DIR / REWARDS_DIR}/<step>.jsonl)"
        )
    available = sorted(set(verl_files) | set(reward_files))
    selected = [s for s in available if _in_range(s, steps)]
    if not selected:
        raise UserError(
            f"{run_dir}: no dumps in the steps asked for (the dumps hold steps {available[0]}-{available[-1]})"
        )
    if config.path is None:
        notes.append(f"no {run_dir / CONFIG_FILE}: truncation and the model's files unknown unless given")
    if not reward_files:
        notes.append(
            f"no {rollouts / REWARDS_DIR if rollouts else REWARDS_DIR}/ (older run): format verdicts and reasons "
            "judged from the text; the similarity columns need the reward dump"
        )
    max_len = max_response_length if max_response_length is not None else config.max_response_length
    judge = _TextJudge(config, codebook_size, notes)
    metrics = read_metrics(run_dir / METRICS_FILE, notes)

    files = [f for s in selected for f in (verl_files.get(s), reward_files.get(s)) if f is not None]
    show = progress if progress is not None else sum(f.stat().st_size for f in files) > PROGRESS_MIN_BYTES
    show = show and (progress is True or sys.stderr.isatty())
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=len(selected), desc="reading dumps", unit="step", file=sys.stderr)
    rows: list[StepStats] = []
    reasons: Counter = Counter()
    examples: dict[str, dict[str, Any]] = {}
    try:
        for step in selected:
            read = _read_step(step, verl_files.get(step), reward_files.get(step), judge, max_len, notes)
            trainer = metrics.get(step, {})
            for name, key in TRAINER_METRICS.items():
                setattr(read.stats, name, trainer.get(key))
            rows.append(read.stats)
            reasons.update(read.reasons)
            examples.update(read.examples)
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    validation = [p for p in validation_points(metrics) if _in_range(int(p["step"]), steps)]
    return RunDiagnosis(
        run_dir=run_dir,
        config=config,
        steps=rows,
        validation=validation,
        summary=summarize(rows, validation, reasons, examples, window),
        notes=notes,
        codebook_size=judge.known_codebook_size,
        max_response_length=max_len,
    )
