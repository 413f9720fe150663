"""The LLM client: the `ChatModel` protocol, its OpenAI implementation and JSON helpers.

This package imports nothing else of `optiagent.agent`, so `opto` and `evals` can use it
without pulling in the graph. Importing it does not import `openai` (about 0.8 s); that
happens when the first `OpenAIChatModel` sends a request.
"""

from __future__ import annotations

from optiagent.agent.llm.base import ChatModel, ChatReply, JsonSchema, Message
from optiagent.agent.llm.cache import ResponseCache
from optiagent.agent.llm.openai_model import OpenAIChatModel, RetryEvent, resolve_chat_model
from optiagent.agent.llm.structured import (
    Validated,
    acomplete_validated,
    complete_validated,
    extract_json,
    format_validation_error,
)
from optiagent.agent.llm.usage import Usage, UsageLog

__all__ = [
    "ChatModel",
    "ChatReply",
    "JsonSchema",
    "Message",
    "OpenAIChatModel",
    "ResponseCache",
    "RetryEvent",
    "Usage",
    "UsageLog",
    "Validated",
    "acomplete_validated",
    "complete_validated",
    "extract_json",
    "format_validation_error",
    "resolve_chat_model",
]
