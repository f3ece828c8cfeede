"""``motion-r1 generate`` through ``main``: the happy path on the overfitted model (reasoning printed, files
written, exit 0), the random model (malformed attempts reported, exit 1), batch mode, user errors."""

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import CAPTION, PLAN, SPLIT_CAPTIONS, THINK

from motion_r1_verl.cli.generate import caption_ids, read_prompts
from motion_r1_verl.cli.main import main
from motion_r1_verl.eval.generated import load_generated
from motion_r1_verl.motion.core.humanml3d import load_split


def test_happy_path(fitted_model, tmp_path, capsys):
    out = tmp_path / "gen"
    code = main(["generate", CAPTION, "--model", str(fitted_model), "--temperature", "0", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert THINK in printed and PLAN.split("\n")[0] in printed
    assert "1/1 samples valid" in printed and "0/1 captions without a valid motion" in printed
    name = "000-a-person-walks-forward-then-waves"
    for path in (f"{name}.npy", f"joints/{name}.npy", f"video/{name}.mp4", f"bvh/{name}.bvh"):
        assert (out / path).stat().st_size > 0, path
    row = json.loads((out / "results.jsonl").read_text())
    assert row["valid"] and row["caption"] == CAPTION and row["attempts"] == 1
    # --resume: nothing left to do, nothing regenerated
    mtime = (out / f"{name}.npy").stat().st_mtime_ns
    code = main(["generate", CAPTION, "--model", str(fitted_model), "--out", str(out), "--resume"])
    assert code == 0 and "1 of 1 captions already in" in capsys.readouterr().out
    assert (out / f"{name}.npy").stat().st_mtime_ns == mtime


def test_random_model_reports_and_fails(tiny_model, tmp_path, capsys):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a person jumps\n\n  someone waves  \n")
    args = ["generate", "--model", str(tiny_model), "--prompts", str(prompts), "--n", "2", "--retries", "1"]
    code = main([*args, "--max-new-tokens", "8", "--out", str(tmp_path / "gen"), "--video", "none", "--no-bvh"])
    printed = capsys.readouterr().out
    assert code == 1
    assert printed.count("attempt 1 malformed:") == 4
    assert printed.count("FAILED after 2 attempt(s)") == 4
    assert '[000-a-person-jumps] "a person jumps"' in printed and '[001-someone-waves] "someone waves"' in printed
    summary = json.loads((tmp_path / "gen" / "summary.json").read_text())
    assert summary["valid_samples"] == 0 and len(summary["captions_without_valid_motion"]) == 2


def test_split_mode_writes_an_eval_gen_dir(split_fitted_model, tiny_synth, tmp_path, capsys):
    """--data/--split: one sample per clip named by clip id, with the caption used, readable by the eval.
    --batch-size 1 makes chunks of 4 captions, so the 5 clips are generated and written in two chunks."""
    out = tmp_path / "gen"
    args = ["generate", "--data", str(tiny_synth), "--split", "test", "--model", str(split_fitted_model)]
    flags = ["--temperature", "0", "--out", str(out), "--video", "none", "--no-bvh", "--quiet", "--batch-size", "1"]
    flags += ["--limit", str(SPLIT_CAPTIONS)]
    code = main([*args, *flags])
    capsys.readouterr()
    clips, _ = load_split(tiny_synth, "test")
    clips = clips[:SPLIT_CAPTIONS]
    assert len(clips) == SPLIT_CAPTIONS
    assert code == 0  # the model was overfitted on exactly these captions: every response is well-formed
    generated = load_generated(out, [c.id for c in clips])
    assert generated.captions == {c.id: c.captions[0].text for c in clips}
    assert all(len(generated.samples[c.id]) == 1 for c in clips)
    assert main([*args, "x"]) == 2  # captions and --data together
    assert "do not also give captions" in capsys.readouterr().err


def test_fill_failed_stands_in_a_motionless_clip_for_every_failed_sample(tiny_model, tiny_synth, tmp_path, capsys):
    """An untrained model with 24 new tokens never closes a motion span: without --fill-failed the split has
    no usable sample (exit 1); with it, every clip has a motionless stand-in an eval can read (exit 0)."""
    from motion_r1_verl.motion.core.constants import VEL_SLICE

    args = ["generate", "--data", str(tiny_synth), "--split", "test", "--model", str(tiny_model), "--limit", "3"]
    flags = ["--max-new-tokens", "24", "--retries", "0", "--video", "none", "--no-bvh", "--quiet"]
    assert main([*args, *flags, "--out", str(tmp_path / "plain")]) == 1
    out = tmp_path / "filled"
    assert main([*args, *flags, "--out", str(out), "--fill-failed"]) == 0
    assert "3 motionless stand-ins" in capsys.readouterr().out
    clips, _ = load_split(tiny_synth, "test")
    generated = load_generated(out, [c.id for c in clips[:3]])
    for clip in clips[:3]:
        (sample,) = generated.samples[clip.id]
        assert np.all(sample[:, VEL_SLICE] == 0) and np.all(sample[:, :3] == 0)
    assert main(["generate", "x", "--model", str(tiny_model), "--fill-failed"]) == 2
    assert "--fill-failed needs --data" in capsys.readouterr().err


def test_user_errors(tiny_model, tmp_path, capsys):
    assert main(["generate", "--model", str(tiny_model)]) == 2
    assert "no captions" in capsys.readouterr().err
    assert main(["generate", "x", "--model", str(tmp_path / "missing")]) == 2
    assert "folder not found" in capsys.readouterr().err
    assert main(["generate", "x", "--model", str(tiny_model), "--prompts", str(tmp_path / "nope.txt")]) == 2
    assert "--prompts" in capsys.readouterr().err
    assert main(["generate", "x", "--model", str(tiny_model), "--retries", "-1"]) == 2
    assert "error: --retries must be >= 0, got -1" in capsys.readouterr().err  # the library's field, as a flag
    assert main(["generate", "x", "--model", str(tiny_model), "--n", "0"]) == 2
    # a folder with motion_vocab.json but no model
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(tiny_model / "motion_vocab.json", broken)
    assert main(["generate", "x", "--model", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "no config.json" in capsys.readouterr().err


def test_ids_and_prompts_file(tmp_path):
    assert caption_ids(["A person walks!", "???", "x" * 80]) == ["000-a-person-walks", "001", "002-" + "x" * 40]
    path = tmp_path / "p.txt"
    path.write_text(" one \n\ntwo\n")
    assert read_prompts(path) == ["one", "two"]


class _RunsCode:
    """Unpickling this object runs ``touch <marker>``: a model file that carries code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("damage", ["code in pytorch_model.bin", "truncated model.safetensors"])
def test_a_hostile_or_broken_model_folder_is_one_line_and_runs_nothing(tiny_model, tmp_path, capsys, damage):
    model = shutil.copytree(tiny_model, tmp_path / "model")
    marker = tmp_path / "code_ran"
    weights = model / "model.safetensors"
    if damage.startswith("code"):
        weights.unlink()
        with (model / "pytorch_model.bin").open("wb") as handle:
            pickle.dump({"model.embed_tokens.weight": _RunsCode(marker)}, handle)
    else:
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    assert main(["generate", "x", "--model", str(model), "--out", str(tmp_path / "gen"), "--video", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot load the model in {model}" in err[0], err
    assert not marker.exists()  # nothing in the file ran
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before
