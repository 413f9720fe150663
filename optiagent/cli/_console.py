"""Shared rich consoles and small rendering helpers for the CLI modules."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

__all__ = ["console", "err_console", "print_error", "print_json"]

console = Console()
err_console = Console(stderr=True)


def print_error(message: str) -> None:
    """Print an error message to stderr, in a form a person reads at a glance."""
    # Text, not markup: messages quote expressions such as x[i], which rich would eat.
    err_console.print(Text.assemble(("error: ", "bold red"), message), highlight=False)


def print_json(payload: Any) -> None:
    """Print one JSON document on stdout, unstyled, so scripts can parse it."""
    print(json.dumps(payload, indent=2, default=str, ensure_ascii=False))
