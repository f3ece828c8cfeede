"""The Guo et al. evaluator port: official checkpoint layout, safe loading, real word lists, batched == single."""

import pickle

import numpy as np
import pytest
import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.retrieval.glove import PlainDataUnpickler, WordVectors, load_plain_pickle
from motion_r1_verl.retrieval.guo import GuoEvaluator

from .guo_official import OFFICIAL_SHAPES, make_official_files


class NotWeights:
    """A pickled class instance: a weights-only load must refuse it."""


@pytest.fixture(scope="module")
def evaluator_files(tmp_path_factory, shared_data):
    return make_official_files(tmp_path_factory.mktemp("guo"), shared_data)


def test_real_word_lists_load_through_the_restricted_unpickler(shared_data):
    words = load_plain_pickle(shared_data / "t2m_evaluator" / "our_vab_words.pkl")
    index = load_plain_pickle(shared_data / "t2m_evaluator" / "our_vab_idx.pkl")
    assert len(words) == 4199 and words[:3] == ["sos", "eos", "unk"]
    assert index["walk"] < 4199 and set(words) == set(index)


def test_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(UserError, match="builtins.print"):
        load_plain_pickle(path)
    assert issubclass(PlainDataUnpickler, pickle.Unpickler)


@pytest.fixture(scope="module")
def evaluator(evaluator_files):
    ckpt_path, glove, norm, _ = evaluator_files
    return GuoEvaluator.from_files(ckpt_path, glove, norm, device="cpu")


def test_official_layout_loads_and_embeds(evaluator_files, evaluator):
    ckpt = evaluator_files[3]
    ev = evaluator
    for part in OFFICIAL_SHAPES:
        for key, value in getattr(ev, part).state_dict().items():
            torch.testing.assert_close(value, ckpt[part][key])
    rng = np.random.default_rng(1)
    feats = [rng.normal(size=(n, 263)).astype(np.float32) for n in (40, 63, 196)]
    z = ev.encode_motion(feats)
    assert z.shape == (3, 512) and torch.isfinite(z).all()
    t = ev.encode_text([("a/DET", "person/NOUN", "walk/VERB", "forward/ADV"), ("someone/PRON", "jump/VERB")])
    assert t.shape == (2, 512) and not torch.allclose(t[0], t[1])


def test_batched_embeddings_equal_one_at_a_time_and_ignore_contacts(evaluator):
    ev = evaluator
    rng = np.random.default_rng(2)
    feats = [rng.normal(size=(n, 263)).astype(np.float32) for n in (44, 101, 80)]
    batched = ev.encode_motion(feats)
    single = torch.cat([ev.encode_motion([f]) for f in feats])
    torch.testing.assert_close(batched, single, atol=1e-4, rtol=1e-4)
    # foot contacts (last 4 dims) and frames past the last multiple of 4 are not seen by the evaluator
    changed = feats[1].copy()
    changed[:, -4:] = 1.0
    changed[100:] += 3.0  # frame 100 is dropped (101 -> 100 frames)
    torch.testing.assert_close(ev.encode_motion([changed]), single[1:2], atol=1e-5, rtol=1e-5)
    caps = [("a/DET", "man/NOUN", "kick/VERB"), ("the/DET", "person/NOUN", "walk/VERB", "in/ADP", "a/DET", "loop/NOUN")]
    one_by_one = torch.cat([ev.encode_text([c]) for c in caps])
    torch.testing.assert_close(ev.encode_text(caps), one_by_one, atol=1e-5, rtol=1e-5)


def test_word_vectors_follow_the_official_token_rules(evaluator_files):
    _, glove, _, _ = evaluator_files
    words = WordVectors.load(glove)
    vec, pos = words.token("left/ADJ")  # a direction word gets the Loc_VIP slot
    assert pos.argmax() == 9
    vec_unk, pos_unk = words.token("qwertyuiop/NOUN")
    np.testing.assert_array_equal(vec_unk, words.vectors[words.word_to_row["unk"]])
    assert pos_unk.argmax() == 14
    w, p, length = words.caption(tuple("walk/VERB" for _ in range(30)))
    assert w.shape == (22, 300) and p.shape == (22, 15) and length == 22  # 20 kept + sos + eos
    _, _, short = words.caption(("a/DET", "man/NOUN"))
    assert short == 4


def test_bad_checkpoints_are_user_errors(evaluator_files, tmp_path):
    _, glove, norm, ckpt = evaluator_files

    torch.save({"movement_encoder": NotWeights()}, tmp_path / "pickled_object.tar")
    with pytest.raises(UserError, match="weights-only"):
        GuoEvaluator.from_files(tmp_path / "pickled_object.tar", glove, norm, device="cpu")
    torch.save({"text_encoder": ckpt["text_encoder"]}, tmp_path / "partial.tar")
    with pytest.raises(UserError, match="expected entries"):
        GuoEvaluator.from_files(tmp_path / "partial.tar", glove, norm, device="cpu")
    wrong = {**ckpt, "motion_encoder": {k: v[..., :1] for k, v in ckpt["motion_encoder"].items()}}
    torch.save(wrong, tmp_path / "wrong.tar")
    with pytest.raises(UserError, match="does not fit"):
        GuoEvaluator.from_files(tmp_path / "wrong.tar", glove, norm, device="cpu")
    with pytest.raises(UserError, match="GloVe files missing"):
        GuoEvaluator.from_files(tmp_path / "wrong.tar", tmp_path, norm, device="cpu")
