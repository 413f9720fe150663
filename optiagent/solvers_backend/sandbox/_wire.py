"""Framing between the parent and a zygote: a 4-byte big-endian length, then UTF-8 JSON.

Standard library only (both sides use it).
"""

from __future__ import annotations

import json
import struct
from typing import IO, Any

__all__ = ["FrameReader", "encode_frame", "read_frame"]  # plus the EXIT_* and RUN_* constants

_HEADER = struct.Struct(">I")


def encode_frame(message: dict[str, Any]) -> bytes:
    """Return one framed message, ready to write."""
    payload = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return _HEADER.pack(len(payload)) + payload


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """Read one message from a blocking stream; None at end of stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    payload = _read_exactly(stream, length)
    if payload is None:
        return None
    message: dict[str, Any] = json.loads(payload.decode("utf-8"))
    return message


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class FrameReader:
    """Incremental decoder for a non-blocking reader: feed bytes, take complete messages."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Add bytes; return every message completed by them."""
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while len(self._buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buffer)
            end = _HEADER.size + length
            if len(self._buffer) < end:
                break
            payload = bytes(self._buffer[_HEADER.size : end])
            del self._buffer[:end]
            messages.append(json.loads(payload.decode("utf-8")))
        return messages


# Exit statuses of a run's process, chosen by the sandbox code in the child (the program can
# also exit with any of them itself: they describe, they do not authorise; see _outcome.py).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_SYNTAX_ERROR = 2
EXIT_MEMORY_LIMIT = 3
EXIT_BLOCKED = 4
EXIT_SETUP_FAILED = 70
EXIT_ORPHANED = 71

# Names of the files in a run's folder (the parent creates them; only `work` is visible to
# the program once its mounts are confined).
RUN_WORK = "work"
RUN_CODE = "code.py"
RUN_STDOUT = "stdout"
RUN_STDERR = "stderr"
RUN_REPORT = "report"
