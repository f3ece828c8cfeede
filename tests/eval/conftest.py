from pathlib import Path

import pytest
from retrieval.toy_data import make_toy_dataset

from motion_r1_verl.cli.main import main


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("eval_hml"), n_train=160, n_val=32, n_test=64)


@pytest.fixture(scope="session")
def toy_ckpt(toy_data, tmp_path_factory) -> Path:
    """A tiny retrieval model trained through the CLI."""
    out = tmp_path_factory.mktemp("eval_ck") / "ck"
    argv = ["retrieval", "train", "--data", str(toy_data), "--out", str(out), "--preset", "tiny"]
    argv += ["--epochs", "6", "--batch-size", "32", "--lr", "1e-3", "--val-every", "3", "--device", "cpu"]
    argv += ["--threads", "1"]  # 2 threads on a shared 2-core machine thrash
    assert main(argv) == 0
    return out
