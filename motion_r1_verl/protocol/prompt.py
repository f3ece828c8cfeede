"""The prompt of every Motion-R1 conversation: SFT rows, RL prompts and generation use the same turns.

The system prompt states the output format exactly as :func:`motion_r1_verl.protocol.template.format_response`
writes it, so a model that follows the prompt produces text the scanner accepts.
"""

from motion_r1_verl.protocol.template import (
    MOTION_END,
    MOTION_START,
    OUTPUT_END,
    OUTPUT_START,
    REASONING_CHOICES,
    THINK_END,
    THINK_START,
)

# Short on purpose: it precedes every caption of every SFT row and every rollout, so each word costs
# compute in every training step (88 tokens were a third of a tiny model's SFT row).
SYSTEM_PROMPT = (
    f"Break the described motion into ordered sub-actions inside {THINK_START} {THINK_END}, list them as a "
    f"numbered plan inside {OUTPUT_START} {OUTPUT_END}, then write the motion as motion tokens inside "
    f"{MOTION_START} {MOTION_END}."
)

# One system prompt per response layout (REASONING_CHOICES): each asks for exactly the blocks its SFT
# responses hold, so the paper's <think>..</think><Motion>..</Motion> variant is never asked for <output>.
SYSTEM_PROMPTS: dict[str, str] = {
    "think+output": SYSTEM_PROMPT,
    "think": (
        f"Break the described motion into ordered sub-actions inside {THINK_START} {THINK_END}, then write the "
        f"motion as motion tokens inside {MOTION_START} {MOTION_END}."
    ),
    "none": f"Write the described motion as motion tokens inside {MOTION_START} {MOTION_END}.",
}
assert set(SYSTEM_PROMPTS) == set(REASONING_CHOICES)


def system_prompt_for(reasoning: str) -> str:
    """The system prompt of a response layout: ``think+output`` (Motion-R1 as trained here), ``think``
    (the paper's ``<think>..</think><Motion>..</Motion>``) or ``none`` (the motion span alone)."""
    if reasoning not in SYSTEM_PROMPTS:
        raise ValueError(f"reasoning must be one of {', '.join(REASONING_CHOICES)}, got {reasoning!r}")
    return SYSTEM_PROMPTS[reasoning]


def user_prompt(caption: str) -> str:
    """The user turn for a caption: the caption itself, whitespace-normalised."""
    return " ".join(caption.split())


def chat_prompt(caption: str, system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """The prompt turns (system, user) of a caption."""
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt(caption)}]
