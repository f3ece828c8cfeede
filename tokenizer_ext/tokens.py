"""Adding the motion tokens and reasoning tags to a tokenizer (reading them back is the protocol's scanner).

Tokens are added as NON-special ``AddedToken``s: verl decodes a rollout with
``skip_special_tokens=True`` before it calls the reward function, which would silently drop special
tokens. ``normalized=False`` keeps the tokenizer's normaliser away from the literal spelling.
"""

from tokenizers import AddedToken
from transformers import PreTrainedTokenizerBase

from motion_r1_verl.errors import UserError, field_error
from motion_r1_verl.protocol import REASONING_TAGS, motion_tokens


def new_vocabulary(codebook_size: int) -> list[str]:
    """Every token the extension provides: the motion tokens, then the reasoning tags."""
    if codebook_size < 1:
        raise field_error("codebook_size", f"must be >= 1, got {codebook_size}")
    return [*motion_tokens(codebook_size), *REASONING_TAGS]


def add_motion_tokens(tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> list[str]:
    """Add the tokens the tokenizer lacks, in order; returns the ones added (empty if all existed).

    Motion tokens must be all present (re-extending an extended tokenizer) or all absent: a partial
    set means a different codebook size and would give non-contiguous motion ids.
    """
    vocab = tokenizer.get_vocab()
    wanted = motion_tokens(codebook_size)
    present = [t for t in wanted if t in vocab]
    if present and len(present) != len(wanted):
        raise UserError(
            f"the base tokenizer already has {len(present)} of the {len(wanted)} motion tokens for codebook "
            f"size {codebook_size} (e.g. {present[0]!r}); extend an unextended base model instead"
        )
    missing = [t for t in new_vocabulary(codebook_size) if t not in vocab]
    if missing:
        plain = {"special": False, "normalized": False, "single_word": False, "lstrip": False, "rstrip": False}
        tokenizer.add_tokens([AddedToken(t, **plain) for t in missing])
    return missing
