"""Build the `System` that `optiagent eval --system NAME` evaluates.

Systems are registered by name with a factory given as "module:function", imported only when
that system is built, so `optiagent --help` never loads an agent. Registering a system is one
line in `_ENTRIES` (or a call to `register_system`):

    SystemEntry("agent", "the repair-loop agent", "optiagent.evals.agent_system:build_agent"),

A factory takes a `SystemConfig` (the settings, with --model / --samples / --max-repairs
applied, and the free-form --system-option KEY=VALUE pairs) and returns a `System`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from optiagent.evals.systems import System
from optiagent.exceptions import ConfigurationError
from optiagent.settings import Settings

__all__ = [
    "SystemConfig",
    "SystemEntry",
    "available_systems",
    "build_system",
    "parse_options",
    "register_system",
]


@dataclass(frozen=True)
class SystemConfig:
    """What a system factory receives: settings (CLI overrides applied) and system options."""

    settings: Settings = field(default_factory=Settings)
    options: Mapping[str, str] = field(default_factory=dict)


SystemFactory = Callable[[SystemConfig], System]


@dataclass(frozen=True)
class SystemEntry:
    """A registered system: its name, a one-line description and its factory.

    `factory` is a callable or a "package.module:function" string imported on first use.
    """

    name: str
    description: str
    factory: SystemFactory | str


def _build_replay(config: SystemConfig) -> System:
    from optiagent.evals.replay import ReplaySystem

    return ReplaySystem.from_options(config.options)


_ENTRIES: list[SystemEntry] = [
    SystemEntry(
        "agent",
        "the repair-loop agent: formulate, check, solve, verify, repair (the default)",
        "optiagent.evals.agent_system:build_agent",
    ),
    SystemEntry(
        "baseline",
        "single-shot: one prompt, one program, one run (no IR, no repair)",
        "optiagent.evals.baseline:build_baseline",
    ),
    SystemEntry(
        "replay",
        "answers from a predictions file (--system-option predictions=FILE)",
        _build_replay,
    ),
]


def register_system(entry: SystemEntry) -> None:
    """Add (or replace) a system by name."""
    _ENTRIES[:] = [e for e in _ENTRIES if e.name != entry.name] + [entry]


def available_systems() -> list[SystemEntry]:
    """Return every registered system, in registration order."""
    return list(_ENTRIES)


def build_system(name: str, config: SystemConfig | None = None) -> System:
    """Return a new system built by the factory registered as `name`."""
    entries = {entry.name: entry for entry in _ENTRIES}
    entry = entries.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(entries), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"the system {name!r} is not available in this installation.{hint} "
            f"Available systems: {', '.join(entries) or 'none'}"
        )
    factory = _resolve(entry)
    system = factory(config or SystemConfig())
    if not isinstance(system, System):
        raise ConfigurationError(
            f"the factory of system {name!r} returned {type(system).__name__}, which lacks "
            "name / describe() / async solve(task)"
        )
    return system


def parse_options(pairs: list[str] | None) -> dict[str, str]:
    """Return {key: value} from KEY=VALUE strings (as given to --system-option)."""
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigurationError(f"--system-option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def _resolve(entry: SystemEntry) -> Callable[[SystemConfig], Any]:
    if callable(entry.factory):
        return entry.factory
    module_name, _, function = entry.factory.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, function)
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(
            f"the system {entry.name!r} cannot be loaded ({entry.factory}: {error})"
        ) from error
