"""Training triplets (caption, CoT, motion codes) and the join that makes them.

Inputs: ``cot.jsonl`` rows ``{"id", "caption", "think", "plan", "status", ...}``
(one per clip and caption) and ``codes.jsonl`` rows ``{"id", "codes": [int, ...]}`` (one per clip).
A CoT row joins the codes row with the same ``id``. Rows that cannot be used are skipped and counted
by reason in :class:`JoinReport`, never dropped silently.

Before the CoT engine has run, :func:`oracle_cot_rows` renders the ground-truth ``plans.jsonl`` of a
synthetic dataset into the same row format (``source="oracle"``).
"""

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from motion_r1_verl.errors import UserError


@dataclass(frozen=True)
class Triplet:
    """One SFT/RL example: a caption of clip ``id``, its reasoning, and the clip's motion codes."""

    id: str
    caption: str
    think: str
    plan: str
    codes: tuple[int, ...]


@dataclass
class JoinReport:
    """How many CoT rows became triplets, and why the others did not."""

    n_joined: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        return f"{self.n_joined} triplets; skipped: {reasons}"


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of a JSON-lines file; a bad line raises ``UserError`` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} not found")
    rows = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise UserError(f"{path}:{number}: not UTF-8 text (byte {err.start} of the line)") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            except RecursionError:
                raise UserError(f"{path}:{number}: JSON nested too deeply") from None
            if not isinstance(row, dict) or "id" not in row:
                raise UserError(f"{path}:{number}: expected a JSON object with an 'id' field")
            rows.append(row)
    return rows


def join_triplets(
    cot_rows: Iterable[dict], codes_rows: Iterable[dict], codebook_size: int | None = None
) -> tuple[list[Triplet], JoinReport]:
    """Join CoT rows to codes rows on ``id``; keeps the CoT row order. With ``codebook_size``, a row whose
    codes are not all in ``0..codebook_size-1`` is skipped (and counted): no tokenizer has those tokens."""
    codes_by_id: dict[str, tuple[int, ...] | None] = {}
    for row in codes_rows:
        codes_by_id[str(row["id"])] = _plain_codes(row.get("codes"))
    report = JoinReport()
    triplets = []
    for row in cot_rows:
        clip_id = str(row["id"])
        if row.get("status", "ok") != "ok":
            report.skipped["CoT status not ok"] += 1
            continue
        if not row.get("caption") or not row.get("think"):
            report.skipped["missing caption or think"] += 1
            continue
        codes = codes_by_id.get(clip_id)
        if clip_id not in codes_by_id:
            report.skipped["no codes for the id"] += 1
            continue
        if codes is None:
            report.skipped["codes not a list of non-negative integers"] += 1
            continue
        if not codes:
            report.skipped["empty codes"] += 1
            continue
        if codebook_size is not None and max(codes) >= codebook_size:
            report.skipped[f"codes outside the codebook (0..{codebook_size - 1})"] += 1
            continue
        triplets.append(Triplet(clip_id, str(row["caption"]), str(row["think"]), str(row.get("plan") or ""), codes))
        report.n_joined += 1
    return triplets, report


def _plain_codes(codes: object) -> tuple[int, ...] | None:
    """``codes`` as a tuple of non-negative ints; None for anything else (floats, strings, negatives)."""
    if codes is None:
        return ()
    if not isinstance(codes, list) or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in codes):
        return None
    return tuple(codes)


def load_triplets(
    cot_jsonl: str | Path, codes_jsonl: str | Path, codebook_size: int | None = None
) -> tuple[list[Triplet], JoinReport]:
    """``join_triplets`` over two JSON-lines files."""
    return join_triplets(read_jsonl(cot_jsonl), read_jsonl(codes_jsonl), codebook_size)


def read_captions(data_dir: str | Path, clip_id: str) -> list[str]:
    """Captions of one clip from ``DIR/texts/<id>.txt`` (the text before the first ``#`` of each line)."""
    path = Path(data_dir) / "texts" / f"{clip_id}.txt"
    if not path.is_file():
        return []
    try:
        lines = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start})") from None
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def oracle_cot_rows(plans_jsonl: str | Path, data_dir: str | Path) -> list[dict]:
    """cot.jsonl-format rows rendered from ground-truth plans, one per (clip, caption)."""
    from motion_r1_verl.cot.oracle import render_steps

    rows = []
    for number, plan in enumerate(read_jsonl(plans_jsonl), start=1):
        steps = plan.get("steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) and "action" in s for s in steps):
            raise UserError(
                f"{plans_jsonl}: row {number} (id {plan['id']}): 'steps' must be a non-empty list of "
                "{action, ...} objects"
            )
        think, plan_text = render_steps(steps)
        for caption in read_captions(data_dir, str(plan["id"])):
            rows.append(
                {
                    "id": str(plan["id"]),
                    "caption": caption,
                    "think": think,
                    "plan": plan_text,
                    "steps": steps,
                    "source": "oracle",
                    "status": "ok",
                    "reason": None,
                }
            )
    return rows
