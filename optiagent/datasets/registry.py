"""Every benchmark set and version optiagent knows, and the functions that load them.

Names are the data folder's dataset folders (`optibench`, ..., and the extras `icml2024_task3`,
`logior`, `bwor`); versions are the source folders (`ReSocratic`, `SIRL`, `LLMOPT`, ...), plus
`complexor/LLMOPT_corrected` (LLMOPT's texts with ORThought's corrected answers, the data
README's recommended ComplexOR). The default version of each set is the one the data README
recommends. The data directory is never guessed: pass it, or set `OPTIAGENT_DATA_DIR`.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from optiagent.datasets.catalog import VERSIONS
from optiagent.datasets.readers import hash_paths
from optiagent.datasets.records import Problem, SkippedRecord
from optiagent.datasets.spec import VersionSpec
from optiagent.exceptions import ConfigurationError, DatasetError

__all__ = [
    "DATA_SOURCES_HINT",
    "Dataset",
    "dataset_names",
    "find_version",
    "list_versions",
    "load_dataset",
    "resolve_data_dir",
    "select",
]

#: Where the benchmark files come from; repeated in every "not found" message.
DATA_SOURCES_HINT = (
    "optiagent does not ship benchmark data. Put the sets in one folder laid out as "
    "<dataset>/<source>/<file as named upstream> (e.g. optibench/ReSocratic/OptiBench.json); "
    "each file's upstream repository and path is listed by `optiagent datasets list` and in "
    "the data folder's README.md / PROVENANCE.md files"
)


@dataclass(frozen=True)
class Dataset:
    """One loaded version of a benchmark: its problems, skipped rows, hash and provenance."""

    spec: VersionSpec
    root: Path
    problems: tuple[Problem, ...]
    skipped: tuple[SkippedRecord, ...] = ()
    sha256: str = ""
    _by_id: dict[str, Problem] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def name(self) -> str:
        """Return the dataset name (e.g. 'optibench')."""
        return self.spec.dataset

    @property
    def version(self) -> str:
        """Return the version name (e.g. 'ReSocratic')."""
        return self.spec.version

    def __len__(self) -> int:
        return len(self.problems)

    def get(self, problem_id: str) -> Problem:
        """Return the problem with this id, or raise DatasetError naming close ids."""
        if not self._by_id:
            self._by_id.update((p.id, p) for p in self.problems)
        try:
            return self._by_id[str(problem_id)]
        except KeyError:
            close = difflib.get_close_matches(str(problem_id), list(self._by_id), n=3)
            hint = f"; close ids: {', '.join(close)}" if close else ""
            raise DatasetError(
                f"{self.name}/{self.version} has no problem with id {problem_id!r}{hint} "
                f"(`optiagent datasets show {self.name}` lists the ids)"
            ) from None

    def category_counts(self) -> dict[str, int]:
        """Return how many problems carry each category label ('uncategorized' for none)."""
        return dict(Counter(p.category or "uncategorized" for p in self.problems))

    def ground_truth_counts(self) -> dict[str, int]:
        """Return how many ground truths are values, infeasible, unbounded and missing."""
        return dict(Counter(p.ground_truth.kind for p in self.problems))

    def summary(self) -> dict[str, object]:
        """Return the JSON-ready description `optiagent datasets list --json` prints."""
        return {
            "name": self.name,
            "version": self.version,
            "default": self.spec.default,
            "available": True,
            "count": len(self.problems),
            "ground_truth": self.ground_truth_counts(),
            "categories": self.category_counts(),
            "category_meaning": self.spec.category,
            "skipped": [
                {"source_file": s.source_file, "source_line": s.source_line, "reason": s.reason}
                for s in self.skipped
            ],
            "sha256": self.sha256,
            "paths": list(self.spec.paths),
            "upstream": self.spec.upstream,
            "summary": self.spec.summary,
        }


def resolve_data_dir(explicit: Path | str | None, configured: Path | str | None = None) -> Path:
    """Return the data directory: `explicit` (--data-dir), else `configured` (the setting).

    Raises ConfigurationError when neither is given or the folder does not exist; the message
    says how to provide one and where the sets come from.
    """
    for origin, value in (("--data-dir", explicit), ("OPTIAGENT_DATA_DIR", configured)):
        if value is None or str(value) == "":
            continue
        path = Path(value).expanduser()
        if not path.is_dir():
            raise ConfigurationError(
                f"the data directory {path} (from {origin}) does not exist. {DATA_SOURCES_HINT}"
            )
        return path
    raise ConfigurationError(
        "no data directory: pass --data-dir DIR or set OPTIAGENT_DATA_DIR to the folder that "
        f"holds the benchmark sets. {DATA_SOURCES_HINT}"
    )


def dataset_names() -> list[str]:
    """Return every dataset name, in catalog order."""
    return list(dict.fromkeys(spec.dataset for spec in VERSIONS))


def list_versions(name: str | None = None) -> list[VersionSpec]:
    """Return the specs of every version (of one dataset if `name` is given)."""
    if name is None:
        return list(VERSIONS)
    canonical = _canonical_name(name)
    return [spec for spec in VERSIONS if spec.dataset == canonical]


def find_version(name: str, version: str | None = None) -> VersionSpec:
    """Return the spec of a dataset version (the default one when `version` is None)."""
    specs = list_versions(name)
    if version is None:
        return next(spec for spec in specs if spec.default)
    for spec in specs:
        if spec.version.lower() == version.lower():
            return spec
    known = [spec.version for spec in specs]
    close = difflib.get_close_matches(version, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigurationError(
        f"{specs[0].dataset} has no version {version!r}.{hint} Versions: {', '.join(known)}"
    )


def load_dataset(name: str, version: str | None, data_dir: Path) -> Dataset:
    """Load one version of a dataset from `data_dir` (the default version when None)."""
    spec = find_version(name, version)
    missing = [rel for rel in spec.paths if not (data_dir / rel).exists()]
    if missing:
        raise DatasetError(
            f"{spec.dataset}/{spec.version}: {missing[0]} not found under the data directory "
            f"{data_dir}. It comes from {spec.upstream}. {DATA_SOURCES_HINT}"
        )
    result = spec.loader(spec, data_dir)
    problems = tuple(result.problems)
    _check_unique_ids(spec, problems)
    return Dataset(
        spec=spec,
        root=data_dir,
        problems=problems,
        skipped=tuple(result.skipped),
        sha256=hash_paths(data_dir, spec.paths),
    )


def select(
    problems: Sequence[Problem], ids: Sequence[str] | None, limit: int | None
) -> list[Problem]:
    """Return the problems with the given ids (in the given order) or the first `limit` ones."""
    chosen = list(problems)
    if ids:
        by_id = {p.id: p for p in problems}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise ConfigurationError(
                f"unknown problem ids: {', '.join(unknown[:10])}"
                + (f" (+{len(unknown) - 10} more)" if len(unknown) > 10 else "")
            )
        chosen = [by_id[i] for i in dict.fromkeys(ids)]
    if limit is not None:
        if limit < 0:
            raise ConfigurationError(f"--limit must be 0 or more, got {limit}")
        chosen = chosen[:limit]
    return chosen


def _canonical_name(name: str) -> str:
    cleaned = name.strip().lower().removeprefix("extras/").replace("-", "_")
    names = dataset_names()
    if cleaned in names:
        return cleaned
    close = difflib.get_close_matches(cleaned, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigurationError(f"unknown dataset {name!r}.{hint} Datasets: {', '.join(names)}")


def _check_unique_ids(spec: VersionSpec, problems: Sequence[Problem]) -> None:
    counts = Counter(p.id for p in problems)
    repeated = [pid for pid, n in counts.items() if n > 1]
    if repeated:
        raise DatasetError(
            f"{spec.dataset}/{spec.version}: problem ids repeat ({', '.join(repeated[:5])}); "
            "the file differs from the documented version"
        )
