"""``motion-r1 eval`` end to end on a toy dataset with a tiny trained model (and the Guo port)."""

import json
import shutil

import numpy as np
import pytest
from retrieval.guo_official import make_official_files

from motion_r1_verl.cli.main import main
from motion_r1_verl.eval import OursEvaluator, evaluate, load_generated
from motion_r1_verl.eval.report import HEADERS
from motion_r1_verl.motion.core.humanml3d import load_split
from motion_r1_verl.retrieval.model import TextMotionModel


def _gen_dir(tmp_path, toy_data, transform, k=1):
    clips, _ = load_split(toy_data, "test")
    out = tmp_path / "gen"
    out.mkdir(parents=True)
    for i, clip in enumerate(clips):
        for j in range(k):
            name = f"{clip.id}.npy" if k == 1 else f"{clip.id}_{j}.npy"
            np.save(out / name, transform(i, j, clips).astype(np.float32))
    return out


def test_reference_prints_the_real_row_in_paper_order_and_writes_json(toy_data, toy_ckpt, tmp_path, capsys):
    out_json = tmp_path / "real.json"
    argv = ["eval", "--data", str(toy_data), "--split", "test", "--reference", "--ckpt", str(toy_ckpt)]
    assert main([*argv, "--json", str(out_json), "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    header, _, row = table.strip().splitlines()[:3]
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols == ["Method", *HEADERS.values()]
    assert cols[1].startswith("R-Precision Top-1") and cols[4].startswith("FID") and cols[7].startswith("MultiMod")
    assert row.startswith("| Real |") and row.rstrip().endswith("| - |")  # no MultiModality for real motions
    assert "biased low" not in table
    data = json.loads(out_json.read_text())
    m = data["metrics"]
    assert data["label"] == "Real" and data["settings"]["replications"] == 20
    assert m["FID"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert m["R@1"]["mean"] > 3 / 32  # trained model: above chance
    assert m["R@1"]["mean"] <= m["R@2"]["mean"] <= m["R@3"]["mean"]
    assert m["MultiModality"] is None and m["Diversity"]["mean"] > 0 and m["R@1"]["ci95"] >= 0


def test_generated_motions_equal_to_real_match_and_shuffled_ones_do_not(toy_data, toy_ckpt, tmp_path):
    model = TextMotionModel.from_pretrained(toy_ckpt, device="cpu")
    ev = OursEvaluator(model)
    clips, _ = load_split(toy_data, "test")
    ids = [c.id for c in clips]
    same = load_generated(_gen_dir(tmp_path / "a", toy_data, lambda i, j, cs: cs[i].features), ids)
    shifted = load_generated(_gen_dir(tmp_path / "b", toy_data, lambda i, j, cs: cs[(i + 1) % len(cs)].features), ids)
    r_same = evaluate(ev, clips, same, np.random.default_rng(0), replications=5)
    r_shift = evaluate(ev, clips, shifted, np.random.default_rng(0), replications=5)
    assert r_same.metrics["FID"].mean == pytest.approx(0.0, abs=1e-6)
    # the same set of motions assigned to the wrong captions: FID unchanged, R-Precision collapses
    assert r_shift.metrics["FID"].mean == pytest.approx(0.0, abs=1e-6)
    assert r_shift.metrics["R@1"].mean < r_same.metrics["R@1"].mean
    noisy = load_generated(
        _gen_dir(tmp_path / "c", toy_data, lambda i, j, cs: cs[i].features + 2.0 * np.random.default_rng(i).normal()),
        ids,
    )
    assert evaluate(ev, clips, noisy, np.random.default_rng(0), replications=2).metrics["FID"].mean > 0.01


def test_several_samples_per_clip_give_multimodality(toy_data, toy_ckpt, tmp_path, capsys):
    def sample(i, j, cs):
        return cs[i].features + 0.5 * np.random.default_rng(100 * i + j).normal(size=cs[i].features.shape)

    gen = _gen_dir(tmp_path, toy_data, sample, k=3)
    out_json = tmp_path / "gen.json"
    argv = ["eval", "--data", str(toy_data), "--motions", str(gen), "--ckpt", str(toy_ckpt), "--label", "Noisy"]
    assert main([*argv, "--json", str(out_json), "--replications", "4", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "| Noisy |" in printed
    # 3 generations per text, not the protocol's 30: the table says the figure is biased low.
    assert "Noisy: MultiModality from 3 generations per text" in printed and "biased low" in printed
    data = json.loads(out_json.read_text())
    assert data["metrics"]["MultiModality"]["mean"] > 0
    assert data["settings"]["multimodality_times"] == 3 and data["settings"]["samples_per_clip"] == 3


def test_missing_or_bad_generated_files_are_one_line_errors(toy_data, toy_ckpt, tmp_path, capsys):
    gen = _gen_dir(tmp_path, toy_data, lambda i, j, cs: cs[i].features)
    victims = sorted(gen.glob("*.npy"))[:2]
    victims[0].unlink()
    np.save(victims[1], np.zeros((10, 5), np.float32))
    argv = ["eval", "--data", str(toy_data), "--motions", str(gen), "--ckpt", str(toy_ckpt), "--device", "cpu"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and victims[0].stem in err and "expected (T>0, 263)" in err
    assert main(["eval", "--data", str(toy_data), "--reference", "--ckpt", str(tmp_path / "nope")]) == 2
    assert main(["eval", "--data", str(toy_data), "--reference", "--evaluator", "guo", "--ckpt", "x.tar"]) == 2


def test_guo_evaluator_through_the_cli(toy_data, tmp_path, shared_data, capsys):
    ckpt, glove, norm, _ = make_official_files(tmp_path, shared_data)
    argv = ["eval", "--data", str(toy_data), "--reference", "--evaluator", "guo", "--ckpt", str(ckpt)]
    argv += ["--glove", str(glove), "--eval-norm", str(norm), "--replications", "2", "--json", str(tmp_path / "g.json")]
    assert main([*argv, "--device", "cpu"]) == 0
    data = json.loads((tmp_path / "g.json").read_text())
    assert data["settings"]["evaluator"] == "guo"
    assert data["metrics"]["FID"]["mean"] == pytest.approx(0.0, abs=1e-4)
    assert 0.0 <= data["metrics"]["R@1"]["mean"] <= 1.0


def test_help_has_examples(capsys):
    for argv in (["eval", "--help"], ["retrieval", "train", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0
        assert "example:" in capsys.readouterr().out


def test_retrieval_train_refuses_to_overwrite_without_resume(toy_data, toy_ckpt, tmp_path, capsys):
    argv = ["retrieval", "train", "--data", str(toy_data), "--out", str(toy_ckpt), "--preset", "tiny"]
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    copy = tmp_path / "ck"
    shutil.copytree(toy_ckpt, copy)
    # already trained for 6 epochs: resuming with the same target is a no-op that still succeeds
    resume = ["retrieval", "train", "--data", str(toy_data), "--out", str(copy), "--epochs", "6", "--resume"]
    assert main(resume) == 0
    assert "epoch" in capsys.readouterr().out


def test_generations_longer_than_the_protocol_are_scored_on_their_first_196_frames(toy_data, toy_ckpt, tmp_path):
    ev = OursEvaluator(TextMotionModel.from_pretrained(toy_ckpt, device="cpu"))
    clips, _ = load_split(toy_data, "test")
    ids = [c.id for c in clips]

    def long_version(i, j, cs):
        # the real clip, tiled past 196 frames: its first 196 frames are what the protocol scores
        return np.concatenate([cs[i].features] * (300 // len(cs[i].features) + 1))[:300]

    long = load_generated(_gen_dir(tmp_path / "long", toy_data, long_version), ids)
    cropped = load_generated(
        _gen_dir(tmp_path / "cropped", toy_data, lambda i, j, cs: long_version(i, j, cs)[:196]), ids
    )
    r_long = evaluate(ev, clips, long, np.random.default_rng(0), replications=2)
    r_cropped = evaluate(ev, clips, cropped, np.random.default_rng(0), replications=2)
    assert r_long.metrics["FID"].mean == pytest.approx(r_cropped.metrics["FID"].mean)
    assert r_long.metrics["R@1"].mean == pytest.approx(r_cropped.metrics["R@1"].mean)


def test_reference_scores_197_to_199_frame_clips_on_their_first_196_frames(toy_data, toy_ckpt, tmp_path):
    """The protocol keeps clips of 40 <= T < 200 and scores at most 196 frames of each."""
    from motion_r1_verl.motion.core.humanml3d import FEATURES_DIR

    results = {}
    for name, rows in (("long", 199), ("cut", 196)):
        folder = shutil.copytree(toy_data, tmp_path / name)
        for clip in load_split(toy_data, "test")[0]:
            tiled = np.concatenate([clip.features] * (199 // len(clip.features) + 1))[:199]
            np.save(folder / FEATURES_DIR / f"{clip.id}.npy", tiled[:rows])
        out = tmp_path / f"{name}.json"
        argv = ["eval", "--data", str(folder), "--split", "test", "--reference", "--ckpt", str(toy_ckpt)]
        assert main([*argv, "--replications", "2", "--json", str(out), "--device", "cpu"]) == 0
        results[name] = json.loads(out.read_text())["metrics"]
    assert results["long"] == results["cut"]
    assert len(load_split(tmp_path / "long", "test")[0]) == len(load_split(toy_data, "test")[0])
