"""Token and latency accounting: `Usage` totals and a per-node `UsageLog`.

Every reply a model gives carries its token counts and latency (`ChatReply`); a `UsageLog`
adds them up per node of the agent ("formulate", "repair", ...) so that an evaluation can
report tokens, cost and latency per stage. Tokens of cached replies are counted like any
other (they are what the method uses); `cached_*` say how many of them cost nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from optiagent.agent.llm.base import ChatModel, ChatReply, JsonSchema, Message

__all__ = ["Usage", "UsageLog"]


@dataclass(frozen=True)
class Usage:
    """Totals over a number of model calls; `a + b` adds them field by field."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached_calls: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0

    @classmethod
    def of(cls, reply: ChatReply) -> Usage:
        """Return the usage of one reply."""
        cached = 1 if reply.cached else 0
        return cls(
            calls=1,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            latency_s=reply.latency_s,
            cached_calls=cached,
            cached_prompt_tokens=reply.prompt_tokens * cached,
            cached_completion_tokens=reply.completion_tokens * cached,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """Return the usage stored by `to_dict` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def billed_tokens(self) -> int:
        """Tokens of calls that reached the endpoint (cached replies cost nothing)."""
        return self.total_tokens - self.cached_prompt_tokens - self.cached_completion_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict (plus `total_tokens`)."""
        data = asdict(self)
        data["latency_s"] = round(self.latency_s, 6)
        data["total_tokens"] = self.total_tokens
        return data


class UsageLog:
    """Usage per node, safe to share between threads and asyncio tasks.

    `record` never awaits and holds the lock only to add two small dataclasses, so one log can
    be shared by every concurrent task of an evaluation run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_node: dict[str, Usage] = {}

    def record(self, node: str, reply: ChatReply) -> None:
        """Add one reply's tokens and latency under `node`."""
        self.add(node, Usage.of(reply))

    def add(self, node: str, usage: Usage) -> None:
        """Add a `Usage` under `node` (for totals computed elsewhere)."""
        with self._lock:
            self._by_node[node] = self._by_node.get(node, Usage()) + usage

    def totals(self) -> Usage:
        """Return the sum over every node."""
        with self._lock:
            parts = list(self._by_node.values())
        return sum(parts, Usage())

    def by_node(self) -> dict[str, Usage]:
        """Return a copy of the usage per node, in the order nodes were first seen."""
        with self._lock:
            return dict(self._by_node)

    def merge(self, other: UsageLog) -> None:
        """Add every node of `other` into this log (e.g. one problem's log into a run's)."""
        for node, usage in other.by_node().items():
            self.add(node, usage)

    def to_dict(self) -> dict[str, Any]:
        """Return {"totals": {...}, "by_node": {node: {...}}}, ready for JSON."""
        return {
            "totals": self.totals().to_dict(),
            "by_node": {node: usage.to_dict() for node, usage in self.by_node().items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageLog:
        """Return a log rebuilt from `to_dict` output (used when a run resumes)."""
        log = cls()
        for node, usage in data.get("by_node", {}).items():
            log.add(node, Usage.from_dict(usage))
        return log

    def track(self, model: ChatModel, node: str) -> ChatModel:
        """Return `model` wrapped so that every call is recorded under `node`."""
        return _TrackedModel(model, self, node)

    def __repr__(self) -> str:
        return f"UsageLog({self.to_dict()['by_node']!r})"


class _TrackedModel:
    """A ChatModel that forwards to another and records each reply in a UsageLog."""

    def __init__(self, inner: ChatModel, log: UsageLog, node: str) -> None:
        self._inner = inner
        self._log = log
        self._node = node

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self._inner.name

    def complete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the wrapped model's reply and record it."""
        reply = self._inner.complete(
            messages, response_schema=response_schema, temperature=temperature, seed=seed
        )
        self._log.record(self._node, reply)
        return reply

    async def acomplete(
        self,
        messages: Sequence[Message],
        *,
        response_schema: JsonSchema | None = None,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """Return the wrapped model's reply (async) and record it."""
        reply = await self._inner.acomplete(
            messages, response_schema=response_schema, temperature=temperature, seed=seed
        )
        self._log.record(self._node, reply)
        return reply
