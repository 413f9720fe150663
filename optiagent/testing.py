"""Test doubles for the language model, importable by users who test code built on optiagent.

    from optiagent.testing import ScriptedModel
    model = ScriptedModel(['{"sets": []...}', "not json", ...])

`ScriptedModel` and `FunctionModel` satisfy `optiagent.agent.llm.ChatModel` and record every
request they receive. `OpenAIStubServer` is a loopback HTTP server that speaks the OpenAI chat
protocol, so code using the real `OpenAIChatModel` (or any OpenAI client) runs offline:

    with OpenAIStubServer(['{"x": 1}', StubError(429, headers={"Retry-After": "0"})]) as server:
        model = OpenAIChatModel("stub", base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from optiagent.chat_model import ChatReply, JsonSchema, Message
from optiagent.exceptions import OptiAgentError

__all__ = [
    "FunctionModel",
    "OpenAIStubServer",
    "RecordedRequest",
    "ScriptedModel",
    "StubDisconnect",
    "StubError",
    "StubReply",
    "keep_reply",
    "proposal_reply",
    "repair_reply",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request a test double received."""

    messages: list[dict[str, str]]
    response_schema: JsonSchema | None
    temperature: float | None
    seed: int | None

    @property
    def last_user_message(self) -> str:
        """The content of the last user turn ('' if there is none)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message.get("content", "")
        return ""

    @property
    def text(self) -> str:
        """Every message's content joined, for assertions on what the model was shown."""
        return "\n".join(m.get("content", "") for m in self.messages)


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


@dataclass
class _RecordingModel:
    model_name: str
    requests: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        """The model name reported in traces."""
        return self.model_name

    def _record(
        self,
        messages: Sequence[Message],
        response_schema: JsonSchema | None,
        temperature: float | None,
        seed: int | None,
    ) -> RecordedRequest:
        request = RecordedRequest([dict(m) for m in messages], response_schema, temperature, seed)
        with self._lock:
            self.requests.append(request)
        return request

    def _reply(self, request: RecordedRequest) -> str | ChatReply:
        raise NotImplementedError

    def complete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the next reply (blocking)."""
        request = self._record(messages, response_schema, temperature, seed)
        reply = self._reply(request)
        if isinstance(reply, ChatReply):
            return reply
        return ChatReply(
            text=reply,
            model=self.model_name,
            prompt_tokens=_estimate_tokens(request.text),
            completion_tokens=_estimate_tokens(reply),
        )

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the next reply (async)."""
        return self.complete(
            messages, response_schema=response_schema, temperature=temperature, seed=seed
        )


class ScriptedModel(_RecordingModel):
    """Replies from a fixed queue: a string or ChatReply is returned, an exception is raised.

    Running out of replies raises an error that says how many were scripted, so a test that
    makes more calls than it expected fails loudly instead of hanging or looping.
    """

    def __init__(
        self, replies: Iterable[str | ChatReply | BaseException], name: str = "scripted"
    ) -> None:
        super().__init__(model_name=name)
        self._replies = list(replies)
        self._scripted = len(self._replies)

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used yet."""
        return len(self._replies)

    def _reply(self, request: RecordedRequest) -> str | ChatReply:
        with self._lock:
            if not self._replies:
                raise OptiAgentError(
                    f"ScriptedModel ran out of replies: {self._scripted} were scripted and "
                    f"call {len(self.requests)} asked for one more"
                )
            reply = self._replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply


class FunctionModel(_RecordingModel):
    """Replies computed by a function of the request (for replies that depend on the prompt).

    The function returns the reply text or a ChatReply; to simulate a failure it raises, or
    returns an exception instance, which is then raised.
    """

    def __init__(
        self,
        function: Callable[[RecordedRequest], str | ChatReply | BaseException],
        name: str = "function",
    ) -> None:
        super().__init__(model_name=name)
        self._function = function

    def _reply(self, request: RecordedRequest) -> str | ChatReply:
        reply = self._function(request)
        if isinstance(reply, BaseException):
            raise reply
        return reply


# --- a loopback server speaking the OpenAI chat-completions protocol ------------------------------


@dataclass(frozen=True)
class StubReply:
    """A scripted completion with control over usage, finish reason and delay."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    delay_s: float = 0.0


@dataclass(frozen=True)
class StubError:
    """An HTTP error answered instead of a completion (`body` replaces the default JSON)."""

    status: int = 500
    message: str = "stub server error"
    code: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    def payload(self) -> Any:
        """Return the JSON body sent with the error."""
        if self.body is not None:
            return self.body
        return {"error": {"message": self.message, "type": "stub_error", "code": self.code}}


@dataclass(frozen=True)
class StubDisconnect:
    """Close the connection without answering, as a crashed server or a reset would."""


StubOutcome = str | StubReply | StubError | StubDisconnect
StubItem = StubOutcome | Callable[[dict[str, Any]], StubOutcome]


class OpenAIStubServer:
    """A stdlib HTTP server on 127.0.0.1 answering POST /v1/chat/completions from a script.

    `replies` is a list used in order (strings, StubReply, StubError, StubDisconnect, or a
    callable(request_json) returning one of those) or a single callable used for every
    request. Every request body is kept in `requests`, rejected ones included. `models`, if
    given, is what GET /v1/models lists and any other model gets 404 model_not_found;
    `api_key`, if given, is the only key accepted (401 otherwise); `supports_json_schema` /
    `supports_json_object` False make a request with that response_format fail with 400, the
    way many local servers do. Rejections use no scripted reply. Running out of replies answers
    400 with a message that says so.
    """

    def __init__(
        self,
        replies: Iterable[StubItem] | Callable[[dict[str, Any]], StubOutcome] = (),
        *,
        models: Sequence[str] | None = None,
        api_key: str | None = None,
        supports_json_schema: bool = True,
        supports_json_object: bool = True,
    ) -> None:
        self._function = replies if callable(replies) else None
        self._queue: list[StubItem] = [] if callable(replies) else list(replies)
        self._scripted = len(self._queue)
        self.models = list(models) if models is not None else None
        self.api_key = api_key
        self.supports_json_schema = supports_json_schema
        self.supports_json_object = supports_json_object
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (it starts on first use; stays known after close)."""
        if self._port is None:
            self.start()
        assert self._port is not None
        return self._port

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client: http://127.0.0.1:PORT/v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._queue)

    def start(self) -> OpenAIStubServer:
        """Start serving in a daemon thread; return self."""
        if self._server is None:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
            server.daemon_threads = True
            server.stub = self  # type: ignore[attr-defined]
            self._server = server
            self._port = int(server.server_address[1])
            # A short poll interval keeps close() quick (shutdown waits for the next poll).
            self._thread = threading.Thread(
                target=server.serve_forever, args=(0.02,), name="openai-stub", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and free the port."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _answer(self, body: dict[str, Any], authorization: str) -> tuple[int, StubOutcome]:
        """Return the request's number and what to send for it (runs in a handler thread)."""
        with self._lock:
            self.requests.append(body)
            number = len(self.requests)
        return number, self._outcome(body, authorization, number)

    def _outcome(self, body: dict[str, Any], authorization: str, number: int) -> StubOutcome:
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return StubError(401, "Incorrect API key provided", code="invalid_api_key")
        model = body.get("model")
        if self.models is not None and model not in self.models:
            return StubError(404, f"The model `{model}` does not exist", code="model_not_found")
        if body.get("stream"):
            return StubError(400, "streaming is not supported by OpenAIStubServer")
        kind = (body.get("response_format") or {}).get("type")
        if (kind == "json_schema" and not self.supports_json_schema) or (
            kind == "json_object" and not self.supports_json_object
        ):
            return StubError(400, f"response_format type {kind!r} is not supported")
        if self._function is not None:
            item: StubItem = self._function
        else:
            with self._lock:
                if not self._queue:
                    return StubError(
                        400,
                        f"OpenAIStubServer ran out of replies: {self._scripted} were scripted "
                        f"and request {number} asked for one more",
                    )
                item = self._queue.pop(0)
        if callable(item):
            try:
                return item(body)
            except Exception as error:  # a broken test script must fail loudly, not retry
                return StubError(400, f"the stub's reply function raised {error!r}")
        return item


def _chat_completion(body: dict[str, Any], reply: StubReply, number: int) -> dict[str, Any]:
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    prompt_tokens = reply.prompt_tokens
    completion_tokens = reply.completion_tokens
    if prompt_tokens is None:
        prompt_tokens = _estimate_tokens(prompt)
    if completion_tokens is None:
        completion_tokens = _estimate_tokens(reply.text)
    return {
        "id": f"chatcmpl-stub-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _StubHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _send(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """List the configured models on /v1/models."""
        stub: OpenAIStubServer = self.server.stub  # type: ignore[attr-defined]
        if self.path.rstrip("/").endswith("/models"):
            names = stub.models or []
            data = [{"id": n, "object": "model", "created": 0, "owned_by": "stub"} for n in names]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        """Answer a chat completion from the script."""
        stub: OpenAIStubServer = self.server.stub  # type: ignore[attr-defined]
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        length = int(self.headers.get("Content-Length", 0))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as error:
            self._send(400, {"error": {"message": f"request body is not JSON: {error}"}})
            return
        number, outcome = stub._answer(body, self.headers.get("Authorization", ""))
        if isinstance(outcome, StubDisconnect):
            self.close_connection = True
            return
        if isinstance(outcome, StubError):
            self._send(outcome.status, outcome.payload(), outcome.headers)
            return
        reply = outcome if isinstance(outcome, StubReply) else StubReply(str(outcome))
        if reply.delay_s > 0:
            time.sleep(reply.delay_s)
        self._send(200, _chat_completion(body, reply, number))


def proposal_reply(
    formulation: Mapping[str, Any],
    expression: str | None = None,
    *,
    units: str = "",
    description: str = "",
    reasoning: str = "scripted",
) -> str:
    """The text of a formulate-step reply: a proposal with this formulation and answer spec."""
    return json.dumps(
        {
            "reasoning": reasoning,
            "formulation": formulation,
            "answer": {"expression": expression, "units": units, "description": description},
        }
    )


def repair_reply(
    formulation: Mapping[str, Any],
    expression: str | None = None,
    *,
    reasoning: str = "scripted fix",
) -> str:
    """The text of a repair-step reply (OptoPrime format) suggesting a new proposal."""
    proposal = json.loads(proposal_reply(formulation, expression, reasoning=reasoning))
    return json.dumps({"reasoning": reasoning, "suggestion": {"proposal": proposal}})


def keep_reply(previous_proposal: str) -> str:
    """The text of a repair-step reply that returns the current proposal unchanged."""
    return json.dumps(
        {
            "reasoning": "the formulation is right as it is",
            "suggestion": {"proposal": json.loads(previous_proposal)},
        }
    )
