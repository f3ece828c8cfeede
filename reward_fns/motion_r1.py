"""The Motion-R1 reward for verl: format + motion similarity + semantic similarity.

Use it from any verl trainer config (``verl.trainer.main_ppo``)::

    reward.custom_reward_function.path=pkg://reward_fns.motion_r1
    reward.custom_reward_function.name=compute_score_async        # or compute_score (sync)
    +reward.custom_reward_function.reward_kwargs.vq_ckpt=runs/vq
    +reward.custom_reward_function.reward_kwargs.retrieval_ckpt=runs/retrieval
    +reward.custom_reward_function.reward_kwargs.w_semantic=0.5   # any RewardConfig field

Per response (``solution_str``) it returns a dict that verl logs key by key::

    {"score": w_f*format + w_m*motion + w_s*semantic,
     "format": 1.0|0.0,       # exactly <think>..</think><output>..</output><Motion>..</Motion>, allowed length
     "motion": [0, 1],        # (1 + cos)/2 of motion-encoder embeddings: generated vs ground-truth motion
                              # (the real clip from data_dir; motion_target=decoded: the decoded codes)
     "semantic": [0, 1],      # (1 + cos)/2: generated motion embedding vs the caption's text embedding
                              # (both 0 when the format fails: format_gate, the default; both measured
                              # whenever the checkpoints are given, also at weight 0, so a format-only
                              # run still shows what its motions are worth)
     "parse_ok": bool,        # a well-formed motion span was found (motion/semantic need only this)
     "motion_len": int,       # number of motion codes in the span (one code = the codec's frames_per_code)
     "reason": str}           # "ok" or the first problem, one of REASONS (counted: reason_counts())

Inputs (rows of the RL parquet, ``motion_r1_verl.datasets.rl``): ``ground_truth`` is
``{"id": motion id, "codes": [int, ...]}`` (a dict, or the same as a JSON string); ``extra_info["caption"]``
is the caption. ``data_source`` is not used.

Never raises for bad input: a non-string response, any length, out-of-range ids, a malformed ground
truth -> score 0 (all components 0) with a reason, counted per process. Configuration mistakes (an
unknown reward kwarg, a missing checkpoint) DO raise: they must stop the run, not train on zeros.

Every component is its own function (:func:`format_reward`, :func:`motion_reward`,
:func:`semantic_reward`, :func:`combine`) so a custom reward can mix them differently.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.humanml3d import is_plain_id
from motion_r1_verl.protocol import DEFAULT_FRAMES_PER_CODE, FORMAT_REASONS, code_limits
from reward_fns.format import ParsedResponse, check_format, format_reward
from reward_fns.scorer import (
    DEFAULT_MAX_BATCH,
    DEFAULT_RAY_ACTOR_NAME,
    DEFAULT_WAIT_MS,
    ScoreRequest,
    get_local_scorer,
    get_ray_scorer,
)

logger = logging.getLogger(__name__)

__all__ = [
    "REASONS",
    "RewardConfig",
    "combine",
    "compute_score",
    "compute_score_async",
    "format_reward",
    "motion_reward",
    "parse_ground_truth",
    "reason_counts",
    "semantic_reward",
]

SCORERS = ("local", "ray")
MOTION_TARGETS = ("real", "decoded")
# Keys verl itself adds to reward kwargs when a reward model is configured; they are not ours.
_VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
# Reason counts are logged every this many responses (per process).
LOG_COUNTS_EVERY = 1000
# Every reason compute_score can return.
REASONS = (*FORMAT_REASONS, "bad ground truth", "no caption")


@dataclass(frozen=True)
class RewardConfig:
    """Everything ``reward_kwargs`` can set.

    Fields:
        vq_ckpt: VQ-VAE checkpoint folder (``motion-r1 vq train --out``); decodes codes to motion.
        retrieval_ckpt: text-motion model folder (``motion-r1 retrieval train --out``); embeds motion/text.
        motion_target: what the motion similarity compares the generated motion with: ``real`` (default,
            the paper's definition) = the ground-truth clip ``ground_truth["id"]`` read from ``data_dir``
            (the protocol's length rule: at most 196 frames); ``decoded`` = the ground-truth codes decoded
            by the VQ-VAE (what any policy can reach through this tokenizer: a perfect answer scores 1).
        data_dir: the HumanML3D-format folder the RL parquet was built from (``motion_target=real``).
        device: ``cpu``/``cuda``/``cuda:1``; empty = the CPU inside a Ray worker that Ray gave no GPU (verl's
            reward workers: they may see every GPU of the node but own none), else CUDA when visible.
        w_format, w_motion, w_semantic: weights of the components in ``score`` (>= 0). A weight only
            decides what is paid: with both checkpoints given, ``motion`` and ``semantic`` are measured and
            reported at weight 0 too (a format-only arm of an ablation stays comparable).
        with_output: require the ``<output>plan</output>`` block (Motion-R1 as trained here); False is the
            paper's ``<think>..</think><Motion>..</Motion>`` variant.
        format_gate: pay the similarities only when the format holds (default). Without the gate a
            malformed response still earns similarity for any motion span in it, and once the format is
            learnt the group-normalised advantage is the same either way.
        min_codes, max_codes: allowed motion span length in codes; 0 (default) = the dataset's clip lengths,
            40..196 frames, in codes of the loaded codec (10..49 at T2M-GPT's 4 frames per code; without a
            codec, a format-only reward, 4 frames per code).
        scorer: ``local`` (models in this process; CPU runs and tests) or ``ray`` (one named actor per job).
        max_batch, wait_ms: dynamic batching of the scorer.
        ray_actor_name, ray_num_gpus, ray_num_cpus: the named Ray scorer actor and its resources.
        sentinel: a file path; the first call in each process appends a line to it (proves the reward ran,
            and names the scorer's class).
    """

    vq_ckpt: str = ""
    retrieval_ckpt: str = ""
    motion_target: str = "real"
    data_dir: str = ""
    device: str = ""
    w_format: float = 1.0
    w_motion: float = 1.0
    w_semantic: float = 1.0
    with_output: bool = True
    format_gate: bool = True
    min_codes: int = 0
    max_codes: int = 0
    scorer: str = "local"
    max_batch: int = DEFAULT_MAX_BATCH
    wait_ms: float = DEFAULT_WAIT_MS
    ray_actor_name: str = DEFAULT_RAY_ACTOR_NAME
    ray_num_gpus: float = 0.0
    ray_num_cpus: float = 1.0
    sentinel: str = ""

    def __post_init__(self) -> None:
        for name in ("w_format", "w_motion", "w_semantic"):
            if float(getattr(self, name)) < 0:
                raise UserError(f"reward_kwargs.{name} must be >= 0, got {getattr(self, name)}")
        if (
            self.min_codes < 0
            or self.max_codes < 0
            or (self.min_codes and self.max_codes and self.min_codes > self.max_codes)
        ):
            raise UserError(
                "reward_kwargs.min_codes/max_codes must satisfy 1 <= min <= max (0 = from the codec), "
                f"got {self.min_codes}/{self.max_codes}"
            )
        if self.scorer not in SCORERS:
            raise UserError(f"reward_kwargs.scorer must be one of {SCORERS}, got {self.scorer!r}")
        if (self.w_motion or self.w_semantic) and not (self.vq_ckpt and self.retrieval_ckpt):
            raise UserError(
                "reward_kwargs.vq_ckpt and reward_kwargs.retrieval_ckpt are required for the motion/semantic rewards "
                "(set both checkpoint folders, or w_motion=0 and w_semantic=0 for a format-only reward)"
            )
        if self.motion_target not in MOTION_TARGETS:
            raise UserError(f"reward_kwargs.motion_target must be one of {MOTION_TARGETS}, got {self.motion_target!r}")
        if self.uses_models and self.motion_target == "real" and not self.data_dir:
            raise UserError(
                "reward_kwargs.data_dir is required with motion_target=real (the default): the HumanML3D-format "
                "folder of the ground-truth motions; or set motion_target=decoded to compare with the decoded "
                "ground-truth codes"
            )
        if self.data_dir and not os.path.isdir(self.data_dir):
            raise UserError(f"reward_kwargs.data_dir {self.data_dir} is not a folder")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> RewardConfig:
        """Build from verl's ``reward_kwargs``; an unknown key is a ``UserError`` naming the known ones."""
        known = {f.name: f for f in fields(cls)}
        ours = {k: v for k, v in kwargs.items() if k not in _VERL_KWARGS}
        unknown = sorted(set(ours) - set(known))
        if unknown:
            raise UserError(f"unknown reward_kwargs {unknown}; known: {sorted(known)}")
        typed: dict[str, Any] = {}
        for key, value in ours.items():
            kind = known[key].type
            if value is None:
                continue
            if kind == "bool" and isinstance(value, str):
                typed[key] = value.strip().lower() in ("1", "true", "yes")
            elif kind in ("int", "float", "bool"):
                typed[key] = {"int": int, "float": float, "bool": bool}[kind](value)
            else:
                typed[key] = str(value)
        return cls(**typed)

    def code_limits(self, frames_per_code: int) -> tuple[int, int]:
        """(min_codes, max_codes) with 0 replaced by the clip-length limits at ``frames_per_code``."""
        low, high = code_limits(frames_per_code)
        return self.min_codes or low, self.max_codes or high

    @property
    def uses_models(self) -> bool:
        """Load the codec and the encoders: to pay a similarity, or to report it when the checkpoints are given."""
        return bool(self.w_motion or self.w_semantic or (self.vq_ckpt and self.retrieval_ckpt))


_CONFIGS: dict[tuple, RewardConfig] = {}
_COUNTS: Counter = Counter()
_LOCK = threading.Lock()
_SENTINELS: set[str] = set()


def reason_counts() -> dict[str, int]:
    """How often each reason was returned in this process (``"ok"`` included)."""
    with _LOCK:
        return dict(_COUNTS)


def _count(reason: str) -> None:
    with _LOCK:
        _COUNTS[reason] += 1
        total = sum(_COUNTS.values())
        if total % LOG_COUNTS_EVERY == 0:
            # verl runs the reward in its own worker processes: the log is where these counts surface.
            logger.info("motion_r1 reward: %d responses scored; reasons %s", total, dict(_COUNTS.most_common()))


def _config(kwargs: Mapping[str, Any]) -> RewardConfig:
    key = tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
    cfg = _CONFIGS.get(key)
    if cfg is None:
        cfg = RewardConfig.from_kwargs(kwargs)
        _CONFIGS[key] = cfg
    return cfg


def _touch_sentinel(path: str, scorer: object) -> None:
    if path and path not in _SENTINELS:
        _SENTINELS.add(path)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"motion_r1 reward ran in pid {os.getpid()} with {type(scorer).__name__}\n")


@dataclass(frozen=True)
class GroundTruth:
    id: str
    codes: tuple[int, ...]


def parse_ground_truth(ground_truth: object, codebook_size: int) -> GroundTruth | str:
    """``{"id", "codes"}`` (dict or JSON string) -> GroundTruth, or a description of what is wrong."""
    if isinstance(ground_truth, str):
        try:
            ground_truth = json.loads(ground_truth)
        except json.JSONDecodeError as err:
            return f"ground truth is not JSON ({err.msg})"
        except RecursionError:
            return "ground truth is JSON nested too deeply"
    if not isinstance(ground_truth, Mapping):
        return f"ground truth must be a mapping with id and codes, got {type(ground_truth).__name__}"
    gt_id, codes = ground_truth.get("id"), ground_truth.get("codes")
    if gt_id is None or codes is None:
        return "ground truth needs both 'id' and 'codes'"
    try:
        arr = np.asarray(codes)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            return f"ground-truth codes must be a non-empty list of ints, got {arr.dtype} shape {arr.shape}"
    except (TypeError, ValueError) as err:
        return f"ground-truth codes are not an int list ({err})"
    if arr.min() < 0 or arr.max() >= codebook_size:
        return f"ground-truth codes outside 0..{codebook_size - 1}"
    return GroundTruth(str(gt_id), tuple(int(c) for c in arr))


def _caption(extra_info: object) -> str | None:
    if isinstance(extra_info, Mapping):
        caption = extra_info.get("caption")
        if isinstance(caption, str) and caption.strip():
            # A lone surrogate (text decoded with errors="surrogateescape") makes the text encoder's tokenizer
            # raise, and the batching scorer would fail every request of that batch with it.
            return caption.encode("utf-8", "replace").decode("utf-8")
    return None


def _scorer(cfg: RewardConfig):
    device = cfg.device or None
    if cfg.scorer == "ray":
        return get_ray_scorer(
            cfg.vq_ckpt,
            cfg.retrieval_ckpt,
            device,
            cfg.max_batch,
            cfg.wait_ms,
            cfg.ray_actor_name,
            cfg.ray_num_gpus,
            cfg.ray_num_cpus,
        )
    return get_local_scorer(cfg.vq_ckpt, cfg.retrieval_ckpt, device, cfg.max_batch, cfg.wait_ms)


def combine(format_score: float, motion: float, semantic: float, cfg: RewardConfig) -> float:
    """The scalar reward: ``w_format * format + w_motion * motion + w_semantic * semantic``."""
    return float(cfg.w_format * format_score + cfg.w_motion * motion + cfg.w_semantic * semantic)


def motion_reward(codes, ground_truth: GroundTruth, scorer, data_dir: str | None = None) -> float:
    """(1 + cos)/2 between the motion embeddings of ``codes`` and of the ground truth: its real clip in
    ``data_dir``, or its decoded codes when ``data_dir`` is None."""
    request = ScoreRequest(tuple(int(c) for c in codes), ground_truth.id, ground_truth.codes, gt_data=data_dir)
    result = scorer.score(request)
    return float(result.motion)


def semantic_reward(codes, caption: str, scorer) -> float:
    """(1 + cos)/2 between the motion embedding of ``codes`` and the text embedding of ``caption``."""
    return float(scorer.score(ScoreRequest(tuple(int(c) for c in codes), caption=caption)).semantic)


def _result(score: float, fmt: float, motion: float, semantic: float, parsed: ParsedResponse | None, reason: str):
    _count(reason)
    return {
        "score": float(score),
        "format": float(fmt),
        "motion": float(motion),
        "semantic": float(semantic),
        "parse_ok": bool(parsed.parse_ok) if parsed is not None else False,
        "motion_len": int(parsed.codes.size) if parsed is not None else 0,
        "reason": reason,
    }


def _prepare(solution_str, ground_truth, extra_info, reward_kwargs):
    """Format check and the scorer request; returns (finished result | None, cfg, parsed, request, reason)."""
    cfg = _config(reward_kwargs)
    scorer = _scorer(cfg) if cfg.uses_models else None
    _touch_sentinel(cfg.sentinel, scorer)
    codebook_size = scorer.codebook_size if scorer is not None else 1 << 30
    if not isinstance(solution_str, str):
        return _result(0, 0, 0, 0, None, "not a string"), cfg, None, None, None, None
    gt = parse_ground_truth(ground_truth, codebook_size) if scorer is not None else None
    if isinstance(gt, GroundTruth) and cfg.motion_target == "real" and not is_plain_id(gt.id.partition("@")[0]):
        gt = f"ground-truth id {gt.id!r} is not a clip name"
    if isinstance(gt, str):
        logger.debug("bad ground truth %r: %s", ground_truth, gt)
        return _result(0, 0, 0, 0, None, "bad ground truth"), cfg, None, None, None, None
    min_codes, max_codes = cfg.code_limits(scorer.frames_per_code if scorer is not None else DEFAULT_FRAMES_PER_CODE)
    parsed = check_format(
        solution_str, codebook_size, with_output=cfg.with_output, min_codes=min_codes, max_codes=max_codes
    )
    caption = _caption(extra_info)
    reason = parsed.reason
    if reason == "ok" and caption is None and cfg.w_semantic:
        reason = "no caption"
    if scorer is None or not parsed.parse_ok:
        fmt = 1.0 if parsed.format_ok else 0.0
        return _result(combine(fmt, 0, 0, cfg), fmt, 0, 0, parsed, reason), cfg, parsed, None, None, None
    # The encoder sees at most scorer.max_codes codes; longer spans already fail the format check.
    codes = tuple(int(c) for c in parsed.codes[: scorer.max_codes])
    gt_data = os.path.abspath(cfg.data_dir) if cfg.motion_target == "real" else None
    request = ScoreRequest(codes, gt.id, gt.codes[: scorer.max_codes], caption, gt_data)
    return None, cfg, parsed, request, scorer, reason


def _finish(cfg: RewardConfig, parsed: ParsedResponse, result, reason: str) -> dict:
    fmt = 1.0 if parsed.format_ok else 0.0
    paid = fmt if cfg.format_gate else 1.0
    motion = paid * float(result.motion) if result.motion is not None else 0.0
    semantic = paid * float(result.semantic) if result.semantic is not None else 0.0
    return _result(combine(fmt, motion, semantic, cfg), fmt, motion, semantic, parsed, reason)


def compute_score(data_source=None, solution_str=None, ground_truth=None, extra_info=None, **reward_kwargs) -> dict:
    """verl reward entry point (sync): see the module docstring for inputs and the returned dict."""
    done, cfg, parsed, request, scorer, reason = _prepare(solution_str, ground_truth, extra_info, reward_kwargs)
    if done is not None:
        return done
    return _finish(cfg, parsed, scorer.score(request), reason)


async def compute_score_async(
    data_source=None, solution_str=None, ground_truth=None, extra_info=None, **reward_kwargs
) -> dict:
    """verl reward entry point (async): same result as :func:`compute_score`; concurrent calls batch better.

    verl awaits an ``async def`` reward directly (one task per sample), while a plain function runs in
    a small thread pool; so with this entry point every sample of a step can join the same batch.
    The first call of a process loads the models (blocking), later calls only queue requests.
    """
    done, cfg, parsed, request, scorer, reason = _prepare(solution_str, ground_truth, extra_info, reward_kwargs)
    if done is not None:
        return done
    return _finish(cfg, parsed, await scorer.score_async(request), reason)
