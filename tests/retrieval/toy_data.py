"""A small HumanML3D-format folder whose motions depend on their captions (for retrieval/eval tests).

Each clip belongs to one of ``ACTIONS``; its features carry an action-specific oscillation on a few dims plus
noise, and its captions name the action (two paraphrases per action), so a text-motion model can learn it.
"""

from pathlib import Path

import numpy as np

from motion_r1_verl.motion.core.constants import FEATURE_DIM
from motion_r1_verl.motion.core.humanml3d import Caption, write_clip, write_split
from motion_r1_verl.motion.core.normalization import Normalizer

ACTIONS = ["walk", "run", "jump", "wave", "kick", "squat", "bow", "clap"]
PARAPHRASES = ["a person {verb}s", "someone {verb}s in place"]


def toy_features(action: int, rng: np.random.Generator, length: int) -> np.ndarray:
    t = np.arange(length)[:, None] / 20.0
    x = 0.3 * rng.normal(size=(length, FEATURE_DIM))
    dims = np.arange(action * 30, action * 30 + 30)
    x[:, dims] += 2.0 * np.sin(2 * np.pi * (0.5 + action * 0.4) * t + rng.uniform(0, 2 * np.pi))
    return x.astype(np.float32)


def make_toy_dataset(root: Path, n_train: int = 160, n_val: int = 64, n_test: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    splits: dict[str, list[str]] = {}
    train_feats = []
    counter = 0
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        ids = []
        for _ in range(n):
            action = counter % len(ACTIONS)
            clip_id = f"{counter:06d}"
            feats = toy_features(action, rng, int(rng.integers(40, 90)))
            caps = [Caption.from_text(p.format(verb=ACTIONS[action])) for p in PARAPHRASES]
            write_clip(root, clip_id, feats, caps)
            ids.append(clip_id)
            if split == "train":
                train_feats.append(feats)
            counter += 1
        splits[split] = ids
    for split, ids in splits.items():
        write_split(root, split, ids)
    Normalizer.fit(train_feats).save(root)
    return root
