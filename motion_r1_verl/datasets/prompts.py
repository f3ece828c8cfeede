"""The system prompt of every Motion-R1 conversation (SFT and RL use the same one).

It states the output format exactly as :func:`motion_r1_verl.response_format.format_response` writes
it, so a model that follows the prompt produces text the reward parser accepts.
"""

from motion_r1_verl.response_format import MOTION_END, MOTION_START, OUTPUT_END, OUTPUT_START, THINK_END, THINK_START

# Short on purpose: it precedes every caption of every SFT row and every rollout, so each word costs
# compute in every training step (88 tokens were a third of a tiny model's SFT row).
SYSTEM_PROMPT = (
    f"Break the described motion into ordered sub-actions inside {THINK_START} {THINK_END}, list them as a "
    f"numbered plan inside {OUTPUT_START} {OUTPUT_END}, then write the motion as motion tokens inside "
    f"{MOTION_START} {MOTION_END}."
)


def user_prompt(caption: str) -> str:
    """The user turn for a caption: the caption itself, whitespace-normalised."""
    return " ".join(caption.split())
