"""A scripted model provider on loopback, speaking the OpenAI and Anthropic HTTP APIs.

Tests queue what the "model" answers, point a real client at ``server.base_url`` and
afterwards read what the client sent::

    with ModelServer() as server:
        server.script(
            tool_call("memory_create_update", {"path": "/a.md", "file_text": "hi"}),
            text("Saved."),
        )
        ...  # an agent with model_config={"provider": "openai", "base_url": server.base_url}
        assert server.requests[0].body["tools"]

One queue serves every API: each request to ``POST /v1/chat/completions`` (OpenAI Chat
Completions), ``POST /v1/responses`` (the OpenAI Responses API, which the OpenAI Agents SDK
uses by default) or ``POST /v1/messages`` (Anthropic) takes the next entry and renders it in
that API's shape, streamed as server-sent events when the request asks for ``"stream": true``. A request that
finds the queue empty gets HTTP 500 and is counted in ``unexpected``, so a test that scripted
too few turns fails loudly instead of hanging.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = [
    "Call",
    "HttpError",
    "ModelServer",
    "RecordedRequest",
    "Reply",
    "http_error",
    "text",
    "tool_call",
    "tool_calls",
]


@dataclass(frozen=True)
class Call:
    """One tool call. ``arguments`` as a dict is sent as JSON; as a str it is sent verbatim,
    which is how a test scripts malformed JSON arguments (OpenAI only: Anthropic's wire format
    carries arguments as an object)."""

    name: str
    arguments: Mapping[str, object] | str


@dataclass(frozen=True)
class Reply:
    """An assistant message: optional text and zero or more tool calls."""

    text: str = ""
    calls: tuple[Call, ...] = ()
    input_tokens: int = 11
    output_tokens: int = 7


@dataclass(frozen=True)
class HttpError:
    """An HTTP error answer. ``retry_after_ms`` keeps the clients' retry back-off short."""

    status: int = 500
    message: str = "scripted server error"
    retry_after_ms: int | None = 1


def text(value: str, *, input_tokens: int = 11, output_tokens: int = 7) -> Reply:
    """A final text answer."""
    return Reply(text=value, input_tokens=input_tokens, output_tokens=output_tokens)


def tool_call(name: str, arguments: Mapping[str, object] | str | None = None) -> Reply:
    """An answer that calls one tool."""
    return Reply(calls=(Call(name, {} if arguments is None else arguments),))


def tool_calls(*calls: tuple[str, Mapping[str, object] | str]) -> Reply:
    """An answer that calls several tools at once (parallel tool calls)."""
    return Reply(calls=tuple(Call(name, args) for name, args in calls))


def http_error(status: int = 500, message: str = "scripted server error") -> HttpError:
    return HttpError(status=status, message=message)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received: which API, its headers and its JSON body."""

    api: str  # "openai" (Chat Completions) | "responses" | "anthropic"
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools offered in this request, in either API's shape."""
        names: list[str] = []
        for tool in self.body.get("tools", []):
            function = tool.get("function")
            names.append(function["name"] if isinstance(function, dict) else tool["name"])
        return names

    @property
    def system_text(self) -> str:
        """All system/developer text of the request, joined."""
        if self.api == "anthropic":
            system = self.body.get("system", "")
            if isinstance(system, list):
                return "\n".join(block.get("text", "") for block in system)
            return str(system)
        parts: list[str] = []
        if self.api == "responses" and self.body.get("instructions"):
            parts.append(str(self.body["instructions"]))
        for message in self._messages():
            if message.get("role") in ("system", "developer"):
                parts.append(_content_text(message.get("content")))
        return "\n".join(parts)

    def _messages(self) -> list[dict[str, Any]]:
        """The conversation: Chat Completions' and Anthropic's ``messages``, the Responses
        API's ``input`` items."""
        if self.api == "responses":
            items = self.body.get("input", [])
            return [{"role": "user", "content": items}] if isinstance(items, str) else list(items)
        return list(self.body.get("messages", []))

    def tool_results(self) -> list[ToolResultSeen]:
        """The tool results this request carries back to the model, in order."""
        seen: list[ToolResultSeen] = []
        for message in self._messages():
            if self.api == "responses" and message.get("type") == "function_call_output":
                seen.append(
                    ToolResultSeen(
                        call_id=message.get("call_id", ""),
                        content=_content_text(message.get("output")),
                        is_error=None,
                    )
                )
            if self.api == "openai" and message.get("role") == "tool":
                seen.append(
                    ToolResultSeen(
                        call_id=message.get("tool_call_id", ""),
                        content=_content_text(message.get("content")),
                        is_error=None,
                    )
                )
            if self.api == "anthropic" and isinstance(message.get("content"), list):
                for block in message["content"]:
                    if block.get("type") == "tool_result":
                        seen.append(
                            ToolResultSeen(
                                call_id=block.get("tool_use_id", ""),
                                content=_content_text(block.get("content")),
                                is_error=bool(block.get("is_error", False)),
                            )
                        )
        return seen


@dataclass(frozen=True)
class ToolResultSeen:
    call_id: str
    content: str
    is_error: bool | None  # None: the API has no error flag (OpenAI's two APIs)


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return ""


@dataclass
class _State:
    queue: deque[Reply | HttpError] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)
    unexpected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class ModelServer:
    """The server; a context manager that starts it on a free loopback port."""

    def __init__(self) -> None:
        self._state = _State()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self._state))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The Anthropic-style base URL (the SDK appends ``/v1/messages`` itself)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def script(self, *entries: Reply | HttpError) -> None:
        """Append answers to the queue, in order."""
        with self._state.lock:
            self._state.queue.extend(entries)

    def fail(self, times: int = 1, *, status: int = 500, message: str = "scripted server error") -> None:
        """Queue ``times`` HTTP errors."""
        self.script(*[HttpError(status=status, message=message)] * times)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def remaining(self) -> int:
        """Scripted answers not yet consumed."""
        with self._state.lock:
            return len(self._state.queue)

    @property
    def unexpected(self) -> int:
        """Requests that arrived after the script ran out."""
        with self._state.lock:
            return self._state.unexpected

    def reset(self) -> None:
        with self._state.lock:
            self._state.queue.clear()
            self._state.requests.clear()
            self._state.unexpected = 0


def _make_handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            if path.endswith("/chat/completions"):
                api = "openai"
            elif path.endswith("/responses"):
                api = "responses"
            elif path.endswith("/messages"):
                api = "anthropic"
            else:
                self._send_json(404, {"error": {"message": f"no route {path}"}})
                return
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send_json(400, {"error": {"message": "request body is not JSON"}})
                return
            with state.lock:
                state.requests.append(
                    RecordedRequest(
                        api=api,
                        path=path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                entry = state.queue.popleft() if state.queue else None
                if entry is None:
                    state.unexpected += 1
                number = next(state.ids)
            if entry is None:
                entry = HttpError(500, "model server script exhausted", retry_after_ms=None)
                # No retries for this one: tell the SDK not to bother.
                self._send_error(api, entry, should_retry=False)
                return
            if isinstance(entry, HttpError):
                # As the real APIs do: a refused key or a bad request is not worth retrying.
                self._send_error(
                    api, entry, should_retry=entry.status >= 500 or entry.status in (408, 409, 429)
                )
                return
            model = str(body.get("model", "scripted-model"))
            stream = bool(body.get("stream", False))
            if api == "openai":
                if stream:
                    self._send_sse(_openai_chunks(entry, model, number), sse_event_names=False)
                else:
                    self._send_json(200, _openai_completion(entry, model, number))
            elif api == "responses":
                if stream:
                    self._send_sse(_responses_events(entry, model, number), sse_event_names=True)
                else:
                    self._send_json(200, _responses_response(entry, model, number))
            elif stream:
                self._send_sse(_anthropic_events(entry, model, number), sse_event_names=True)
            else:
                self._send_json(200, _anthropic_message(entry, model, number))

        def _send_error(self, api: str, error: HttpError, *, should_retry: bool = True) -> None:
            if api in ("openai", "responses"):
                payload: dict[str, Any] = {
                    "error": {"message": error.message, "type": "server_error", "code": None}
                }
            else:
                payload = {
                    "type": "error",
                    "error": {"type": "api_error", "message": error.message},
                }
            headers = {"x-should-retry": "true" if should_retry else "false"}
            if error.retry_after_ms is not None:
                headers["retry-after-ms"] = str(error.retry_after_ms)
            self._send_json(error.status, payload, headers)

        def _send_json(self, status: int, payload: object, headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_sse(self, events: list[tuple[str, dict[str, Any]]], *, sse_event_names: bool) -> None:
            lines: list[str] = []
            for name, data in events:
                if sse_event_names:
                    lines.append(f"event: {name}")
                lines.append(f"data: {json.dumps(data)}")
                lines.append("")
            if not sse_event_names:
                lines += ["data: [DONE]", ""]
            # (the Responses API ends with its response.completed event, no [DONE])
            payload = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _arguments_json(call: Call) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(dict(call.arguments))


def _openai_tool_calls(reply: Reply, number: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{number}_{index}",
            "type": "function",
            "function": {"name": call.name, "arguments": _arguments_json(call)},
        }
        for index, call in enumerate(reply.calls)
    ]


def _openai_usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _openai_completion(reply: Reply, model: str, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.calls:
        message["tool_calls"] = _openai_tool_calls(reply, number)
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": _openai_usage(reply),
    }


def _openai_chunks(reply: Reply, model: str, number: int) -> list[tuple[str, dict[str, Any]]]:
    base = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    delta: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.calls:
        delta["tool_calls"] = [
            dict(call, index=index) for index, call in enumerate(_openai_tool_calls(reply, number))
        ]
    finish = "tool_calls" if reply.calls else "stop"
    return [
        ("chunk", {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
        ("chunk", {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
        ("chunk", {**base, "choices": [], "usage": _openai_usage(reply)}),
    ]


def _anthropic_blocks(reply: Reply, number: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for index, call in enumerate(reply.calls):
        if isinstance(call.arguments, str):
            raise ValueError("Anthropic tool arguments must be an object; script a dict")
        blocks.append(
            {
                "type": "tool_use",
                "id": f"toolu_{number}_{index}",
                "name": call.name,
                "input": dict(call.arguments),
            }
        )
    return blocks


def _anthropic_message(reply: Reply, model: str, number: int) -> dict[str, Any]:
    return {
        "id": f"msg_{number}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(reply, number),
        "stop_reason": "tool_use" if reply.calls else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
    }


def _anthropic_events(reply: Reply, model: str, number: int) -> list[tuple[str, dict[str, Any]]]:
    start = _anthropic_message(reply, model, number)
    blocks = start.pop("content")
    start.update(content=[], stop_reason=None, usage={"input_tokens": reply.input_tokens, "output_tokens": 1})
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for index, block in enumerate(blocks):
        opening: dict[str, Any]
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        events += [
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening},
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": index}),
        ]
    events += [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": "tool_use" if reply.calls else "end_turn",
                    "stop_sequence": None,
                },
                "usage": {"output_tokens": reply.output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _responses_output(reply: Reply, number: int) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if reply.text:
        output.append(
            {
                "type": "message",
                "id": f"msg_{number}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": [], "logprobs": []}],
            }
        )
    for index, call in enumerate(reply.calls):
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{number}_{index}",
                "call_id": f"call_{number}_{index}",
                "name": call.name,
                "arguments": _arguments_json(call),
                "status": "completed",
            }
        )
    return output


def _responses_response(
    reply: Reply, model: str, number: int, *, status: str = "completed"
) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": f"resp_{number}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": _responses_output(reply, number) if done else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "usage": {
            "input_tokens": reply.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": reply.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }
        if done
        else None,
    }


def _responses_events(reply: Reply, model: str, number: int) -> list[tuple[str, dict[str, Any]]]:
    """The Responses API's stream: created, then per output item added / delta / done, then
    completed with the whole response."""
    events: list[tuple[str, dict[str, Any]]] = []

    def emit(kind: str, **data: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": len(events), **data}))

    emit("response.created", response=_responses_response(reply, model, number, status="in_progress"))
    for index, item in enumerate(_responses_output(reply, number)):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "content": [], "status": "in_progress"},
            )
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            emit(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
            emit(
                "response.output_text.delta",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                delta=text,
                logprobs=[],
            )
            emit(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            emit(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part={**part, "text": text},
            )
        else:
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            emit(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=index,
                delta=item["arguments"],
            )
            emit(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=item["name"],
                arguments=item["arguments"],
            )
        emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=_responses_response(reply, model, number))
    return events
