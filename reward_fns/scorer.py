"""The batched motion scorer behind the motion and semantic rewards.

verl calls a reward function once per sample, many at a time (a thread pool for a plain function, an
asyncio task per sample for an ``async def``). Decoding codes with the VQ decoder and embedding motions
with the retrieval encoder are far cheaper per sample in a batch, so the models live behind a scorer
that collects concurrent requests into batches:

- :class:`MotionScorer`: the models (``MotionCodec`` + ``TextMotionModel``) and ``score_batch``: decode
  generated codes, embed them, compare with the ground-truth motion embedding and the caption
  embedding. The ground-truth motion is the real clip read from the request's ``gt_data`` folder (the
  paper's definition), or the decoded ground-truth codes when it has none. Ground-truth motion
  embeddings (keyed by folder + id, or id + codes) and caption embeddings are computed once per process
  and cached; generated motions are embedded once per distinct code
  sequence (duplicates in a batch, and a bounded LRU across batches: GRPO samples often agree).
- :class:`BatchingScorer`: dynamic batching. One worker thread takes the first waiting request, waits
  at most ``wait_ms`` for more (up to ``max_batch``), scores them together and resolves each caller's
  future. ``score`` blocks; ``score_async`` awaits.
- :func:`get_local_scorer`: one ``BatchingScorer`` per process and configuration (CPU runs, tests).
- :class:`ScorerActor` / :func:`get_ray_scorer`: the same as a NAMED Ray actor, so every verl reward
  worker of a job shares one copy of the models, on a GPU if it is given one (``num_gpus``). verl's
  resource pools reserve whole GPUs for the actor/rollout/ref workers, so a GPU for the scorer must be
  left outside them: e.g. on one 8-GPU node train with ``trainer.n_gpus_per_node=7`` and pass
  ``reward_kwargs.ray_num_gpus=1``; on a multi-node cluster any node with a spare GPU works. The small
  presets are fast enough on CPU (``bench/reward.py``), which is the default.

Similarities are cosines of L2-normalised embeddings mapped to ``[0, 1]`` as ``(1 + cos) / 2``, so a
valid motion always earns at least as much as an unparsable one (which gets 0).

Errors: a request the scorer cannot handle is a bug in the caller (``motion_r1`` validates codes and
ground truth first), so ``score_batch`` lets exceptions propagate; the batcher hands them to every
caller of that batch instead of swallowing them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import torch

from motion_r1_verl.motion.core.humanml3d import load_clip

logger = logging.getLogger(__name__)

# How long the batcher waits for more requests after the first one. Larger batches amortise the model
# call; the wait is added to every request's latency. 5 ms is well under one decode of a batch on CPU.
DEFAULT_WAIT_MS = 5.0
DEFAULT_MAX_BATCH = 64
DEFAULT_RAY_ACTOR_NAME = "motion_r1_scorer"
# Generated-motion embeddings kept (LRU); 4096 x 256 floats is 4 MB.
GENERATED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class ScoreRequest:
    """One response to score: its codes, its ground-truth motion and (optionally) its caption."""

    codes: tuple[int, ...]
    """Generated motion codes (non-empty, in range, at most ``MotionScorer.max_codes``)."""
    gt_id: str | None = None
    """Ground-truth motion id (cache key together with ``gt_codes``); None skips the motion similarity."""
    gt_codes: tuple[int, ...] = ()
    """Ground-truth motion codes (non-empty and in range when ``gt_id`` is given)."""
    caption: str | None = None
    """Caption for the semantic similarity; None skips it."""
    gt_data: str | None = None
    """HumanML3D-format folder holding the ground-truth motion ``gt_id`` (read with the protocol's length
    rule); None compares with the decoded ``gt_codes`` instead."""


@dataclass(frozen=True)
class ScoreResult:
    """Similarities in [0, 1]; a component is None when its request had no ground truth / caption."""

    motion: float | None
    semantic: float | None


@dataclass
class ScorerStats:
    """Counters of one scorer (for benchmarks and logs)."""

    requests: int = 0
    batches: int = 0
    busy_s: float = 0.0
    gt_cache_misses: int = 0
    generated_cache_misses: int = 0
    text_cache_misses: int = 0
    batch_sizes: list[int] = field(default_factory=list)


def _gt_key(request: ScoreRequest) -> str:
    if request.gt_data is not None:
        return f"real:{request.gt_data}:{request.gt_id}"
    # The codes are part of the key: two datasets (or two codecs) may reuse an id for different motions.
    digest = hashlib.blake2b(np.asarray(request.gt_codes, dtype=np.int64).tobytes(), digest_size=8).hexdigest()
    return f"decoded:{request.gt_id}:{digest}"


def to_unit_interval(cosine: torch.Tensor) -> torch.Tensor:
    """Cosine in [-1, 1] -> reward in [0, 1]."""
    return ((1.0 + cosine.clamp(-1.0, 1.0)) / 2.0).float()


class MotionScorer:
    """Models + caches; ``score_batch`` does the work in one call per batch (not thread-safe: one caller)."""

    def __init__(self, codec, text_motion_model, generated_cache_size: int = GENERATED_CACHE_SIZE) -> None:
        self.codec = codec
        self.model = text_motion_model
        self._gt_cache: dict[str, torch.Tensor] = {}
        self._text_cache: dict[str, torch.Tensor] = {}
        # Generated motions repeat (the samples of a GRPO group often agree, more so as training converges):
        # a bounded LRU of their embeddings, keyed by the code sequence.
        self._gen_cache: OrderedDict[tuple[int, ...], torch.Tensor] = OrderedDict()
        self.generated_cache_size = generated_cache_size
        self.stats = ScorerStats()

    @classmethod
    def from_pretrained(cls, vq_ckpt: str, retrieval_ckpt: str, device: str | None = None) -> MotionScorer:
        """Both models from the shared model cache: the decode hook's codec and the cached text-motion model
        (``device`` None: :func:`default_device`, the CPU in a Ray worker that Ray gave no GPU)."""
        from motion_r1_verl.retrieval.model import load_cached
        from motion_r1_verl.vq.hook import get_codec

        device = device or default_device()
        return cls(get_codec(vq_ckpt, device), load_cached(retrieval_ckpt, device))

    @property
    def codebook_size(self) -> int:
        return int(self.codec.codebook_size)

    @property
    def max_codes(self) -> int:
        """Longest code sequence the motion encoder accepts (its ``max_frames`` / frames per code)."""
        return int(self.model.config.max_frames) // int(self.codec.frames_per_code)

    @property
    def frames_per_code(self) -> int:
        return int(self.codec.frames_per_code)

    def info(self) -> dict:
        return {
            "codebook_size": self.codebook_size,
            "max_codes": self.max_codes,
            "frames_per_code": self.frames_per_code,
        }

    def _embed_codes(self, seqs: list[tuple[int, ...]]) -> torch.Tensor:
        features = self.codec.decode([np.asarray(s, dtype=np.int64) for s in seqs])
        return self.model.encode_motion(features)

    def _generated_embeddings(self, seqs: list[tuple[int, ...]]) -> torch.Tensor:
        missing = [c for c in dict.fromkeys(seqs) if c not in self._gen_cache]
        if missing:
            self._gen_cache.update(zip(missing, self._embed_codes(missing), strict=True))
            self.stats.generated_cache_misses += len(missing)
        out = torch.stack([self._gen_cache[c] for c in seqs])
        for c in seqs:
            self._gen_cache.move_to_end(c)
        while len(self._gen_cache) > self.generated_cache_size:
            self._gen_cache.popitem(last=False)
        return out

    @torch.no_grad()
    def score_batch(self, requests: list[ScoreRequest]) -> list[ScoreResult]:
        """Similarities for every request, in order."""
        if not requests:
            return []
        t0 = time.perf_counter()
        gen = self._generated_embeddings([r.codes for r in requests])  # (B, d), L2-normalised
        keys = [None if r.gt_id is None else _gt_key(r) for r in requests]
        missing = {k: r for k, r in zip(keys, requests, strict=True) if k is not None and k not in self._gt_cache}
        decoded = {k: r.gt_codes for k, r in missing.items() if r.gt_data is None}
        if decoded:
            self._gt_cache.update(zip(decoded, self._embed_codes(list(decoded.values())), strict=True))
        real = {k: r for k, r in missing.items() if r.gt_data is not None}
        if real:
            clips = [load_clip(r.gt_data, r.gt_id).features for r in real.values()]
            self._gt_cache.update(zip(real, self.model.encode_motion(clips), strict=True))
        self.stats.gt_cache_misses += len(missing)
        motion: list[float | None] = [None] * len(requests)
        with_gt = [i for i, k in enumerate(keys) if k is not None]
        if with_gt:
            gt = torch.stack([self._gt_cache[keys[i]] for i in with_gt]).to(gen.device)
            sims = to_unit_interval((gen[with_gt] * gt).sum(-1)).cpu().tolist()
            for i, s in zip(with_gt, sims, strict=True):
                motion[i] = s

        captions = [r.caption for r in requests]
        new_texts = list(dict.fromkeys(c for c in captions if c is not None and c not in self._text_cache))
        if new_texts:
            self._text_cache.update(zip(new_texts, self.model.encode_text(new_texts), strict=True))
            self.stats.text_cache_misses += len(new_texts)
        semantic: list[float | None] = [None] * len(requests)
        with_caption = [i for i, c in enumerate(captions) if c is not None]
        if with_caption:
            text = torch.stack([self._text_cache[captions[i]] for i in with_caption]).to(gen.device)
            sims = to_unit_interval((gen[with_caption] * text).sum(-1)).cpu().tolist()
            for i, s in zip(with_caption, sims, strict=True):
                semantic[i] = s
        self.stats.requests += len(requests)
        self.stats.batches += 1
        self.stats.batch_sizes.append(len(requests))
        self.stats.busy_s += time.perf_counter() - t0
        return [ScoreResult(m, s) for m, s in zip(motion, semantic, strict=True)]


class BatchingScorer:
    """Dynamic batching in front of a :class:`MotionScorer` (see module docstring); thread-safe."""

    def __init__(self, scorer: MotionScorer, max_batch: int = DEFAULT_MAX_BATCH, wait_ms: float = DEFAULT_WAIT_MS):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if wait_ms < 0:
            raise ValueError(f"wait_ms must be >= 0, got {wait_ms}")
        self.scorer = scorer
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000.0
        self._queue: queue.SimpleQueue[tuple[ScoreRequest, Future] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="motion-r1-scorer", daemon=True)
        self._closed = False
        self._thread.start()

    @property
    def codebook_size(self) -> int:
        return self.scorer.codebook_size

    @property
    def max_codes(self) -> int:
        return self.scorer.max_codes

    @property
    def frames_per_code(self) -> int:
        return self.scorer.frames_per_code

    @property
    def stats(self) -> ScorerStats:
        return self.scorer.stats

    def info(self) -> dict:
        return self.scorer.info()

    def submit(self, request: ScoreRequest) -> Future:
        """Queue one request; the future resolves to its :class:`ScoreResult`."""
        if self._closed:
            raise RuntimeError("this BatchingScorer is closed")
        future: Future = Future()
        self._queue.put((request, future))
        return future

    def score(self, request: ScoreRequest) -> ScoreResult:
        """Blocking: the result of one request (batched with whatever else is in flight)."""
        return self.submit(request).result()

    async def score_async(self, request: ScoreRequest) -> ScoreResult:
        """Awaitable: the result of one request."""
        return await asyncio.wrap_future(self.submit(request))

    def close(self) -> None:
        """Stop the worker thread after the queued requests are done."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _collect(self, first: tuple[ScoreRequest, Future]) -> tuple[list[tuple[ScoreRequest, Future]], bool]:
        batch = [first]
        deadline = time.perf_counter() + self.wait_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.perf_counter()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                return
            batch, stop = self._collect(item)
            live = [(r, f) for r, f in batch if f.set_running_or_notify_cancel()]
            if not live:
                continue
            try:
                results = self.scorer.score_batch([r for r, _ in live])
            except Exception as err:  # not swallowed: handed to every caller, whose .result() re-raises it
                for _, future in live:
                    future.set_exception(err)
                continue
            for (_, future), result in zip(live, results, strict=True):
                future.set_result(result)


_LOCAL: dict[tuple, BatchingScorer] = {}
_LOCAL_LOCK = threading.Lock()


def get_local_scorer(
    vq_ckpt: str,
    retrieval_ckpt: str,
    device: str | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
    wait_ms: float = DEFAULT_WAIT_MS,
) -> BatchingScorer:
    """The process-wide scorer for this configuration (models loaded on first use, then reused)."""
    key = (vq_ckpt, retrieval_ckpt, device, max_batch, wait_ms)
    with _LOCAL_LOCK:
        scorer = _LOCAL.get(key)
        if scorer is None:
            scorer = BatchingScorer(MotionScorer.from_pretrained(vq_ckpt, retrieval_ckpt, device), max_batch, wait_ms)
            _LOCAL[key] = scorer
        return scorer


def close_local_scorers() -> None:
    """Stop and forget every process-wide scorer (tests, or after checkpoints changed)."""
    with _LOCAL_LOCK:
        for scorer in _LOCAL.values():
            scorer.close()
        _LOCAL.clear()


def default_device() -> str | None:
    """Where the scorer's models go when no device is given: inside a Ray worker, the CPU unless Ray
    assigned that worker a GPU (verl's reward workers ask for none, yet may see every GPU of the node, and
    models put there sit beside vLLM and FSDP outside verl's placement); elsewhere None (CUDA if visible)."""
    try:
        import ray

        if ray.is_initialized() and ray.get_runtime_context().worker.mode == ray.WORKER_MODE:
            return None if ray.get_gpu_ids() else "cpu"
    except (ImportError, AttributeError, RuntimeError):
        pass
    return None


class ScorerActor:
    """A :class:`BatchingScorer` as a Ray actor; ``score`` is async so many calls are in flight at once."""

    def __init__(self, vq_ckpt: str, retrieval_ckpt: str, device: str | None, max_batch: int, wait_ms: float):
        self.batcher = BatchingScorer(MotionScorer.from_pretrained(vq_ckpt, retrieval_ckpt, device), max_batch, wait_ms)

    async def score(self, request: ScoreRequest) -> ScoreResult:
        return await self.batcher.score_async(request)

    async def info(self) -> dict:
        return self.batcher.info()

    async def stats(self) -> dict:
        s = self.batcher.stats
        return {"requests": s.requests, "batches": s.batches, "busy_s": s.busy_s}


# How long the first call waits for the named actor to be scheduled and load its models, and how long
# one score may take, before the run stops with an error instead of stalling.
ACTOR_START_TIMEOUT_S = 300.0
SCORE_TIMEOUT_S = 600.0


class RayScorerClient:
    """What reward code holds for the Ray scorer: same ``score``/``score_async`` as ``BatchingScorer``.

    Every wait on the actor has a timeout: an actor Ray cannot schedule (e.g. ``ray_num_gpus=1`` while
    verl's resource pools hold every GPU) would otherwise stall training with no error.
    """

    def __init__(self, handle, name: str, num_gpus: float, start_timeout_s: float = ACTOR_START_TIMEOUT_S) -> None:
        import ray
        from ray.exceptions import GetTimeoutError

        self.handle = handle
        try:
            info = ray.get(handle.info.remote(), timeout=start_timeout_s)
        except GetTimeoutError:
            raise RuntimeError(
                f"the Ray scorer actor {name!r} did not start within {start_timeout_s:.0f} s. It asks for "
                f"num_gpus={num_gpus} (reward_kwargs.ray_num_gpus): verl's resource pools take every GPU of "
                "trainer.n_gpus_per_node x trainer.nnodes, so leave one out (e.g. trainer.n_gpus_per_node=7 on an "
                "8-GPU node), or set ray_num_gpus=0 to score on CPU"
            ) from None
        self.codebook_size = int(info["codebook_size"])
        self.max_codes = int(info["max_codes"])
        self.frames_per_code = int(info["frames_per_code"])

    def score(self, request: ScoreRequest) -> ScoreResult:
        import ray

        return ray.get(self.handle.score.remote(request), timeout=SCORE_TIMEOUT_S)

    async def score_async(self, request: ScoreRequest) -> ScoreResult:
        # Awaited, never ray.get: verl's reward loop runs many of these on one event loop.
        return await asyncio.wait_for(self.handle.score.remote(request), SCORE_TIMEOUT_S)


_RAY: dict[tuple, RayScorerClient] = {}


def get_ray_scorer(
    vq_ckpt: str,
    retrieval_ckpt: str,
    device: str | None = None,
    max_batch: int = DEFAULT_MAX_BATCH,
    wait_ms: float = DEFAULT_WAIT_MS,
    name: str = DEFAULT_RAY_ACTOR_NAME,
    num_gpus: float = 0.0,
    num_cpus: float = 1.0,
    start_timeout: float = ACTOR_START_TIMEOUT_S,
) -> RayScorerClient:
    """The named scorer actor of the current Ray job, created by the first caller (``get_if_exists``).

    Needs a connected Ray (verl's workers are). ``num_gpus > 0`` puts the actor on a GPU (see the
    module docstring for leaving one free); ``device`` None then picks the actor's GPU, or the CPU when it
    has none (:func:`default_device`). An actor that does not start within ``start_timeout`` seconds raises.
    """
    # Keyed by everything the actor is built from: two rewards of one job with other checkpoints must not
    # share a client (they need distinct ray_actor_name values too, since Ray names are per job).
    key = (name, vq_ckpt, retrieval_ckpt, device, max_batch, wait_ms, num_gpus, num_cpus)
    with _LOCAL_LOCK:
        client = _RAY.get(key)
        if client is None:
            import ray

            actor_cls = ray.remote(ScorerActor)
            handle = actor_cls.options(
                name=name, get_if_exists=True, num_gpus=num_gpus, num_cpus=num_cpus, max_concurrency=1000
            ).remote(vq_ckpt, retrieval_ckpt, device, max_batch, wait_ms)
            client = RayScorerClient(handle, name, num_gpus, start_timeout)
            _RAY[key] = client
        return client
