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


def _tiny_qwen2():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=64, tie_word_embeddings=True,
    )  # fmt: skip
    return Qwen2ForCausalLM(config).eval()


def test_a_lora_export_is_merged_as_peft_merges_it(tmp_path):
    """verl's LoRA export (PEFT names, lora_train_meta.json beside it) becomes a plain model folder whose
    weights equal PEFT's merge_and_unload of the same adapter."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(_tiny_qwen2(), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # PEFT initialises B at zero: make the adapter do something
            param.data.normal_(std=0.1)
    # Tied embeddings: the export holds embed_tokens only, as verl's does.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("lm_head.weight")}
    assert any(".base_layer." in k for k in state) and any("lora_A.default" in k for k in state)
    source = _export(tmp_path / "actor" / "huggingface", state, config_dtype="float32")
    model.base_model.model.config.save_pretrained(source)
    (tmp_path / "actor" / "lora_train_meta.json").write_text(json.dumps({"r": 4, "lora_alpha": 8}))

    assert export_hf_folder(source, tmp_path / "model") == "float32"
    exported = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    expected = model.merge_and_unload().state_dict()
    got = exported.state_dict()
    assert set(got) == set(expected)  # lm_head comes back tied
    for name, tensor in expected.items():
        torch.testing.assert_close(got[name], tensor, rtol=1e-5, atol=1e-6, msg=name)
    ids = torch.tensor([[1, 2, 3, 4]])
    assert not torch.equal(exported(ids).logits, _tiny_qwen2()(ids).logits)  # the adapter is in the weights


def test_a_lora_export_without_its_meta_file_is_a_user_error(tmp_path):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(_tiny_qwen2(), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("lm_head.weight")}
    source = _export(tmp_path / "actor" / "huggingface", state)
    with pytest.raises(UserError, match="lora_train_meta.json"):
        export_hf_folder(source, tmp_path / "model")
    assert not (tmp_path / "model").exists()
