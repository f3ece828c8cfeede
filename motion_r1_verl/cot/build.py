"""``cot build``: every (clip, caption) of a HumanML3D-format folder -> one row of ``cot.jsonl``.

Three sources of chains (``mode``):

- ``oracle``: the synthetic dataset's ground-truth plans (``plans.jsonl``) rendered to text;
- ``rules``: the rule-based decomposer (``rules.py``), for any captions, no LLM;
- ``llm``: an OpenAI-compatible endpoint with self-verification (``llm.py``), cached in SQLite.

Rows are ``{"id", "caption", "think", "plan", "steps", "source", "status", "reason"}``; a caption
that cannot be decomposed is a ``status: "failed"`` row with the reason, never dropped and never
filled with made-up text.

Resuming: each finished row is appended (and flushed) to ``<out>.partial`` as it completes; the final
``<out>`` is written at the end in input order, atomically and fsynced (:mod:`motion_r1_verl.runtime.files`), and
the journal is removed. A rerun reads the previous ``<out>`` and any journal (a torn last line from a kill
is dropped), keeps the rows it already has, and computes only the rest, so every (id, caption)
appears exactly once. ``<out>.meta.json`` records the mode, prompt version and model; rows made with
a different one are recomputed, not reused. Failed rows are kept too, except failures of the HTTP request itself (the
endpoint was down: nothing about the caption was wrong), which a rerun retries; ``retry_failed``
retries all of them. LLM outcomes are also cached by (prompt version, model, caption), so duplicate
captions cost one call and a rebuild after deleting ``<out>`` costs none.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from motion_r1_verl.cot.cache import CotCache
from motion_r1_verl.cot.client import ChatClient, Usage
from motion_r1_verl.cot.llm import LLMConfig, Outcome, decompose
from motion_r1_verl.cot.oracle import render_steps
from motion_r1_verl.cot.prompts import Prompt
from motion_r1_verl.cot.rules import decompose_caption
from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.motion.core.constants import FPS
from motion_r1_verl.motion.core.humanml3d import crop_id, read_caption_file, read_split_ids
from motion_r1_verl.runtime.files import write_jsonl_atomic, write_text_atomic
from motion_r1_verl.runtime.journal import Journal, read_journal

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("oracle", "rules", "llm")
TRANSIENT_PREFIX = "request failed"  # reasons starting with this are retried by a rerun


@dataclass
class BuildConfig:
    """One ``cot build`` run.

    data_dir: HumanML3D-format folder (``texts/`` required; ``plans.jsonl`` for oracle mode).
    out_path: the ``cot.jsonl`` to write (``<out>.partial`` is its journal while running).
    mode: "oracle", "rules" or "llm".
    split: only ids listed in ``<data_dir>/<split>.txt`` (comma-separated for several, e.g. ``train,val``);
        None = every ``texts/*.txt``.
    plans_path: plans file for oracle mode; None = ``<data_dir>/plans.jsonl``.
    limit: stop after this many (id, caption) items (for trying a prompt on a few captions).
    concurrency: simultaneous LLM requests (llm mode).
    cache_path: SQLite cache (llm mode); None = ``<out>.cache.sqlite``.
    retry_failed: recompute rows that failed in a previous run (llm outcomes bypass the cache too).
    progress: show a tqdm bar.
    """

    data_dir: Path
    out_path: Path
    mode: str = "oracle"
    split: str | None = None
    plans_path: Path | None = None
    limit: int | None = None
    concurrency: int = 4
    cache_path: Path | None = None
    retry_failed: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.data_dir, self.out_path = Path(self.data_dir), Path(self.out_path)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 or None, got {self.limit}")
        if self.plans_path is None:
            self.plans_path = self.data_dir / "plans.jsonl"
        if self.cache_path is None:
            self.cache_path = self.out_path.with_name(self.out_path.name + ".cache.sqlite")


@dataclass
class LLMSetup:
    """Everything llm mode needs: decomposer and verifier clients (may be the same), prompts, policy."""

    client: ChatClient
    prompt: Prompt
    verifier: ChatClient | None
    verify_prompt: Prompt | None
    config: LLMConfig = field(default_factory=LLMConfig)

    @property
    def cache_version(self) -> str:
        verify = f"+{self.verify_prompt.version}@min{self.config.min_score}" if self.config.verify else "+noverify"
        return f"{self.prompt.version}{verify}"

    @property
    def cache_model(self) -> str:
        models = [self.client.config.model]
        if self.config.verify and self.verifier is not None:
            models.append(self.verifier.config.model)
        return "|".join(models)


@dataclass(frozen=True)
class Item:
    id: str
    caption: str
    start: float = 0.0  # crop window in seconds (0, 0 = whole clip), for oracle plans
    end: float = 0.0

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.caption)


@dataclass
class BuildReport:
    """What a build did. ``reused``: rows taken from a previous run; ``skipped_lines``: bad caption lines."""

    out_path: Path
    n_items: int = 0
    n_ok: int = 0
    n_failed: int = 0
    reused: int = 0
    cache_hits: int = 0
    skipped_lines: dict[str, str] = field(default_factory=dict)
    failures: Counter = field(default_factory=Counter)
    usage: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        rate = self.n_ok / self.n_items if self.n_items else 0.0
        text = (
            f"{self.out_path}: {self.n_items} rows, {self.n_ok} ok ({rate:.1%}), {self.n_failed} failed, "
            f"{self.reused} reused from a previous run, {self.cache_hits} from the cache"
        )
        if self.skipped_lines:
            text += (
                f"; {len(self.skipped_lines)} caption lines skipped (first: {next(iter(self.skipped_lines.items()))})"
            )
        if self.failures:
            text += "; failure reasons: " + ", ".join(f"{r} x{n}" for r, n in self.failures.most_common(3))
        if self.usage:
            text += "; llm " + ", ".join(f"{k}={v}" for k, v in self.usage.items())
        return text


def collect_items(data_dir: Path, split: str | None, skipped: dict[str, str]) -> list[Item]:
    """(id, caption) items in file order; duplicates within a clip kept once, bad lines into ``skipped``."""
    texts = data_dir / "texts"
    if not texts.is_dir():
        raise UserError(f"{data_dir} has no texts/ folder (expected a HumanML3D-format folder)")
    if split:
        # "train,val": the ids of each split file in turn (a clip listed twice is read once).
        names = [name.strip() for name in split.split(",") if name.strip()]
        ids = list(dict.fromkeys(clip_id for name in names for clip_id in read_split_ids(data_dir, name)))
    else:
        ids = sorted(p.stem for p in texts.glob("*.txt"))
    items: list[Item] = []
    seen: set[tuple[str, str]] = set()
    for clip_id in ids:
        try:
            captions, bad = read_caption_file(texts / f"{clip_id}.txt")
        except ValueError as err:
            skipped[clip_id] = str(err)
            continue
        for line_number, reason in bad:
            skipped[f"{clip_id}:line{line_number}"] = reason
        for caption in captions:
            text = caption.text.strip()
            item_id = clip_id if caption.is_whole else crop_id(clip_id, caption.start, caption.end)
            if text and (item_id, text) not in seen:
                seen.add((item_id, text))
                items.append(Item(item_id, text, caption.start, caption.end))
    return items


def read_plans(path: Path) -> dict[str, list[dict[str, Any]]]:
    """id -> steps from a ``plans.jsonl``."""
    if not path.is_file():
        raise UserError(
            f"oracle mode needs {path} (the synthetic dataset's plans.jsonl); use mode=rules or llm", mentions=("mode",)
        )
    plans: dict[str, list[dict[str, Any]]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                plans[str(record["id"])] = list(record["steps"])
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise UserError(f"{path}:{number}: expected {{'id': ..., 'steps': [...]}} ({err})") from None
    return plans


def _crop_steps(steps: list[dict[str, Any]], start_s: float, end_s: float) -> list[dict[str, Any]]:
    """Steps overlapping a crop window, with frames made relative to the crop's first frame."""
    lo, hi = round(start_s * FPS), round(end_s * FPS)
    cropped = []
    for step in steps:
        s, e = step.get("start"), step.get("end")
        if s is None or e is None or (e > lo and s < hi):
            new = dict(step)
            if s is not None and e is not None:
                new["start"], new["end"] = max(s, lo) - lo, min(e, hi) - lo
            cropped.append(new)
    return cropped


def make_row(item: Item, source: str, steps: list[dict[str, Any]] | None, reason: str | None) -> dict[str, Any]:
    """A cot.jsonl row; rendering problems turn the row into a failed one with the reason."""
    if steps:
        try:
            think, plan = render_steps(steps)
        except ValueError as err:
            reason, steps = f"bad steps: {err}", None
        else:
            return {
                "id": item.id, "caption": item.caption, "think": think, "plan": plan, "steps": steps,
                "source": source, "status": "ok", "reason": None,
            }  # fmt: skip
    return {
        "id": item.id, "caption": item.caption, "think": None, "plan": None, "steps": [],
        "source": source, "status": "failed", "reason": reason or "no steps",
    }  # fmt: skip


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a cot.jsonl or its journal (the one torn-line policy of runtime.journal)."""
    return read_journal(path, valid=lambda row: "id" in row and "caption" in row)


def _read_meta(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def _keep(row: dict[str, Any], retry_failed: bool) -> bool:
    if row.get("status") == "ok":
        return True
    return not retry_failed and not str(row.get("reason") or "").startswith(TRANSIENT_PREFIX)


def build(config: BuildConfig, llm: LLMSetup | None = None) -> BuildReport:
    """Run one build (see module docstring); returns what it did."""
    if config.mode == "llm" and llm is None:
        raise ValueError("llm mode needs an LLMSetup (endpoint, model, prompts)")
    if config.out_path.is_dir():  # found now, not after hours of paid requests
        raise field_error("out_path", f"{config.out_path} is a folder; expected the cot.jsonl file to write")
    report = BuildReport(config.out_path)
    items = collect_items(config.data_dir, config.split, report.skipped_lines)
    if config.limit is not None:
        items = items[: config.limit]
    if not items:
        raise UserError(f"{config.data_dir}: no captions found under texts/ (split={config.split})")
    report.n_items = len(items)
    plans = read_plans(config.plans_path) if config.mode == "oracle" else {}

    journal_path = config.out_path.with_name(config.out_path.name + ".partial")
    meta_path = config.out_path.with_name(config.out_path.name + ".meta.json")
    signature = {"mode": config.mode}
    if llm is not None:
        signature |= {"prompt_version": llm.cache_version, "model": llm.cache_model}
    wanted = {item.key for item in items}
    done: dict[tuple[str, str], dict[str, Any]] = {}
    previous = _read_meta(meta_path)
    if previous is not None and {k: previous.get(k) for k in signature} != signature:
        log.warning("%s was built with %s, now %s: recomputing every row", config.out_path, previous, signature)
    else:
        for row in [*_read_rows(config.out_path), *_read_rows(journal_path)]:
            key = (row["id"], row["caption"])
            if key in wanted and row.get("source") == config.mode and _keep(row, config.retry_failed):
                done[key] = row
    # Written before any row: a resumed run can tell whose rows the journal holds.
    write_text_atomic(meta_path, json.dumps(signature | {"complete": False}, indent=1), durable=True)
    report.reused = len(done)
    todo = [item for item in items if item.key not in done]

    journal = Journal(journal_path, list(done.values()), durable=True)  # rows are paid LLM calls
    bar = tqdm(total=len(items), initial=len(done), desc=f"cot {config.mode}", disable=not config.progress)

    def finish(item: Item, row: dict[str, Any]) -> None:
        done[item.key] = row
        journal.append(row)
        bar.update(1)

    try:
        if config.mode == "llm":
            assert llm is not None
            _run_llm(todo, llm, config, report, finish, bar)
        else:
            for item in todo:
                if config.mode == "oracle":
                    steps, reason = _oracle_steps(item, plans)
                else:
                    steps = decompose_caption(item.caption)
                    reason = None if steps else "rules: no verb phrase recognised"
                finish(item, make_row(item, config.mode, steps, reason))
    finally:
        bar.close()
        journal.close()

    rows = [done[item.key] for item in items]
    write_jsonl_atomic(config.out_path, rows, durable=True)  # hours of paid LLM calls: survive a power loss
    journal_path.unlink(missing_ok=True)
    report.n_ok = sum(row["status"] == "ok" for row in rows)
    report.n_failed = len(rows) - report.n_ok
    report.failures = Counter(str(row["reason"]).split(":")[0] for row in rows if row["status"] != "ok")
    meta = signature | {"complete": True, "rows": len(rows), "ok": report.n_ok, "failed": report.n_failed}
    if llm is not None:
        report.usage = llm.client.usage.as_dict()
        meta["usage_this_run"] = report.usage
    # Provenance beside the data: which prompt/model produced it (rows: datasets.triplets' cot.jsonl).
    write_text_atomic(meta_path, json.dumps(meta, indent=1), durable=True)
    return report


def _oracle_steps(item: Item, plans: dict[str, list[dict[str, Any]]]) -> tuple[list[dict] | None, str | None]:
    base_id = item.id.split("@", 1)[0]
    if base_id not in plans:
        return None, f"oracle: no plan for id {base_id} in plans.jsonl"
    steps = plans[base_id]
    if item.id != base_id:
        steps = _crop_steps(steps, item.start, item.end)
    return (steps, None) if steps else (None, "oracle: no plan step inside the crop window")


def _run_llm(
    todo: list[Item],
    llm: LLMSetup,
    config: BuildConfig,
    report: BuildReport,
    finish: Callable[[Item, dict[str, Any]], None],
    bar: tqdm,
) -> None:
    """Decompose each distinct caption once (cache first, then a bounded thread pool)."""
    by_caption: dict[str, list[Item]] = {}
    for item in todo:
        by_caption.setdefault(item.caption, []).append(item)
    usage: Usage = llm.client.usage
    passed = [0, 0]  # [ok, finished] over captions, for the progress bar

    def record(caption: str, payload: dict[str, Any]) -> None:
        passed[0] += bool(payload["ok"])
        passed[1] += 1
        for item in by_caption[caption]:
            finish(item, make_row(item, "llm", payload["steps"], payload["reason"]))
        bar.set_postfix(
            pass_rate=f"{passed[0] / passed[1]:.0%}", retries=usage.retries, tokens=usage.total_tokens, refresh=False
        )

    with CotCache(config.cache_path) as cache:
        pending = []
        for caption in by_caption:
            cached = cache.get(llm.cache_version, llm.cache_model, caption)
            if cached is not None and (cached["ok"] or not config.retry_failed):
                report.cache_hits += 1
                record(caption, cached)
            else:
                pending.append(caption)

        def work(caption: str) -> Outcome:
            return decompose(caption, llm.client, llm.prompt, llm.verifier, llm.verify_prompt, llm.config)

        pool = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="cot-llm")
        try:
            futures: dict[Future[Outcome], str] = {pool.submit(work, c): c for c in pending}
            for future in as_completed(futures):
                caption, outcome = futures[future], future.result()
                payload = {
                    "ok": outcome.ok, "steps": outcome.steps, "reason": outcome.reason, "attempts": outcome.attempts,
                    "verdict": outcome.verdict, "reasoning": outcome.reasoning, "history": outcome.history,
                }  # fmt: skip
                if not outcome.transient:
                    cache.put(llm.cache_version, llm.cache_model, caption, payload)
                record(caption, payload)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
