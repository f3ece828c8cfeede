"""A small synthetic set generated once per session (real generator, real files)."""

from pathlib import Path

import pytest

from motion_r1_verl.motion.sources.synth import SynthConfig, generate_dataset

# Held-out, val and test shares raised so a 48-clip set has a few clips in every split.
SMALL = SynthConfig(n=48, seed=7, workers=2, chunk_size=12, heldout_fraction=0.2, val_fraction=0.15, test_fraction=0.15)


@pytest.fixture(scope="session")
def small_config() -> SynthConfig:
    return SMALL


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    report = generate_dataset(out, config=SMALL, progress=False)
    assert report.n_clips == SMALL.n
    return out
