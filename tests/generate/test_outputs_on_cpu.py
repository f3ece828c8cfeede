"""``write_results``: the files of valid samples, the JSONL rows of all, a folder ``motion-r1 eval`` reads,
re-runs that replace stale samples."""

import json

import numpy as np
from conftest import CODES, RESPONSE, THINK

from motion_r1_verl.eval.generated import load_generated
from motion_r1_verl.generate import GenerateConfig, generate_motions, write_results
from motion_r1_verl.motion.core.bvh import read_bvh


class ScriptedSampler:
    def __init__(self, texts):
        self.texts = list(texts)

    def sample(self, captions, settings, seed):
        out, self.texts = self.texts[: len(captions)], self.texts[len(captions) :]
        return out


def _results(model, texts, captions, n=1, ids=None):
    config = GenerateConfig(retries=0)
    return generate_motions(model, captions, n, ids=ids, config=config, sampler=ScriptedSampler(texts), progress=False)


def test_files_rows_and_eval_layout(tiny_model, tmp_path):
    texts = [RESPONSE, "junk", RESPONSE, RESPONSE]
    results = _results(tiny_model, texts, ["walk and wave", "jump"], n=2, ids=["c1", "c2"])
    rows = write_results(results, tmp_path, video="gif", bvh=True, progress=False)

    # valid sample: features, joints, animation, BVH
    assert rows[0]["files"] == {
        "features": "c1_0.npy",
        "joints": "joints/c1_0.npy",
        "video": "video/c1_0.gif",
        "bvh": "bvh/c1_0.bvh",
    }
    features = np.load(tmp_path / "c1_0.npy")
    joints = np.load(tmp_path / "joints/c1_0.npy")
    assert features.shape == (4 * len(CODES), 263) and joints.shape == (4 * len(CODES), 22, 3)
    np.testing.assert_allclose(features, results[0].features)
    assert (tmp_path / "video/c1_0.gif").stat().st_size > 1000
    bvh = read_bvh(tmp_path / "bvh/c1_0.bvh")
    assert bvh.n_frames == len(joints)
    # malformed sample: a row with its reason and raw text, no files
    assert rows[1]["valid"] is False and rows[1]["files"] == {} and rows[1]["reason"] == "no <Motion> span found"
    assert rows[1]["text"] == "junk" and not (tmp_path / "c1_1.npy").exists()

    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["name"] for line in lines] == ["c1_0", "c1_1", "c2_0", "c2_1"]
    first = json.loads(lines[0])
    assert first["codes"] == CODES and first["think"] == THINK and first["text"] == RESPONSE and first["seconds"] > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == {
        "captions": 2,
        "samples": 4,
        "valid_samples": 3,
        "retried_samples": 0,
        "captions_without_valid_motion": [],
    }
    # the eval reads the folder: two samples for c1 (one valid), captions from captions.jsonl
    generated = load_generated(tmp_path, ["c1", "c2"])
    assert [len(generated.samples[i]) for i in ("c1", "c2")] == [1, 2]
    assert generated.captions == {"c1": "walk and wave", "c2": "jump"}


def test_rerun_replaces_stale_samples_and_keeps_other_ids(tiny_model, tmp_path):
    first = _results(tiny_model, [RESPONSE] * 2, ["a", "b"], n=1, ids=["a", "b"])
    write_results(first, tmp_path, video=None, bvh=False, progress=False)
    again = _results(tiny_model, [RESPONSE] * 2, ["a"], n=2, ids=["a"])
    write_results(again, tmp_path, video=None, bvh=False, progress=False)
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == ["a_0.npy", "a_1.npy", "b.npy"]
    assert sorted(p.name for p in (tmp_path / "joints").glob("*.npy")) == ["a_0.npy", "a_1.npy", "b.npy"]
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in rows) == ["a_0", "a_1", "b"]
    captions = [json.loads(x) for x in (tmp_path / "captions.jsonl").read_text().splitlines()]
    assert sorted(c["id"] for c in captions) == ["a", "b"]


def test_summary_names_captions_without_valid_motion(tiny_model, tmp_path):
    results = _results(tiny_model, ["x", RESPONSE], ["never", "ok"], ids=["n", "o"])
    write_results(results, tmp_path, video=None, progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["captions_without_valid_motion"] == [{"id": "n", "caption": "never"}]
