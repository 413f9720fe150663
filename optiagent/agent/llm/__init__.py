"""The LLM client: the `ChatModel` protocol and its implementations.

This package imports nothing else of `optiagent.agent`, so `opto` and `evals` can use it
without pulling in the graph.
"""

from __future__ import annotations

from optiagent.agent.llm.base import ChatModel, ChatReply, JsonSchema, Message

__all__ = ["ChatModel", "ChatReply", "JsonSchema", "Message"]
