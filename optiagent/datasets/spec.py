"""How one version of one benchmark is described: files, fields, loader, provenance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from optiagent.datasets.records import Problem, SkippedRecord

__all__ = ["Fields", "LoadResult", "Loader", "VersionSpec"]


@dataclass(frozen=True)
class Fields:
    """Which source fields hold the question, the answer and the category of a record.

    `table_from_type` reads `has_table` from an OptiBench-style `type` label ("...-table")
    instead of detecting a table in the text. `drop` lists fields kept out of `Problem.extra`.
    """

    question: str
    answer: str
    category: str | None = None
    table_from_type: bool = False
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadResult:
    """What a loader returns: the problems, plus rows that are not problems and why."""

    problems: list[Problem]
    skipped: list[SkippedRecord] = field(default_factory=list)


Loader = Callable[["VersionSpec", Path], LoadResult]


@dataclass(frozen=True)
class VersionSpec:
    """One version of a benchmark: the file(s) it is read from and what they mean.

    `paths` are relative to the data directory; the first is the main file or folder and the
    dataset hash covers all of them. `upstream` says where the files come from (printed when
    they are missing); `category` says what `Problem.category` holds for this version.
    """

    dataset: str
    version: str
    paths: tuple[str, ...]
    loader: Loader
    upstream: str
    summary: str
    category: str
    default: bool = False
    fields: Fields | None = None

    @property
    def main_path(self) -> str:
        """Return the path of the main file or folder, relative to the data directory."""
        return self.paths[0]
