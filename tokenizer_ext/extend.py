"""``extend_vocab``: base HF causal LM + tokenizer -> extended model folder with motion tokens.

Why each step:
- tokens are added NON-special (see :mod:`tokenizer_ext.tokens`);
- input AND output embeddings grow to ``ceil(len(tokenizer) / multiple) * multiple`` rows (never
  shrink: Qwen2.5 ships 151,936 rows for 151,665 tokens); multiples of 64/128 keep matmuls fast;
- new rows start at the mean of the base model's real-token rows plus small noise (so the new
  tokens start as "average" tokens and are distinguishable from each other), or at a random
  projection of the VQ codebook (so codes that are close in motion space start close);
- tied embeddings (Qwen2.5 <= 3B) stay tied unless ``untie_embeddings``; then the output layer gets
  its own copy before new rows are initialised (each from its own statistics).

The result is checked (:func:`tokenizer_ext.checks.run_checks`) and written atomically: everything
goes to a hidden temp folder beside ``OUT`` first, then it is renamed in
(:func:`motion_r1_verl.runtime.files.atomic_dir`).

Run: ``motion-r1 llm extend-vocab --base Qwen/Qwen2.5-3B-Instruct --codebook-size 512 --out runs/qwen-motion``
"""

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.protocol import MOTION_END, MOTION_START, REASONING_TAGS, motion_token, motion_tokens
from motion_r1_verl.runtime.files import atomic_dir
from tokenizer_ext.checks import run_checks
from tokenizer_ext.tokens import add_motion_tokens

logger = logging.getLogger(__name__)

MOTION_VOCAB_FILE = "motion_vocab.json"
INIT_METHODS = ("mean", "codebook")


@dataclass
class ExtendConfig:
    """What ``extend_vocab`` does.

    Fields:
        base: local HF folder or hub id of the base causal LM (with its tokenizer).
        codebook_size: K, number of VQ codes; adds ``<Motion_0>`` .. ``<Motion_{K-1}>``.
        out: output folder (must not exist unless ``overwrite``).
        pad_to_multiple_of: embedding rows are rounded up to a multiple of this (1 = no padding).
        init: ``mean`` (mean of real-token rows + noise) or ``codebook`` (projection of the VQ codebook).
        codec: VQ codec checkpoint (folder with ``model.safetensors``, a ``.safetensors`` or a ``.npy``
            codebook ``(K, d)``); required for ``init="codebook"``, recorded in ``motion_vocab.json``.
        untie_embeddings: give the output layer its own weights (tied base models only).
        noise_scale: std of the init noise, as a fraction of the per-dimension std of existing rows.
        seed: seed of the init noise / projection.
        overwrite: replace an existing ``out`` folder.
    """

    base: str
    codebook_size: int
    out: Path
    pad_to_multiple_of: int = 128
    init: str = "mean"
    codec: str | None = None
    untie_embeddings: bool = False
    noise_scale: float = 0.1
    seed: int = 0
    overwrite: bool = False

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        if self.codebook_size < 1:
            raise field_error("codebook_size", f"must be >= 1, got {self.codebook_size}")
        if self.pad_to_multiple_of < 1:
            raise field_error("pad_to_multiple_of", f"must be >= 1, got {self.pad_to_multiple_of}")
        if self.init not in INIT_METHODS:
            raise field_error("init", f"must be one of {INIT_METHODS}, got {self.init!r}")
        if self.init == "codebook" and not self.codec:
            raise field_error(
                "codec", "is required with init='codebook' (the VQ checkpoint whose codebook is projected)"
            )
        if self.noise_scale < 0:
            raise field_error("noise_scale", f"must be >= 0, got {self.noise_scale}")
        if self.out.exists() and not self.overwrite:
            raise UserError(
                f"output folder {self.out} already exists (pass overwrite=True to replace it)", mentions=("overwrite",)
            )


@dataclass
class MotionVocab:
    """Contents of ``motion_vocab.json``: how motion codes map to token ids in an extended model.

    ``tokens`` maps every added spelling (``<Motion>``, ``</Motion>``, ``<Motion_i>``, reasoning tags)
    to its id; ``first_code_id + code`` is the id of ``<Motion_code>`` (checked contiguous).
    """

    codebook_size: int
    base_model: str
    codec_checkpoint: str | None
    motion_start_id: int
    motion_end_id: int
    first_code_id: int
    tokenizer_length: int
    embedding_rows: int
    tied_embeddings: bool
    init: str
    tokens: dict[str, int] = field(default_factory=dict)

    def code_to_id(self, code: int) -> int:
        if not 0 <= code < self.codebook_size:
            raise ValueError(f"code {code} outside the codebook [0, {self.codebook_size})")
        return self.first_code_id + code

    def save(self, folder: Path) -> None:
        (Path(folder) / MOTION_VOCAB_FILE).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> "MotionVocab":
        path = Path(folder) / MOTION_VOCAB_FILE
        if not path.is_file():
            raise UserError(f"{path} not found: is {folder} a folder written by `motion-r1 llm extend-vocab`?")
        return cls(**json.loads(path.read_text()))


def padded_rows(n_tokens: int, current_rows: int, multiple: int) -> int:
    """Embedding rows after extension: ``n_tokens`` rounded up to ``multiple``, never fewer than now."""
    return max(current_rows, math.ceil(n_tokens / multiple) * multiple)


def load_codebook(codec: str | Path, codebook_size: int) -> torch.Tensor:
    """The ``(K, d)`` codebook from a ``.npy``, a ``.safetensors`` or a codec folder's ``model.safetensors``.

    In a safetensors file the 2-D tensor whose name contains ``codebook`` and has K rows is used.
    """
    path = Path(codec)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise UserError(f"codec checkpoint {path} not found (expected a .npy codebook, a .safetensors or a folder)")
    if path.suffix == ".npy":
        codebook = torch.from_numpy(np.load(path, allow_pickle=False))
    else:
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        candidates = [
            t for name, t in tensors.items() if "codebook" in name and t.ndim == 2 and t.shape[0] == codebook_size
        ]
        if not candidates:
            raise UserError(f"{path} has no 2-D tensor named '*codebook*' with {codebook_size} rows")
        codebook = candidates[0]
    if codebook.ndim != 2 or codebook.shape[0] != codebook_size:
        raise UserError(f"codebook in {path} has shape {tuple(codebook.shape)}, expected ({codebook_size}, d)")
    return codebook.float()


def _new_rows(
    reference: torch.Tensor, n: int, noise_scale: float, generator: torch.Generator, codebook: torch.Tensor | None
) -> torch.Tensor:
    """``n`` rows around the mean of ``reference`` (real-token rows): noise, or a codebook projection."""
    ref = reference.float()
    mean, std = ref.mean(0), ref.std(0)
    if codebook is None:
        return mean + noise_scale * std * torch.randn(n, ref.shape[1], generator=generator)
    centred = codebook - codebook.mean(0)
    # Gaussian random projection preserves pairwise distances up to a scale (Johnson-Lindenstrauss).
    projection = torch.randn(codebook.shape[1], ref.shape[1], generator=generator) / math.sqrt(codebook.shape[1])
    projected = centred @ projection
    projected = projected / projected.std().clamp_min(1e-12) * std.mean()
    return mean + projected


def _is_tied(model: PreTrainedModel) -> bool:
    out = model.get_output_embeddings()
    return out is not None and out.weight is model.get_input_embeddings().weight


def extend_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    config: ExtendConfig,
    codebook: torch.Tensor | None = None,
) -> MotionVocab:
    """Add the tokens to ``tokenizer`` and grow/initialise ``model``'s embeddings in place."""
    base_len = len(tokenizer)
    added = add_motion_tokens(tokenizer, config.codebook_size)
    inp = model.get_input_embeddings()
    out_layer = model.get_output_embeddings()
    tied = _is_tied(model)
    ref_in = inp.weight.detach()[:base_len].clone()
    ref_out = out_layer.weight.detach()[:base_len].clone() if out_layer is not None and not tied else None
    old_rows = inp.weight.shape[0]
    rows = padded_rows(len(tokenizer), old_rows, config.pad_to_multiple_of)

    if config.untie_embeddings and tied:
        # Copy the shared matrix into the output layer BEFORE resizing, so both grow independently.
        out_layer.weight = torch.nn.Parameter(inp.weight.detach().clone())
        model.config.tie_word_embeddings = False
        text_config = model.config.get_text_config()
        text_config.tie_word_embeddings = False
        ref_out = ref_in.clone()
        tied = False
    model.resize_token_embeddings(rows, mean_resizing=False)
    assert _is_tied(model) == tied, "resize_token_embeddings changed the tying"

    # Rows to (re)initialise: the added tokens (they may sit in the base's old padding rows) and
    # any padding rows this resize created beyond them.
    new_ids = sorted(set(tokenizer.convert_tokens_to_ids(added)) | set(range(max(old_rows, len(tokenizer)), rows)))
    generator = torch.Generator().manual_seed(config.seed)
    motion_code_ids = tokenizer.convert_tokens_to_ids([motion_token(i) for i in range(config.codebook_size)])
    with torch.no_grad():
        for layer, ref in ((model.get_input_embeddings(), ref_in), (model.get_output_embeddings(), ref_out)):
            if ref is None or not new_ids:
                continue
            weight = layer.weight
            values = _new_rows(ref, len(new_ids), config.noise_scale, generator, None)
            weight[new_ids] = values.to(weight.dtype)
            if codebook is not None and set(motion_code_ids) <= set(new_ids):
                coded = _new_rows(ref, config.codebook_size, config.noise_scale, generator, codebook)
                weight[motion_code_ids] = coded.to(weight.dtype)

    vocab = tokenizer.get_vocab()
    return MotionVocab(
        codebook_size=config.codebook_size,
        base_model=str(config.base),
        # Absolute: the model folder is used from other working directories (generate, verl, merge).
        codec_checkpoint=str(Path(config.codec).resolve()) if config.codec else None,
        motion_start_id=vocab[MOTION_START],
        motion_end_id=vocab[MOTION_END],
        first_code_id=vocab[motion_token(0)],
        tokenizer_length=len(tokenizer),
        embedding_rows=rows,
        tied_embeddings=tied,
        init=config.init,
        tokens={t: vocab[t] for t in (*motion_tokens(config.codebook_size), *REASONING_TAGS)},
    )


def stop_at_motion_end(model, motion_end_id: int) -> None:
    """Add ``</Motion>`` to the model's end-of-generation ids (``generation_config.json``).

    A response is complete at ``</Motion>``; vLLM (verl's rollout) and transformers both read these ids
    as stop tokens, so a rollout ends there instead of sampling text after the motion span.
    """
    generation = model.generation_config
    eos = generation.eos_token_id
    ids = [] if eos is None else [int(eos)] if isinstance(eos, int) else [int(i) for i in eos]
    if not ids and model.config.eos_token_id is not None:
        ids = [int(model.config.eos_token_id)]
    if motion_end_id not in ids:
        ids.append(int(motion_end_id))
    generation.eos_token_id = ids


def extend_vocab(config: ExtendConfig) -> MotionVocab:
    """Load ``config.base``, extend it, check it, and write ``config.out`` atomically."""
    base = Path(config.base)
    if base.is_dir() and not (base / "config.json").is_file():
        raise field_error("base", f"{base} is not a Hugging Face model folder (no config.json)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(config.base)
        model = AutoModelForCausalLM.from_pretrained(config.base, dtype="auto")
    except (OSError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot load base model {config.base!r}: {first_line}") from err
    codebook = load_codebook(config.codec, config.codebook_size) if config.init == "codebook" else None
    info = extend_model(model, tokenizer, config, codebook)
    run_checks(tokenizer, config.codebook_size, info.embedding_rows)
    stop_at_motion_end(model, info.motion_end_id)

    out = config.out
    with atomic_dir(out, durable=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        info.save(tmp)
        # The saved tokenizer must still pass (catches a save/load round trip that drops added tokens).
        run_checks(AutoTokenizer.from_pretrained(tmp), config.codebook_size, info.embedding_rows)
    logger.info(
        "extended %s: %d tokens, %d embedding rows -> %s", config.base, info.tokenizer_length, info.embedding_rows, out
    )
    return info
