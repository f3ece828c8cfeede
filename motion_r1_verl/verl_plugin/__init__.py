"""verl platform plugin: run upstream verl 0.9.1 on a CPU-only machine.

verl has no CPU platform (it falls back to "nvidia": device ``cuda``, backend ``nccl``). This package is
loaded by ``import verl`` in every process (driver, torchrun ranks, Ray workers, vLLM workers) through
the ``verl.plugins`` entry point declared in ``pyproject.toml``. It does NOTHING unless the environment
says ``VERL_PLATFORM=cpu``; then it registers a CPU platform and applies the few patches listed in
:mod:`motion_r1_verl.verl_plugin.patches`. GPU runs never set that variable and are untouched.

Importing this module costs one ``os.environ`` lookup; the patch modules are imported only when active.

Run verl on CPU::

    VERL_PLATFORM=cpu VERL_ENGINE_DEVICE=cuda torchrun --nproc_per_node=1 -m verl.trainer.sft_trainer ...

(``VERL_ENGINE_DEVICE=cuda`` because verl registers its FSDP engine for cuda/npu only; the engine code
itself is device-agnostic and runs on the platform's ``cpu`` device.)
"""

import os

PLATFORM_ENV = "VERL_PLATFORM"
CPU_PLATFORM_NAME = "cpu"


def is_cpu_requested() -> bool:
    """True when the process was started with ``VERL_PLATFORM=cpu`` (case and spaces ignored)."""
    return os.environ.get(PLATFORM_ENV, "").strip().lower() == CPU_PLATFORM_NAME


if is_cpu_requested():
    # verl swallows exceptions raised while loading plugins (logged at DEBUG only); if activation
    # fails, verl then stops with "Unknown platform 'cpu'", which points back here.
    from motion_r1_verl.verl_plugin.patches import activate

    activate()
