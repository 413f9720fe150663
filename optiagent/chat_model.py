"""The seam between optiagent and a language model: `ChatModel` and what a call returns.

Everything that talks to a model (the agent's nodes, opto's optimizers, the evaluation
baseline) depends on this protocol only. The real implementation wraps the `openai` client;
`optiagent.testing` holds offline doubles. It lives at the package root so that every layer,
and the test doubles, can share it; `optiagent.agent.llm` re-exports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["ChatModel", "ChatReply", "JsonSchema", "Message"]

Message = Mapping[str, str]
"""One chat turn: {"role": "system" | "user" | "assistant", "content": "..."}."""


@dataclass(frozen=True)
class JsonSchema:
    """A JSON schema the reply must follow; sent as structured output where supported."""

    name: str
    schema: Mapping[str, Any]
    strict: bool = False


@dataclass(frozen=True)
class ChatReply:
    """One completion: its text, the tokens it cost and how long it took.

    `latency_s` is the wall time the caller waited, retries included (about 0 for a cached
    reply). `finish_reason` is the endpoint's ("stop", "length", ...) or None if unknown;
    "length" means the reply was cut off at the output token limit.
    """

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False
    finish_reason: str | None = None


@runtime_checkable
class ChatModel(Protocol):
    """Anything that turns a list of chat messages into one reply."""

    @property
    def name(self) -> str:
        """The model name, as reported in traces and evaluation configs."""
        ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the model's reply to `messages` (blocking)."""
        ...

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the model's reply to `messages` (async)."""
        ...
