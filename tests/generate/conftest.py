"""Fixtures for the generate tests, built in-process (about 10 s in total on 2 cores):

- ``tiny_codec``: a VQ-VAE (codebook 32) trained a few steps on 32 synthetic clips;
- ``tiny_model``: ``motion-r1 llm make-tiny`` + ``motion-r1 llm extend-vocab --codec`` (so motion_vocab.json
  records the codec), a random model: its responses are malformed;
- ``fitted_model``: the same model briefly overfitted on ONE well-formed response, so its greedy output is
  that response (real model, real ``generate``);
- ``split_fitted_model``: the same, overfitted on the first test captions of ``tiny_synth``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# tests/tokenizer_ext (no __init__.py) shadows the real `tokenizer_ext` package as a namespace package
# when tests/ is on sys.path and the repo root is not (`.venv/bin/pytest`); the CLI verbs used below import
# it. A regular package earlier on sys.path wins, so put the repo root first (as tests/tokenizer_ext does).
_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)
if getattr(sys.modules.get("tokenizer_ext"), "__file__", "") is None:
    sys.modules.pop("tokenizer_ext", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from motion_r1_verl.cli.main import main  # noqa: E402
from motion_r1_verl.protocol import chat_prompt, format_response  # noqa: E402

CODEBOOK_SIZE = 32
CAPTION = "a person walks forward then waves"
THINK = "The person first walks forward a few steps, then waves the right hand."
PLAN = "1. walk forward 3 steps\n2. wave the right hand 2 times"
CODES = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7]
RESPONSE = format_response(THINK, PLAN, CODES)


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """32 synthetic clips in HumanML3D format (train/val/test splits, captions)."""
    from motion_r1_verl.motion.sources.synth.generate import SynthConfig, generate_dataset

    root = tmp_path_factory.mktemp("gen_synth") / "synth"
    generate_dataset(
        root, config=SynthConfig(n=32, seed=0, workers=1, val_fraction=0.2, test_fraction=0.2), progress=False
    )
    return root


@pytest.fixture(scope="session")
def tiny_codec(tiny_synth, tmp_path_factory) -> Path:
    from motion_r1_verl.vq.config import VQConfig, VQModelConfig, VQTrainConfig
    from motion_r1_verl.vq.train import train_vq

    root = tmp_path_factory.mktemp("gen_codec")
    config = VQConfig(
        model=VQModelConfig(width=32, code_dim=16, codebook_size=CODEBOOK_SIZE, depth=2),
        train=VQTrainConfig(
            steps=8,
            batch_size=8,
            window=32,
            lr=2e-3,
            warmup_steps=2,
            lr_milestones=(6,),
            val_every=1000,
            save_every=1000,
            val_max_clips=4,
        ),
    )
    train_vq(tiny_synth, root / "vq", config, device="cpu", progress=False)
    return root / "vq"


@pytest.fixture(scope="session")
def tiny_model(tiny_codec, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen_llm")
    (root / "texts.txt").write_text(f"{CAPTION}\n{THINK}\n{PLAN}\n")
    assert main(["llm", "make-tiny", "--out", str(root / "tiny"), "--texts", str(root / "texts.txt")]) == 0
    args = ["--base", str(root / "tiny"), "--codebook-size", str(CODEBOOK_SIZE), "--codec", str(tiny_codec)]
    assert main(["llm", "extend-vocab", *args, "--out", str(root / "model")]) == 0
    return root / "model"


def overfit(model_dir: Path, out_dir: Path, pairs: list[tuple[str, str]], max_steps: int = 400) -> Path:
    """Train ``model_dir`` on (caption, response) ``pairs`` until greedy decoding reproduces each response;
    save to ``out_dir``.

    The stop rule is on the WORST response token (probability > 0.9), not the mean loss: the argmax at every
    step is then the trained token whatever the CPU's floating-point details, so greedy output is exact.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    rows = []
    for caption, response in pairs:
        prompt = tokenizer.apply_chat_template(chat_prompt(caption), tokenize=False, add_generation_prompt=True)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(response + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        rows.append((prompt_ids, answer_ids))
    width = max(len(p) + len(a) for p, a in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (prompt_ids, answer_ids) in enumerate(rows):
        n = len(prompt_ids) + len(answer_ids)
        ids[i, :n] = torch.tensor(prompt_ids + answer_ids)
        labels[i, len(prompt_ids) : n] = torch.tensor(answer_ids)  # loss on the response only, as SFT does
        mask[i, :n] = 1
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(max_steps):
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        target = labels[:, 1:]
        token_loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="none"
        )[target.reshape(-1) != -100]
        worst = token_loss.max().item()
        if worst < 0.1:  # every response token has probability > 0.9
            break
        optimizer.zero_grad()
        token_loss.mean().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    assert worst < 0.1, f"overfitting did not converge (worst token loss {worst:.3f})"
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "motion_vocab.json").write_text((model_dir / "motion_vocab.json").read_text())
    return out_dir


@pytest.fixture(scope="session")
def fitted_model(tiny_model, tmp_path_factory) -> Path:
    return overfit(tiny_model, tmp_path_factory.mktemp("gen_fit") / "model", [(CAPTION, RESPONSE)])


# How many test captions of ``tiny_synth`` the split-mode tests generate for.
SPLIT_CAPTIONS = 5


@pytest.fixture(scope="session")
def split_fitted_model(tiny_model, tiny_synth, tmp_path_factory) -> Path:
    """The tiny model overfitted on the first test captions of ``tiny_synth`` (each answered with RESPONSE),
    so split-mode generation is well-formed for every one of them by construction, not by luck."""
    from motion_r1_verl.motion.core.humanml3d import load_split

    clips, _ = load_split(tiny_synth, "test")
    pairs = [(c.captions[0].text, RESPONSE) for c in clips[:SPLIT_CAPTIONS]]
    return overfit(tiny_model, tmp_path_factory.mktemp("gen_fit_split") / "model", pairs)


def codes_array() -> np.ndarray:
    return np.asarray(CODES, dtype=np.int64)
