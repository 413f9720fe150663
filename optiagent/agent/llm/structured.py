"""JSON replies: find the JSON value in a model's text, validate it, and ask again on failure.

`complete_validated` is the loop every node uses to get a typed value out of a model: call,
extract JSON, validate; on failure show the model its own reply and the exact error, and try
again, up to a budget. Endpoints without structured output make this the normal path; with
structured output it still catches semantic validation errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from optiagent.agent.llm.base import ChatModel, ChatReply, JsonSchema, Message
from optiagent.agent.llm.usage import Usage, UsageLog
from optiagent.exceptions import LLMOutputError

__all__ = [
    "Validated",
    "acomplete_validated",
    "complete_validated",
    "extract_json",
    "format_validation_error",
]

T = TypeVar("T")

_MAX_ERROR_LINES = 20
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)
# Reasoning models served by vLLM / Ollama / llama.cpp often put their thinking inline; it may
# contain braces that are not the answer.
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()
_NOTHING = object()  # "no JSON found", distinct from a JSON null


def extract_json(text: str) -> Any:
    """Return the JSON value in a model reply; raise ValueError with a short reason.

    Accepted, in this order: the whole reply as JSON; the content of a ```json (or bare ```)
    fence; otherwise the longest top-level {...} or [...] that parses, so prose around the
    answer, or a stray "[1]" before it, does not matter. `<think>...</think>` blocks are
    ignored. Objects nested in a broken one are never returned on their own: a reply cut off
    mid-object gives the parse error.
    """
    cleaned = _THINK.sub("", text).strip()
    if not cleaned:
        raise ValueError("the reply is empty")
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError:
        pass
    first_error: str | None = None
    for match in _FENCE.finditer(cleaned):
        language, body = match.group(1).lower(), match.group(2).strip()
        if language not in ("", "json", "jsonc", "json5"):
            continue
        try:
            return json.loads(body)
        except json.JSONDecodeError as error:
            found, reason = _scan(body)
            if found is not _NOTHING:
                return found
            first_error = first_error or reason or _describe(error)
    found, reason = _scan(cleaned)
    if found is not _NOTHING:
        return found
    raise ValueError(first_error or reason or "no JSON object or array found in the reply")


def _scan(text: str) -> tuple[Any, str | None]:
    """Return (longest top-level JSON object/array in text, or _NOTHING; first parse error)."""
    best: Any = _NOTHING
    best_length = -1
    first_error: str | None = None
    for start in _top_level_openings(text):
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError as error:
            first_error = first_error or _describe(error)
            continue
        if end - start > best_length:
            best, best_length = value, end - start
    return best, first_error


def _top_level_openings(text: str) -> Iterator[int]:
    """Yield the positions of '{' / '[' that open a bracket at depth 0 (strings respected).

    Only top-level openings are tried: an object cut off at the token limit then yields its
    parse error instead of one of its inner objects, which would fail validation confusingly.
    """
    depth = 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if depth == 0:
            if char in "{[":
                depth = 1
                yield index
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1


def _describe(error: json.JSONDecodeError) -> str:
    text = f"the JSON is malformed: {error.msg} (line {error.lineno}, column {error.colno})"
    at_end = error.pos >= len(error.doc.rstrip().rstrip("`").rstrip())
    if at_end or error.msg.startswith("Unterminated string"):
        text += " (the reply ends before the JSON is complete)"
    return text


def format_validation_error(error: Exception, max_lines: int = _MAX_ERROR_LINES) -> str:
    """Return a compact text for a validation error: one 'location: message' line per issue."""
    if not isinstance(error, ValidationError):
        return str(error)
    issues = error.errors(include_url=False)
    lines = [f"{len(issues)} validation error{'s' if len(issues) != 1 else ''}:"]
    for issue in issues[:max_lines]:
        location = ".".join(str(part) for part in issue["loc"]) or "(root)"
        line = f"- {location}: {issue['msg']}"
        if issue["type"] not in ("missing", "extra_forbidden") and "input" in issue:
            shown = json.dumps(issue["input"], default=str)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            line += f" (got {shown})"
        lines.append(line)
    if len(issues) > max_lines:
        lines.append(f"- ... and {len(issues) - max_lines} more")
    return "\n".join(lines)


@dataclass(frozen=True)
class Validated(Generic[T]):
    """A validated value and how it was obtained: every reply and every error fed back."""

    value: T
    replies: list[ChatReply] = field(default_factory=list)
    attempts: int = 1
    errors: list[str] = field(default_factory=list)

    @property
    def reply(self) -> ChatReply:
        """The reply the value came from (the last one)."""
        return self.replies[-1]

    @property
    def usage(self) -> Usage:
        """Tokens and latency summed over every attempt."""
        return sum((Usage.of(r) for r in self.replies), Usage())


class _Attempts(Generic[T]):
    """The state of one validate-and-retry conversation, shared by the sync and async loops."""

    def __init__(
        self,
        model: ChatModel,
        messages: Sequence[Message],
        validate: Callable[[Any], T],
        response_schema: JsonSchema | None,
        max_attempts: int,
        usage: UsageLog | None,
        node: str,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.model = model
        self.conversation: list[dict[str, str]] = [dict(m) for m in messages]
        self.validate = validate
        self.schema = response_schema
        self.max_attempts = max_attempts
        self.usage = usage
        self.node = node
        self.replies: list[ChatReply] = []
        self.errors: list[str] = []

    def accept(self, reply: ChatReply) -> Validated[T] | None:
        """Return the Validated value if `reply` passes; else extend the conversation."""
        self.replies.append(reply)
        if self.usage is not None:
            self.usage.record(self.node, reply)
        try:
            data = extract_json(reply.text)
        except ValueError as error:
            self._feed_back(reply, f"Your reply holds no valid JSON: {error}.")
            return None
        try:
            value = self.validate(data)
        except ValidationError as error:
            text = "The JSON does not match the required structure: "
            self._feed_back(reply, text + format_validation_error(error))
            return None
        except ValueError as error:
            self._feed_back(reply, f"The JSON is not acceptable: {error}")
            return None
        except (TypeError, KeyError, IndexError) as error:
            # A validator reading an unexpected shape (a list where a dict was due, a missing
            # key) is the model's mistake as much as a ValueError is, so it is fed back too.
            self._feed_back(reply, f"The JSON has the wrong shape: {type(error).__name__}: {error}")
            return None
        return Validated(value, list(self.replies), len(self.replies), list(self.errors))

    def _feed_back(self, reply: ChatReply, error_text: str) -> None:
        if reply.finish_reason == "length":
            error_text += (
                "\nYour reply was cut off at the output token limit: give a shorter answer "
                "(no explanations outside the JSON)."
            )
        self.errors.append(error_text)
        target = f" matching the schema {self.schema.name!r}" if self.schema else ""
        request = (
            f"Your previous reply could not be used.\n{error_text}\n"
            f"Reply again with only the corrected JSON{target}, no other text."
        )
        self.conversation.append({"role": "assistant", "content": reply.text})
        self.conversation.append({"role": "user", "content": request})

    def exhausted(self) -> LLMOutputError:
        """Return the error to raise when every attempt failed."""
        last = self.errors[-1] if self.errors else "no reply"
        return LLMOutputError(
            f"the model {self.model.name!r} gave no valid reply in {self.max_attempts} "
            f"attempt{'s' if self.max_attempts != 1 else ''}; last problem:\n{last}\n"
            "Try a more capable model (--model / OPTIAGENT_MODEL) or allow more attempts.",
            last_reply=self.replies[-1].text if self.replies else None,
        )


def complete_validated(
    model: ChatModel,
    messages: Sequence[Message],
    validate: Callable[[Any], T],
    *,
    response_schema: JsonSchema | None = None,
    max_attempts: int = 3,
    temperature: float | None = None,
    seed: int | None = None,
    usage: UsageLog | None = None,
    node: str = "",
) -> Validated[T]:
    """Return the first reply whose JSON `validate` accepts, feeding errors back to the model.

    `validate` gets the parsed JSON and returns a value or raises ValueError (pydantic's
    ValidationError included; TypeError, KeyError and IndexError count as well). After
    `max_attempts` failures raise LLMOutputError carrying the last reply. Errors reaching the
    endpoint (LLMError, ConfigurationError) propagate at once.
    """
    state = _Attempts(model, messages, validate, response_schema, max_attempts, usage, node)
    for _ in range(max_attempts):
        reply = model.complete(
            state.conversation, response_schema=response_schema, temperature=temperature, seed=seed
        )
        result = state.accept(reply)
        if result is not None:
            return result
    raise state.exhausted()


async def acomplete_validated(
    model: ChatModel,
    messages: Sequence[Message],
    validate: Callable[[Any], T],
    *,
    response_schema: JsonSchema | None = None,
    max_attempts: int = 3,
    temperature: float | None = None,
    seed: int | None = None,
    usage: UsageLog | None = None,
    node: str = "",
) -> Validated[T]:
    """Async twin of `complete_validated` (calls `model.acomplete`)."""
    state = _Attempts(model, messages, validate, response_schema, max_attempts, usage, node)
    for _ in range(max_attempts):
        reply = await model.acomplete(
            state.conversation, response_schema=response_schema, temperature=temperature, seed=seed
        )
        result = state.accept(reply)
        if result is not None:
            return result
    raise state.exhausted()
