"""Text -> motion: sample responses, parse and decode their motion spans, retry the malformed ones.

    results = generate_motions("runs/grpo-merged", ["a person walks forward then waves"], n=4)
    for r in results:
        print(r.think, r.plan, r.valid, r.reason)        # r.features (T, 263), r.joints (T, 22, 3)

How: every (caption, sample k) pair is one job. Jobs are sampled in batches (one batched ``generate`` or
vLLM call per ``batch_size`` jobs), all responses of an attempt are decoded with ONE batched VQ decode
(:func:`motion_r1_verl.vq.hook.decode_texts`: tolerant parser -> codes -> features -> joints), and only
the jobs whose response held no well-formed motion span are sampled again, up to ``retries`` more times.
A job that never succeeds ends with ``valid=False`` and the reason of its last attempt: never an exception.
With greedy decoding (temperature 0) a retry would repeat the same text, so there are no retries.

The codec is the one recorded in the model folder's ``motion_vocab.json`` (written by
``motion-r1 llm extend-vocab --codec``, copied by ``recipes/motion_r1/merge.sh``) unless one is given.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.generate.sampler import BACKENDS, Sampler, SamplingSettings, load_sampler
from motion_r1_verl.motion.core.constants import FPS
from motion_r1_verl.protocol import REASONING_CHOICES, system_prompt_for
from motion_r1_verl.vq.hook import decode_texts, get_codec

logger = logging.getLogger(__name__)

MOTION_VOCAB_FILE = "motion_vocab.json"  # written by tokenizer_ext.extend (MotionVocab.save)
# Ids become file names; eval reads GEN_DIR/<id>.npy and <id>_<k>.npy.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
# Seeds of successive attempts/batches are spread apart so their streams never coincide.
_ATTEMPT_SEED_STRIDE = 1_000_003


@dataclass
class GenerateConfig:
    """How ``generate_motions`` samples.

    Fields:
        retries: extra attempts for a sample whose response has no well-formed motion span.
        temperature: sampling temperature (0 = greedy; then there are no retries, they would repeat).
        top_p: nucleus sampling mass (1.0 = off).
        max_new_tokens: token budget per response (reasoning + motion).
        seed: base seed; the same seed, model and captions give the same samples.
        batch_size: jobs (caption x sample) per generate call.
        backend: ``auto`` (vLLM with CUDA if installed, else transformers), ``hf`` or ``vllm``.
        device: torch device for the transformers model and the codec (default CUDA if available).
        reasoning: the response layout the model was fine-tuned on (``protocol.REASONING_CHOICES``);
            picks the system prompt of its training rows.
    """

    retries: int = 2
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 768
    seed: int = 0
    batch_size: int = 16
    backend: str = "auto"
    device: str | None = None
    reasoning: str = "think+output"

    def __post_init__(self) -> None:
        if self.reasoning not in REASONING_CHOICES:
            raise field_error("reasoning", f"must be one of {', '.join(REASONING_CHOICES)}, got {self.reasoning!r}")
        if self.retries < 0:
            raise field_error("retries", f"must be >= 0, got {self.retries}")
        if self.batch_size < 1:
            raise field_error("batch_size", f"must be >= 1, got {self.batch_size}")
        if self.backend not in BACKENDS:
            raise field_error("backend", f"must be one of {BACKENDS}, got {self.backend!r}")
        # Checks temperature / top_p / max_new_tokens.
        self.settings()

    def settings(self) -> SamplingSettings:
        return SamplingSettings(self.temperature, self.top_p, self.max_new_tokens, system_prompt_for(self.reasoning))


@dataclass
class Attempt:
    """One malformed response: the text and why it could not be decoded."""

    text: str
    reason: str


@dataclass
class GenerationResult:
    """One generated sample (the final attempt) of one caption."""

    id: str
    """Caption id (a test clip id for evaluation)."""
    caption: str
    k: int
    """Sample index 0..n-1 for this caption."""
    name: str
    """File stem: ``id`` when n == 1, else ``id_k`` (the evaluation's GEN_DIR naming)."""
    valid: bool
    reason: str
    """``"ok"`` (possibly with parser notes) or why the final attempt was unusable."""
    text: str
    """Raw response of the final attempt."""
    think: str | None
    plan: str | None
    format_notes: list[str]
    """Deviations of the reasoning blocks from the response format (informative; not a failure)."""
    codes: np.ndarray
    features: np.ndarray | None = None
    """(4N, 263) float32 raw features when valid."""
    joints: np.ndarray | None = None
    """(4N, 22, 3) float32 metres when valid."""
    failed_attempts: list[Attempt] = field(default_factory=list)
    """Malformed attempts before the final one (the final one is ``text`` / ``reason``)."""

    @property
    def attempts(self) -> int:
        return len(self.failed_attempts) + 1

    @property
    def n_frames(self) -> int:
        return 0 if self.features is None else int(self.features.shape[0])

    @property
    def seconds(self) -> float:
        return self.n_frames / FPS


def sample_name(clip_id: str, k: int, n: int) -> str:
    """``id`` for a single sample, ``id_k`` for repeated ones (``motion-r1 eval``'s GEN_DIR layout)."""
    return clip_id if n == 1 else f"{clip_id}_{k}"


def check_ids(ids: Sequence[str], n_captions: int) -> list[str]:
    ids = [str(i) for i in ids]
    if len(ids) != n_captions:
        raise UserError(f"{len(ids)} ids for {n_captions} captions")
    bad = [i for i in ids if not _ID_RE.fullmatch(i)]
    if bad:
        raise UserError(f"ids must be file-name safe ([A-Za-z0-9._@+-], not starting with . or -): {bad[:5]}")
    seen: set[str] = set()
    dupes = sorted({i for i in ids if i in seen or seen.add(i)})
    if dupes:
        raise UserError(f"ids must be unique, repeated: {dupes[:5]}")
    return ids


def resolve_codec(model_dir: str | os.PathLike, codec: str | os.PathLike | None = None) -> Path:
    """The VQ checkpoint: ``codec`` if given, else the one recorded in ``model_dir/motion_vocab.json``.

    A relative recorded path is tried against the current folder, then against the model folder.
    """
    if not Path(model_dir).is_dir():
        raise field_error("model_dir", f"{model_dir}: folder not found (expected a merged Hugging Face model folder)")
    if codec is not None:
        path = Path(codec)
        if not path.exists():
            raise field_error("codec", f"{path} not found (expected a VQ checkpoint folder from `motion-r1 vq train`)")
        return path
    vocab_file = Path(model_dir) / MOTION_VOCAB_FILE
    if not vocab_file.is_file():
        raise UserError(
            f"{vocab_file} not found, so the VQ codec is unknown: pass codec=CKPT "
            "(or merge the checkpoint with recipes/motion_r1/merge.sh, which copies motion_vocab.json)",
            mentions=("codec",),
        )
    try:
        recorded = json.loads(vocab_file.read_text()).get("codec_checkpoint")
    except (json.JSONDecodeError, AttributeError) as err:
        raise UserError(f"{vocab_file}: not a motion_vocab.json object ({err})") from err
    if not recorded:
        raise UserError(
            f"{vocab_file} records no codec checkpoint (the vocabulary was extended without one): pass codec=CKPT",
            mentions=("codec",),
        )
    for candidate in (Path(recorded), Path(model_dir) / recorded):
        if candidate.exists():
            return candidate
    raise UserError(f"codec {recorded!r} recorded in {vocab_file} not found: pass codec=CKPT", mentions=("codec",))


def _check_vocab_matches(model_dir: Path, codebook_size: int) -> None:
    vocab_file = model_dir / MOTION_VOCAB_FILE
    if not vocab_file.is_file():
        logger.warning("%s not found: cannot check the model's motion tokens against the codec", vocab_file)
        return
    expected = json.loads(vocab_file.read_text()).get("codebook_size")
    if expected is not None and int(expected) != codebook_size:
        raise UserError(
            f"the model's motion vocabulary has {expected} codes ({vocab_file}) but the codec has {codebook_size}: "
            "pass the codec the model was trained with",
            mentions=("codec",),
        )


def _result(clip_id, caption, k, n, text, decoded, failed) -> GenerationResult:
    reasoning = decoded.response
    valid, reason = decoded.valid, decoded.reason
    if valid and not (np.isfinite(decoded.features).all() and np.isfinite(decoded.joints).all()):
        valid, reason = False, "decoded motion contains NaN or inf"
    return GenerationResult(
        id=clip_id,
        caption=caption,
        k=k,
        name=sample_name(clip_id, k, n),
        valid=valid,
        reason=reason,
        text=text,
        think=reasoning.think,
        plan=reasoning.plan,
        format_notes=list(reasoning.notes),
        codes=decoded.codes,
        features=decoded.features if valid else None,
        joints=decoded.joints if valid else None,
        failed_attempts=failed,
    )


def generate_motions(
    model_dir: str | os.PathLike,
    captions: Sequence[str],
    n: int = 1,
    *,
    ids: Sequence[str] | None = None,
    codec: str | os.PathLike | None = None,
    config: GenerateConfig | None = None,
    sampler: Sampler | None = None,
    progress: bool = True,
) -> list[GenerationResult]:
    """``n`` motions per caption, ordered caption by caption, sample by sample (see module docstring).

    ``ids`` name the captions (default ``"0000"``, ``"0001"``, ...); ``codec`` overrides the checkpoint
    recorded in ``model_dir``; ``sampler`` replaces loading the model from ``model_dir`` (e.g. a model
    already in memory: ``HFSampler(model, tokenizer)``).
    """
    config = config or GenerateConfig()
    if n < 1:
        raise field_error("n", f"must be >= 1, got {n}")
    captions = [" ".join(str(c).split()) for c in captions]
    if any(not c for c in captions):
        raise UserError("empty caption")
    ids = check_ids(ids if ids is not None else [f"{i:04d}" for i in range(len(captions))], len(captions))
    model_dir = Path(model_dir)
    codec_path = resolve_codec(model_dir, codec)
    codebook_size = get_codec(codec_path, config.device).codebook_size
    _check_vocab_matches(model_dir, codebook_size)
    if sampler is None:
        sampler = load_sampler(model_dir, config.backend, config.device, config.seed)
    settings = config.settings()

    jobs = [(ci, k) for ci in range(len(captions)) for k in range(n)]
    failed: dict[tuple[int, int], list[Attempt]] = {job: [] for job in jobs}
    results: dict[tuple[int, int], GenerationResult] = {}
    pending = jobs
    max_attempts = 1 if settings.greedy else config.retries + 1
    for attempt in range(max_attempts):
        texts: list[str] = []
        starts = range(0, len(pending), config.batch_size)
        desc = "generate" if attempt == 0 else f"retry {attempt}/{config.retries}"
        for b, start in enumerate(tqdm(starts, desc=desc, unit="batch", disable=not progress)):
            batch = pending[start : start + config.batch_size]
            seed = config.seed + _ATTEMPT_SEED_STRIDE * attempt + b
            texts.extend(sampler.sample([captions[ci] for ci, _ in batch], settings, seed))
        decoded = decode_texts(texts, codec_path, config.device)
        still: list[tuple[int, int]] = []
        for job, text, dec in zip(pending, texts, decoded, strict=True):
            ci, k = job
            result = _result(ids[ci], captions[ci], k, n, text, dec, failed[job])
            if result.valid or attempt == max_attempts - 1:
                results[job] = result
            else:
                logger.info("%s sample %d attempt %d malformed: %s", ids[ci], k, attempt + 1, result.reason)
                failed[job].append(Attempt(text, result.reason))
                still.append(job)
        pending = still
        if not pending:
            break
    return [results[job] for job in jobs]


def failed_captions(results: Sequence[GenerationResult]) -> list[tuple[str, str]]:
    """(id, caption) of every caption none of whose samples is valid, in order."""
    any_valid: dict[str, bool] = {}
    caption_of: dict[str, str] = {}
    for r in results:
        any_valid[r.id] = any_valid.get(r.id, False) or r.valid
        caption_of[r.id] = r.caption
    return [(i, caption_of[i]) for i, ok in any_valid.items() if not ok]
