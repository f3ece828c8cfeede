"""The reader's length rule against the real HumanML3D index: it keeps exactly the test ids that Guo et
al.'s loader keeps (``len(motion) < 40 or len(motion) >= 200: continue``).

``index.csv`` gives each clip's start and end frame at 20 fps; a clip's feature file has one row fewer
than its frames (velocities need a next frame), which the one real clip in ``../shared/data`` confirms.
The test writes a feature file of that length for every test id near the two boundaries (plus a sample
of the rest), reads the folder with the standard reader and compares the kept ids with the reference rule.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from motion_r1_verl.motion.core.humanml3d import Caption, load_split, write_clip, write_split


def _feature_lengths(humanml3d: Path) -> dict[str, int]:
    """Feature rows of every clip whose end frame is known (``-1`` means "to the end of the source")."""
    lengths = {}
    with (humanml3d / "index.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            start, end = int(row["start_frame"]), int(row["end_frame"])
            if end >= 0:
                lengths[Path(row["new_name"]).stem] = end - start - 1
    return lengths


def test_index_lengths_match_the_real_clip(shared_data):
    humanml3d = shared_data / "humanml3d"
    real = np.load(humanml3d / "new_joint_vecs" / "012314.npy")
    assert _feature_lengths(humanml3d)["012314"] == real.shape[0]


def test_reader_keeps_exactly_the_test_ids_guo_keeps(shared_data, tmp_path):
    humanml3d = shared_data / "humanml3d"
    lengths = _feature_lengths(humanml3d)
    test_ids = [line.strip() for line in (humanml3d / "test.txt").read_text().splitlines() if line.strip()]
    # Mirrored ids (M000123) are the same clip flipped: same length.
    known = {i: lengths[i.removeprefix("M")] for i in test_ids if i.removeprefix("M") in lengths}
    near_edges = [i for i, n in known.items() if 36 <= n <= 44 or 192 <= n <= 204]
    rest = sorted(set(known) - set(near_edges))[::40]
    chosen = sorted(near_edges + rest)
    # Every clip with a known end is under 200 feature rows (the source clips were cut at 10 s); the upper
    # edge itself is pinned on synthetic lengths in test_humanml3d.py. 1,522 of these test ids are 197-199
    # rows long: the protocol keeps them, cut to 196.
    assert {known[i] for i in chosen} >= {39, 40, 196, 197, 198, 199}, "the sample must straddle both edges"

    zeros = {n: np.zeros((n, 263), np.float32) for n in {known[i] for i in chosen}}
    for clip_id in chosen:
        write_clip(tmp_path, clip_id, zeros[known[clip_id]], [Caption.from_text("a person moves")])
    write_split(tmp_path, "test", chosen)

    clips, report = load_split(tmp_path, "test")
    expected = {i for i in chosen if not (known[i] < 40 or known[i] >= 200)}  # Guo et al.'s rule, verbatim
    assert {c.id for c in clips} == expected
    assert set(report.skipped) == set(chosen) - expected
    assert all(c.features.shape[0] == min(known[c.id], 196) for c in clips)
