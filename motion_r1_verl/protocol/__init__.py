"""The Motion-R1 text protocol: what the policy is asked, how a response is written, how it is read.

Every stage that writes or judges a response goes through here, so they cannot disagree:

- ``template``: the spelling of the tags and motion tokens, and the writer of responses
  (``format_response``, ``codes_to_text``);
- ``prompt``: the system prompt of each response layout and the chat turns of a caption (SFT rows, RL
  prompts, generation);
- ``scanner``: ``scan_response(text, codebook_size)``, one linear scan into a typed :class:`Response`
  (think, plan, motion spans and codes, the strict format verdict and its reason). The format reward,
  the decode hook, generation, the tokenizer checks, rollout diagnosis and the tests all read it.

This package imports nothing from the stages (only the motion constants for clip lengths).
"""

from motion_r1_verl.protocol.prompt import SYSTEM_PROMPT, SYSTEM_PROMPTS, chat_prompt, system_prompt_for, user_prompt
from motion_r1_verl.protocol.scanner import (
    DEFAULT_FRAMES_PER_CODE,
    DEFAULT_MAX_CODES,
    DEFAULT_MIN_CODES,
    FORMAT_REASONS,
    MotionSpan,
    Response,
    code_limits,
    scan_response,
)
from motion_r1_verl.protocol.template import (
    MOTION_END,
    MOTION_START,
    OUTPUT_END,
    OUTPUT_START,
    REASONING_CHOICES,
    REASONING_TAGS,
    THINK_END,
    THINK_START,
    codes_to_text,
    format_response,
    motion_token,
    motion_tokens,
)

__all__ = [
    "DEFAULT_FRAMES_PER_CODE",
    "DEFAULT_MAX_CODES",
    "DEFAULT_MIN_CODES",
    "FORMAT_REASONS",
    "MOTION_END",
    "MOTION_START",
    "OUTPUT_END",
    "OUTPUT_START",
    "REASONING_CHOICES",
    "REASONING_TAGS",
    "SYSTEM_PROMPT",
    "SYSTEM_PROMPTS",
    "THINK_END",
    "THINK_START",
    "MotionSpan",
    "Response",
    "chat_prompt",
    "code_limits",
    "codes_to_text",
    "format_response",
    "motion_token",
    "motion_tokens",
    "scan_response",
    "system_prompt_for",
    "user_prompt",
]
