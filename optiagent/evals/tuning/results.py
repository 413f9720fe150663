"""What a tuning run produced: the training curve, the held-out before/after, the kept prompts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optiagent.agent.llm import Usage
from optiagent.agent.prompts import PromptSet
from optiagent.evals.report import GroupStats

__all__ = ["HeldOut", "TuneResult", "TuneRound", "sign_test"]


@dataclass(frozen=True)
class TuneRound:
    """One point of the training curve: the prompts of a round and how they did."""

    number: int
    """0 for the starting prompts, then one per optimizer step."""
    prompts_digest: str
    correct: int
    scored: int
    problem_ids: tuple[str, ...]
    directory: Path | None
    """The run directory of this evaluation (None when the step changed nothing)."""
    changed: tuple[str, ...] = ()
    """The parameters the optimizer changed to make these prompts."""
    reasoning: str = ""
    optimizer_attempts: int = 0

    @property
    def accuracy(self) -> float | None:
        """Correct / scored (None when nothing was evaluated this round)."""
        if self.directory is None or not self.scored:
            return None
        return self.correct / self.scored

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "round": self.number,
            "prompts_digest": self.prompts_digest,
            "evaluated": self.directory is not None,
            "correct": self.correct,
            "scored": self.scored,
            "accuracy": self.accuracy,
            "problems": list(self.problem_ids),
            "directory": str(self.directory) if self.directory else None,
            "changed": list(self.changed),
            "reasoning": self.reasoning,
            "optimizer_attempts": self.optimizer_attempts,
        }


@dataclass(frozen=True)
class HeldOut:
    """Before/after on the held-out problems, and the problems that flipped."""

    before: GroupStats
    after: GroupStats
    before_dir: Path
    after_dir: Path
    """Same as `before_dir` when tuning kept the starting prompts (evaluated once)."""
    fixed: tuple[str, ...] = ()
    """Ids wrong with the starting prompts and right with the tuned ones."""
    broken: tuple[str, ...] = ()
    """Ids right with the starting prompts and wrong with the tuned ones."""

    @property
    def change(self) -> float | None:
        """After minus before accuracy (None if either is unknown)."""
        if self.before.accuracy is None or self.after.accuracy is None:
            return None
        return self.after.accuracy - self.before.accuracy

    @property
    def p_value(self) -> float:
        """Two-sided sign test on the flipped problems: the chance of a split at least this
        lopsided if the tuned prompts were no better or worse (1.0 when nothing flipped)."""
        return sign_test(len(self.fixed), len(self.broken))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "before_dir": str(self.before_dir),
            "after_dir": str(self.after_dir),
            "change": self.change,
            "fixed": list(self.fixed),
            "broken": list(self.broken),
            "sign_test_p": self.p_value,
        }


@dataclass(frozen=True)
class TuneResult:
    """What tuning produced: the kept prompts, the training curve and the held-out check."""

    dataset: str
    version: str
    dataset_sha256: str
    rule: str
    seed: int
    train_ids: tuple[str, ...]
    test_ids: tuple[str, ...]
    baseline: PromptSet
    tuned: PromptSet
    rounds: tuple[TuneRound, ...]
    best_round: int
    stop_reason: str
    held_out: HeldOut
    system: dict[str, Any]
    optimizer_model: str
    optimizer_usage: Usage = field(default_factory=Usage)

    @property
    def improved(self) -> bool:
        """True when tuning kept prompts other than the starting ones."""
        return self.tuned.digest() != self.baseline.digest()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (the prompt texts themselves are in the prompts file)."""
        return {
            "dataset": {
                "name": self.dataset,
                "version": self.version,
                "sha256": self.dataset_sha256,
            },
            "rule": self.rule,
            "seed": self.seed,
            "split": {"train": list(self.train_ids), "test": list(self.test_ids)},
            "system": self.system,
            "optimizer_model": self.optimizer_model,
            "optimizer_usage": self.optimizer_usage.to_dict(),
            "baseline_prompts": self.baseline.digest(),
            "tuned_prompts": self.tuned.digest(),
            "improved": self.improved,
            "best_round": self.best_round,
            "stop_reason": self.stop_reason,
            "rounds": [r.to_dict() for r in self.rounds],
            "held_out": self.held_out.to_dict(),
        }


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test: P(a split this uneven or more | wins, losses equally likely)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)
