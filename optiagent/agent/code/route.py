"""The code route: the model writes a complete solver program, the sandbox runs it, and the
same verify / repair loop as the IR route turns every failure into feedback.

    write -> run -> verify -> answer
               ^      |        |
               +--- repair <---+        (bounded by max_repairs)

- write: one model call with the code-writing prompt; the program is the reply's ```python
  block (a reply with no program is sent back, up to `output_attempts` replies).
- run: the traced step `run_program(program)` in the agent's sandbox. Syntax errors,
  refused imports, tracebacks with the failing line, timeouts and the status the program
  printed become feedback (`ExecutionResult.feedback()` plus what the status means).
- verify: the traced step `verify_program`: a finite objective, the requested report lines,
  and doubts (several objectives printed, an all-zero plan, a fractional "how many").
- repair: one OptoPrime step on the trainable `program`. Infeasible / unbounded reports and
  doubts are soft: a model that returns the program unchanged confirms them (doubts are
  reviewed once), as on the IR route.
- answer: the `answer:` line, else the objective; statuses map as on the IR route.

Why a plain loop and not a LangGraph: the route has one back edge and no other branching,
and we use neither checkpoints nor streamed updates, so a graph would add a state schema,
routing functions and a recursion limit without adding behaviour. Progress events and usage
nodes ("write", "run", "verify", "repair", "answer") match the IR route's.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

from optiagent.agent.answer import Answer
from optiagent.agent.code.program import (
    ProgramRunner,
    counted_thing,
    data_files,
    doubts_feedback,
    extract_code,
    failure_feedback,
    files_description,
    has_solution,
    reported_quantities,
    run_outcome,
    verify_program,
)
from optiagent.agent.code_prompts import (
    NO_PROGRAM_REPLY,
    PROGRAM_DESCRIPTION,
    code_messages,
    code_repair_instruction,
    program_rules,
)
from optiagent.agent.llm import UsageLog
from optiagent.agent.result import AgentResult, AgentStatus, Attempt
from optiagent.agent.state import RunContext
from optiagent.agent.verify import Finding
from optiagent.exceptions import LLMOutputError
from optiagent.formulations.tables import DataTable
from optiagent.opto import Node, OptoPrime, Parameter, graph_of
from optiagent.solvers_backend.sandbox import ExecutionResult, Limits, Sandbox

__all__ = ["CodeRoute", "code_limits", "merge_fallback"]

_MAX_LISTED = 8


def code_limits(time_limit: float) -> Limits:
    """Sandbox limits for programs told to give their solver `time_limit` seconds.

    The wall clock leaves room for building the model on top of the solver's own limit
    (which the prompt asks for), and CPU time allows for a solver using a few threads.
    """
    wall = time_limit + max(10.0, 0.5 * time_limit)
    return Limits(wall_seconds=wall, cpu_seconds=4 * wall)


def _not_empty(program: object) -> None:
    if not isinstance(program, str) or not program.strip():
        raise ValueError("the program is empty: give the complete Python source")


@dataclass
class _Run:
    """One run of a program: what it printed, what verify found, and the feedback (if any)."""

    code: str
    execution: ExecutionResult
    output: Node[Any]
    findings: list[Finding] = field(default_factory=list)
    feedback: str | None = None
    soft: bool = False


@dataclass
class _Loop:
    """The state of the repair loop."""

    repairs: int = 0
    reviewed: bool = False  # doubts were shown once
    accepted: bool = False  # the model kept the program after a soft failure
    origin: str = "write"
    attempts: list[Attempt] = field(default_factory=list)
    best: _Run | None = None  # the latest run with a solution and no verify errors
    best_attempt: int = 0


class CodeRoute:
    """One run of the code route; shares the agent's model, config, usage log and events."""

    def __init__(self, context: RunContext, sandbox: Sandbox, limits: Limits) -> None:
        self.context = context
        self.config = context.config
        self.sandbox = sandbox
        self.limits = limits

    async def run(
        self, problem: str, tables: list[DataTable], report: list[str], *, first_attempt: int = 1
    ) -> AgentResult:
        """Write, run, verify and repair a program for `problem`; return the AgentResult.

        `first_attempt` numbers the attempts after those of an earlier route (auto fallback).
        """
        loop = _Loop()
        first = await self._write(problem, tables, report)
        if first is None:
            feedback = "the model's replies held no Python program"
            loop.attempts.append(
                Attempt(first_attempt, "write", "unusable_reply", feedback=feedback)
            )
            self.context.emit("answer", "failed: no program")
            return self._result("failed", None, None, loop, [], feedback)
        config = self.config
        program: Parameter[str] = Parameter(
            first,
            name="program",
            kind="code",
            description=PROGRAM_DESCRIPTION,
            constraint=program_rules(),
            check=_not_empty,
        )
        optimizer = OptoPrime(
            [program],
            model=self.context.model,
            objective=code_repair_instruction(problem),
            memory_size=3,
            max_attempts=config.output_attempts,
            temperature=config.temperature,
            seed=config.seed,
            usage=self.context.usage,
            node="repair",
        )
        runner = ProgramRunner(self.sandbox, self.limits, data_files(tables))
        counted = counted_thing(problem)
        while True:
            run = await self._run_and_verify(runner, program, report, counted, loop)
            number = first_attempt + len(loop.attempts)
            loop.attempts.append(self._attempt(number, loop.origin, run))
            if run.feedback is None:
                return self._answer(run, loop, report)
            if has_solution(run.execution) and not _errors(run.findings):
                loop.best, loop.best_attempt = run, number
            revised = await self._repair(optimizer, program, run, loop, first_attempt)
            if not revised:
                return self._answer(run, loop, report)

    # -- write -----------------------------------------------------------------------------

    async def _write(self, problem: str, tables: list[DataTable], report: list[str]) -> str | None:
        context, config = self.context, self.config
        started = time.perf_counter()
        context.emit("write", "asking the model for a program")
        conversation: list[dict[str, str]] = code_messages(
            problem,
            files_description=files_description(tables),
            report=report,
            time_limit=config.time_limit,
        )
        for _ in range(config.output_attempts):
            reply = await context.model.acomplete(
                conversation, temperature=config.temperature, seed=config.seed
            )
            context.usage.record("write", reply)
            code = extract_code(reply.text)
            if code is not None:
                lines = code.count("\n")
                context.emit("write", f"program of {lines} lines", time.perf_counter() - started)
                return code
            request = NO_PROGRAM_REPLY
            if reply.finish_reason == "length":
                request += " Your reply was cut off at the output token limit: keep it shorter."
            conversation += [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": request},
            ]
        context.emit("write", "no program in the replies", time.perf_counter() - started)
        return None

    # -- run and verify --------------------------------------------------------------------

    async def _run_and_verify(
        self,
        runner: ProgramRunner,
        program: Parameter[str],
        report: list[str],
        counted: str | None,
        loop: _Loop,
    ) -> _Run:
        context = self.context
        code = program.value
        started = time.perf_counter()
        out = await runner.run_program(program)
        execution: ExecutionResult = out.data
        # the time waited, a worker's first start included (execution.wall_time_s excludes it)
        context.emit("run", _run_summary(execution), time.perf_counter() - started)
        outcome = run_outcome(execution)
        if outcome is not None:
            return _Run(
                code,
                execution,
                out,
                feedback=failure_feedback(execution, outcome),
                soft=outcome in ("infeasible", "unbounded"),
            )
        started = time.perf_counter()
        checked = verify_program(out, list(report), counted)
        findings: list[Finding] = checked.data
        errors = _errors(findings)
        warnings = [f for f in findings if f.severity == "warning"]
        seconds = time.perf_counter() - started
        review = bool(warnings) and self.config.review_warnings and not loop.reviewed
        if errors or review:
            context.emit("verify", f"{len(errors)} error(s), {len(warnings)} doubt(s)", seconds)
            return _Run(
                code, execution, checked, findings, doubts_feedback(findings), soft=not errors
            )
        context.emit("verify", "ok" if not warnings else f"{len(warnings)} doubt(s) kept", seconds)
        return _Run(code, execution, checked, findings)

    def _attempt(self, number: int, origin: str, run: _Run) -> Attempt:
        outcome = run_outcome(run.execution)
        if outcome is None:
            outcome = "doubtful" if run.feedback is not None else "ok"
        reported = run.execution.reported
        objective = reported.objective
        return Attempt(
            number=number,
            origin="repair" if origin == "repair" else "write",
            outcome=outcome,
            feedback=run.feedback,
            solve_status=reported.status,
            objective=objective if objective is not None and math.isfinite(objective) else None,
            code=run.code,
            exit_reason=run.execution.exit_reason.value,
        )

    # -- repair ----------------------------------------------------------------------------

    async def _repair(
        self,
        optimizer: OptoPrime,
        program: Parameter[str],
        run: _Run,
        loop: _Loop,
        first_attempt: int,
    ) -> bool:
        """Ask for a revised program until one differs; False when the loop should end."""
        context = self.context
        while loop.repairs < self.config.max_repairs:
            loop.repairs += 1
            started = time.perf_counter()
            optimizer.zero_feedback()
            optimizer.backward(run.output, run.feedback or "")
            context.emit("repair", f"asking for a revised program (repair {loop.repairs})")
            try:
                step = await optimizer.astep()
            except LLMOutputError as error:
                context.emit("repair", "no usable revision", time.perf_counter() - started)
                number = first_attempt + len(loop.attempts)
                feedback = f"The reply could not be used as a program: {error}"
                loop.attempts.append(Attempt(number, "repair", "unusable_reply", feedback=feedback))
                continue
            seconds = time.perf_counter() - started
            if not step.updates:
                context.emit("repair", "the model kept the program", seconds)
                if run.soft:
                    loop.accepted = loop.reviewed = True
                    return False
                continue  # a hard failure left as it was: ask again while the budget lasts
            code = extract_code(program.value) or program.value
            if code != program.value:
                program.value = code  # the model wrapped the program in a fence
            context.emit("repair", "revised program", seconds)
            loop.reviewed = loop.reviewed or run.soft
            loop.origin = "repair"
            return True
        return False

    # -- answer ----------------------------------------------------------------------------

    def _answer(self, run: _Run, loop: _Loop, report: list[str]) -> AgentResult:
        warnings: list[str] = []
        chosen = run
        if not _usable(run) and loop.best is not None and not loop.accepted:
            chosen = loop.best
            warnings.append(
                f"the repairs after attempt {loop.best_attempt} did not give a better program; "
                f"this answer comes from attempt {loop.best_attempt}"
            )
        execution = chosen.execution
        reported = execution.reported
        # errors count as warnings only when the budget ran out on them
        warnings += [f.message for f in chosen.findings]
        answer = None
        if _usable(chosen):
            value = reported.answer
            description = "reported by the program"
            if value is None or not math.isfinite(value):
                value, description = reported.objective, "objective value"
            answer = Answer(
                value=value,
                description=description,
                reported=reported_quantities(execution, report),
            )
            if reported.status == "time_limit":
                warnings.append(
                    "the solver stopped at its time limit: the objective may not be optimal"
                )
        status = _final_status(execution, answer is not None)
        unresolved = status not in ("solved", "feasible") or chosen.feedback is not None
        final_feedback = run.feedback if unresolved else None
        self.context.emit("answer", f"{status}: {answer.text if answer else 'no answer'}")
        result = self._result(status, chosen, answer, loop, warnings, final_feedback)
        result.trace_text = graph_of(run.output).render()
        return result

    def _result(
        self,
        status: AgentStatus,
        run: _Run | None,
        answer: Answer | None,
        loop: _Loop,
        warnings: list[str],
        final_feedback: str | None,
    ) -> AgentResult:
        return AgentResult(
            status=status,
            answer=answer,
            explanation=_explain(run.execution) if run is not None and answer else "",
            attempts=list(loop.attempts),
            repairs=loop.repairs,
            usage_log=self.context.usage,
            events=list(self.context.events),
            warnings=list(dict.fromkeys(warnings)),
            final_feedback=final_feedback,
            route="code",
            code=run.code if run is not None else None,
            execution=run.execution if run is not None else None,
        )


def _errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def _usable(run: _Run) -> bool:
    objective = run.execution.reported.objective
    return has_solution(run.execution) and objective is not None and math.isfinite(objective)


def _final_status(execution: ExecutionResult, answered: bool) -> AgentStatus:
    """solved / feasible with an answer; else what the program's last run reported."""
    status = execution.reported.status if execution.ok else None
    if answered:
        return "solved" if status == "optimal" else "feasible"
    if status == "infeasible":
        return "infeasible"
    if status == "unbounded":
        return "unbounded"
    return "failed"


def _run_summary(execution: ExecutionResult) -> str:
    reported = execution.reported
    if not execution.ok:
        where = (
            f" at line {execution.error.line}" if execution.error and execution.error.line else ""
        )
        return f"{execution.exit_reason.value}{where}"
    objective = "" if reported.objective is None else f", objective {reported.objective:.10g}"
    return f"status {reported.status or 'not reported'}{objective}"


def _explain(execution: ExecutionResult) -> str:
    reported = execution.reported
    values = [(k, v) for k, v in reported.values.items() if not k.startswith("report[")]
    nonzero = [(k, v) for k, v in values if math.isfinite(v) and abs(v) > 1e-9]
    text = (
        f"A generated program ({execution.family}, {execution.wall_time_s:.2f} s in the sandbox) "
        f"reported status {reported.status} with objective {reported.objective:.10g}."
    )
    if nonzero:
        shown = ", ".join(f"{k} = {v:.6g}" for k, v in nonzero[:_MAX_LISTED])
        more = f" and {len(nonzero) - _MAX_LISTED} more" if len(nonzero) > _MAX_LISTED else ""
        text += f" Non-zero values: {shown}{more}."
    return text


def merge_fallback(ir: AgentResult, code: AgentResult) -> AgentResult:
    """The code route's result after the IR route failed: both routes' attempts and repairs,
    and a warning saying where the answer comes from (usage and events are already shared)."""
    note = (
        f"the formulation route gave no usable formulation in {len(ir.attempts)} attempt(s); "
        "the result comes from a generated program (code route)"
    )
    usage = code.usage_log
    if usage is not ir.usage_log:
        usage = UsageLog()
        usage.merge(ir.usage_log)
        usage.merge(code.usage_log)
    return dataclasses.replace(
        code,
        attempts=list(ir.attempts) + list(code.attempts),
        repairs=ir.repairs + code.repairs,
        warnings=[note, *code.warnings],
        usage_log=usage,
    )
