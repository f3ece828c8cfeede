"""merge.sh's full-precision path: verl's HF export copied with the dtype its weights really have."""

import json

import pytest
import torch
from safetensors.torch import save_file

from motion_r1_verl.errors import UserError
from motion_r1_verl.verl_plugin.hf_export import export_hf_folder, main, weights_dtype


def _export(folder, tensors, config_dtype="bfloat16"):
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen2", "dtype": config_dtype}))
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_float32_weights_keep_their_precision(tmp_path):
    weights = torch.randn(4, 3)
    source = _export(tmp_path / "ckpt" / "huggingface", {"w": weights, "ids": torch.arange(3)})
    assert export_hf_folder(source, tmp_path / "model") == "float32"
    assert json.loads((tmp_path / "model" / "config.json").read_text())["dtype"] == "float32"
    assert (tmp_path / "model" / "tokenizer.json").is_file()
    assert weights_dtype(tmp_path / "model" / "model.safetensors") == "float32"
    # Replacing an existing target leaves no temp folder behind.
    assert export_hf_folder(source, tmp_path / "model") == "float32"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "model"]


def test_bad_exports_are_user_errors(tmp_path, capsys):
    with pytest.raises(UserError, match="hf_model in save_contents"):
        export_hf_folder(tmp_path / "missing", tmp_path / "out")
    mixed = _export(tmp_path / "mixed", {"a": torch.zeros(2), "b": torch.zeros(2, dtype=torch.bfloat16)})
    with pytest.raises(UserError, match="one floating dtype"):
        export_hf_folder(mixed, tmp_path / "out")
    assert main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main([]) == 2
