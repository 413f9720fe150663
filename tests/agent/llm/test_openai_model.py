"""OpenAIChatModel end to end: the real openai client against OpenAIStubServer on loopback."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from pydantic import BaseModel
from typer.testing import CliRunner

from optiagent.agent.llm import (
    ChatModel,
    JsonSchema,
    OpenAIChatModel,
    RetryEvent,
    UsageLog,
    complete_validated,
    resolve_chat_model,
)
from optiagent.agent.llm.openai_model import DEFAULT_BASE_URL
from optiagent.exceptions import ConfigurationError, LLMError, LLMOutputError
from optiagent.settings import DEFAULT_MODEL
from optiagent.testing import (
    OpenAIStubServer,
    ScriptedModel,
    StubDisconnect,
    StubError,
    StubReply,
)

ASK = [{"role": "user", "content": "Say hi in JSON."}]
SCHEMA = JsonSchema("A point/2D", {"type": "object", "properties": {"x": {"type": "integer"}}})


class Point(BaseModel):
    x: int
    y: int


@pytest.fixture
def events() -> list[RetryEvent]:
    return []


def make(
    server: OpenAIStubServer, events: list[RetryEvent] | None = None, **kwargs: Any
) -> OpenAIChatModel:
    options: dict[str, Any] = {
        "base_url": server.base_url,
        "api_key": "test-key",
        "backoff_base_s": 0.001,
        "backoff_max_s": 0.01,
        "max_retries": 3,
    }
    if events is not None:
        options["on_retry"] = events.append
    options.update(kwargs)
    return OpenAIChatModel(options.pop("model", "stub-model"), **options)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


# --- plain requests ---------------------------------------------------------------------------


def test_plain_reply_carries_text_tokens_and_finish_reason() -> None:
    with OpenAIStubServer([StubReply("hello", prompt_tokens=11, completion_tokens=3)]) as server:
        reply = make(server).complete(ASK)
    assert reply.text == "hello"
    assert (reply.prompt_tokens, reply.completion_tokens) == (11, 3)
    assert reply.model == "stub-model"
    assert reply.finish_reason == "stop"
    assert reply.cached is False
    assert reply.latency_s > 0
    body = server.requests[0]
    assert body["model"] == "stub-model"
    assert body["messages"] == ASK
    assert "response_format" not in body and "temperature" not in body and "seed" not in body


def test_sampling_parameters_and_extra_body_are_sent() -> None:
    with OpenAIStubServer(["ok"]) as server:
        make(server, extra_body={"top_k": 20}).complete(ASK, temperature=0.3, seed=7)
    body = server.requests[0]
    assert (body["temperature"], body["seed"], body["top_k"]) == (0.3, 7, 20)


def test_truncated_reply_reports_length() -> None:
    with OpenAIStubServer([StubReply('{"x": ', finish_reason="length")]) as server:
        assert make(server).complete(ASK).finish_reason == "length"


# --- structured output ------------------------------------------------------------------------


def test_json_schema_response_format_is_sent() -> None:
    with OpenAIStubServer(['{"x": 1}']) as server:
        model = make(server)
        model.complete(ASK, response_schema=SCHEMA)
    assert server.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "A_point_2D", "schema": dict(SCHEMA.schema), "strict": False},
    }
    assert model.structured_output_mode == "json_schema"


def test_rejected_json_schema_falls_back_to_json_object_and_remembers() -> None:
    with OpenAIStubServer(['{"x": 1}', '{"x": 2}'], supports_json_schema=False) as server:
        model = make(server)
        first = model.complete(ASK, response_schema=SCHEMA)
        second = model.complete(ASK, response_schema=SCHEMA)
    assert (first.text, second.text) == ('{"x": 1}', '{"x": 2}')
    kinds = [(r.get("response_format") or {}).get("type") for r in server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert model.structured_output_mode == "json_object"


def test_endpoint_without_any_response_format_gets_plain_requests() -> None:
    server = OpenAIStubServer(['{"x": 1}'], supports_json_schema=False, supports_json_object=False)
    with server:
        model = make(server)
        assert model.complete(ASK, response_schema=SCHEMA).text == '{"x": 1}'
    kinds = [(r.get("response_format") or {}).get("type") for r in server.requests]
    assert kinds == ["json_schema", "json_object", None]
    assert model.structured_output_mode == "none"


def test_fallback_is_per_instance() -> None:
    with OpenAIStubServer(["{}", "{}"], supports_json_schema=False) as server:
        make(server).complete(ASK, response_schema=SCHEMA)
        fresh = make(server)
        assert fresh.structured_output_mode == "json_schema"


def test_structured_output_true_refuses_to_fall_back() -> None:
    with (
        OpenAIStubServer(["{}"], supports_json_schema=False) as server,
        pytest.raises(ConfigurationError, match="structured_output=None"),
    ):
        make(server, structured_output=True).complete(ASK, response_schema=SCHEMA)


def test_structured_output_false_never_sends_a_response_format() -> None:
    with OpenAIStubServer(["{}"]) as server:
        make(server, structured_output=False).complete(ASK, response_schema=SCHEMA)
    assert "response_format" not in server.requests[0]


# --- retries ----------------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(events: list[RetryEvent]) -> None:
    script = [StubError(429, "slow down", headers={"Retry-After": "0"}), "fine"]
    with OpenAIStubServer(script) as server:
        reply = make(server, events).complete(ASK)
    assert reply.text == "fine"
    assert len(server.requests) == 2
    assert events == [RetryEvent(1, 0.0, "HTTP 429: slow down")]


def test_retry_after_ms_is_preferred_and_capped(events: list[RetryEvent]) -> None:
    script = [
        StubError(503, headers={"retry-after-ms": "4", "Retry-After": "9"}),
        StubError(429, headers={"Retry-After": "3600"}),
        "ok",
    ]
    with OpenAIStubServer(script) as server:
        make(server, events, backoff_max_s=0.02).complete(ASK)
    assert [e.delay_s for e in events] == [0.004, 0.02]


def test_backoff_is_exponential_with_full_jitter(events: list[RetryEvent]) -> None:
    with OpenAIStubServer([StubError(502)] * 5 + ["ok"]) as server:
        make(server, events, max_retries=5, backoff_base_s=0.001, backoff_max_s=0.004).complete(ASK)
    ceilings = [0.001, 0.002, 0.004, 0.004, 0.004]
    assert [e.attempt for e in events] == [1, 2, 3, 4, 5]
    assert all(0.0 <= e.delay_s <= c for e, c in zip(events, ceilings, strict=True))


def test_persistent_500_ends_in_retryable_llm_error(events: list[RetryEvent]) -> None:
    with (
        OpenAIStubServer([StubError(500, "boom")] * 4) as server,
        pytest.raises(LLMError) as caught,
    ):
        make(server, events, max_retries=3).complete(ASK)
    assert caught.value.retryable is True
    assert "failed 4 times" in str(caught.value) and "HTTP 500: boom" in str(caught.value)
    assert len(server.requests) == 4 and len(events) == 3
    assert caught.value.__cause__ is not None


def test_connection_refused_is_retried_then_reported(
    closed_port: int, events: list[RetryEvent]
) -> None:
    model = OpenAIChatModel(
        "m",
        base_url=f"http://127.0.0.1:{closed_port}/v1",
        api_key="k",
        max_retries=2,
        backoff_base_s=0.001,
        on_retry=events.append,
    )
    with pytest.raises(LLMError) as caught:
        model.complete(ASK)
    assert caught.value.retryable is True
    assert f"could not connect to http://127.0.0.1:{closed_port}/v1" in str(caught.value)
    assert "OPENAI_BASE_URL" in str(caught.value)
    assert len(events) == 2


def test_dropped_connection_is_retried() -> None:
    with OpenAIStubServer([StubDisconnect(), "back"]) as server:
        assert make(server).complete(ASK).text == "back"
    assert len(server.requests) == 2


def test_timeout_is_retried(events: list[RetryEvent]) -> None:
    with OpenAIStubServer([StubReply("late", delay_s=1.0), "on time"]) as server:
        reply = make(server, events, timeout=0.2).complete(ASK)
    assert reply.text == "on time"
    assert events[0].reason == "no reply within 0.2 s"


def test_max_retries_zero_fails_at_once() -> None:
    with (
        OpenAIStubServer([StubError(503)]) as server,
        pytest.raises(LLMError, match="failed 1 time in a row"),
    ):
        make(server, max_retries=0).complete(ASK)


# --- errors that must not be retried ----------------------------------------------------------


def test_bad_key_is_a_configuration_error_without_retry() -> None:
    with (
        OpenAIStubServer(["never"], api_key="right-key") as server,
        pytest.raises(ConfigurationError, match=r"rejected the API key.*OPENAI_API_KEY"),
    ):
        make(server, api_key="wrong-key").complete(ASK)
    assert len(server.requests) == 1


def test_unknown_model_names_model_endpoint_and_served_models() -> None:
    with (
        OpenAIStubServer(["never"], models=["llama3.1:8b", "qwen2.5:7b"]) as server,
        pytest.raises(ConfigurationError) as caught,
    ):
        make(server, model="gpt-9").complete(ASK)
    message = str(caught.value)
    assert "model 'gpt-9' was not found at " + server.base_url in message
    assert "OPTIAGENT_MODEL" in message and "--model" in message
    assert "it serves: llama3.1:8b, qwen2.5:7b" in message
    assert len(server.requests) == 1


def test_other_client_errors_are_not_retried() -> None:
    with (
        OpenAIStubServer([StubError(400, "messages must not be empty")]) as server,
        pytest.raises(LLMError) as caught,
    ):
        make(server).complete(ASK)
    assert caught.value.retryable is False
    assert "messages must not be empty" in str(caught.value)
    assert len(server.requests) == 1


def test_used_up_quota_is_not_retried() -> None:
    with (
        OpenAIStubServer([StubError(429, "quota", code="insufficient_quota")]) as server,
        pytest.raises(LLMError, match="billing") as caught,
    ):
        make(server).complete(ASK)
    assert caught.value.retryable is False
    assert len(server.requests) == 1


def test_context_length_error_suggests_what_to_do() -> None:
    error = StubError(400, "too long", code="context_length_exceeded")
    with OpenAIStubServer([error]) as server, pytest.raises(LLMError, match="longer context"):
        make(server).complete(ASK)


def test_reply_without_choices_is_an_output_error() -> None:
    def no_choices(body: dict[str, Any]) -> StubError:
        return StubError(
            200,
            body={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [],
            },
        )

    with (
        OpenAIStubServer([no_choices]) as server,
        pytest.raises(LLMOutputError, match="no choices"),
    ):
        make(server).complete(ASK)


# --- configuration ----------------------------------------------------------------------------


def test_missing_key_is_one_clear_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        OpenAIChatModel("m")
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message
    assert "any non-empty key" in message and "Ollama" in message


def test_environment_fills_what_arguments_leave_open(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTIAGENT_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    from_env = OpenAIChatModel()
    assert (from_env.name, from_env.base_url) == ("env-model", "http://127.0.0.1:9/v1")
    explicit = OpenAIChatModel("arg-model", base_url="http://127.0.0.1:8/v1", api_key="k")
    assert (explicit.name, explicit.base_url) == ("arg-model", "http://127.0.0.1:8/v1")
    assert "env-key" not in repr(from_env)


def test_defaults_without_environment() -> None:
    model = OpenAIChatModel(api_key="k")
    assert (model.name, model.base_url) == (DEFAULT_MODEL, DEFAULT_BASE_URL)


def test_bad_numbers_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        OpenAIChatModel("m", api_key="k", timeout=0)


def test_two_instances_talk_to_their_own_servers() -> None:
    with OpenAIStubServer(["from A"]) as a, OpenAIStubServer(["from B"]) as b:
        model_a = make(a, model="model-a")
        model_b = make(b, model="model-b")
        assert model_b.complete(ASK).text == "from B"
        assert model_a.complete(ASK).text == "from A"
    assert [r["model"] for r in a.requests] == ["model-a"]
    assert [r["model"] for r in b.requests] == ["model-b"]


def test_concurrent_threads_share_one_model() -> None:
    with OpenAIStubServer(lambda body: body["messages"][0]["content"].upper()) as server:
        model = make(server)
        results: dict[int, str] = {}

        def ask(i: int) -> None:
            results[i] = model.complete([{"role": "user", "content": f"q{i}"}]).text

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {i: f"Q{i}" for i in range(8)}


def test_resolve_chat_model() -> None:
    scripted = ScriptedModel([])
    assert resolve_chat_model(scripted, timeout=5) is scripted
    built = resolve_chat_model("named", api_key="k", base_url="http://127.0.0.1:7/v1")
    assert isinstance(built, OpenAIChatModel) and isinstance(built, ChatModel)
    assert (built.name, built.base_url) == ("named", "http://127.0.0.1:7/v1")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        resolve_chat_model(None)
    with pytest.raises(TypeError, match="ChatModel"):
        resolve_chat_model(42)  # type: ignore[arg-type]


def test_importing_the_package_does_not_import_openai() -> None:
    code = "import sys, optiagent.agent.llm; print('openai' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- async ------------------------------------------------------------------------------------


def test_async_path_retries_and_falls_back(events: list[RetryEvent]) -> None:
    script = [StubError(429, headers={"Retry-After": "0"}), '{"x": 3}']
    with OpenAIStubServer(script, supports_json_schema=False) as server:
        model = make(server, events)
        reply = asyncio.run(model.acomplete(ASK, response_schema=SCHEMA, temperature=0.0))
    assert reply.text == '{"x": 3}'
    kinds = [(r.get("response_format") or {}).get("type") for r in server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]
    assert len(events) == 1


def test_async_model_survives_several_event_loops() -> None:
    with OpenAIStubServer(["one", "two", "three"]) as server:
        model = make(server)

        async def gather() -> list[str]:
            replies = await asyncio.gather(model.acomplete(ASK), model.acomplete(ASK))
            return [r.text for r in replies]

        assert sorted(asyncio.run(gather())) == ["one", "two"]
        assert asyncio.run(model.acomplete(ASK)).text == "three"


def test_async_errors_map_like_sync_ones() -> None:
    with (
        OpenAIStubServer(["never"], api_key="right") as server,
        pytest.raises(ConfigurationError, match="API key"),
    ):
        asyncio.run(make(server, api_key="wrong").acomplete(ASK))


# --- with the validation loop and usage accounting --------------------------------------------


def test_complete_validated_through_the_real_client_records_usage() -> None:
    script = [
        StubReply("Sure! {x: 1}", prompt_tokens=10, completion_tokens=4),
        StubError(429, headers={"Retry-After": "0"}),
        StubReply('{"x": 1, "y": 2}', prompt_tokens=30, completion_tokens=6),
    ]
    usage = UsageLog()
    with OpenAIStubServer(script) as server:
        result = complete_validated(
            make(server),
            ASK,
            Point.model_validate,
            response_schema=SCHEMA,
            usage=usage,
            node="formulate",
        )
    assert result.value == Point(x=1, y=2)
    assert result.attempts == 2
    retry = server.requests[2]["messages"]
    assert retry[-2] == {"role": "assistant", "content": "Sure! {x: 1}"}
    assert "no valid JSON" in retry[-1]["content"] and "line 1, column 8" in retry[-1]["content"]
    node = usage.by_node()["formulate"]
    assert (node.calls, node.prompt_tokens, node.completion_tokens) == (2, 40, 10)


# --- the CLI shows one message, never a traceback ---------------------------------------------


def _cli_with(action: Any) -> typer.Typer:
    from optiagent.cli import _Group

    app = typer.Typer(cls=_Group, pretty_exceptions_enable=False)

    @app.command()
    def ask() -> None:
        action()

    @app.command()
    def other() -> None:  # a second command keeps typer in group mode, like the real CLI
        pass

    return app


@pytest.mark.parametrize("case", ["missing_key", "bad_key", "unknown_model", "server_down"])
def test_cli_user_sees_one_error_line_not_a_traceback(case: str, closed_port: int) -> None:
    server = OpenAIStubServer([StubError(503)] * 3, api_key="right", models=["m"])
    with server:

        def action() -> None:
            if case == "missing_key":
                OpenAIChatModel("m")
            elif case == "bad_key":
                make(server, model="m", api_key="wrong").complete(ASK)
            elif case == "unknown_model":
                make(server, model="nope", api_key="right").complete(ASK)
            else:
                make(server, model="m", api_key="right", max_retries=2).complete(ASK)

        result = CliRunner().invoke(_cli_with(action), ["ask"])
    assert result.exit_code == 2
    output = result.output
    assert "Traceback" not in output
    assert output.strip().startswith("error:")
    assert {
        "missing_key": "OPENAI_API_KEY",
        "bad_key": "rejected the API key",
        "unknown_model": "model 'nope' was not found",
        "server_down": "failed 3 times",
    }[case] in output
