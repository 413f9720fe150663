"""Test doubles for the language model, importable by users who test code built on optiagent.

    from optiagent.testing import ScriptedModel
    model = ScriptedModel(['{"sets": []...}', "not json", ...])

Both doubles satisfy `optiagent.agent.llm.ChatModel` and record every request they receive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from optiagent.agent.llm.base import ChatReply, JsonSchema, Message
from optiagent.exceptions import OptiAgentError

__all__ = ["FunctionModel", "RecordedRequest", "ScriptedModel"]


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
