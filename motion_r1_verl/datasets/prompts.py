"""The system prompt of every Motion-R1 conversation (SFT and RL use the same one).

It states the output format exactly as :func:`motion_r1_verl.response_format.format_response` writes
it, so a model that follows the prompt produces text the reward parser accepts.
"""

from motion_r1_verl.response_format import MOTION_END, MOTION_START, OUTPUT_END, OUTPUT_START, THINK_END, THINK_START

SYSTEM_PROMPT = (
    "You are a motion generation assistant. Given a description of a human motion, first reason about "
    f"it step by step inside {THINK_START} {THINK_END}: break it into simple sub-actions with body parts, "
    f"directions, counts and order. Then write the numbered plan of sub-actions inside {OUTPUT_START} "
    f"{OUTPUT_END}. Finally output the motion as discrete motion tokens inside {MOTION_START} {MOTION_END}, "
    f"for example {MOTION_START}<Motion_12><Motion_7>{MOTION_END}. Output nothing after {MOTION_END}."
)


def user_prompt(caption: str) -> str:
    """The user turn for a caption: the caption itself, whitespace-normalised."""
    return " ".join(caption.split())
