"""Turn the Hugging Face export inside a verl checkpoint into a model folder at its training precision.

``verl.model_merger`` always writes bfloat16 weights. For the CPU profiles, which train in float32,
that rounds every weight of a tiny model to 8 mantissa bits, and ``from_pretrained(dtype="auto")`` then
runs generation in bfloat16, which on CPU is also slower. When a checkpoint was saved with
``checkpoint.save_contents`` including ``hf_model``, verl writes ``global_step_N/[actor/]huggingface/``
with the full weights as trained; this module copies that folder and makes its ``config.json`` name the
dtype the weights really have (verl writes ``bfloat16`` there whatever it saved).

    python -m motion_r1_verl.verl_plugin.hf_export CKPT/global_step_N/huggingface TARGET_DIR

(``recipes/motion_r1/merge.sh`` does this when the export exists, and runs ``verl.model_merger`` otherwise.)

A LoRA run (``actor_rollout_ref.model.lora_rank > 0``) exports the PEFT-wrapped state instead
(``base_model.model.<name>.base_layer.weight`` + ``lora_A/lora_B``), which ``from_pretrained`` would load
as a model with missing weights. The export then merges each adapter into its layer,
``W + (lora_alpha / r) * B @ A`` (PEFT's own scaling; ``r`` and ``lora_alpha`` from the checkpoint's
``lora_train_meta.json``), and writes plain weight names: a model folder like any other.
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
from pathlib import Path

import torch

from motion_r1_verl.errors import UserError
from motion_r1_verl.runtime.files import atomic_dir

WEIGHTS = "model.safetensors"
LORA_META = "lora_train_meta.json"  # verl writes it beside huggingface/ in a LoRA checkpoint
PEFT_PREFIX = "base_model.model."
# safetensors dtype tags -> the names transformers writes in config.json
_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}


def weights_dtype(path: Path) -> str:
    """The one floating dtype of a ``.safetensors`` file's tensors, read from its header."""
    with path.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    found = {entry["dtype"] for name, entry in header.items() if name != "__metadata__"}
    floats = {_DTYPES[d] for d in found if d in _DTYPES}
    if len(floats) != 1:
        raise UserError(f"{path}: expected one floating dtype, found {sorted(found)}")
    return floats.pop()


def is_peft_state(names) -> bool:
    return any(name.startswith(PEFT_PREFIX) for name in names)


def merge_lora_state(state: dict[str, torch.Tensor], rank: int, alpha: float) -> dict[str, torch.Tensor]:
    """A PEFT-wrapped state dict (one ``default`` adapter) -> plain names with every adapter merged."""
    scale = float(alpha) / int(rank)
    merged: dict[str, torch.Tensor] = {}
    adapters: dict[str, dict[str, torch.Tensor]] = {}
    for name, tensor in state.items():
        plain = name.removeprefix(PEFT_PREFIX)
        for part in ("lora_A", "lora_B"):
            marker = f".{part}.default.weight"
            if plain.endswith(marker):
                adapters.setdefault(plain.removesuffix(marker), {})[part] = tensor
                break
        else:
            merged[plain.replace(".base_layer.", ".")] = tensor
    for layer, pair in adapters.items():
        base = merged.get(f"{layer}.weight")
        if base is None or set(pair) != {"lora_A", "lora_B"}:
            raise UserError(f"LoRA adapter of {layer}: expected lora_A, lora_B and the base weight")
        delta = pair["lora_B"].double() @ pair["lora_A"].double()
        if delta.shape != base.shape:
            raise UserError(f"LoRA adapter of {layer}: B @ A is {tuple(delta.shape)}, the weight {tuple(base.shape)}")
        merged[f"{layer}.weight"] = (base.double() + scale * delta).to(base.dtype)
    return merged


def _lora_meta(source: Path) -> tuple[int, float]:
    meta_path = source.parent / LORA_META
    try:
        meta = json.loads(meta_path.read_text())
        return int(meta["r"]), float(meta["lora_alpha"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"{meta_path}: a LoRA export needs r and lora_alpha here ({err})") from None


def export_hf_folder(source: Path, target: Path) -> str:
    """Copy ``source`` (verl's ``huggingface/`` export) to ``target`` atomically, LoRA adapters merged;
    returns the dtype."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    source, target = Path(source), Path(target)
    weights = source / WEIGHTS
    if not weights.is_file() or not (source / "config.json").is_file():
        raise UserError(f"{source}: no {WEIGHTS} + config.json (a checkpoint saved with hf_model in save_contents)")
    dtype = weights_dtype(weights)
    with safe_open(weights, "pt") as handle:
        peft = is_peft_state(handle.keys())
    # An existing target is replaced: moved aside, the copy renamed in, then the old one removed.
    with atomic_dir(target, durable=True) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        if peft:
            rank, alpha = _lora_meta(source)
            save_file(merge_lora_state(load_file(weights), rank, alpha), tmp / WEIGHTS, metadata={"format": "pt"})
        config = json.loads((tmp / "config.json").read_text())
        config["dtype"] = dtype
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return dtype


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m motion_r1_verl.verl_plugin.hf_export SOURCE_HF_DIR TARGET_DIR", file=sys.stderr)
        return 2
    try:
        dtype = export_hf_folder(Path(args[0]), Path(args[1]))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args[1]} ({dtype} weights, as trained)")  # LoRA adapters merged, if any
    return 0


if __name__ == "__main__":
    sys.exit(main())
