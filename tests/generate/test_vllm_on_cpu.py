"""The vLLM backend on the overfitted tiny model: greedy output is the known response, ``</Motion>`` included.

Opt-in (``MOTION_R1_TEST_VLLM=1``): starting a vLLM engine costs one to several minutes on a 2-core CPU, and
``backend="auto"`` never picks vLLM without CUDA. Uses the ``vllm-cpu`` build when no GPU is present.
"""

import importlib.util
import os

import pytest
from conftest import CAPTION, CODES, RESPONSE

from motion_r1_verl.generate import GenerateConfig, generate_motions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("MOTION_R1_TEST_VLLM") != "1", reason="set MOTION_R1_TEST_VLLM=1 to run"),
    pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed"),
]


def test_vllm_backend_matches_the_response(fitted_model, monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"))
    config = GenerateConfig(backend="vllm", temperature=0, max_new_tokens=128)
    results = generate_motions(fitted_model, [CAPTION, CAPTION], config=config, progress=False)
    for result in results:
        assert result.valid and result.text == RESPONSE
        assert result.codes.tolist() == CODES
