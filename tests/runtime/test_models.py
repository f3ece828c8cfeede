"""The shared model cache: one load per (kind, folder, device), a reload after retraining in place."""

import os

import torch

from motion_r1_verl.runtime.device import pick_device
from motion_r1_verl.runtime.models import WEIGHTS_NAME, cached_model, clear_models


def test_pick_device_honours_the_caller_and_defaults_to_what_the_process_has():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(None).type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("") == pick_device(None)


def test_one_load_per_folder_and_device_then_a_reload_after_retraining(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    weights = folder / WEIGHTS_NAME
    weights.write_bytes(b"v1")
    loads = []

    def load(path, device):
        loads.append((path, device))
        return object()

    first = cached_model("test-kind", folder, "cpu", load)
    assert cached_model("test-kind", str(folder) + "/", "cpu", load) is first  # same folder, spelled otherwise
    assert len(loads) == 1 and loads[0] == (folder.resolve(), torch.device("cpu"))
    assert cached_model("other-kind", folder, "cpu", load) is not first  # kinds do not share entries
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # retrained in place
    assert cached_model("test-kind", folder, "cpu", load) is not first
    clear_models("test-kind")
    cached_model("test-kind", folder, "cpu", load)
    assert len(loads) == 4
    clear_models()
