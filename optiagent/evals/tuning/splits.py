"""Training and held-out splits of a benchmark, fixed by a seed and never overlapping."""

from __future__ import annotations

import random
from collections.abc import Sequence

from optiagent.datasets.records import Problem
from optiagent.exceptions import ConfigurationError

__all__ = ["batches", "split_problems"]


def split_problems(
    problems: Sequence[Problem], *, train: int, test: int, seed: int
) -> tuple[list[Problem], list[Problem]]:
    """Return (training, held-out) problems: disjoint, drawn from those with a ground truth.

    The problems are sorted by id and shuffled with `random.Random(seed)`, so the same data and
    seed always give the same split, whatever order the loader produced. The held-out problems
    are taken first: for a given seed and `test`, the held-out split stays the same when
    `train` changes, so tuning runs with different training sizes are measured on one set.
    """
    if train < 1 or test < 1:
        raise ConfigurationError(
            f"--train and --test must both be at least 1, got train={train}, test={test}"
        )
    eligible = {p.id: p for p in problems if p.ground_truth.kind != "missing"}
    if len(eligible) < train + test:
        missing = len({p.id for p in problems}) - len(eligible)
        note = f" ({missing} more have no ground truth and cannot be scored)" if missing else ""
        raise ConfigurationError(
            f"the set has {len(eligible)} problems with a ground truth{note}, but "
            f"--train {train} --test {test} needs {train + test}: lower --train or --test"
        )
    ordered = [eligible[key] for key in sorted(eligible)]
    random.Random(seed).shuffle(ordered)
    return ordered[test : test + train], ordered[:test]


def batches(problems: Sequence[Problem], size: int | None, count: int) -> list[list[Problem]]:
    """Return `count` batches of `size` problems that walk through `problems` in turn.

    `size` None (or at least the number of problems) gives every batch all the problems; a
    smaller size takes consecutive windows, wrapping around, so every problem is used before
    any is used twice.
    """
    items = list(problems)
    if size is not None and size < 1:
        raise ConfigurationError(f"--batch must be at least 1, got {size}")
    if size is None or size >= len(items):
        return [list(items) for _ in range(count)]
    return [[items[(start * size + k) % len(items)] for k in range(size)] for start in range(count)]
