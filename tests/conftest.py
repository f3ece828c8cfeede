"""Shared fixtures: where the real reference data lives, and thread limits for a 2-core CI."""

from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (real HumanML3D clip, stats, tokenizer, BVH...)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (it lives beside the checkout in ../shared/data)")
    return SHARED_DATA
