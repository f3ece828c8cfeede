"""bench/gpu_smoke.sh parses, and on a machine without a GPU stops at once with one line and exit code 2."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_smoke.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the script needs bash")


def test_gpu_smoke_script_parses():
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gpu_smoke_without_a_gpu_says_so(tmp_path):
    # An nvidia-smi that finds no GPU, first on PATH: the same answer on a GPU machine and on CI.
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ['PATH']}", WORK=str(tmp_path / "work"))
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gpu_smoke: no NVIDIA GPU visible (nvidia-smi -L failed); this script needs one"
    ]
    assert not (tmp_path / "work").exists()  # nothing written before the check
