"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the CoT tests.

Scripted: a ``responder(request_json, call_index) -> Reply`` decides every answer (status, headers,
body, delay), so a test can play success, malformed JSON, 429 with Retry-After, 5xx or a slow server
against the real HTTP client. Every request is recorded. No network beyond loopback.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from motion_r1_verl.cot.rules import decompose_caption


@dataclass
class Reply:
    """One scripted answer. ``content`` becomes choices[0].message.content unless ``raw`` is given."""

    status: int = 200
    content: str | None = None
    reasoning: str | None = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] = (100, 20)


def caption_of(request: dict[str, Any]) -> str:
    """The caption in the last user message ('Description: ...')."""
    text = request["messages"][-1]["content"]
    match = re.search(r"Description: (.*?)(?:\n|$)", text)
    return match.group(1) if match else text


def is_verification(request: dict[str, Any]) -> bool:
    return "Chain:" in request["messages"][-1]["content"]


def steps_answer(caption: str) -> str:
    """A well-formed decomposition answer, made with the rule-based decomposer."""
    steps = decompose_caption(caption) or [{"action": "stand"}]
    return json.dumps({"steps": steps})


def verdict_answer(passed: bool, reason: str = "ok") -> str:
    score = 5 if passed else 2
    return json.dumps(
        {"relevance": 5, "logical_consistency": score, "conciseness": 5, "pass": passed, "reason": reason}
    )


def good_responder(request: dict[str, Any], _index: int) -> Reply:
    """Decompose with the rules, always pass verification."""
    if is_verification(request):
        return Reply(content=verdict_answer(True))
    return Reply(content=steps_answer(caption_of(request)))


class ChatServer:
    """``with ChatServer(responder) as server: ... server.base_url ...``"""

    def __init__(self, responder: Callable[[dict[str, Any], int], Reply] = good_responder) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    index = len(outer.requests)
                    outer.requests.append(body)
                reply = outer.responder(body, index)
                time.sleep(reply.delay)
                if reply.raw is not None:
                    payload = reply.raw
                elif reply.status == 200:
                    message = {"role": "assistant", "content": reply.content}
                    if reply.reasoning is not None:
                        message["reasoning_content"] = reply.reasoning
                    payload = json.dumps(
                        {
                            "id": f"chatcmpl-{index}",
                            "object": "chat.completion",
                            "model": body.get("model"),
                            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                            "usage": {
                                "prompt_tokens": reply.usage[0],
                                "completion_tokens": reply.usage[1],
                                "total_tokens": sum(reply.usage),
                            },
                        }
                    ).encode()
                else:
                    payload = json.dumps({"error": {"message": f"scripted {reply.status}"}}).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up: that is what the timeout test wants

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def decomposition_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if not is_verification(r)]

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
