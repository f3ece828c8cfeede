"""A small client for any OpenAI-compatible ``/chat/completions`` endpoint.

Works with DeepSeek, OpenAI, a local vLLM or llama.cpp server: only the documented request/response
fields are used. What it adds over a bare POST:

- retries with exponential backoff on 429 (honouring ``Retry-After``), 5xx, timeouts and dropped
  connections; other 4xx fail at once (a bad key or model will not fix itself);
- token and cost accounting shared across threads (``Usage``);
- reasoning models: ``message.reasoning_content`` (DeepSeek-R1, vLLM's reasoning parser) is kept
  apart from the answer, and a ``<think>...</think>`` prefix inside ``content`` (servers without a
  reasoning parser) is moved there too, so callers parse only the answer.

The API key is read from an environment variable by the CLI and passed in; it is never logged.
Concurrency is bounded by the caller (``build.py`` runs a fixed-size thread pool); the client is
thread-safe because ``httpx.Client`` is.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from motion_r1_verl.errors import UserError

log = logging.getLogger(__name__)

_THINK_PREFIX = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)


class ClientError(RuntimeError):
    """A request that failed for good (non-retryable status, or retries exhausted)."""


class CredentialsError(UserError, ClientError):
    """The endpoint refused the credentials (HTTP 401/403): every other request would fail the same way,
    so the job stops with one line instead of writing a CoT set of failures."""


# Statuses that fail every request of a run alike.
CREDENTIAL_STATUSES = (401, 403)


def redact(text: str, secret: str | None) -> str:
    """``text`` with the API key and any bearer token or Authorization header value replaced by ``***``:
    error bodies and URLs end up in logs and in cot.jsonl, and some servers echo the request's headers."""
    if secret:
        text = text.replace(secret, "***")
    text = re.sub(r"(?i)(bearer\s+)[^\s\"',;]+", r"\1***", text)
    return re.sub(r"(?i)(authorization\"?\s*[:=]\s*\"?)[^\"\n,;]+", r"\1***", text)


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: credentials in ``--base-url`` never reach a message."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


@dataclass
class ClientConfig:
    """Where and how to call the chat-completions endpoint.

    base_url: API root, e.g. ``https://api.deepseek.com/v1`` or ``http://127.0.0.1:8000/v1``;
        ``/chat/completions`` is appended.
    model: model name sent in every request.
    api_key: bearer token; ``None`` for local servers without auth. Comes from the environment.
    timeout_s: per-request timeout (connect + read), seconds.
    max_retries: retries after the first attempt for retryable failures (429, 5xx, timeouts).
    backoff_s: first backoff delay; doubles each retry, with up to 25% jitter.
    max_backoff_s: cap on one delay, also the cap applied to a server's ``Retry-After``.
    price_in_per_mtok / price_out_per_mtok: USD per million prompt / completion tokens for the cost
        estimate (0 = not tracked).
    """

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise ValueError("model must be a non-empty model name (e.g. deepseek-reasoner)")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_s < 0 or self.max_backoff_s < self.backoff_s:
            raise ValueError(f"need 0 <= backoff_s <= max_backoff_s, got {self.backoff_s}, {self.max_backoff_s}")
        if self.price_in_per_mtok < 0 or self.price_out_per_mtok < 0:
            raise ValueError("token prices must be >= 0")


@dataclass
class Usage:
    """Running totals over every request of a client (thread-safe through ``add``)."""

    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for key, value in deltas.items():
                setattr(self, key, getattr(self, key) + value)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


@dataclass(frozen=True)
class ChatResult:
    """One completion: the answer text, the reasoning trace (may be empty) and its token counts."""

    content: str
    reasoning: str
    prompt_tokens: int
    completion_tokens: int
    model: str


def split_reasoning(message: dict[str, Any]) -> tuple[str, str]:
    """(answer, reasoning) of a response message, wherever the server put the reasoning."""
    content = message.get("content") or ""
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    match = _THINK_PREFIX.match(content)
    if match:
        reasoning = (reasoning + "\n" + match.group(1)).strip()
        content = content[match.end() :]
    return content.strip(), reasoning.strip()


def _retry_after_s(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ChatClient:
    """``chat(messages) -> ChatResult`` against one endpoint and model; ``usage`` holds the totals."""

    def __init__(self, config: ClientConfig, usage: Usage | None = None) -> None:
        self.config = config
        self.usage = usage if usage is not None else Usage()
        headers = {"Content-Type": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._shown_url = _without_userinfo(self._url)
        self._http = httpx.Client(headers=headers, timeout=config.timeout_s, trust_env=False)
        self._rng = random.Random()

    def close(self) -> None:
        self._http.close()

    def _redact(self, text: str) -> str:
        netloc = urllib.parse.urlsplit(self.config.base_url).netloc
        if "@" in netloc:  # user:password of the base URL
            text = text.replace(netloc.rsplit("@", 1)[0], "***")
        return redact(text, self.config.api_key)

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.config.max_backoff_s)
        base = min(self.config.backoff_s * (2**attempt), self.config.max_backoff_s)
        return base * (1.0 + 0.25 * self._rng.random())

    def chat(self, messages: list[dict[str, str]], *, temperature: float = 0.6, max_tokens: int = 2048) -> ChatResult:
        """POST one chat completion, retrying what is retryable. Raises ``ClientError`` otherwise."""
        payload = {
            "model": self.config.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
            "stream": False,
        }
        last_error = ""
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                self.usage.add(retries=1)
            self.usage.add(requests=1)
            retry_after: float | None = None
            try:
                response = self._http.post(self._url, json=payload)
            except httpx.TimeoutException:
                last_error = f"timed out after {self.config.timeout_s:g} s"
            except httpx.TransportError as err:
                last_error = f"connection failed ({type(err).__name__}: {self._redact(str(err))})"
            else:
                if response.status_code == 200:
                    return self._result(response)
                last_error = f"HTTP {response.status_code}: {self._redact(response.text[:200])}"
                if response.status_code in CREDENTIAL_STATUSES:
                    raise CredentialsError(
                        f"{self._shown_url}: {last_error} (the endpoint refused the API key: check the environment "
                        "variable that holds it; nothing more is sent)"
                    )
                if response.status_code != 429 and response.status_code < 500:
                    raise ClientError(f"{self._shown_url}: {last_error}")
                retry_after = _retry_after_s(response)
            if attempt < self.config.max_retries:
                delay = self._delay(attempt, retry_after)
                log.warning("chat request failed (%s); retry %d in %.1f s", last_error, attempt + 1, delay)
                time.sleep(delay)
        raise ClientError(f"{self._shown_url}: {last_error} (gave up after {self.config.max_retries + 1} attempts)")

    def _result(self, response: httpx.Response) -> ChatResult:
        try:
            body = response.json()
            message = body["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            detail = f"response is not a chat completion ({err}): {self._redact(response.text[:200])}"
            raise ClientError(f"{self._shown_url}: {detail}") from None
        usage = body.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        cost = (
            prompt_tokens * self.config.price_in_per_mtok + completion_tokens * self.config.price_out_per_mtok
        ) / 1e6
        self.usage.add(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost)
        content, reasoning = split_reasoning(message)
        return ChatResult(content, reasoning, prompt_tokens, completion_tokens, str(body.get("model", "")))
