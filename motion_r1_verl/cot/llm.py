"""The LLM decomposer: decompose -> parse -> verify, regenerating up to N times.

One ``decompose(caption)`` call runs at most ``1 + max_regenerations`` attempts. An attempt fails when
the answer does not parse (malformed JSON, unknown enum value) or the verifier rejects it; the next
attempt's request carries the previous failure reason so the model can correct it. When every attempt
fails the outcome says so with the last reason: the build records it as a failed row, never as data.
A request that fails at the HTTP level after the client's own retries ends the caption at once with
``transient=True`` (a rerun should try again; nothing about the caption was wrong).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from motion_r1_verl.cot.client import ChatClient, ClientError, CredentialsError
from motion_r1_verl.cot.parse import ParseError, parse_steps
from motion_r1_verl.cot.prompts import Prompt
from motion_r1_verl.cot.verify import accept, verify_chain


@dataclass
class LLMConfig:
    """How hard to try per caption.

    max_regenerations: extra decomposition attempts after the first one fails (0 = one attempt).
    min_score: lowest rubric score (1..5) a chain may get on any criterion and still pass.
    verify: run the self-verification call (off: parsed chains are accepted as they are).
    """

    max_regenerations: int = 2
    min_score: int = 3
    verify: bool = True

    def __post_init__(self) -> None:
        if self.max_regenerations < 0:
            raise ValueError(f"max_regenerations must be >= 0, got {self.max_regenerations}")
        if not 1 <= self.min_score <= 5:
            raise ValueError(f"min_score is on the rubric's 1..5 scale, got {self.min_score}")


@dataclass
class Outcome:
    """What happened to one caption. ``steps`` is None unless ``ok``."""

    ok: bool
    steps: list[dict[str, Any]] | None
    reason: str | None
    attempts: int
    verdict: dict[str, Any] | None = None
    transient: bool = False
    reasoning: str = ""
    tokens: int = 0
    history: list[str] = field(default_factory=list)


def decompose(
    caption: str,
    client: ChatClient,
    prompt: Prompt,
    verifier: ChatClient | None,
    verify_prompt: Prompt | None,
    config: LLMConfig,
) -> Outcome:
    """Decompose one caption with self-verification (see module docstring)."""
    history: list[str] = []
    tokens = 0
    verdict_dict = None
    for attempt in range(1, config.max_regenerations + 2):
        messages = prompt.messages(caption=caption)
        if history:
            messages[-1]["content"] += (
                f"\n\nA previous answer was rejected: {history[-1]}. Answer again, fixing that problem."
            )
        try:
            result = client.chat(messages, temperature=prompt.temperature, max_tokens=prompt.max_tokens)
            tokens += result.prompt_tokens + result.completion_tokens
            steps = parse_steps(result.content)
            if config.verify and verifier is not None and verify_prompt is not None:
                verdict, vres = verify_chain(verifier, verify_prompt, caption, steps)
                tokens += vres.prompt_tokens + vres.completion_tokens
                verdict_dict = verdict.as_dict()
                if not accept(verdict, config.min_score):
                    history.append(f"verification failed: {verdict.reason or 'scores below threshold'}")
                    continue
        except ParseError as err:
            history.append(f"parse error: {err}")
            continue
        except CredentialsError:
            raise  # every request would fail alike: stop the run
        except ClientError as err:
            return Outcome(
                ok=False, steps=None, reason=f"request failed: {err}", attempts=attempt, verdict=verdict_dict,
                transient=True, tokens=tokens, history=history,
            )  # fmt: skip
        return Outcome(
            ok=True, steps=steps, reason=None, attempts=attempt, verdict=verdict_dict,
            reasoning=result.reasoning, tokens=tokens, history=history,
        )  # fmt: skip
    attempts = config.max_regenerations + 1
    return Outcome(
        ok=False, steps=None, reason=f"{history[-1]} (after {attempts} attempts)", attempts=attempts,
        verdict=verdict_dict, tokens=tokens, history=history,
    )  # fmt: skip
