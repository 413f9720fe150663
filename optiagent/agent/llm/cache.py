"""An SQLite cache of model replies, so that re-running an evaluation costs nothing.

The key is the SHA-256 of the canonical JSON of everything that decides the reply: model,
endpoint, messages, response schema, temperature, seed and any extra request fields. Only
reproducible requests are cached (`is_cacheable`): temperature 0 or unset, or a fixed seed.
A request sampled at temperature > 0 without a seed is meant to differ from call to call
(self-consistency draws several), so it always goes to the endpoint; give each sample its own
seed (e.g. the sample index) to make such runs cacheable too.

One file may be shared by threads and by several processes: WAL journal, a busy timeout,
one connection per thread (and per process after a fork), one short statement per access.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from optiagent.agent.llm.base import ChatReply, JsonSchema, Message
from optiagent.exceptions import ConfigurationError

__all__ = ["ResponseCache", "cache_key", "is_cacheable"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    finish_reason TEXT,
    created REAL NOT NULL
)
"""


def is_cacheable(temperature: float | None, seed: int | None) -> bool:
    """Return True if a request with these sampling parameters should be cached."""
    return seed is not None or temperature is None or temperature == 0


def cache_key(
    *,
    model: str,
    base_url: str,
    messages: Sequence[Message],
    response_schema: JsonSchema | None,
    temperature: float | None,
    seed: int | None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Return the hex SHA-256 identifying one request."""
    payload = {
        "model": model,
        "base_url": base_url.rstrip("/"),
        "messages": [dict(m) for m in messages],
        "response_schema": None
        if response_schema is None
        else {
            "name": response_schema.name,
            "schema": response_schema.schema,
            "strict": response_schema.strict,
        },
        "temperature": temperature,
        "seed": seed,
        "extra": dict(extra or {}),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Replies stored in an SQLite file, looked up by `cache_key`."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._connection()
            connection.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise ConfigurationError(
                f"cannot open the response cache {str(self.path)!r}: {error}; "
                "pass a writable file path to --cache (or OPTIAGENT_CACHE)"
            ) from error

    def _connection(self) -> sqlite3.Connection:
        # sqlite3 connections must not cross a fork, and are cheapest kept one per thread.
        pid = os.getpid()
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == pid:
            return connection
        connection = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_s,
            isolation_level=None,  # autocommit: every statement is its own short transaction
            check_same_thread=False,  # only so that close() may close it from another thread
        )
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        self._local.connection, self._local.pid = connection, pid
        with self._lock:
            self._connections.append(connection)
        return connection

    def _execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._connection().execute(sql, parameters)
        except sqlite3.Error as error:
            raise ConfigurationError(
                f"the response cache {str(self.path)!r} failed: {error}; check the file and "
                "the disk, or run without --cache"
            ) from error

    def get(self, key: str) -> ChatReply | None:
        """Return the stored reply for `key` (marked cached, latency ~0), or None."""
        started = time.perf_counter()
        row = self._execute(
            "SELECT model, text, prompt_tokens, completion_tokens, finish_reason "
            "FROM responses WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        model, text, prompt_tokens, completion_tokens, finish_reason = row
        return ChatReply(
            text=text,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=time.perf_counter() - started,
            cached=True,
            finish_reason=finish_reason,
        )

    def put(self, key: str, reply: ChatReply) -> None:
        """Store `reply` under `key` (a later put for the same key replaces it)."""
        self._execute(
            "INSERT OR REPLACE INTO responses "
            "(key, model, text, prompt_tokens, completion_tokens, finish_reason, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                reply.model,
                reply.text,
                reply.prompt_tokens,
                reply.completion_tokens,
                reply.finish_reason,
                time.time(),
            ),
        )

    def __len__(self) -> int:
        return int(self._execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> None:
        """Delete every stored reply."""
        self._execute("DELETE FROM responses")

    def close(self) -> None:
        """Close every connection this object opened (it reopens on next use)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"
