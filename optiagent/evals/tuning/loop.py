"""The tuning loop: OptoPrime improves the agent's prompts on a training split; held-out check.

    result = await tune_prompts(
        dataset, agent_factory(agent), optimizer_model, Path("tune"), train=20, test=20, seed=0
    )
    result.held_out.before.accuracy, result.held_out.after.accuracy

Round 0 evaluates the starting prompts on the training problems. Each later round gives the
optimizer one feedback per problem of the last evaluation (right or wrong, the expected answer,
the agent's warnings and final feedback), takes its suggestion and evaluates it. The prompts
with the best training accuracy are kept; a suggestion must beat them strictly to replace them,
so the result is the starting prompts when nothing helped. The loop stops after `rounds`
suggestions, at 100% training accuracy, or when the optimizer gives no usable suggestion. Then
the starting and the kept prompts are evaluated on the held-out problems, which the loop never
saw. Every evaluation is an ordinary run directory under `work_dir`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from optiagent.agent.llm import ChatModel, UsageLog
from optiagent.agent.prompts import PromptSet
from optiagent.datasets.records import Problem
from optiagent.datasets.registry import Dataset
from optiagent.evals.compare import compare_runs
from optiagent.evals.rundir import RunDirectory
from optiagent.evals.runner import RunProgress, run_evaluation
from optiagent.evals.scoring import get_rule
from optiagent.evals.systems import System
from optiagent.evals.tuning.parameters import prompt_parameters
from optiagent.evals.tuning.results import HeldOut, TuneResult, TuneRound
from optiagent.evals.tuning.splits import batches, split_problems
from optiagent.evals.tuning.traced import (
    SystemFactory,
    TracedSystem,
    problem_feedback,
)
from optiagent.exceptions import ConfigurationError, LLMOutputError
from optiagent.opto import OptoPrime, PromptLimits

__all__ = [
    "TUNE_LIMITS",
    "TUNE_OBJECTIVE",
    "TuneEvent",
    "TuneOptions",
    "tune_prompts",
]

TUNE_OBJECTIVE = """\
The program is an LLM agent that solves optimization word problems from the training split of \
a benchmark: each call of solve_with_prompts solved one problem with a formulate prompt that \
contains the trainable variables `modeling_rules` and `example`. With the current values the \
agent answered {correct} of {scored} of these problems correctly. The feedback on each output \
says whether the answer was right and, if not, the expected answer and what the agent reported.
Change the variables so that the agent answers more problems correctly. Find the modeling \
mistakes behind the wrong answers (variable domains, missing or misread constraints, the \
objective, the quantity given as the answer, units and percentages) and write general advice \
that prevents them; keep what already works. The prompts will be used on other problems: never \
write the data or the answer of a particular problem into them."""
"""The optimizer's instruction; {correct} and {scored} are the last training evaluation's."""

TUNE_LIMITS = PromptLimits(inputs=1500, others=400, outputs=1500, documentation=1500, memory=1500)
"""Tighter than OptoPrime's defaults: one optimizer prompt holds every problem of a batch."""

_TRAIN_DIR = "train-{:02d}"
_BEFORE_DIR = "heldout-baseline"
_AFTER_DIR = "heldout-tuned"


@dataclass(frozen=True)
class TuneOptions:
    """How long and how wide to tune, and how each evaluation runs."""

    rounds: int = 3
    """Optimizer steps (each followed by an evaluation on training problems)."""
    batch: int | None = None
    """Training problems per evaluation; None: all of them every round."""
    rule: str | None = None
    """Scoring rule for training and held-out accuracy (default rel1e-6)."""
    concurrency: int = 4
    timeout_s: float = 600.0
    """Wall-clock budget per problem, seconds."""
    memory_size: int = 3
    """Earlier (prompts, feedback) pairs the optimizer is shown."""
    max_attempts: int = 3
    """Optimizer replies per step: an invalid suggestion is sent back with the reason."""
    limits: PromptLimits = TUNE_LIMITS

    def __post_init__(self) -> None:
        if self.rounds < 0:
            raise ConfigurationError(f"--rounds must be 0 or more, got {self.rounds}")
        if self.batch is not None and self.batch < 1:
            raise ConfigurationError(f"--batch must be at least 1, got {self.batch}")
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, got {self.max_attempts}")


@dataclass(frozen=True)
class TuneEvent:
    """Progress of tuning, for a display.

    `kind` is "evaluation" (an evaluation starts), "progress" (a problem finished; `progress`
    is set), "evaluated" (an evaluation ended; `accuracy` is set), "step" (the optimizer
    suggested new prompts; `message` names what changed) or "step_failed".
    """

    kind: Literal["evaluation", "progress", "evaluated", "step", "step_failed"]
    phase: str
    round: int | None = None
    progress: RunProgress | None = None
    accuracy: float | None = None
    message: str = ""


EventCallback = Callable[[TuneEvent], None]


async def tune_prompts(
    dataset: Dataset,
    make_system: SystemFactory,
    optimizer_model: ChatModel,
    work_dir: Path,
    *,
    train: int,
    test: int,
    seed: int = 0,
    baseline: PromptSet | None = None,
    options: TuneOptions | None = None,
    on_event: EventCallback | None = None,
) -> TuneResult:
    """Tune the modeling rules and example of `baseline` on a training split of `dataset`.

    `make_system` builds the system to evaluate for a PromptSet (`agent_factory(agent)` for
    the agent); `optimizer_model` is the LLM that reads the traces and proposes new prompts.
    The split is `split_problems(dataset.problems, train=train, test=test, seed=seed)`. Run
    directories are written under `work_dir`, which must not hold an earlier tuning run.
    """
    options = options or TuneOptions()
    rule = get_rule(options.rule)
    start = baseline or PromptSet()
    train_set, test_set = split_problems(dataset.problems, train=train, test=test, seed=seed)
    _check_fresh(Path(work_dir))
    session = _Session(dataset, make_system, Path(work_dir), options, on_event)
    curve, (tuned, best_round), stop_reason, usage = await session.train(
        start, train_set, optimizer_model
    )
    held_out = await session.held_out(start, tuned, test_set)
    return TuneResult(
        dataset=dataset.name,
        version=dataset.version,
        dataset_sha256=dataset.sha256,
        rule=rule.name,
        seed=seed,
        train_ids=tuple(p.id for p in train_set),
        test_ids=tuple(p.id for p in test_set),
        baseline=start,
        tuned=tuned,
        rounds=tuple(curve),
        best_round=best_round,
        stop_reason=stop_reason,
        held_out=held_out,
        system=dict(make_system(start).describe()),
        optimizer_model=optimizer_model.name,
        optimizer_usage=usage.totals(),
    )


def _check_fresh(work_dir: Path) -> None:
    if work_dir.exists() and any(work_dir.iterdir()):
        raise ConfigurationError(
            f"{work_dir} already holds files (an earlier tuning run?); choose another --out"
        )


class _Session:
    """The evaluations of one tuning run, written under one work directory."""

    def __init__(
        self,
        dataset: Dataset,
        make_system: SystemFactory,
        work_dir: Path,
        options: TuneOptions,
        on_event: EventCallback | None,
    ) -> None:
        self.dataset = dataset
        self.make_system = make_system
        self.work_dir = work_dir
        self.options = options
        self.on_event = on_event

    def emit(self, event: TuneEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    async def evaluate(
        self,
        system: System,
        problems: Sequence[Problem],
        directory: Path,
        phase: str,
        round_: int | None = None,
    ) -> list[dict[str, Any]]:
        """Run `system` on `problems` in `directory`; return the records in problem order."""
        self.emit(TuneEvent("evaluation", phase, round_))

        def progress(state: RunProgress) -> None:
            self.emit(TuneEvent("progress", phase, round_, progress=state))

        await run_evaluation(
            self.dataset,
            system,
            directory,
            problems=problems,
            rule=self.options.rule,
            concurrency=self.options.concurrency,
            timeout_s=self.options.timeout_s,
            on_progress=progress,
            chart=False,
        )
        by_id = {str(r.get("id")): r for r in RunDirectory(directory).read_results()}
        records = [by_id[p.id] for p in problems if p.id in by_id]
        scored = [r for r in records if r.get("scored")]
        accuracy = sum(bool(r.get("correct")) for r in scored) / len(scored) if scored else None
        self.emit(TuneEvent("evaluated", phase, round_, accuracy=accuracy))
        return records

    async def train(
        self, start: PromptSet, problems: Sequence[Problem], optimizer_model: ChatModel
    ) -> tuple[list[TuneRound], tuple[PromptSet, int], str, UsageLog]:
        """Run the rounds; return the curve, (best prompts, their round), why it stopped."""
        options = self.options
        rules, example = prompt_parameters(start)
        usage = UsageLog()
        optimizer = OptoPrime(
            [rules, example],
            model=optimizer_model,
            memory_size=options.memory_size,
            max_attempts=options.max_attempts,
            limits=options.limits,
            usage=usage,
            node="tune",
        )
        plan = batches(problems, options.batch, options.rounds + 1)
        traced = TracedSystem(self.make_system, start, rules, example)
        records = await self._train_round(traced, plan[0], 0)
        curve = [_round(0, traced.prompts, records, self._train_dir(0))]
        best, best_round, best_accuracy = start, 0, _accuracy(records)
        stop_reason = f"ran {options.rounds} round(s)"
        for number in range(1, options.rounds + 1):
            if _accuracy(records) >= 1.0:
                stop_reason = "training accuracy reached 100%"
                break
            self._give_feedback(optimizer, traced, records)
            try:
                step = await optimizer.astep()
            except LLMOutputError as error:
                stop_reason = f"the optimizer gave no usable suggestion in round {number}: {error}"
                self.emit(TuneEvent("step_failed", "optimizer", number, message=str(error)))
                break
            changed = tuple(sorted(step.updates))
            message = ", ".join(changed) if changed else "no change"
            self.emit(TuneEvent("step", "optimizer", number, message=message))
            if not changed:
                # Nothing new to evaluate: the same feedback goes to the next step, with this
                # round's reply now in the optimizer's memory.
                point = TuneRound(number, traced.prompts.digest(), 0, 0, (), None)
                curve.append(
                    replace(point, reasoning=step.reasoning, optimizer_attempts=step.attempts)
                )
                continue
            traced = TracedSystem(self.make_system, start, rules, example)
            records = await self._train_round(traced, plan[number], number)
            point = _round(number, traced.prompts, records, self._train_dir(number))
            curve.append(
                replace(
                    point,
                    changed=changed,
                    reasoning=step.reasoning,
                    optimizer_attempts=step.attempts,
                )
            )
            if _accuracy(records) > best_accuracy:
                best, best_round, best_accuracy = traced.prompts, number, _accuracy(records)
        return curve, (best, best_round), stop_reason, usage

    def _give_feedback(
        self, optimizer: OptoPrime, traced: TracedSystem, records: Sequence[dict[str, Any]]
    ) -> None:
        """One backward per problem of the last evaluation, then the round's instruction."""
        optimizer.zero_feedback()
        for record in records:
            output = traced.nodes.get(str(record["id"]))
            summary = output.value if output is not None and not output.failed else None
            # A problem cut off by the time budget has no traced output: its feedback is given
            # on a plain value naming it.
            target = output if output is not None else {"problem": record["id"], "output": None}
            optimizer.backward(target, problem_feedback(record, summary))
        scored = [r for r in records if r.get("scored")]
        optimizer.objective = TUNE_OBJECTIVE.format(
            correct=sum(bool(r.get("correct")) for r in scored), scored=len(scored)
        )

    async def _train_round(
        self, traced: TracedSystem, problems: Sequence[Problem], number: int
    ) -> list[dict[str, Any]]:
        return await self.evaluate(
            traced, problems, self._train_dir(number), f"train round {number}", number
        )

    async def held_out(
        self, start: PromptSet, tuned: PromptSet, problems: Sequence[Problem]
    ) -> HeldOut:
        """Evaluate the starting and the tuned prompts on the held-out problems."""
        before_dir = self.work_dir / _BEFORE_DIR
        await self.evaluate(self.make_system(start), problems, before_dir, "held-out baseline")
        after_dir = before_dir
        if tuned.digest() != start.digest():
            after_dir = self.work_dir / _AFTER_DIR
            await self.evaluate(self.make_system(tuned), problems, after_dir, "held-out tuned")
        comparison = compare_runs(before_dir, after_dir)
        before, after = comparison.groups["all"]
        assert before is not None and after is not None  # both runs hold every problem
        order = [p.id for p in problems]
        fixed = {str(f["id"]) for f in comparison.fixed}
        broken = {str(f["id"]) for f in comparison.broken}
        return HeldOut(
            before=before,
            after=after,
            before_dir=before_dir,
            after_dir=after_dir,
            fixed=tuple(i for i in order if i in fixed),
            broken=tuple(i for i in order if i in broken),
        )

    def _train_dir(self, number: int) -> Path:
        return self.work_dir / _TRAIN_DIR.format(number)


def _accuracy(records: Sequence[dict[str, Any]]) -> float:
    scored = [r for r in records if r.get("scored")]
    return sum(bool(r.get("correct")) for r in scored) / len(scored) if scored else 0.0


def _round(
    number: int, prompts: PromptSet, records: Sequence[dict[str, Any]], directory: Path
) -> TuneRound:
    scored = [r for r in records if r.get("scored")]
    return TuneRound(
        number=number,
        prompts_digest=prompts.digest(),
        correct=sum(bool(r.get("correct")) for r in scored),
        scored=len(scored),
        problem_ids=tuple(str(r["id"]) for r in records),
        directory=directory,
    )
