"""ChatClient against the real loopback server: success, reasoning, 429 + Retry-After, 5xx, timeouts."""

import email.utils
import time

import httpx
import pytest

from motion_r1_verl.cot.client import (
    ChatClient,
    ClientConfig,
    ClientError,
    CredentialsError,
    _retry_after_s,
    split_reasoning,
)

from .chat_server import ChatServer, Reply

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(server, **kw) -> ChatClient:
    config = dict(base_url=server.base_url, model="m", api_key="sk-test", backoff_s=0.01, max_backoff_s=5.0)
    config.update(kw)
    return ChatClient(ClientConfig(**config))


def test_success_counts_tokens_and_cost_and_sends_key():
    with ChatServer(lambda req, i: Reply(content="hello", usage=(1000, 500))) as server:
        with client_for(server, price_in_per_mtok=2.0, price_out_per_mtok=8.0) as client:
            result = client.chat(MESSAGES, temperature=0.1, max_tokens=7)
    assert result.content == "hello" and result.reasoning == ""
    assert (result.prompt_tokens, result.completion_tokens) == (1000, 500)
    assert client.usage.as_dict() == {
        "requests": 1, "retries": 0, "prompt_tokens": 1000, "completion_tokens": 500, "cost_usd": 0.006,
    }  # fmt: skip
    request = server.requests[0]
    assert request["model"] == "m" and request["max_tokens"] == 7 and request["messages"] == MESSAGES


def test_reasoning_content_is_kept_apart():
    with ChatServer(lambda req, i: Reply(content='{"a": 1}', reasoning="let me think")) as server:
        with client_for(server) as client:
            result = client.chat(MESSAGES)
    assert result.content == '{"a": 1}' and result.reasoning == "let me think"


def test_think_prefix_in_content_moves_to_reasoning():
    content, reasoning = split_reasoning({"content": '<think>\nhmm\n</think>\n\n{"steps": []}'})
    assert content == '{"steps": []}' and reasoning == "hmm"


def test_429_honours_retry_after():
    def responder(req, i):
        return Reply(status=429, headers={"Retry-After": "1"}) if i == 0 else Reply(content="ok")

    with ChatServer(responder) as server:
        with client_for(server) as client:
            start = time.monotonic()
            assert client.chat(MESSAGES).content == "ok"
            elapsed = time.monotonic() - start
    # backoff_s is 0.01: only the header can explain a ~1 s wait.
    assert elapsed >= 0.9
    assert client.usage.retries == 1 and client.usage.requests == 2


def test_5xx_retried_then_gives_up():
    with ChatServer(lambda req, i: Reply(status=503)) as server:
        with client_for(server, max_retries=2) as client:
            with pytest.raises(ClientError, match="HTTP 503.*3 attempts"):
                client.chat(MESSAGES)
    assert len(server.requests) == 3


def test_4xx_not_retried():
    with ChatServer(lambda req, i: Reply(status=401)) as server:
        with client_for(server, max_retries=3) as client:
            with pytest.raises(ClientError, match="HTTP 401"):
                client.chat(MESSAGES)
    assert len(server.requests) == 1


def test_refused_credentials_are_their_own_error_and_never_echo_the_key():
    body = b'{"error": "denied", "headers": {"Authorization": "Bearer sk-test"}}'
    with ChatServer(lambda req, i: Reply(status=403, raw=body)) as server:
        with client_for(server, max_retries=3) as client:
            with pytest.raises(CredentialsError, match="HTTP 403") as caught:
                client.chat(MESSAGES)
    assert "sk-test" not in str(caught.value) and "***" in str(caught.value)
    assert len(server.requests) == 1
    assert "sk-test" not in repr(client.config)


def test_credentials_in_the_base_url_are_not_shown():
    with ChatServer(lambda req, i: Reply(status=400, raw=b"nope")) as server:
        url = server.base_url.replace("http://", "http://alice:pa55word@")
        with client_for(server, base_url=url, max_retries=0) as client:
            with pytest.raises(ClientError) as caught:
                client.chat(MESSAGES)
    assert "pa55word" not in str(caught.value) and "HTTP 400" in str(caught.value)


def test_timeout_retried_then_success():
    def responder(req, i):
        return Reply(content="late", delay=1.0) if i == 0 else Reply(content="fast")

    with ChatServer(responder) as server:
        with client_for(server, timeout_s=0.3, max_retries=1) as client:
            assert client.chat(MESSAGES).content == "fast"
    assert len(server.requests) == 2


def test_timeout_exhausted():
    with ChatServer(lambda req, i: Reply(content="late", delay=0.6)) as server:
        with client_for(server, timeout_s=0.2, max_retries=1) as client:
            with pytest.raises(ClientError, match="timed out"):
                client.chat(MESSAGES)


def test_non_completion_body_is_an_error():
    with ChatServer(lambda req, i: Reply(raw=b"<html>gateway</html>")) as server:
        with client_for(server) as client:
            with pytest.raises(ClientError, match="not a chat completion"):
                client.chat(MESSAGES)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"base_url": "ftp://x"}, "http"),
        ({"model": ""}, "model"),
        ({"timeout_s": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_config_checks(kw, match):
    config = dict(base_url="http://127.0.0.1:1/v1", model="m") | kw
    with pytest.raises(ValueError, match=match):
        ClientConfig(**config)


@pytest.mark.parametrize(
    "header, expected",
    [
        ("2", 2.0),  # delta-seconds
        ("0.5", 0.5),  # some servers send fractions
        (None, None),  # absent: exponential backoff applies
        ("soon", None),  # unreadable: ignored
    ],
)
def test_retry_after_parsing(header, expected):
    headers = {"Retry-After": header} if header is not None else {}
    assert _retry_after_s(httpx.Response(429, headers=headers)) == expected


def test_retry_after_http_date_and_cap():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after_s(httpx.Response(429, headers={"Retry-After": when})) <= 31
    client = ChatClient(ClientConfig(base_url="http://127.0.0.1:1/v1", model="m", max_backoff_s=5.0))
    assert client._delay(0, 3600.0) == 5.0  # a server asking for an hour is capped
