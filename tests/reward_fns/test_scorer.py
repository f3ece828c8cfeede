"""BatchingScorer (dynamic batching with a small real torch module) and MotionScorer (tiny real models)."""

import asyncio
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from reward_fns.scorer import BatchingScorer, MotionScorer, ScoreRequest, ScoreResult, close_local_scorers


class EmbeddingScorer:
    """A real (small) torch model behind the batcher: mean code embedding -> two numbers per request."""

    def __init__(self, fail_on: int | None = None):
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.EmbeddingBag(16, 8, mode="mean"), torch.nn.Linear(8, 2))
        self.batch_sizes: list[int] = []
        self.fail_on = fail_on
        self.threads: set[str] = set()

    @torch.no_grad()
    def score_batch(self, requests):
        self.threads.add(threading.current_thread().name)
        self.batch_sizes.append(len(requests))
        if self.fail_on is not None and any(self.fail_on in r.codes for r in requests):
            raise RuntimeError("boom")
        flat = torch.tensor([c for r in requests for c in r.codes])
        offsets = torch.tensor(np.cumsum([0] + [len(r.codes) for r in requests[:-1]]))
        out = torch.sigmoid(self.net[1](self.net[0](flat, offsets)))
        return [ScoreResult(float(a), float(b)) for a, b in out.tolist()]


def requests(n, rng=None):
    rng = rng or np.random.default_rng(0)
    return [
        ScoreRequest(tuple(int(c) for c in rng.integers(0, 16, int(rng.integers(1, 9)))), "gt", (1,)) for _ in range(n)
    ]


def test_concurrent_requests_are_batched_and_match_one_by_one():
    reqs = requests(64)
    model = EmbeddingScorer()
    expected = [model.score_batch([r])[0] for r in reqs]
    model.batch_sizes.clear()
    model.threads.clear()
    batcher = BatchingScorer(model, max_batch=64, wait_ms=50)
    try:
        with ThreadPoolExecutor(64) as pool:
            got = list(pool.map(batcher.score, reqs))
    finally:
        batcher.close()
    assert sum(model.batch_sizes) == 64
    assert len(model.batch_sizes) < 16, model.batch_sizes  # batched, not one by one
    np.testing.assert_allclose([g.motion for g in got], [e.motion for e in expected], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([g.semantic for g in got], [e.semantic for e in expected], rtol=1e-5, atol=1e-6)
    assert model.threads == {"motion-r1-scorer"}  # the models are only touched by the worker thread


def test_max_batch_caps_every_batch():
    model = EmbeddingScorer()
    batcher = BatchingScorer(model, max_batch=4, wait_ms=20)
    try:
        futures = [batcher.submit(r) for r in requests(10)]
        [f.result(timeout=10) for f in futures]
    finally:
        batcher.close()
    assert max(model.batch_sizes) <= 4 and sum(model.batch_sizes) == 10


def test_async_callers_batch_too():
    model = EmbeddingScorer()
    batcher = BatchingScorer(model, max_batch=64, wait_ms=50)

    async def run():
        return await asyncio.gather(*(batcher.score_async(r) for r in requests(32)))

    try:
        got = asyncio.run(run())
    finally:
        batcher.close()
    assert len(got) == 32 and len(model.batch_sizes) <= 4


def test_a_failing_batch_raises_in_every_caller_and_the_scorer_keeps_working():
    model = EmbeddingScorer(fail_on=15)
    batcher = BatchingScorer(model, max_batch=8, wait_ms=50)
    try:
        bad = [batcher.submit(ScoreRequest((15,), "gt", (1,))), batcher.submit(ScoreRequest((2,), "gt", (1,)))]
        for future in bad:
            with pytest.raises(RuntimeError, match="boom"):
                future.result(timeout=10)
        assert 0.0 < batcher.score(ScoreRequest((3,), "gt", (1,))).motion < 1.0
    finally:
        batcher.close()


def test_bad_batching_settings_are_rejected():
    with pytest.raises(ValueError, match="max_batch"):
        BatchingScorer(EmbeddingScorer(), max_batch=0)
    with pytest.raises(ValueError, match="wait_ms"):
        BatchingScorer(EmbeddingScorer(), wait_ms=-1)


# ---------------------------------------------------------------- the real (tiny) motion models
@pytest.fixture(scope="module")
def motion_scorer(reward_models):
    _, vq, retrieval = reward_models
    return MotionScorer.from_pretrained(str(vq), str(retrieval), "cpu")


def test_motion_scorer_batched_equals_one_by_one(motion_scorer):
    rng = np.random.default_rng(1)
    k = motion_scorer.codebook_size
    reqs = [
        ScoreRequest(
            tuple(int(c) for c in rng.integers(0, k, int(rng.integers(3, 20)))),
            f"gt{i % 3}",
            tuple(range(10 + i % 3)),
            None if i % 4 == 0 else f"a person does a {['walk', 'jump'][i % 2]}",
        )
        for i in range(12)
    ]
    batched = motion_scorer.score_batch(reqs)
    single = [motion_scorer.score_batch([r])[0] for r in reqs]
    np.testing.assert_allclose([b.motion for b in batched], [s.motion for s in single], atol=1e-5)
    for b, s, r in zip(batched, single, reqs):
        assert (b.semantic is None) == (r.caption is None)
        if r.caption is not None:
            assert b.semantic == pytest.approx(s.semantic, abs=1e-5)
        assert 0.0 <= b.motion <= 1.0


def test_ground_truth_and_caption_embeddings_are_cached(motion_scorer):
    req = ScoreRequest((1, 2, 3, 4), "cache-me", (5, 6, 7, 8, 9), "a person does a kick")
    before = (motion_scorer.stats.gt_cache_misses, motion_scorer.stats.text_cache_misses)
    first = motion_scorer.score_batch([req, req])[0]
    mid = (motion_scorer.stats.gt_cache_misses, motion_scorer.stats.text_cache_misses)
    again = motion_scorer.score_batch([req])[0]
    after = (motion_scorer.stats.gt_cache_misses, motion_scorer.stats.text_cache_misses)
    assert mid == (before[0] + 1, before[1] + 1)  # once, although the batch held the request twice
    assert after == mid
    assert again == first
    # the same id with other codes is another motion: not served from the cache
    motion_scorer.score_batch([ScoreRequest((1, 2, 3, 4), "cache-me", (1, 1, 1, 1, 1))])
    assert motion_scorer.stats.gt_cache_misses == mid[0] + 1


def test_repeated_generated_motions_are_embedded_once(motion_scorer):
    codes = (9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9)
    before = motion_scorer.stats.generated_cache_misses
    results = motion_scorer.score_batch([ScoreRequest(codes, "g", (1, 2, 3))] * 5)
    assert motion_scorer.stats.generated_cache_misses == before + 1
    assert len({r.motion for r in results}) == 1
    motion_scorer.score_batch([ScoreRequest(codes, "g", (1, 2, 3))])  # next batch: served from the LRU
    assert motion_scorer.stats.generated_cache_misses == before + 1


def test_generated_cache_is_bounded(reward_models):
    _, vq, retrieval = reward_models
    scorer = MotionScorer.from_pretrained(str(vq), str(retrieval), "cpu")
    scorer.generated_cache_size = 3
    first = scorer.score_batch([ScoreRequest((i, i + 1), "g", (1,)) for i in range(5)])
    assert len(scorer._gen_cache) == 3
    again = scorer.score_batch([ScoreRequest((0, 1), "g", (1,))])[0]  # evicted: recomputed, same value
    assert again.motion == pytest.approx(first[0].motion, abs=1e-6)


def test_identical_motion_scores_one(motion_scorer):
    codes = tuple(range(12))
    assert motion_scorer.score_batch([ScoreRequest(codes, "x", codes)])[0].motion == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_named_ray_actor_scores_like_the_local_scorer(reward_models, motion_scorer):
    ray = pytest.importorskip("ray")
    from reward_fns.scorer import get_ray_scorer

    _, vq, retrieval = reward_models
    # A private, SHORT temp dir: Ray's unix socket paths must stay under 107 bytes.
    temp = tempfile.mkdtemp(prefix="rwray", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    try:
        client = get_ray_scorer(str(vq), str(retrieval), "cpu", name="test_motion_r1_scorer")
        req = ScoreRequest(tuple(range(10)), "g", tuple(range(3, 15)), "a person does a run")
        local = motion_scorer.score_batch([req])[0]
        remote = client.score(req)
        assert remote.motion == pytest.approx(local.motion, abs=1e-5)
        assert remote.semantic == pytest.approx(local.semantic, abs=1e-5)
        # a second lookup by name reaches the same actor (every verl reward worker shares it)
        same = ray.get_actor("test_motion_r1_scorer")
        assert ray.get(same.stats.remote())["requests"] == 1
        assert get_ray_scorer(str(vq), str(retrieval), "cpu", name="test_motion_r1_scorer") is client

        # Inside a Ray worker that Ray gave no GPU, the scorer's default device is the CPU.
        from reward_fns.scorer import default_device

        assert ray.get(ray.remote(num_gpus=0)(default_device).remote()) == "cpu"

        # An actor Ray cannot schedule (a GPU on a machine without one) stops the run with a message.
        with pytest.raises(RuntimeError, match="trainer.n_gpus_per_node"):
            get_ray_scorer(str(vq), str(retrieval), None, name="unschedulable_scorer", num_gpus=1, start_timeout=3)
    finally:
        ray.shutdown()
        close_local_scorers()
        shutil.rmtree(temp, ignore_errors=True)


def test_the_reward_and_the_decode_hook_share_one_codec_and_one_text_motion_model(reward_models):
    """One model cache: the scorer loads nothing that generation or evaluation already loaded."""
    from motion_r1_verl.retrieval.model import load_cached
    from motion_r1_verl.vq.hook import get_codec

    _, vq, retrieval = reward_models
    scorer = MotionScorer.from_pretrained(str(vq), str(retrieval), "cpu")
    assert scorer.codec is get_codec(vq, "cpu")
    assert scorer.model is load_cached(retrieval, "cpu")
