#!/usr/bin/env python3
"""Compare opto's optimizers on numeric test functions: evaluations needed to reach a target.

    .venv/bin/python benchmarks/bench_opto.py                 # every optimizer, every function
    .venv/bin/python benchmarks/bench_opto.py --json out.json

Every optimizer runs the same user loop (evaluate the parameter, backward(score), step) on a
shifted quadratic (3-D) and Rosenbrock (2-D and 4-D), and we count evaluations until the best
score falls below each target.

The OptoPrime row runs the real prompt-building, reply-validation and update code. Its "model"
is the language model behind OPENAI_BASE_URL when that variable is set (e.g. the mailbox model,
tools/llm_mailbox.py; OPTIAGENT_MODEL names it), and otherwise a deterministic scripted stand-in
that reads the prompt it is sent (current value, score, memory of earlier values and scores)
and proposes a damped step downhill. The stand-in is a few lines of arithmetic, not a language
model: its figures measure the OptoPrime plumbing and the information in its prompt, not an LLM.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from optiagent.agent.llm import UsageLog
from optiagent.opto import (
    CMAES,
    LBFGSB,
    NelderMead,
    Optimizer,
    OptoPrime,
    Parameter,
    Powell,
    RandomSearch,
    bundle,
)
from optiagent.testing import FunctionModel, RecordedRequest

TARGETS = (1e-2, 1e-6)
OBJECTIVE = "Find the x that makes the score as small as possible (the optimum is 0)."


@dataclass(frozen=True)
class Problem:
    """A test function, its start point and the name shown in the table."""

    name: str
    function: Callable[[np.ndarray], float]
    start: tuple[float, ...]


def shifted_quadratic(x: np.ndarray) -> float:
    """Sum of squares around (1, -2, 0.5); minimum 0."""
    return float(np.sum((np.asarray(x, dtype=float) - np.array([1.0, -2.0, 0.5])) ** 2))


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock's curved valley; minimum 0 at (1, ..., 1)."""
    v = np.asarray(x, dtype=float)
    return float(np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2))


PROBLEMS = (
    Problem("quadratic-3d", shifted_quadratic, (0.0, 0.0, 0.0)),
    Problem("rosenbrock-2d", rosenbrock, (-1.2, 1.0)),
    Problem("rosenbrock-4d", rosenbrock, (0.0, 0.0, 0.0, 0.0)),
)


@dataclass
class Row:
    """One optimizer on one problem."""

    problem: str
    optimizer: str
    evaluations: int
    to_target: dict[str, int | None]
    best: float
    seconds: float
    llm_calls: int = 0
    prompt_tokens: int = 0


def run(
    problem: Problem, name: str, make: Callable[[Parameter[Any]], Optimizer], budget: int
) -> Row:
    """Run the user loop until the optimizer is done or the budget is spent."""
    x = Parameter(list(problem.start), name="x", description="the point to evaluate")

    @bundle
    def evaluate(x: list[float]) -> float:
        """Return the score of the point x (lower is better)."""
        return problem.function(np.asarray(x))

    optimizer = make(x)
    scores: list[float] = []
    started = time.perf_counter()
    while len(scores) < budget and not getattr(optimizer, "done", False):
        out = evaluate(x)
        scores.append(out.data)
        optimizer.zero_feedback()
        optimizer.backward(out, out.data)
        optimizer.step()
    seconds = time.perf_counter() - started
    best_so_far = np.minimum.accumulate(scores)
    reached = {
        f"{t:g}": next((i + 1 for i, s in enumerate(best_so_far) if s < t), None) for t in TARGETS
    }
    usage = getattr(optimizer, "usage", None)
    totals = usage.totals() if isinstance(usage, UsageLog) else None
    return Row(
        problem=problem.name,
        optimizer=name,
        evaluations=len(scores),
        to_target=reached,
        best=float(best_so_far[-1]),
        seconds=seconds,
        llm_calls=totals.calls if totals else 0,
        prompt_tokens=totals.prompt_tokens if totals else 0,
    )


# -- the scripted stand-in for an LLM ----------------------------------------------------------

_CURRENT = re.compile(
    r"^x \(vector of \d+ numbers?, #\d+\).*?\ncurrent value: (\[.*?\])$", re.M | re.S
)
_FEEDBACK = re.compile(r"^#Feedback\nscore: (\S+)$", re.M)
_MEMORY = re.compile(r"^\d+\. values: (\{.*?\})\n   feedback: score: (\S+)$", re.M)


def stand_in_reply(request: RecordedRequest) -> str:
    """Read the OptoPrime prompt like a careful model would and propose a damped downhill step.

    Points and scores come only from the prompt: the current value and its score, plus the
    memory of earlier values and scores. With enough points it fits a linear model and steps
    against the estimated gradient; otherwise it probes one coordinate. The step length grows
    after an improvement and shrinks after a failure (a trust region, kept in the prompt's
    memory rather than in any hidden state).
    """
    prompt = request.last_user_message
    current = np.array(json.loads(_require(_CURRENT.search(prompt)).group(1)), dtype=float)
    score = float(_require(_FEEDBACK.search(prompt)).group(1))
    points = [np.array(json.loads(v)["x"], dtype=float) for v, _ in _MEMORY.findall(prompt)]
    scores = [float(s) for _, s in _MEMORY.findall(prompt)]
    proposal = _damped_step(points, scores, current, score)
    reasoning = (
        "Fitted the recent scores and stepped downhill, with a step length set by the last outcome."
    )
    return json.dumps({"reasoning": reasoning, "suggestion": {"x": proposal.tolist()}})


def _require(match: re.Match[str] | None) -> re.Match[str]:
    if match is None:
        raise ValueError("the stand-in could not read the prompt")
    return match


def _damped_step(
    points: list[np.ndarray], scores: list[float], current: np.ndarray, score: float
) -> np.ndarray:
    n = current.size
    if not points:
        return current + 0.5 * np.eye(n)[0]
    earlier_best = int(np.argmin(scores))
    anchor = points[earlier_best]
    improved = score < scores[earlier_best]
    distance = float(np.linalg.norm(current - anchor))
    radius = max(2.0 * distance if improved else 0.5 * distance, 1e-12)
    all_points = [*points, current]
    all_scores = [*scores, score]
    best = int(np.argmin(all_scores))
    center = all_points[best]
    offsets = np.array([p - center for i, p in enumerate(all_points) if i != best])
    rises = np.array([s - all_scores[best] for i, s in enumerate(all_scores) if i != best])
    if np.linalg.matrix_rank(offsets, tol=1e-14) == n:
        gradient = np.linalg.lstsq(offsets, rises, rcond=None)[0]
        norm = float(np.linalg.norm(gradient))
        if norm > 0 and math.isfinite(norm):
            return center - radius * gradient / norm
    # Not enough independent directions yet: probe the next coordinate.
    return center + radius * np.eye(n)[len(points) % n]


# -- main --------------------------------------------------------------------------------------

NUMERIC: dict[str, Callable[[Parameter[Any], int], Optimizer]] = {
    "NelderMead": lambda x, budget: NelderMead([x], max_evaluations=budget),
    "Powell": lambda x, budget: Powell([x], max_evaluations=budget),
    "LBFGSB": lambda x, budget: LBFGSB([x], max_evaluations=budget),
    "RandomSearch": lambda x, budget: RandomSearch([x], seed=0, max_evaluations=budget),
    "CMAES": lambda x, budget: CMAES([x], seed=0, max_evaluations=budget),
}


def _with_budget(
    make: Callable[[Parameter[Any], int], Optimizer], budget: int
) -> Callable[[Parameter[Any]], Optimizer]:
    return lambda x: make(x, budget)


def main() -> int:
    """Run every optimizer on every problem and print the table (and JSON if asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=5000, help="evaluations per numeric run")
    parser.add_argument(
        "--llm-steps",
        type=int,
        default=None,
        help="evaluations per OptoPrime run (default 200 with the stand-in, 12 with a real model)",
    )
    parser.add_argument("--memory", type=int, default=8, help="OptoPrime memory size")
    parser.add_argument(
        "--llm-timeout", type=float, default=900.0, help="seconds to wait for one real reply"
    )
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--problems", nargs="*", default=[p.name for p in PROBLEMS])
    args = parser.parse_args()

    real_llm = bool(os.environ.get("OPENAI_BASE_URL"))
    if args.llm_steps is None:
        args.llm_steps = 12 if real_llm else 200
    if real_llm:
        model: Any = None  # OptoPrime builds the agent's client from the environment
        llm_label = f"OptoPrime[{os.environ.get('OPTIAGENT_MODEL', 'default model')}]"
    else:
        model = FunctionModel(stand_in_reply, name="scripted-stand-in")
        llm_label = "OptoPrime[scripted stand-in]"

    def make_optoprime(x: Parameter[Any]) -> Optimizer:
        # A real endpoint may be a person or a model answering by hand (the mailbox): be patient.
        options: dict[str, Any] = {"timeout": args.llm_timeout} if real_llm else {}
        return OptoPrime(
            [x],
            model=model,
            objective=OBJECTIVE,
            memory_size=args.memory,
            usage=UsageLog(),
            **options,
        )

    rows: list[Row] = []
    for problem in PROBLEMS:
        if problem.name not in args.problems:
            continue
        for name, make in NUMERIC.items():
            rows.append(run(problem, name, _with_budget(make, args.budget), args.budget))
        rows.append(run(problem, llm_label, make_optoprime, args.llm_steps))

    print(
        "OptoPrime's model: "
        + (
            f"the endpoint at {os.environ['OPENAI_BASE_URL']}"
            if real_llm
            else "a SCRIPTED STAND-IN (deterministic arithmetic reading the prompt), not an LLM"
        )
    )
    _print_table(rows, args)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([asdict(r) for r in rows], handle, indent=2)
    return 0


def _print_table(rows: list[Row], args: argparse.Namespace) -> None:
    header = (
        f"{'problem':<14} {'optimizer':<30} {'evals':>6} "
        + " ".join(f"{'to<' + format(t, 'g'):>8}" for t in TARGETS)
        + f" {'best':>10} {'ms/eval':>8} {'tokens/call':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        reached = " ".join(f"{str(v) if v else '-':>8}" for v in row.to_target.values())
        per_call = row.prompt_tokens // row.llm_calls if row.llm_calls else 0
        print(
            f"{row.problem:<14} {row.optimizer:<30} {row.evaluations:>6} {reached} "
            f"{row.best:>10.2e} {1000 * row.seconds / max(row.evaluations, 1):>8.3f} "
            f"{per_call if per_call else '':>11}"
        )
    print(
        f"\nbudget: {args.budget} evaluations per numeric run, {args.llm_steps} per OptoPrime run; "
        "'-' = target not reached; tokens/call = prompt tokens per OptoPrime call "
        "(estimated at 4 characters a token for the stand-in)"
    )


if __name__ == "__main__":
    sys.exit(main())
