"""A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI and Anthropic APIs for contract tests.

Tests script it with a queue of behaviours (taken one per request, in order) and a default for when the
queue is empty; it records every request (path, headers, JSON body). Because it is a real server, the SDKs'
whole HTTP stack runs, whatever transport they use (openai 3.x moved to httpx2, which respx cannot see).

    with FakeLLMServer() as server:
        server.push(Status(429, retry_after=0.05), Reply(texts=["hi"]))
        backend = OpenAIBackend("m", base_url=server.openai_url)

Paths: POST /v1/chat/completions (OpenAI), POST /v1/messages (Anthropic), GET /v1/models.

Requests with ``"stream": true`` are answered with server-sent events, one word per event, the way real
servers stream tokens; ``Reply(token_delay_s=...)`` makes the tokens trickle (a slow local model) and
``Reply(stall_after=k)`` stops sending after k tokens without closing the response (a hung server).
``FakeLLMServer(one_at_a_time=True)`` handles one request at a time, as llama-cpp-python does (its
``/v1/models`` waits too), and ``owned_by`` is what ``/v1/models`` says about the server.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TextSource = str | Sequence[str | None] | Callable[[dict[str, Any], int], str | None]


@dataclass(frozen=True)
class Reply:
    """A successful completion.

    ``texts``: one string for every choice, a list used in order (``None`` gives null content), or a
    function ``(request_body, choice_number) -> text``; by default choices say ``reply <request>.<choice>``.
    ``n_mode``: ``honour`` returns n choices, ``ignore`` returns one (llama-cpp-python), ``reject`` answers a
    400 when n > 1 (llama.cpp's server).
    """

    texts: TextSource | None = None
    n_mode: str = "honour"
    finish_reason: str = "stop"
    usage: bool = True
    token_delay_s: float = 0.0
    """Seconds between streamed tokens; a request that does not stream waits for all of them."""
    stall_after: int | None = None
    """Streamed: after this many tokens, send nothing more until the client goes away."""


@dataclass(frozen=True)
class Status:
    """An error status with a JSON error body and optional Retry-After header (seconds, sent as given)."""

    code: int
    message: str = "simulated failure"
    retry_after: float | str | None = None


@dataclass(frozen=True)
class Sleep:
    """Wait before answering, to exceed the client's timeout; then behave like ``then``."""

    seconds: float
    then: Reply | Status = field(default_factory=Reply)


@dataclass(frozen=True)
class Raw:
    """Answer with these exact bytes, e.g. malformed JSON or an HTML page."""

    body: str
    content_type: str = "application/json"
    code: int = 200


Behaviour = Reply | Status | Sleep | Raw


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeLLMServer:
    """Scriptable OpenAI/Anthropic-compatible server in a background thread; use as a context manager."""

    def __init__(
        self, default: Behaviour | None = None, *, owned_by: str = "fake", one_at_a_time: bool = False
    ) -> None:
        self.default: Behaviour = default or Reply()
        self.owned_by = owned_by
        self.models_status = 200
        """Status of GET requests (401: a server that refuses the key)."""
        self.one_at_a_time = one_at_a_time
        self._busy = threading.Lock()
        self.finished: list[tuple[int, float]] = []
        """(request number, time.monotonic()) when each POST's handler ended (reply sent or client gone)."""
        self.arrived: list[tuple[int, float]] = []
        """(request number, time.monotonic()) when each POST arrived."""
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        """Most requests being handled at once: lets tests check that concurrency is bounded."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # scripting -------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        """Base URL for the Anthropic SDK (which adds /v1/messages itself)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """Base URL for the OpenAI SDK."""
        return f"{self.root_url}/v1"

    def push(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def bodies(self, path_suffix: str = "") -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith(path_suffix)]

    # internals -------------------------------------------------------------------------------------------
    def _next(self, request: RecordedRequest) -> tuple[int, Behaviour]:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            number = len(self.requests)
            self.arrived.append((number, time.monotonic()))
            return number, (self._queue.popleft() if self._queue else self.default)

    def _done(self, number: int) -> None:
        with self._lock:
            self.in_flight -= 1
            self.finished.append((number, time.monotonic()))


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            if server.models_status != 200:
                self._send(server.models_status, {"error": {"message": "simulated failure"}})
            elif self.path.rstrip("/").endswith("/models"):
                payload = {
                    "object": "list",
                    "data": [{"id": "fake-model", "object": "model", "owned_by": server.owned_by}],
                }
                if server.one_at_a_time:  # llama-cpp-python: the model list waits for the model's lock
                    with server._busy:
                        pass
                self._send(200, payload)
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw
            request = RecordedRequest(
                "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            number, behaviour = server._next(request)
            with server._busy if server.one_at_a_time else contextlib.nullcontext():
                try:
                    self._respond(behaviour, body, number)
                finally:
                    server._done(number)  # inside the lock: a waiting request sees this one finished

        def _respond(self, behaviour: Behaviour, body: Any, number: int) -> None:
            anthropic = self.path.rstrip("/").endswith("/messages")
            if isinstance(behaviour, Sleep):
                if server._stopping.wait(behaviour.seconds):
                    return
                behaviour = behaviour.then
            if isinstance(behaviour, Raw):
                self._send_raw(behaviour.code, behaviour.body.encode("utf-8"), behaviour.content_type)
            elif isinstance(behaviour, Status):
                self._status(behaviour, anthropic)
            else:
                body = body if isinstance(body, dict) else {}
                if body.get("stream"):
                    if anthropic:
                        self._anthropic_stream(behaviour, body, number)
                    else:
                        self._openai_stream(behaviour, body, number)
                    return
                n_tokens = sum(len(_tokens(t)) for t in self._texts(behaviour, body, number, anthropic))
                if behaviour.token_delay_s and server._stopping.wait(behaviour.token_delay_s * n_tokens):
                    return  # not streaming: the whole reply is ready only when its last token is
                if anthropic:
                    self._anthropic_reply(behaviour, body, number)
                else:
                    self._openai_reply(behaviour, body, number)

        def _texts(self, reply: Reply, body: dict[str, Any], number: int, anthropic: bool) -> list[str]:
            n = 1 if anthropic else int(body.get("n") or 1)
            k = n if reply.n_mode == "honour" else 1
            return [_text(reply.texts, body, number, i) or "" for i in range(k)]

        def _openai_stream(self, reply: Reply, body: dict[str, Any], number: int) -> None:
            n = int(body.get("n") or 1)
            if reply.n_mode == "reject" and n > 1:
                self._send(400, {"error": {"message": "Only one completion choice is allowed", "code": 400}})
                return
            texts = [_text(reply.texts, body, number, i) for i in range(n if reply.n_mode == "honour" else 1)]
            base = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk", "created": 0,
                    "model": body.get("model", "fake-model")}

            def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
                return {**base, "choices": choices, **extra}

            role = {"role": "assistant", "content": ""}
            events = [chunk([{"index": i, "delta": role, "finish_reason": None} for i in range(len(texts))])]
            tokens = [(i, tok) for i, t in enumerate(texts) for tok in _tokens(t or "")]
            if not self._start_sse() or not self._sse(events):
                return
            for sent, (i, tok) in enumerate(tokens):
                if not self._trickle(reply, sent):
                    return
                if not self._sse([chunk([{"index": i, "delta": {"content": tok}, "finish_reason": None}])]):
                    return
            tail = [chunk([{"index": i, "delta": {}, "finish_reason": reply.finish_reason}
                           for i in range(len(texts))])]
            wants_usage = (body.get("stream_options") or {}).get("include_usage")
            if reply.usage and wants_usage:
                completion = sum(len((t or "").split()) + 1 for t in texts)
                tail.append(chunk([], usage={"prompt_tokens": 11, "completion_tokens": completion,
                                             "total_tokens": 11 + completion}))
            self._sse(tail)
            self._sse_raw(b"data: [DONE]\n\n")

        def _anthropic_stream(self, reply: Reply, body: dict[str, Any], number: int) -> None:
            text = _text(reply.texts, body, number, 0) or ""
            stop = {"stop": "end_turn", "length": "max_tokens"}.get(reply.finish_reason, reply.finish_reason)
            message = {"id": f"msg_{number}", "type": "message", "role": "assistant", "content": [],
                       "model": body.get("model", "fake-model"), "stop_reason": None, "stop_sequence": None}
            if reply.usage:
                message["usage"] = {"input_tokens": 13, "output_tokens": 1}
            if not self._start_sse():
                return
            head = [("message_start", {"type": "message_start", "message": message}),
                    ("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}),
                    ("ping", {"type": "ping"})]
            if not self._sse([d for _, d in head], [e for e, _ in head]):
                return
            for sent, tok in enumerate(_tokens(text)):
                if not self._trickle(reply, sent):
                    return
                piece = {"type": "text_delta", "text": tok}
                delta = {"type": "content_block_delta", "index": 0, "delta": piece}
                if not self._sse([delta], ["content_block_delta"]):
                    return
            end: dict[str, Any] = {"type": "message_delta"}
            end["delta"] = {"stop_reason": stop, "stop_sequence": None}
            if reply.usage:
                end["usage"] = {"output_tokens": len(text.split()) + 1}
            tail = [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    ("message_delta", end),
                    ("message_stop", {"type": "message_stop"})]
            self._sse([d for _, d in tail], [e for e, _ in tail])

        def _trickle(self, reply: Reply, sent: int) -> bool:
            """Wait before token number `sent`; False when the server stops or a stall outlives the client."""
            if reply.stall_after is not None and sent >= reply.stall_after:
                while not server._stopping.wait(0.05):  # a hung server: silent, connection open
                    if not self._sse_raw(b": still here\n\n"):  # SSE comment, like keep-alive pings
                        return False
                return False
            return not (reply.token_delay_s and server._stopping.wait(reply.token_delay_s))

        def _start_sse(self) -> bool:
            try:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.end_headers()
                self.close_connection = True
                return True
            except (BrokenPipeError, ConnectionResetError):
                return False

        def _sse(self, payloads: list[dict[str, Any]], events: list[str] | None = None) -> bool:
            data = b"".join(
                (f"event: {events[k]}\n" if events else "").encode() + b"data: " + json.dumps(p).encode()
                + b"\n\n"
                for k, p in enumerate(payloads)
            )
            return self._sse_raw(data)

        def _sse_raw(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                self.wfile.flush()
                return True
            except (BrokenPipeError, ConnectionResetError):
                return False

        def _status(self, status: Status, anthropic: bool) -> None:
            headers = {} if status.retry_after is None else {"retry-after": str(status.retry_after)}
            if anthropic:
                payload = {"type": "error", "error": {"type": "api_error", "message": status.message}}
            else:
                payload = {"error": {"message": status.message, "type": "fake_error", "code": status.code}}
            self._send(status.code, payload, headers)

        def _openai_reply(self, reply: Reply, body: dict[str, Any], number: int) -> None:
            n = int(body.get("n") or 1)
            if reply.n_mode == "reject" and n > 1:
                self._send(400, {"error": {"message": "Only one completion choice is allowed", "code": 400}})
                return
            k = n if reply.n_mode == "honour" else 1
            texts = [_text(reply.texts, body, number, i) for i in range(k)]
            payload: dict[str, Any] = {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake-model"),
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": reply.finish_reason,
                    }
                    for i, text in enumerate(texts)
                ],
            }
            if reply.usage:
                completion_tokens = sum(len((t or "").split()) + 1 for t in texts)
                payload["usage"] = {
                    "prompt_tokens": 11,
                    "completion_tokens": completion_tokens,
                    "total_tokens": 11 + completion_tokens,
                }
            self._send(200, payload)

        def _anthropic_reply(self, reply: Reply, body: dict[str, Any], number: int) -> None:
            text = _text(reply.texts, body, number, 0) or ""
            stop = {"stop": "end_turn", "length": "max_tokens"}.get(reply.finish_reason, reply.finish_reason)
            payload: dict[str, Any] = {
                "id": f"msg_{number}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "fake-model"),
                "content": [{"type": "text", "text": text}],
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": 13, "output_tokens": len(text.split()) + 1}
                if reply.usage
                else None,
            }
            self._send(200, payload)

        def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send_raw(code, json.dumps(payload).encode("utf-8"), "application/json", headers)

        def _send_raw(self, code: int, data: bytes, content_type: str, headers: dict[str, str] | None = None):
            try:
                self.send_response(code)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); nothing to tell it

    return Handler


def _tokens(text: str) -> list[str]:
    """Words with their trailing whitespace: joined, they give the text back."""
    return re.findall(r"\s*\S+\s*|\s+", text)


def _text(source: TextSource | None, body: dict[str, Any], number: int, choice: int) -> str | None:
    if source is None:
        return f"reply {number}.{choice}"
    if isinstance(source, str):
        return source
    if callable(source):
        return source(body, choice)
    items = list(source)
    return items[choice % len(items)] if items else ""
