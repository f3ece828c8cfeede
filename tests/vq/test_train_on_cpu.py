"""VQ-VAE training: exact resume, training lowers the error, atomic checkpoints, CLI train/encode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from motion_r1_verl.cli.main import main
from motion_r1_verl.errors import UserError
from motion_r1_verl.runtime.journal import Journal, read_journal
from motion_r1_verl.vq.checkpoint import STATE_NAME, load_checkpoint, load_trainer_state, recover, save_checkpoint
from motion_r1_verl.vq.codec import MotionCodec
from motion_r1_verl.vq.config import preset
from motion_r1_verl.vq.encode_dataset import encode_dataset
from motion_r1_verl.vq.train import lr_at, train_vq

from .conftest import tiny_config, write_tiny_dataset


def test_resume_continues_exactly(tiny_dataset, tmp_path):
    straight = train_vq(tiny_dataset, tmp_path / "a", tiny_config(steps=6), device="cpu", progress=False)
    first = train_vq(tiny_dataset, tmp_path / "b", tiny_config(steps=6), stop_after=3, device="cpu", progress=False)
    assert first.step == 3 and first.stopped_early
    # scramble the global RNG: the resumed run must restore it from the training state
    torch.manual_seed(999)
    second = train_vq(tiny_dataset, tmp_path / "b", resume=True, device="cpu", progress=False)
    assert second.step == 6 and not second.stopped_early
    assert len(straight.losses) == 6
    assert first.losses + second.losses == straight.losses
    model_a, _, _ = load_checkpoint(tmp_path / "a")
    model_b, _, _ = load_checkpoint(tmp_path / "b")
    for (k, v), (_, w) in zip(model_a.state_dict().items(), model_b.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    state = load_trainer_state(tmp_path / "b")
    assert state["step"] == 6 and "optimizer" in state and "sampler_rng" in state


def test_training_lowers_reconstruction_error(tiny_dataset, tmp_path):
    config = tiny_config(steps=80, lr_milestones=(70,))
    before = train_vq(tiny_dataset, tmp_path / "c", config, stop_after=1, device="cpu", progress=False)
    after = train_vq(tiny_dataset, tmp_path / "c", resume=True, device="cpu", progress=False)
    assert before.last_val is not None and after.last_val is not None
    # 80 steps of a 32-code model: a clear but modest gain on held-out clips (measured: 0.82 -> 0.71)
    assert after.last_val.feature_l1 < 0.92 * before.last_val.feature_l1
    assert np.mean(after.losses[-10:]) < 0.9 * np.mean(before.losses + after.losses[:4])
    assert after.last_val.usage > 0.2, "the dead-code reset should keep a good part of the codebook in use"


def test_feat_bias_divides_the_root_and_contact_std_the_checkpoint_keeps(tmp_path):
    data = write_tiny_dataset(tmp_path / "data", sizes={"train": 8, "val": 2})
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=263).astype(np.float32), rng.uniform(0.5, 2.0, size=263).astype(np.float32)
    np.save(data / "Mean.npy", mean)
    np.save(data / "Std.npy", std)
    train_vq(data, tmp_path / "ckpt", tiny_config(steps=1, feat_bias=4.0), device="cpu", progress=False)
    _, config, normalizer = load_checkpoint(tmp_path / "ckpt")
    assert config.train.feat_bias == 4.0
    np.testing.assert_allclose(normalizer.mean, mean)
    expected = std.copy()
    expected[0:4] /= 4.0  # root angular velocity, linear velocity, height
    expected[259:263] /= 4.0  # foot contacts
    np.testing.assert_allclose(normalizer.std, expected, rtol=1e-6)
    # The codec encodes with that normalisation: the same std it was trained under.
    codec = MotionCodec.from_pretrained(tmp_path / "ckpt", device="cpu")
    np.testing.assert_allclose(codec.normalizer.std, expected, rtol=1e-6)


def test_fresh_run_refuses_existing_checkpoint(tiny_checkpoint, tiny_dataset):
    with pytest.raises(UserError, match="pass resume=True"):
        train_vq(tiny_dataset, tiny_checkpoint, tiny_config(), device="cpu", progress=False)


def test_lr_schedule_warmup_then_step_decay():
    config = preset("t2m-gpt")
    assert lr_at(0, config) == pytest.approx(2e-4 / 1000)
    assert lr_at(999, config) == pytest.approx(2e-4)
    assert lr_at(199_999, config) == pytest.approx(2e-4)
    assert lr_at(200_000, config) == pytest.approx(2e-4 * 0.05)


def test_interrupted_swap_is_recovered(tiny_checkpoint, tmp_path):
    import shutil

    ckpt = tmp_path / "ckpt"
    swap = tmp_path / ".ckpt.vq-swap"
    shutil.copytree(tiny_checkpoint, swap)  # crash after CKPT -> swap, before tmp -> CKPT
    recover(ckpt)
    assert (ckpt / "model.safetensors").is_file() and not swap.exists()
    MotionCodec.from_pretrained(ckpt, device="cpu")


def test_loading_never_touches_a_users_backup_or_foreign_folders(tiny_checkpoint, tmp_path):
    """A user's own ``CKPT.old`` backup survives every load and save; a swap-named folder that is not one
    of our checkpoints is left alone too."""
    import shutil

    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, ckpt)
    backup = tmp_path / "ckpt.old"
    shutil.copytree(tiny_checkpoint, backup)
    (backup / "note.txt").write_text("mine")
    foreign = tmp_path / ".other.vq-swap"
    foreign.mkdir()
    (foreign / "config.json").write_text('{"format": "someone else"}')
    codec = MotionCodec.from_pretrained(ckpt, device="cpu")
    recover(tmp_path / "other")
    save_checkpoint(ckpt, codec.model, codec.config, codec.normalizer)
    assert (backup / "note.txt").read_text() == "mine" and (backup / "model.safetensors").is_file()
    assert (foreign / "config.json").is_file() and not (tmp_path / "other").exists()


class _DiesAfter:
    """A codec whose encode dies (like a kill) after ``calls`` successful calls."""

    def __init__(self, codec: MotionCodec, calls: int):
        self.codec, self.calls = codec, calls

    def fingerprint(self) -> str:
        return self.codec.fingerprint()

    def encode(self, features):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return self.codec.encode(features)


def _interrupted_encoding(monkeypatch, dataset, codec, out, chunks: int) -> list[dict]:
    """Encode ``chunks`` chunks of 10 clips into ``out``'s journal, then die; the journal's rows."""
    monkeypatch.setattr("motion_r1_verl.vq.encode_dataset.CHUNK", 10)
    with pytest.raises(KeyboardInterrupt):
        encode_dataset(dataset, _DiesAfter(codec, chunks), out, progress=False)
    monkeypatch.undo()
    return read_journal(out.with_name(out.name + ".partial"))


def test_encode_dataset_resumes_after_a_kill_and_a_torn_write(tiny_checkpoint, tiny_dataset, tmp_path, monkeypatch):
    codec = MotionCodec.from_pretrained(tiny_checkpoint, device="cpu")
    out = tmp_path / "codes.jsonl"
    full = encode_dataset(tiny_dataset, codec, tmp_path / "full.jsonl", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "full.jsonl").read_text().splitlines()]
    assert full.n_written == len(rows) == 36
    assert len(_interrupted_encoding(monkeypatch, tiny_dataset, codec, out, chunks=2)) == 20
    partial = tmp_path / "codes.jsonl.partial"
    with partial.open("a") as handle:
        handle.write(json.dumps(rows[30])[:15])  # a torn last line
    report = encode_dataset(tiny_dataset, codec, out, progress=False)
    assert report.n_resumed == 20 and report.n_written == 16 and not partial.exists()
    again = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(again, key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"])
    with pytest.raises(UserError, match="already exists"):
        encode_dataset(tiny_dataset, codec, out, progress=False)


def test_encode_dataset_never_resumes_another_codecs_rows(tiny_checkpoint, tiny_dataset, tmp_path, monkeypatch):
    """A leftover journal from another checkpoint is started over, and --overwrite always starts over."""
    codec = MotionCodec.from_pretrained(tiny_checkpoint, device="cpu")
    other = MotionCodec.from_pretrained(tiny_checkpoint, device="cpu")
    with torch.no_grad():
        for parameter in other.model.parameters():
            parameter.add_(0.5)
    out = tmp_path / "codes.jsonl"
    assert len(_interrupted_encoding(monkeypatch, tiny_dataset, other, out, chunks=1)) == 10
    assert encode_dataset(tiny_dataset, codec, out, progress=False).n_resumed == 0
    assert len(_interrupted_encoding(monkeypatch, tiny_dataset, codec, tmp_path / "b.jsonl", chunks=1)) == 10
    report = encode_dataset(tiny_dataset, codec, tmp_path / "b.jsonl", overwrite=True, progress=False)
    assert report.n_resumed == 0 and report.n_written == 36


def test_two_encodings_into_one_output_cannot_interleave(tiny_checkpoint, tiny_dataset, tmp_path):
    codec = MotionCodec.from_pretrained(tiny_checkpoint, device="cpu")
    out = tmp_path / "codes.jsonl"
    with Journal(out.with_name(out.name + ".partial")):  # another writer holds the journal
        with pytest.raises(UserError, match="being written by another process"):
            encode_dataset(tiny_dataset, codec, out, progress=False)
    assert encode_dataset(tiny_dataset, codec, out, progress=False).n_written == 36  # free again


def test_encoding_without_a_readable_clip_keeps_the_finished_output(tiny_checkpoint, tmp_path):
    codec = MotionCodec.from_pretrained(tiny_checkpoint, device="cpu")
    data = tmp_path / "data"
    write_tiny_dataset(data, sizes={"train": 3})
    for features in (data / "new_joint_vecs").glob("*.npy"):
        features.write_bytes(b"not an array")
    out = tmp_path / "codes.jsonl"
    out.write_text('{"id": "x", "codes": [1]}\n')
    with pytest.raises(UserError, match="no readable clip.*kept"):
        encode_dataset(data, codec, out, overwrite=True, progress=False)
    assert out.read_text() == '{"id": "x", "codes": [1]}\n'


@pytest.mark.parametrize("argv", [["vq", "--help"], ["vq", "train", "--help"], ["vq", "encode", "--help"]])
def test_cli_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "example" in capsys.readouterr().out


def test_cli_train_resume_encode(tiny_dataset, tmp_path, capsys):
    ckpt = tmp_path / "vq"
    assert main(["vq", "train", "--data", str(tiny_dataset), "--out", str(ckpt), "--steps", "2", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 2 and "val_mpjpe_mm" in summary
    assert (
        main(["vq", "train", "--data", str(tiny_dataset), "--out", str(ckpt), "--resume", "--steps", "3", "--quiet"])
        == 0
    )
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 3
    assert (ckpt / STATE_NAME).is_file()
    assert json.loads((ckpt / "config.json").read_text())["model"]["width"] == preset("small").model.width
    out = tmp_path / "codes.jsonl"
    argv = ["vq", "encode", "--data", str(tiny_dataset), "--ckpt", str(ckpt), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 36 and all(set(r) == {"id", "codes"} and r["codes"] for r in rows)
    assert main(argv) == 2  # finished output is not overwritten
    assert "already exists" in capsys.readouterr().err
    assert main(["vq", "eval", "--ckpt", str(ckpt), "--data", str(tiny_dataset), "--split", "test"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])[f"{tiny_dataset}:test"]
    assert metrics["n_clips"] == 6 and metrics["mpjpe_mm"] > 0 and 0 < metrics["usage"] <= 1


def test_cli_user_errors_exit_2(tmp_path, capsys):
    assert main(["vq", "train", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["vq", "encode", "--data", str(tmp_path), "--ckpt", str(tmp_path), "--out", "x.jsonl"]) == 2


def test_joint_space_position_loss_trains(tiny_dataset, tmp_path):
    config = tiny_config(steps=3, pos_space="joints")
    result = train_vq(tiny_dataset, tmp_path / "j", config, device="cpu", progress=False)
    assert len(result.losses) == 3 and np.isfinite(result.losses).all()
    assert load_checkpoint(tmp_path / "j")[1].train.pos_space == "joints"
