"""Checks that an extended tokenizer (and its model's embedding) is fit for Motion-R1 training.

Each check is a function that raises :class:`VocabCheckError` with a precise message; ``run_checks``
runs them all and returns the names that passed. They are cheap (a few encodes), so ``extend_vocab``
runs them before writing anything.
"""

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase

from motion_r1_verl.protocol import codes_to_text, format_response, motion_tokens, scan_response
from tokenizer_ext.tokens import new_vocabulary


class VocabCheckError(AssertionError):
    """An extended tokenizer or model fails a check; the message says which token/id and why."""


def check_single_ids(tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> None:
    """Every new token encodes to exactly one id, the id ``convert_tokens_to_ids`` gives it."""
    for token in new_vocabulary(codebook_size):
        ids = tokenizer.encode(token, add_special_tokens=False)
        expected = tokenizer.convert_tokens_to_ids(token)
        if ids != [expected] or expected == tokenizer.unk_token_id:
            raise VocabCheckError(f"{token!r} encodes to {ids}, expected the single id [{expected}]")


def check_not_special(tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> None:
    """``decode(..., skip_special_tokens=True)`` (what verl does before scoring) keeps every new token."""
    text = format_response("walk forward", "1. walk", range(min(codebook_size, 8)))
    text += "".join(new_vocabulary(codebook_size))
    ids = tokenizer.encode(text, add_special_tokens=False)
    decoded = tokenizer.decode(ids, skip_special_tokens=True)
    if decoded != text:
        raise VocabCheckError(f"decode(skip_special_tokens=True) changed the text: {text[:80]!r} -> {decoded[:80]!r}")


def check_roundtrip(tokenizer: PreTrainedTokenizerBase, codes: Sequence[int]) -> None:
    """codes -> text -> ids -> text -> codes gives the same codes, one id per code plus the two tags."""
    text = codes_to_text(codes)
    ids = tokenizer.encode(text, add_special_tokens=False)
    if len(ids) != len(codes) + 2:
        raise VocabCheckError(f"{len(codes)} codes encoded to {len(ids)} ids, expected {len(codes) + 2}")
    wanted = [int(c) for c in codes]
    # The protocol's scanner reads the decoded text; ids beyond the given codes count as out of range.
    scan = scan_response(tokenizer.decode(ids, skip_special_tokens=True), max(wanted, default=0) + 1)
    spans = scan.spans
    if len(spans) != 1 or spans[0].junk or spans[0].out_of_range or list(spans[0].codes) != wanted:
        back = [list(s.codes[:10]) for s in spans]
        raise VocabCheckError(f"round trip changed the codes: {wanted[:10]} -> spans {back} ({scan.parse_reason})")


def check_embedding_covers(tokenizer: PreTrainedTokenizerBase, embedding_rows: int) -> None:
    """Every token id has an embedding row (``len(tokenizer) <= rows``)."""
    if len(tokenizer) > embedding_rows:
        raise VocabCheckError(f"tokenizer has {len(tokenizer)} tokens but the embedding only {embedding_rows} rows")


def check_contiguous_motion_ids(tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> None:
    """``<Motion_i>`` has id ``id(<Motion_0>) + i``: code <-> id maps stay an offset (cheap decoding)."""
    ids = tokenizer.convert_tokens_to_ids(motion_tokens(codebook_size)[2:])
    first = ids[0]
    if ids != list(range(first, first + codebook_size)):
        raise VocabCheckError(f"motion token ids are not contiguous from {first}")


def check_chat_template(tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> None:
    """The chat template renders a motion conversation and keeps the motion ids in the assistant turn."""
    if tokenizer.chat_template is None:
        raise VocabCheckError("the tokenizer has no chat template")
    codes = list(range(min(codebook_size, 4)))
    response = format_response("the person walks", "1. walk forward", codes)
    messages = [
        {"role": "system", "content": "Answer with a motion."},
        {"role": "user", "content": "a person walks forward"},
        {"role": "assistant", "content": response},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    if response not in rendered:
        raise VocabCheckError("the chat template does not reproduce the assistant's motion response verbatim")
    ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    ids = list(ids["input_ids"] if isinstance(ids, dict) else ids)
    want = tokenizer.encode(codes_to_text(codes), add_special_tokens=False)
    if not any(ids[i : i + len(want)] == want for i in range(len(ids) - len(want) + 1)):
        raise VocabCheckError("the motion ids are not found in the chat-templated conversation")
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    if not rendered.startswith(prompt):
        raise VocabCheckError("the generation prompt is not a prefix of the full conversation")


def run_checks(tokenizer: PreTrainedTokenizerBase, codebook_size: int, embedding_rows: int | None = None) -> list[str]:
    """Run every check (raising on the first failure); returns the names of those that passed."""
    sample_codes = [0, codebook_size - 1, *range(min(codebook_size, 16))]
    checks = [
        ("single_ids", lambda: check_single_ids(tokenizer, codebook_size)),
        ("not_special", lambda: check_not_special(tokenizer, codebook_size)),
        ("roundtrip", lambda: check_roundtrip(tokenizer, sample_codes)),
        ("contiguous_motion_ids", lambda: check_contiguous_motion_ids(tokenizer, codebook_size)),
        ("chat_template", lambda: check_chat_template(tokenizer, codebook_size)),
    ]
    if embedding_rows is not None:
        checks.append(("embedding_covers", lambda: check_embedding_covers(tokenizer, embedding_rows)))
    passed = []
    for name, check in checks:
        check()
        passed.append(name)
    return passed
