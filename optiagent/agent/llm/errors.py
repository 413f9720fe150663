"""What an `openai` exception means for optiagent: retry it, fall back, or one clear error.

Kept apart from the client so the rules can be read (and tested) in one place:

- transient: timeouts, connection errors, 408, 409, 429 (unless the quota is used up) and
  5xx except 501 -> retried with backoff; the wait honours `retry-after-ms` / `Retry-After`;
- a 400 / 422 complaining about `response_format` -> the structured-output fallback;
- 401 / 403 / 404 / unknown model -> `ConfigurationError` saying what to set;
- anything else the endpoint refuses -> `LLMError(retryable=False)` with the server's words.

Functions here receive exceptions from the `openai` package but never import it: they read
the attributes every `openai.APIError` has, so this module stays cheap to import.
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC
from typing import Any

from optiagent.exceptions import ConfigurationError, LLMError, OptiAgentError

__all__ = ["Failure", "missing_key_message"]

_TRANSIENT_STATUS = frozenset({408, 409, 429})
_FORMAT_WORDS = ("response_format", "json_schema", "json schema", "json_object", "structured")
_MAX_MESSAGE = 300


def missing_key_message(base_url: str) -> str:
    """Return the message for a missing API key, with the local-server hint."""
    return (
        f"no API key for the model endpoint {base_url}: set OPENAI_API_KEY (or pass "
        "api_key=...). A local OpenAI-compatible server (vLLM, Ollama, llama.cpp) accepts any "
        "non-empty key, e.g. OPENAI_API_KEY=local with OPENAI_BASE_URL=http://localhost:11434/v1"
    )


class Failure:
    """One failed request, read: is it transient, a format rejection, or fatal (and how)."""

    def __init__(self, error: BaseException, *, model: str, base_url: str, timeout: float) -> None:
        self.error = error
        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.status: int | None = getattr(error, "status_code", None)
        self.code: str | None = getattr(error, "code", None)
        self.message = _server_message(error)
        kind = type(error).__name__
        self.is_timeout = kind == "APITimeoutError"
        self.is_connection = kind in ("APIConnectionError", "APITimeoutError")
        self.is_openai = _is_openai_error(error)

    @property
    def transient(self) -> bool:
        """True if the same request may well succeed when sent again later."""
        if self.is_connection:
            return True
        if self.status is None:
            return False
        if self.status == 429:
            return self.code != "insufficient_quota"
        return self.status in _TRANSIENT_STATUS or (500 <= self.status < 600 and self.status != 501)

    @property
    def rejects_response_format(self) -> bool:
        """True if the endpoint refused the request because of its `response_format`."""
        if self.status not in (400, 422):
            return False
        text = f"{self.message} {getattr(self.error, 'param', '') or ''}".lower()
        return any(word in text for word in _FORMAT_WORDS)

    @property
    def model_not_found(self) -> bool:
        """True if the endpoint says it does not know the model."""
        if self.status == 404 or self.code == "model_not_found":
            return True
        text = self.message.lower()
        return (
            self.status == 400
            and "model" in text
            and ("not found" in text or "does not exist" in text)
        )

    def retry_after(self) -> float | None:
        """Return the wait the server asked for, in seconds, or None."""
        response = getattr(self.error, "response", None)
        headers = getattr(response, "headers", None)
        if headers is None:
            return None
        milliseconds = headers.get("retry-after-ms")
        if milliseconds is not None:
            try:
                return max(0.0, float(milliseconds) / 1000.0)
            except ValueError:
                pass
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:  # the other form HTTP allows: a date
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, moment.timestamp() - time.time())

    def describe(self) -> str:
        """Return a short account of what went wrong, for messages and retry notices."""
        if self.is_timeout:
            return f"no reply within {self.timeout:g} s"
        if self.is_connection:
            cause = self.error.__cause__
            detail = f" ({type(cause).__name__}: {cause})" if cause else ""
            return f"could not connect to {self.base_url}{detail}"
        if self.status is not None:
            return f"HTTP {self.status}: {self.message}"
        return f"{type(self.error).__name__}: {self.error}"

    def exhausted(self, attempts: int) -> LLMError:
        """Return the error for a transient failure that outlived every retry."""
        if self.is_timeout:
            hint = "the model is slow or overloaded: raise the timeout (OPTIAGENT_LLM_TIMEOUT)"
        elif self.is_connection:
            hint = "check that the server is running and that OPENAI_BASE_URL points to it"
        elif self.status == 429:
            hint = "the endpoint is rate limiting: lower the concurrency or try again later"
        else:
            hint = "the service is failing: try again later"
        return LLMError(
            f"the model endpoint {self.base_url} failed {attempts} time"
            f"{'s' if attempts != 1 else ''} in a row (last error: {self.describe()}); {hint}",
            retryable=True,
        )

    def fatal(self, available_models: list[str] | None = None) -> OptiAgentError:
        """Return the one clear error for a failure that must not be retried."""
        where = self.base_url
        if self.status == 401:
            return ConfigurationError(
                f"the model endpoint {where} rejected the API key (HTTP 401: {self.message}); "
                "set OPENAI_API_KEY to a valid key for this endpoint"
            )
        if self.status == 403:
            return ConfigurationError(
                f"the model endpoint {where} refused access to model {self.model!r} "
                f"(HTTP 403: {self.message}); check the key's permissions or choose another "
                "model with OPTIAGENT_MODEL or --model"
            )
        if self.model_not_found:
            text = (
                f"model {self.model!r} was not found at {where} ({self.message}); set "
                "OPTIAGENT_MODEL or pass --model with a model this endpoint serves"
            )
            if available_models:
                shown = ", ".join(available_models[:12])
                more = ", ..." if len(available_models) > 12 else ""
                text += f" (it serves: {shown}{more})"
            else:
                text += ", and check the base URL (it usually ends in /v1)"
            return ConfigurationError(text)
        if self.status == 429:  # only insufficient_quota is not transient
            return LLMError(
                f"the model endpoint {where} reports the quota is used up ({self.message}); "
                "check the plan and billing of this API key",
                retryable=False,
            )
        if self.code == "context_length_exceeded":
            return LLMError(
                f"the prompt is too long for model {self.model!r} ({self.message}); use a "
                "model with a longer context or a shorter problem text",
                retryable=False,
            )
        if self.is_openai:
            return LLMError(
                f"the model endpoint {where} rejected the request ({self.describe()})",
                retryable=False,
            )
        return LLMError(f"calling the model failed: {self.describe()}", retryable=False)


def _is_openai_error(error: BaseException) -> bool:
    return any(cls.__module__.split(".")[0] == "openai" for cls in type(error).__mro__)


def _server_message(error: BaseException) -> str:
    """Return the server's own explanation: error.message, detail, or the raw body."""
    body: Any = getattr(error, "body", None)
    text: str | None = None
    if isinstance(body, dict):
        for field in ("message", "detail", "error"):
            value = body.get(field)
            if isinstance(value, str) and value:
                text = value
                break
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                text = value["message"]
                break
    elif isinstance(body, str) and body.strip():
        text = body.strip()
    if text is None:
        text = str(getattr(error, "message", "") or error)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."
