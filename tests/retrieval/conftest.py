from pathlib import Path

import pytest

from .toy_data import make_toy_dataset


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("toy_hml"))
