"""Turn the Hugging Face export inside a verl checkpoint into a model folder at its training precision.

``verl.model_merger`` always writes bfloat16 weights. For the CPU profiles, which train in float32,
that rounds every weight of a tiny model to 8 mantissa bits, and ``from_pretrained(dtype="auto")`` then
runs generation in bfloat16, which on CPU is also slower. When a checkpoint was saved with
``checkpoint.save_contents`` including ``hf_model``, verl writes ``global_step_N/[actor/]huggingface/``
with the full weights as trained; this module copies that folder and makes its ``config.json`` name the
dtype the weights really have (verl writes ``bfloat16`` there whatever it saved).

    python -m motion_r1_verl.verl_plugin.hf_export CKPT/global_step_N/huggingface TARGET_DIR

(``recipes/motion_r1/merge.sh`` does this when the export exists, and runs ``verl.model_merger`` otherwise.)
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
from pathlib import Path

from motion_r1_verl.errors import UserError
from motion_r1_verl.runtime.files import atomic_dir

WEIGHTS = "model.safetensors"
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


def export_hf_folder(source: Path, target: Path) -> str:
    """Copy ``source`` (verl's ``huggingface/`` export) to ``target`` atomically; returns the dtype."""
    source, target = Path(source), Path(target)
    weights = source / WEIGHTS
    if not weights.is_file() or not (source / "config.json").is_file():
        raise UserError(f"{source}: no {WEIGHTS} + config.json (a checkpoint saved with hf_model in save_contents)")
    dtype = weights_dtype(weights)
    # An existing target is replaced: moved aside, the copy renamed in, then the old one removed.
    with atomic_dir(target, durable=True) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
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
    print(f"wrote {args[1]} ({dtype} weights, as trained)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
