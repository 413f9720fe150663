"""How failures are read: transient or not, Retry-After forms, server messages."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest

from optiagent.agent.llm.errors import Failure
from optiagent.exceptions import ConfigurationError, LLMError


class _Response:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


class APIStatusError(Exception):
    """Looks like openai's: the reader goes by attributes, not by import."""

    __module__ = "openai._exceptions"

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"Error code: {status}")
        self.status_code = status
        self.body = body
        self.code = body.get("code") if isinstance(body, dict) else None
        self.message = f"Error code: {status}"
        self.response = _Response(headers or {})


def _read(error: BaseException) -> Failure:
    return Failure(error, model="m", base_url="http://h/v1", timeout=3.0)


@pytest.mark.parametrize(
    ("status", "code", "transient"),
    [
        (429, None, True),
        (429, "insufficient_quota", False),
        (408, None, True),
        (500, None, True),
        (501, None, False),
        (502, None, True),
        (503, None, True),
        (504, None, True),
        (529, None, True),
        (400, None, False),
        (401, None, False),
        (403, None, False),
        (404, None, False),
        (422, None, False),
    ],
)
def test_which_statuses_are_transient(status: int, code: str | None, transient: bool) -> None:
    assert _read(APIStatusError(status, {"code": code, "message": "x"})).transient is transient


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "1"}, 1.0),
        ({"retry-after": "whenever"}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    assert _read(APIStatusError(429, {}, headers)).retry_after() == expected


def test_retry_after_as_a_future_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = _read(APIStatusError(503, {}, {"retry-after": later})).retry_after()
    assert wait is not None and 25 < wait <= 31


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "from error.message"}, "from error.message"),
        ("model 'x' not found, try pulling it first", "model 'x' not found, try pulling it first"),
        ({"detail": "fastapi style"}, "fastapi style"),
        ({"error": {"message": "nested"}}, "nested"),
        ({"message": "word " * 100}, ("word " * 100)[:297].strip() + "..."),
    ],
)
def test_server_message_is_found_in_common_body_shapes(body: Any, expected: str) -> None:
    assert _read(APIStatusError(400, body)).message == expected


def test_format_rejections_are_recognised() -> None:
    assert _read(
        APIStatusError(400, {"message": "Unknown field response_format"})
    ).rejects_response_format
    assert _read(
        APIStatusError(422, {"message": "json_schema unsupported"})
    ).rejects_response_format
    assert not _read(APIStatusError(400, {"message": "messages too long"})).rejects_response_format
    assert not _read(
        APIStatusError(500, {"message": "response_format crash"})
    ).rejects_response_format


def test_unknown_model_in_a_400_is_a_configuration_error() -> None:
    failure = _read(APIStatusError(400, {"message": "The model `q` does not exist."}))
    assert failure.model_not_found
    error = failure.fatal(None)
    assert isinstance(error, ConfigurationError)
    assert "base URL" in str(error)


def test_foreign_exceptions_are_not_treated_as_endpoint_errors() -> None:
    failure = _read(RuntimeError("bug"))
    assert not failure.is_openai and not failure.transient
    error = failure.fatal()
    assert isinstance(error, LLMError) and not error.retryable
