"""The Guo-architecture judge trained on our data: word vectors from training captions, loss, folder round trip."""

import json

import numpy as np
import pytest
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.motion.core.humanml3d import TEXTS_DIR, Caption, load_split, read_split_ids
from motion_r1_verl.motion.core.normalization import Normalizer
from motion_r1_verl.retrieval.caption_vectors import ROW_NORM, word_vectors_from_captions
from motion_r1_verl.retrieval.glove import POS_ENUMERATOR, WordVectors
from motion_r1_verl.retrieval.guo import GuoConfig, GuoEvaluator
from motion_r1_verl.retrieval.guo_train import GuoTrainConfig, contrastive_loss, train_guo_evaluator

from .toy_data import make_toy_dataset

TINY = GuoConfig(word_dim=24, movement_hidden=32, movement_latent=32, motion_hidden=32, text_hidden=32, coemb_dim=32)
NEW_WORD = "zebra"  # only in a val caption


def fast(epochs, **kw):
    return GuoTrainConfig(epochs=epochs, batch_size=32, lr=3e-3, warmup_steps=2, val_every=1, num_threads=1, **kw)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = make_toy_dataset(tmp_path_factory.mktemp("guo_judge"), n_train=160, n_val=32, n_test=32)
    val_clip = read_split_ids(root, "val")[0]
    with open(root / TEXTS_DIR / f"{val_clip}.txt", "a", encoding="utf-8") as fh:
        fh.write(Caption.from_text(f"a {NEW_WORD} walks").to_line() + "\n")
    return root


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("guo_ck") / "judge"
    state = train_guo_evaluator(data, out, TINY, fast(6), device="cpu", progress=False)
    return out, state


def _batch(model, clips):
    """A fixed batch: whole clips (cut to 4 frames) and their first captions."""
    words, pos, lens = model.caption_batch([c.captions[0].tokens for c in clips])
    table = {text: i for i, text in enumerate(dict.fromkeys(c.captions[0].text for c in clips))}
    ids = torch.as_tensor([table[c.captions[0].text] for c in clips])
    return [c.features for c in clips], words, pos, lens, ids


def test_training_lowers_the_contrastive_loss_and_ranks_above_chance(data, trained):
    out, state = trained
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4, 5, 6]
    model = GuoEvaluator.from_pretrained(out, device="cpu")
    torch.manual_seed(0)  # the trainer's init for seed 0
    untrained = GuoEvaluator(model.words, Normalizer.load(data), TINY).eval()
    clips = load_split(data, "train")[0][:32]
    with torch.no_grad():
        before = contrastive_loss(untrained, *_batch(untrained, clips), 1.0).item()
        after = contrastive_loss(model, *_batch(model, clips), 1.0).item()
    assert after < 0.8 * before
    # 8 actions, 4 clips of each per batch of 32 share a caption: 0.25 is the ceiling, 1/32 chance
    assert state["history"][-1]["val_R@1"] > 2 / 32


def test_folder_round_trip_gives_identical_embeddings(data, trained, tmp_path):
    out, _ = trained
    a = GuoEvaluator.from_pretrained(out, device="cpu")
    a.save_pretrained(tmp_path / "copy")
    b = GuoEvaluator.from_pretrained(tmp_path / "copy", device="cpu")
    clips = load_split(data, "test")[0]
    feats, caps = [c.features for c in clips], [c.captions[0].tokens for c in clips]
    assert torch.equal(a.encode_motion(feats), b.encode_motion(feats))
    assert torch.equal(a.encode_text(caps), b.encode_text(caps))
    assert a.encode_motion(feats).shape == (len(clips), TINY.coemb_dim)
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == TINY.to_dict() and config["training"]["epoch"] == 6
    np.testing.assert_array_equal(np.load(out / "Mean.npy"), Normalizer.load(data).mean)  # the folder's stats


def test_word_vectors_come_from_training_captions_only(data, trained):
    out, _ = trained
    words = WordVectors.load_saved(out)
    train_words = {t.partition("/")[0] for c in load_split(data, "train")[0] for cap in c.captions for t in cap.tokens}
    assert set(words.word_to_row) == train_words | {"sos", "eos", "unk"}
    assert NEW_WORD not in words.word_to_row  # seen in a val caption only
    vec, pos = words.token(f"{NEW_WORD}/NOUN")
    np.testing.assert_array_equal(vec, words.vectors[words.word_to_row["unk"]])
    assert pos.argmax() == POS_ENUMERATOR["OTHER"]


def test_caption_vectors_keep_the_official_token_rules():
    caps = [("a/DET", "person/NOUN", "walk/VERB", "left/ADV"), ("a/DET", "person/NOUN", "run/VERB", "right/ADV")] * 3
    caps.append(("a/DET", "person/NOUN", "cartwheel/VERB"))  # seen once: below min_count 2, counted as unk
    words = word_vectors_from_captions(caps, dim=16)
    assert list(words.word_to_row)[:3] == ["sos", "eos", "unk"] and "cartwheel" not in words.word_to_row
    assert words.vectors.shape == (len(words.word_to_row), 16)
    # left/right share every context but stay different vectors (the SVD keeps all dims)
    assert not np.allclose(words.token("left/ADV")[0], words.token("right/ADV")[0])
    assert np.linalg.norm(words.token("walk/VERB")[0]) == pytest.approx(ROW_NORM, rel=1e-5)
    assert words.token("left/ADV")[1].argmax() == POS_ENUMERATOR["Loc_VIP"]
    w, p, length = words.caption(("walk/VERB",) * 30)
    assert w.shape == (22, 16) and p.shape == (22, 15) and length == 22
    np.testing.assert_array_equal(word_vectors_from_captions(caps, dim=16).vectors, words.vectors)  # deterministic
    with pytest.raises(UserError, match="no caption tokens"):
        word_vectors_from_captions([()], dim=4)


def test_same_seed_same_weights_and_no_overwrite(data, trained, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    for out in (a, b):
        train_guo_evaluator(data, out, TINY, fast(1), device="cpu", progress=False)
    wa = GuoEvaluator.from_pretrained(a, device="cpu").state_dict()
    wb = GuoEvaluator.from_pretrained(b, device="cpu").state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    with pytest.raises(UserError, match="already exists"):
        train_guo_evaluator(data, a, TINY, fast(1), device="cpu", progress=False)


def test_bad_folders_are_user_errors(trained, tmp_path):
    out, _ = trained
    with pytest.raises(UserError, match="not found"):
        GuoEvaluator.from_pretrained(tmp_path / "nope")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "model.safetensors", "Mean.npy", "Std.npy", "word_vectors.npy", "word_vectors.json"):
        (broken / name).write_bytes((out / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(UserError, match="safetensors"):
        GuoEvaluator.from_pretrained(broken)
    config = json.loads((out / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "model_type": "motion_r1_text_motion"}))
    with pytest.raises(UserError, match="model_type"):
        GuoEvaluator.from_pretrained(broken)
    (broken / "config.json").write_text(json.dumps({**config, "model": {**config["model"], "word_dim": 7}}))
    with pytest.raises(UserError, match="word_dim=7"):
        GuoEvaluator.from_pretrained(broken)
    (broken / "word_vectors.json").write_text(json.dumps({"words": ["sos", "eos"]}))
    with pytest.raises(UserError, match="does not fit"):
        WordVectors.load_saved(broken)


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 64), "model.safetensors: not a readable"),
        (lambda f: _edit_model(f, text_hidden="32"), "text_hidden.*'32'"),
        (lambda f: _edit_model(f, text_hidden=48), "do not fit the architecture"),
        (lambda f: (f / "config.json").write_bytes(b"\xff{"), "config.json: not a Guo evaluator config"),
    ],
    ids=["corrupt-weights", "string-size", "other-size", "non-utf8-config"],
)
def test_hostile_judge_folders_are_one_line_errors(trained, tmp_path, spoil, words):
    import shutil

    folder = tmp_path / "judge"
    shutil.copytree(trained[0], folder)
    spoil(folder)
    with pytest.raises(UserError, match=words) as caught:
        GuoEvaluator.from_pretrained(folder, device="cpu")
    assert "\n" not in str(caught.value)


def _edit_model(folder, **fields):
    config = json.loads((folder / "config.json").read_text())
    config["model"].update(fields)
    (folder / "config.json").write_text(json.dumps(config))
