"""`OpenAIChatModel`: the real `ChatModel`, on the `openai` package, for any compatible endpoint.

OpenAI itself, or a local vLLM / Ollama / llama.cpp server through `base_url`. The `openai`
client runs with `max_retries=0`; the retry loop is ours, so that every retry is visible
(`on_retry`), honours the server's Retry-After, and ends in one clear optiagent error.
`openai` is imported when the first request is sent, not when this module is.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optiagent.agent.llm.base import ChatModel, ChatReply, JsonSchema, Message
from optiagent.agent.llm.cache import ResponseCache, cache_key, is_cacheable
from optiagent.agent.llm.errors import Failure, missing_key_message
from optiagent.exceptions import ConfigurationError, LLMOutputError

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletion

__all__ = ["DEFAULT_BASE_URL", "OpenAIChatModel", "RetryEvent", "resolve_chat_model"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Structured-output levels, strongest first; an endpoint that refuses one gets the next.
_LEVELS = ("json_schema", "json_object", "none")


@dataclass(frozen=True)
class RetryEvent:
    """A transient failure about to be retried: the attempt that failed, the wait, and why."""

    attempt: int
    delay_s: float
    reason: str


class OpenAIChatModel:
    """A chat model behind an OpenAI-compatible endpoint, with retries, fallback and cache.

    Arguments left None are read once, here, from OPTIAGENT_MODEL, OPENAI_BASE_URL and
    OPENAI_API_KEY; nothing is global, so instances with different endpoints coexist.
    `structured_output`: True sends only json_schema, False never sends a response_format,
    None tries json_schema, then json_object, then plain text as the endpoint refuses them,
    and remembers what worked for this instance. Retries wait `min(backoff_max_s,
    backoff_base_s * 2**n)` times a uniform random factor (full jitter), or what the server
    asks in Retry-After (capped at backoff_max_s).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 4,
        structured_output: bool | None = None,
        cache: ResponseCache | str | Path | None = None,
        extra_body: Mapping[str, Any] | None = None,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 20.0,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        self.model = model or os.environ.get("OPTIAGENT_MODEL") or _default_model()
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigurationError(missing_key_message(self.base_url))
        if timeout <= 0 or max_retries < 0 or backoff_base_s < 0 or backoff_max_s < 0:
            raise ConfigurationError(
                "timeout must be positive and max_retries / backoff times non-negative; got "
                f"timeout={timeout}, max_retries={max_retries}, backoff_base_s={backoff_base_s}, "
                f"backoff_max_s={backoff_max_s}"
            )
        self._api_key = key
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.structured_output = structured_output
        self.extra_body = dict(extra_body or {})
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.on_retry = on_retry
        self._owns_cache = isinstance(cache, (str, Path))
        self.cache = ResponseCache(cache) if isinstance(cache, (str, Path)) else cache
        self._level = "none" if structured_output is False else "json_schema"
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, openai.AsyncOpenAI
        ] = weakref.WeakKeyDictionary()
        self._random = random.Random()

    @property
    def name(self) -> str:
        """The model name sent to the endpoint."""
        return self.model

    @property
    def structured_output_mode(self) -> str:
        """What a request with a schema sends now: 'json_schema', 'json_object' or 'none'."""
        return self._level

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.model!r}, base_url={self.base_url!r})"

    # --- the ChatModel protocol ---------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the model's reply (blocking), from the cache when it holds one."""
        key = self._cache_key(messages, response_schema, temperature, seed)
        if key is not None and self.cache is not None and (hit := self.cache.get(key)):
            return hit
        client = self._sync_client()  # outside the timing: the first one imports openai
        started = time.perf_counter()
        attempt = 0
        while True:
            level = self._level if response_schema is not None else "none"
            params = self._params(messages, response_schema, level, temperature, seed)
            try:
                completion = client.chat.completions.create(**params)
                break
            except Exception as error:
                delay = self._after_failure(error, level, attempt)
                if delay is None:
                    continue  # the response_format was downgraded: send again at once
                attempt += 1
                time.sleep(delay)
        return self._finish(completion, key, started)

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the model's reply (async), from the cache when it holds one."""
        key = self._cache_key(messages, response_schema, temperature, seed)
        if key is not None and self.cache is not None and (hit := self.cache.get(key)):
            return hit
        client = self._async_client()
        started = time.perf_counter()
        attempt = 0
        while True:
            level = self._level if response_schema is not None else "none"
            params = self._params(messages, response_schema, level, temperature, seed)
            try:
                completion = await client.chat.completions.create(**params)
                break
            except Exception as error:
                delay = self._after_failure(error, level, attempt)
                if delay is None:
                    continue
                attempt += 1
                await asyncio.sleep(delay)
        return self._finish(completion, key, started)

    def close(self) -> None:
        """Close the HTTP client and a cache this model opened itself (both reopen on use)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def __enter__(self) -> OpenAIChatModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- requests -----------------------------------------------------------------------------

    def _params(
        self,
        messages: Sequence[Message],
        schema: JsonSchema | None,
        level: str,
        temperature: float | None,
        seed: int | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
        }
        if temperature is not None:
            params["temperature"] = temperature
        if seed is not None:
            params["seed"] = seed
        if schema is not None and level == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": _schema_name(schema.name),
                    "schema": dict(schema.schema),
                    "strict": schema.strict,
                },
            }
        elif schema is not None and level == "json_object":
            params["response_format"] = {"type": "json_object"}
        if self.extra_body:
            params["extra_body"] = self.extra_body
        return params

    def _cache_key(
        self,
        messages: Sequence[Message],
        schema: JsonSchema | None,
        temperature: float | None,
        seed: int | None,
    ) -> str | None:
        if self.cache is None or not is_cacheable(temperature, seed):
            return None
        return cache_key(
            model=self.model,
            base_url=self.base_url,
            messages=messages,
            response_schema=schema,
            temperature=temperature,
            seed=seed,
            extra=self.extra_body,
        )

    def _finish(self, completion: ChatCompletion, key: str | None, started: float) -> ChatReply:
        reply = self._to_reply(completion, time.perf_counter() - started)
        if key is not None and self.cache is not None:
            self.cache.put(key, reply)
        return reply

    def _to_reply(self, completion: ChatCompletion, latency_s: float) -> ChatReply:
        if not completion.choices:
            raise LLMOutputError(
                f"the model endpoint {self.base_url} returned no choices for model "
                f"{self.model!r}; check that the endpoint serves chat completions"
            )
        choice = completion.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal and not choice.message.content:
            raise LLMOutputError(f"the model {self.model!r} refused to answer: {refusal}")
        usage = completion.usage
        return ChatReply(
            text=choice.message.content or "",
            model=completion.model or self.model,
            prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
            completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            latency_s=latency_s,
            finish_reason=choice.finish_reason,
        )

    # --- failures -----------------------------------------------------------------------------

    def _after_failure(self, error: Exception, level: str, attempt: int) -> float | None:
        """Return the wait before retrying, None to resend at once, or raise the final error."""
        failure = Failure(error, model=self.model, base_url=self.base_url, timeout=self.timeout)
        if not failure.is_openai:
            raise error
        if level != "none" and failure.rejects_response_format:
            if self.structured_output is True:
                raise ConfigurationError(
                    f"the model endpoint {self.base_url} does not accept a JSON-schema "
                    f"response_format ({failure.message}); let optiagent fall back to JSON in "
                    "the reply text (structured_output=None)"
                ) from error
            with self._lock:
                if self._level == level:  # another thread may have downgraded already
                    self._level = _LEVELS[_LEVELS.index(level) + 1]
            return None
        if not failure.transient:
            # Listing the served models blocks briefly, also on the async path; it happens once,
            # just before a fatal error, and turns "not found" into a list to choose from.
            models = self._list_models() if failure.model_not_found else None
            raise failure.fatal(models) from error
        if attempt >= self.max_retries:
            raise failure.exhausted(attempt + 1) from error
        delay = self._delay(failure, attempt)
        if self.on_retry is not None:
            self.on_retry(RetryEvent(attempt + 1, delay, failure.describe()))
        return delay

    def _delay(self, failure: Failure, attempt: int) -> float:
        asked = failure.retry_after()
        if asked is not None:
            return min(asked, self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return self._random.uniform(0.0, ceiling)

    def _list_models(self) -> list[str]:
        """Return the model ids the endpoint lists (best effort, for error messages)."""
        try:
            page = self._sync_client().models.list(timeout=min(self.timeout, 10.0))
            return sorted(str(item.id) for item in page.data)
        except Exception:  # a listing is only a hint: any failure means "no hint"
            return []

    # --- clients ------------------------------------------------------------------------------

    def _sync_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self._api_key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=0,
                )
            return self._client

    def _async_client(self) -> openai.AsyncOpenAI:
        # An AsyncOpenAI's connection pool belongs to the event loop it first ran on, and
        # callers may run several loops in turn (asyncio.run per problem): one client per loop.
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                import openai

                client = openai.AsyncOpenAI(
                    api_key=self._api_key,
                    base_url=self.base_url,
                    timeout=self.timeout,
                    max_retries=0,
                )
                self._async_clients[loop] = client
            return client


def _default_model() -> str:
    # optiagent.settings pulls in pydantic-settings (~0.14 s); only this fallback needs it.
    from optiagent.settings import DEFAULT_MODEL

    return DEFAULT_MODEL


def _schema_name(name: str) -> str:
    """Return `name` in the form OpenAI requires for a schema name (^[A-Za-z0-9_-]{1,64}$)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
    return cleaned or "reply"


def resolve_chat_model(model: ChatModel | str | None = None, **kwargs: Any) -> ChatModel:
    """Return `model` if it is a ChatModel, else an OpenAIChatModel for that name (or default).

    `kwargs` go to OpenAIChatModel (base_url, api_key, timeout, max_retries, cache, ...) and
    are used only when a model is built; a ChatModel passed in is returned unchanged.
    """
    if model is None or isinstance(model, str):
        return OpenAIChatModel(model, **kwargs)
    if isinstance(model, ChatModel):
        return model
    raise TypeError(
        f"expected a ChatModel, a model name or None, got {type(model).__name__}: {model!r}"
    )
