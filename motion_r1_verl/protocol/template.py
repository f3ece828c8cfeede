"""The spelling of the motion tokens and tags, and the writer of Motion-R1 responses.

A response looks like::

    <think>first the person walks forward ...</think><output>1. walk forward 3 steps ...</output>
    <Motion><Motion_12><Motion_7></Motion>

(one line; broken here for width).

All tags are added to tokenizers as NON-special tokens: verl decodes responses with
``skip_special_tokens=True`` before calling the reward, and special tokens would vanish.
"""

MOTION_START = "<Motion>"
MOTION_END = "</Motion>"
THINK_START = "<think>"
THINK_END = "</think>"
OUTPUT_START = "<output>"
OUTPUT_END = "</output>"
REASONING_TAGS: tuple[str, ...] = (THINK_START, THINK_END, OUTPUT_START, OUTPUT_END)
# What an SFT response holds before the motion span: Motion-R1's think + output, the paper's think-only
# variant, or nothing (the no-CoT baseline of bench/ablation.py).
REASONING_CHOICES: tuple[str, ...] = ("think+output", "think", "none")


def motion_token(code: int) -> str:
    """``motion_token(12) == "<Motion_12>"``."""
    return f"<Motion_{code}>"


def motion_tokens(codebook_size: int) -> list[str]:
    """Every motion token, ``<Motion>``, ``</Motion>`` first, then ``<Motion_0>..<Motion_{K-1}>``."""
    return [MOTION_START, MOTION_END, *(motion_token(i) for i in range(codebook_size))]


def codes_to_text(codes) -> str:
    """``[12, 7] -> "<Motion><Motion_12><Motion_7></Motion>"``."""
    return MOTION_START + "".join(motion_token(int(c)) for c in codes) + MOTION_END


def format_response(think: str, plan: str, codes, with_output: bool = True, with_think: bool = True) -> str:
    """The assistant turn the model is trained to produce.

    ``with_think=False, with_output=False`` is the no-CoT baseline of the ablation: the motion span alone.
    """
    body = f"{THINK_START}{think}{THINK_END}" if with_think else ""
    if with_output:
        body += f"{OUTPUT_START}{plan}{OUTPUT_END}"
    return body + codes_to_text(codes)
