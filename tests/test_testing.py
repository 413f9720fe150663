"""The test doubles users can import: ScriptedModel, FunctionModel and OpenAIStubServer."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest

from optiagent.agent.llm import ChatModel, ChatReply, JsonSchema
from optiagent.exceptions import OptiAgentError
from optiagent.testing import (
    FunctionModel,
    OpenAIStubServer,
    RecordedRequest,
    ScriptedModel,
    StubError,
    StubReply,
)

ASK = [{"role": "system", "content": "sys"}, {"role": "user", "content": "question"}]


def _post(
    server: OpenAIStubServer, body: dict[str, Any], key: str = "k"
) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), dict(error.headers)


def _chat(content: str = "q", **extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **extra}


# --- ScriptedModel / FunctionModel ------------------------------------------------------------


def test_scripted_model_replies_in_order_and_records() -> None:
    model = ScriptedModel(["one", ChatReply("two", "custom", 1, 2)], name="s")
    assert isinstance(model, ChatModel)
    schema = JsonSchema("S", {})
    first = model.complete(ASK, response_schema=schema, temperature=0.5, seed=4)
    second = asyncio.run(model.acomplete(ASK))
    assert (first.text, first.model) == ("one", "s")
    assert first.prompt_tokens > 0 and first.completion_tokens > 0
    assert second == ChatReply("two", "custom", 1, 2)
    assert model.remaining == 0
    request = model.requests[0]
    assert (request.response_schema, request.temperature, request.seed) == (schema, 0.5, 4)
    assert request.last_user_message == "question"
    assert request.text == "sys\nquestion"


def test_scripted_model_raises_scripted_errors_and_runs_out_loudly() -> None:
    model = ScriptedModel([ValueError("scripted failure")])
    with pytest.raises(ValueError, match="scripted failure"):
        model.complete(ASK)
    with pytest.raises(OptiAgentError, match="ran out of replies: 1 were scripted"):
        model.complete(ASK)


def test_function_model_computes_replies_and_can_fail() -> None:
    def reply(request: RecordedRequest) -> str | BaseException:
        if "fail" in request.last_user_message:
            return RuntimeError("asked to fail")
        return request.last_user_message[::-1]

    model = FunctionModel(reply)
    assert model.complete([{"role": "user", "content": "abc"}]).text == "cba"
    with pytest.raises(RuntimeError, match="asked to fail"):
        model.complete([{"role": "user", "content": "please fail"}])
    assert len(model.requests) == 2


# --- OpenAIStubServer over plain HTTP ---------------------------------------------------------


def test_stub_answers_in_openai_shape_with_usage() -> None:
    with OpenAIStubServer(["hello there", StubReply("x", 3, 4, "length")]) as server:
        status, body, _ = _post(server, _chat("a" * 40))
        _, second, _ = _post(server, _chat())
    assert status == 200
    assert body["object"] == "chat.completion" and body["model"] == "m"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "hello there"}
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    assert second["usage"]["prompt_tokens"] == 3
    assert second["choices"][0]["finish_reason"] == "length"
    assert server.requests == [_chat("a" * 40), _chat()]


def test_stub_errors_carry_status_body_and_headers() -> None:
    error = StubError(429, "slow", code="rate_limit", headers={"Retry-After": "2"})
    with OpenAIStubServer([error, StubError(503, body={"detail": "custom"})]) as server:
        status, body, headers = _post(server, _chat())
        status2, body2, _ = _post(server, _chat())
    assert status == 429 and headers["Retry-After"] == "2"
    assert body["error"]["message"] == "slow" and body["error"]["code"] == "rate_limit"
    assert (status2, body2) == (503, {"detail": "custom"})


def test_stub_callables_see_the_request() -> None:
    def echo(body: dict[str, Any]) -> str:
        return f"model={body['model']} n={len(body['messages'])}"

    with OpenAIStubServer(echo) as server:
        for _ in range(3):
            _, body, _ = _post(server, _chat())
            assert body["choices"][0]["message"]["content"] == "model=m n=1"
    with OpenAIStubServer(["first", lambda body: StubError(500, "from callable")]) as server:
        _post(server, _chat())
        status, body, _ = _post(server, _chat())
    assert (status, body["error"]["message"]) == (500, "from callable")


def test_stub_reports_a_broken_reply_function() -> None:
    def broken(body: dict[str, Any]) -> str:
        raise KeyError("oops")

    with OpenAIStubServer([broken]) as server:
        status, body, _ = _post(server, _chat())
    assert status == 400 and "KeyError" in body["error"]["message"]


def test_stub_runs_out_of_replies_with_a_clear_400() -> None:
    with OpenAIStubServer(["only"]) as server:
        _post(server, _chat())
        status, body, _ = _post(server, _chat())
        assert server.remaining == 0
    assert status == 400
    assert "ran out of replies: 1 were scripted and request 2" in body["error"]["message"]


def test_stub_checks_key_model_streaming_and_formats_without_using_replies() -> None:
    server = OpenAIStubServer(["kept"], api_key="secret", models=["m"], supports_json_schema=False)
    with server:
        assert _post(server, _chat(), key="wrong")[0] == 401
        status, body, _ = _post(server, {**_chat(), "model": "other"}, key="secret")
        assert (status, body["error"]["code"]) == (404, "model_not_found")
        assert _post(server, _chat(stream=True), key="secret")[0] == 400
        schema_format = {"type": "json_schema", "json_schema": {"name": "S", "schema": {}}}
        status, body, _ = _post(server, _chat(response_format=schema_format), key="secret")
        assert status == 400 and "response_format" in body["error"]["message"]
        assert server.remaining == 1
        status, body, _ = _post(
            server, _chat(response_format={"type": "json_object"}), key="secret"
        )
        assert (status, body["choices"][0]["message"]["content"]) == (200, "kept")
    assert len(server.requests) == 5


def test_stub_lists_models_and_404s_other_routes() -> None:
    with OpenAIStubServer(models=["a", "b"]) as server:
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response:
            listing = json.loads(response.read())
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{server.base_url}/embeddings", timeout=5)
    caught.value.close()
    assert [m["id"] for m in listing["data"]] == ["a", "b"]
    assert caught.value.code == 404


def test_stub_url_is_stable_and_the_port_is_freed_on_close() -> None:
    server = OpenAIStubServer(["x"])
    with server:
        url = server.base_url
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert server.base_url == url  # no restart after close
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
