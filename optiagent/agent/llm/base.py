"""The `ChatModel` seam, re-exported for the client package (defined in `optiagent.chat_model`)."""

from __future__ import annotations

from optiagent.chat_model import ChatModel, ChatReply, JsonSchema, Message

__all__ = ["ChatModel", "ChatReply", "JsonSchema", "Message"]
