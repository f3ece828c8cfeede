"""Self-verification: a second LLM call scores a chain against its caption with a rubric.

The rubric (relevance, logical consistency, conciseness; 1..5 each) and the pass/fail question live in
the ``verify`` prompt file. ``accept`` is stricter than the model's own flag: a chain passes only when the
model says pass AND every score reaches ``min_score``, because models sometimes say "pass" next to a 2.
"""

from __future__ import annotations

from typing import Any

from motion_r1_verl.cot.client import ChatClient, ChatResult
from motion_r1_verl.cot.oracle import render_steps
from motion_r1_verl.cot.parse import Verdict, parse_verdict
from motion_r1_verl.cot.prompts import Prompt


def chain_text(steps: list[dict[str, Any]]) -> str:
    """The chain as the verifier sees it: the rendered plan, each line with its body part."""
    _, plan = render_steps(steps)
    lines = plan.splitlines()
    return "\n".join(
        f"{line} ({step['body_part']})" if step.get("body_part") else line
        for line, step in zip(lines, steps, strict=True)
    )


def accept(verdict: Verdict, min_score: int) -> bool:
    return verdict.passed and min(verdict.relevance, verdict.logical_consistency, verdict.conciseness) >= min_score


def verify_chain(
    client: ChatClient, prompt: Prompt, caption: str, steps: list[dict[str, Any]]
) -> tuple[Verdict, ChatResult]:
    """Ask ``client`` to grade ``steps`` for ``caption``. Raises ``ParseError`` / ``ClientError``."""
    messages = prompt.messages(caption=caption, chain=chain_text(steps))
    result = client.chat(messages, temperature=prompt.temperature, max_tokens=prompt.max_tokens)
    return parse_verdict(result.content), result
