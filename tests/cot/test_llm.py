"""decompose(): parse, self-verify and regenerate against scripted answers from the loopback server."""

import json

import pytest

from motion_r1_verl.cot.client import ChatClient, ClientConfig
from motion_r1_verl.cot.llm import LLMConfig, decompose
from motion_r1_verl.cot.parse import ParseError, parse_steps, parse_verdict
from motion_r1_verl.cot.prompts import load_prompt

from .chat_server import ChatServer, Reply, caption_of, is_verification, steps_answer, verdict_answer

CAPTION = "a person walks forward three steps, then turns left and waves the right hand twice."


def run(responder, **config):
    with ChatServer(responder) as server:
        with ChatClient(ClientConfig(base_url=server.base_url, model="m", backoff_s=0.01, max_retries=1)) as client:
            outcome = decompose(
                CAPTION, client, load_prompt("decompose"), client, load_prompt("verify"), LLMConfig(**config)
            )
    return outcome, server


def test_success_one_attempt():
    outcome, server = run(lambda req, i: Reply(content=verdict_answer(True)) if is_verification(req)
                          else Reply(content=steps_answer(caption_of(req))))  # fmt: skip
    assert outcome.ok and outcome.attempts == 1 and outcome.reason is None
    assert [s["action"] for s in outcome.steps] == ["walk", "turn", "wave"]
    assert outcome.verdict["pass"] is True
    assert outcome.tokens == 240  # 2 calls x (100 + 20)
    # The request carries the instructions, the in-context examples and the caption last.
    request = server.requests[0]
    assert request["messages"][0]["role"] == "system" and "JSON" in request["messages"][0]["content"]
    assert len(request["messages"]) == 2 + 2 * len(load_prompt("decompose").examples)
    assert caption_of(request) == CAPTION


def test_malformed_json_is_regenerated():
    def responder(req, i):
        if is_verification(req):
            return Reply(content=verdict_answer(True))
        if i == 0:
            return Reply(content='{"steps": [{"action": "walk", }')  # truncated, trailing comma
        return Reply(content="```json\n" + steps_answer(caption_of(req)) + "\n```")

    outcome, server = run(responder)
    assert outcome.ok and outcome.attempts == 2
    assert outcome.history[0].startswith("parse error: malformed JSON")
    # The second request tells the model what was wrong with the first.
    assert "malformed JSON" in server.requests[1]["messages"][-1]["content"]


def test_verification_failure_then_success():
    verdicts = iter([verdict_answer(False, "the turn direction is wrong"), verdict_answer(True)])

    def responder(req, i):
        return Reply(content=next(verdicts)) if is_verification(req) else Reply(content=steps_answer(caption_of(req)))

    outcome, server = run(responder)
    assert outcome.ok and outcome.attempts == 2
    assert outcome.history == ["verification failed: the turn direction is wrong"]
    decompositions = server.decomposition_requests()
    assert len(decompositions) == 2 and "turn direction is wrong" in decompositions[1]["messages"][-1]["content"]


def test_still_failing_is_reported_not_kept():
    def responder(req, i):
        return Reply(content=verdict_answer(False, "invented a jump")) if is_verification(req) \
            else Reply(content=steps_answer(caption_of(req)))  # fmt: skip

    outcome, server = run(responder, max_regenerations=2)
    assert not outcome.ok and outcome.steps is None and not outcome.transient
    assert outcome.attempts == 3 and len(server.decomposition_requests()) == 3
    assert outcome.reason == "verification failed: invented a jump (after 3 attempts)"


def test_model_pass_with_low_score_is_rejected():
    low = json.dumps({"relevance": 2, "logical_consistency": 5, "conciseness": 5, "pass": True, "reason": "meh"})
    outcome, _ = run(lambda req, i: Reply(content=low) if is_verification(req)
                     else Reply(content=steps_answer(caption_of(req))), max_regenerations=0)  # fmt: skip
    assert not outcome.ok and "meh" in outcome.reason


def test_http_failure_is_transient():
    outcome, _ = run(lambda req, i: Reply(status=500))
    assert not outcome.ok and outcome.transient and outcome.reason.startswith("request failed")


def test_no_verify_accepts_parsed_chain():
    outcome, server = run(lambda req, i: Reply(content=steps_answer(caption_of(req))), verify=False)
    assert outcome.ok and len(server.requests) == 1


@pytest.mark.parametrize(
    "text, match",
    [
        ("no json here", "no JSON object"),
        ('{"steps": []}', "non-empty"),
        ('{"steps": [{"action": "walk", "direction": "up"}]}', "step 1: step.direction"),
        ('{"steps": [{"action": "walk"}, {"action": "run", "timing": "later"}]}', "step 2: step.timing"),
        ('{"steps": [{"action": "walk", "count": "three"}]}', "count"),
    ],
)
def test_parse_steps_rejects(text, match):
    with pytest.raises(ParseError, match=match):
        parse_steps(text)


def test_parse_steps_accepts_prose_around_json_and_keeps_extras():
    steps = parse_steps('Sure! {"steps": [{"action": "Raise_Arm", "side": "Left", "body_part": "left arm"},'
                        ' {"action": "walk", "timing": "with_previous"}]} hope it helps')  # fmt: skip
    assert steps[0]["action"] == "raise_arm" and steps[0]["side"] == "left" and steps[0]["body_part"] == "left arm"
    assert steps[1]["timing"] == "with_previous" and steps[0]["timing"] == "after_previous"


@pytest.mark.parametrize(
    "text, match",
    [
        ('{"relevance": 6, "logical_consistency": 5, "conciseness": 5, "pass": true}', "relevance"),
        ('{"relevance": 5, "logical_consistency": 5, "conciseness": 5, "pass": "yes"}', "pass"),
    ],
)
def test_parse_verdict_rejects(text, match):
    with pytest.raises(ParseError, match=match):
        parse_verdict(text)
