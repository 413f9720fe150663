"""The nodes of the agent graph: formulate, check, solve, verify, repair, answer.

Each node reads the run state and returns the keys it changes. A failure anywhere becomes
feedback through `format_feedback` and routes to `repair`, which is one OptoPrime step on the
proposal (the trainable parameter) over the traced check/solve/verify steps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from optiagent.agent.answer import AnswerError, compute_answer, explain
from optiagent.agent.feedback import (
    AnswerFailure,
    Doubts,
    Failure,
    InvalidFormulation,
    SolveFailure,
    UnusableReply,
    format_feedback,
)
from optiagent.agent.llm import acomplete_validated
from optiagent.agent.prompts import LANGUAGE_GUIDE
from optiagent.agent.proposal import Proposal, proposal_schema
from optiagent.agent.result import AgentResult, AgentStatus, Attempt, Outcome
from optiagent.agent.state import AgentState, RunContext, SolvedAttempt
from optiagent.agent.steps import check_model, solve_model, verify_model
from optiagent.agent.verify import check_answer_target
from optiagent.exceptions import FormulationError, LLMOutputError
from optiagent.formulations.issues import Issue, IssueKind
from optiagent.formulations.solution import check_solution
from optiagent.formulations.tables import DataTable, describe_tables
from optiagent.opto import Node, OptoPrime, Parameter, graph_of
from optiagent.solvers_backend.api import diagnose
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus

__all__ = ["AgentNodes"]

_DIAGNOSED = (SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED, SolveStatus.INFEASIBLE_OR_UNBOUNDED)

_PROPOSAL_DESCRIPTION = (
    "the formulation of the problem (sets, parameters, variables, objective, constraints) and "
    "the answer specification, as JSON"
)


def _names(items: Sequence[Any], limit: int = 6) -> str:
    """The names of formulation elements, shortened for a progress line."""
    names = [item.name for item in items]
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)})" if len(names) > limit else "")
    return shown or "none"


def _tables_text(tables: list[DataTable]) -> str:
    """Describe tables for the prompt; tables copied from the problem text are only named."""
    from_files = [t for t in tables if not t.source.startswith("problem text")]
    in_text = [t for t in tables if t.source.startswith("problem text")]
    parts = []
    if from_files:
        parts.append(describe_tables(from_files))
    for table in in_text:
        parts.append(
            f"Table '{table.name}' (shown in the problem text, {len(table.rows)} rows), "
            f"columns: {', '.join(table.columns)}"
        )
    return "\n\n".join(parts)


class AgentNodes:
    """The node functions of one run, sharing its context (model, prompts, config, usage)."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.config = context.config

    # -- helpers -------------------------------------------------------------------------------

    def _attempt(
        self, state: AgentState, outcome: Outcome, feedback: str | None = None, **extra: Any
    ) -> Attempt:
        proposal = state.get("proposal")
        checked = extra.pop("checked", state.get("checked"))
        result = extra.pop("result", state.get("result"))
        return Attempt(
            number=len(state.get("attempts", [])) + 1,
            origin="repair" if state.get("origin") == "repair" else "formulate",
            outcome=outcome,
            proposal=proposal.value if proposal is not None else None,
            feedback=feedback,
            problem_class=checked.problem_class.value if checked is not None else None,
            solve_status=result.status.value if result is not None else None,
            objective=result.objective if result is not None else None,
        )

    def _fail(
        self,
        state: AgentState,
        output: Node[Any] | None,
        failure: Failure,
        outcome: Outcome,
        *,
        soft: bool = False,
        **updates: Any,
    ) -> dict[str, Any]:
        feedback = format_feedback(failure)
        attempt = self._attempt(
            state,
            outcome,
            feedback,
            **{k: v for k, v in updates.items() if k in ("checked", "result")},
        )
        return {
            **updates,
            "output": output,
            "failure": failure,
            "feedback": feedback,
            "soft": soft,
            "attempts": [attempt],
        }

    # -- nodes ---------------------------------------------------------------------------------

    async def formulate(self, state: AgentState) -> dict[str, Any]:
        """Ask the model for a first proposal (or take the one the caller gave)."""
        started = time.perf_counter()
        context = self.context
        given = state.get("given")
        if given is not None:
            context.emit("formulate", "starting from the given formulation")
            first = given
        else:
            context.emit("formulate", "asking the model for a formulation")
            try:
                first = await self._ask_for_proposal(state)
            except LLMOutputError as error:
                feedback = format_feedback(UnusableReply(str(error)))
                context.emit("formulate", "no usable formulation", time.perf_counter() - started)
                attempt = Attempt(1, "formulate", "unusable_reply", feedback=feedback)
                return {"attempts": [attempt], "feedback": feedback, "repairs": 0}
        return self._start(state, first, started)

    async def _ask_for_proposal(self, state: AgentState) -> Proposal:
        context, config = self.context, self.config
        messages = context.prompts.formulate_messages(
            state["problem"], _tables_text(state.get("tables", [])), state.get("report", [])
        )
        validated = await acomplete_validated(
            context.model,
            messages,
            Proposal.model_validate,
            response_schema=proposal_schema(),
            max_attempts=config.output_attempts,
            temperature=config.temperature,
            seed=config.seed,
            usage=context.usage,
            node="formulate",
        )
        return validated.value

    def _start(self, state: AgentState, first: Proposal, started: float) -> dict[str, Any]:
        """Make the proposal the trainable parameter of this run, with its optimizer."""
        context, config = self.context, self.config
        proposal = Parameter(
            first,
            name="proposal",
            description=_PROPOSAL_DESCRIPTION,
            constraint=LANGUAGE_GUIDE,
        )
        optimizer = OptoPrime(
            [proposal],
            model=context.model,
            objective=context.prompts.repair_instruction(state["problem"]),
            memory_size=3,
            max_attempts=config.output_attempts,
            temperature=config.temperature,
            seed=config.seed,
            usage=context.usage,
            node="repair",
        )
        formulation = first.formulation
        context.emit(
            "formulate",
            f"proposal: variables {_names(formulation.variables)}; "
            f"constraints {_names(formulation.constraints)}",
            time.perf_counter() - started,
        )
        return {
            "proposal": proposal,
            "optimizer": optimizer,
            "origin": "formulate",
            "repairs": 0,
            "reviewed": False,
            "accepted": False,
        }

    def check(self, state: AgentState) -> dict[str, Any]:
        """Validate the proposal's formulation and read its tables."""
        started = time.perf_counter()
        out = check_model(state["proposal"], state.get("tables", []))
        if out.failed:
            error = out.error
            issues = (
                tuple(error.issues)
                if isinstance(error, FormulationError)
                else (Issue(IssueKind.SCHEMA, "formulation", f"{type(error).__name__}: {error}"),)
            )
            self.context.emit(
                "check", f"{len(issues)} issue(s) in the formulation", time.perf_counter() - started
            )
            return self._fail(state, out, InvalidFormulation(issues), "invalid", checked=None)
        checked = out.data
        self.context.emit(
            "check", f"valid: {checked.analysis.summary()}", time.perf_counter() - started
        )
        return {"checked": checked, "check_node": out, "failure": None, "feedback": None}

    async def solve(self, state: AgentState) -> dict[str, Any]:
        """Solve the checked model; diagnose infeasible and unbounded outcomes."""
        started = time.perf_counter()
        config = self.config
        options = SolveOptions(time_limit=config.time_limit, threads=config.threads)
        out = await asyncio.to_thread(solve_model, state["check_node"], config.backend, options)
        # Whatever the solve step raised (no backend fits the model, a build failure) is
        # feedback for the next proposal, never a crash of the agent.
        result = out.data if not out.failed else _raised_result(out.error, state["checked"])
        if result.has_solution:
            objective = f"{result.objective:.10g}" if result.objective is not None else "none"
            seconds = time.perf_counter() - started
            message = f"{result.status.value}, objective {objective} ({result.backend})"
            self.context.emit("solve", message, seconds)
            return {"result": result, "result_node": out, "failure": None, "feedback": None}
        diagnosis = None
        if config.diagnose and result.status in _DIAGNOSED:
            diagnosis = await asyncio.to_thread(
                diagnose, state["checked"], result, time_limit=config.diagnosis_time_limit
            )
        kind = getattr(diagnosis, "kind", None)
        if kind not in ("infeasible", "unbounded"):  # no diagnosis, or it stayed undetermined
            kind = result.status.value
        outcome: Outcome = kind if kind in ("infeasible", "unbounded") else "solver_error"
        seconds = time.perf_counter() - started
        self.context.emit("solve", f"{result.status.value} ({result.backend})", seconds)
        return self._fail(
            state,
            out,
            SolveFailure(result, diagnosis),
            outcome,
            soft=outcome in ("infeasible", "unbounded"),
            result=result,
        )

    def verify(self, state: AgentState) -> dict[str, Any]:
        """Look for signs that the solved model is wrong."""
        started = time.perf_counter()
        out = verify_model(state["check_node"], state["result_node"])
        findings = out.data + check_answer_target(state["problem"], state["proposal"].value)
        errors = [f for f in findings if f.severity == "error"]
        warnings = [f for f in findings if f.severity == "warning"]
        seconds = time.perf_counter() - started
        best = SolvedAttempt(
            number=len(state.get("attempts", [])) + 1,
            proposal=state["proposal"].value,
            checked=state["checked"],
            result=state["result"],
            findings=tuple(findings),
        )
        review = bool(warnings) and self.config.review_warnings and not state.get("reviewed")
        if errors or review:
            self.context.emit(
                "verify", f"{len(errors)} error(s), {len(warnings)} doubt(s)", seconds
            )
            return self._fail(
                state,
                out,
                Doubts(tuple(findings)),
                "doubtful",
                soft=not errors,
                findings=findings,
                best=best,
            )
        self.context.emit(
            "verify", "ok" if not warnings else f"{len(warnings)} doubt(s) kept", seconds
        )
        return {
            "findings": findings,
            "best": best,
            "output": out,
            "failure": None,
            "feedback": None,
            "attempts": [self._attempt(state, "ok")],
        }

    async def repair(self, state: AgentState) -> dict[str, Any]:
        """One OptoPrime step: the model revises the proposal from the trace and the feedback."""
        if state.get("repairs", 0) >= self.config.max_repairs:
            return {"exhausted": True}
        started = time.perf_counter()
        optimizer = state["optimizer"]
        optimizer.zero_feedback()
        optimizer.backward(state["output"], state["feedback"] or "")
        self.context.emit("repair", f"asking for a revision (repair {state.get('repairs', 0) + 1})")
        repairs = state.get("repairs", 0) + 1
        try:
            step = await optimizer.astep()
        except LLMOutputError as error:
            feedback = format_feedback(UnusableReply(str(error)))
            self.context.emit("repair", "no usable revision", time.perf_counter() - started)
            attempt = Attempt(
                len(state.get("attempts", [])) + 1, "repair", "unusable_reply", feedback=feedback
            )
            return {"repairs": repairs, "attempts": [attempt]}
        if not step.updates:
            self.context.emit(
                "repair", "the model kept the formulation", time.perf_counter() - started
            )
            if state.get("soft"):
                return {"repairs": repairs, "accepted": True, "reviewed": True}
            return {"repairs": repairs}
        self.context.emit("repair", "revised formulation", time.perf_counter() - started)
        return {
            "repairs": repairs,
            "origin": "repair",
            "reviewed": bool(state.get("reviewed") or state.get("soft")),
            "checked": None,
            "check_node": None,
            "result": None,
            "result_node": None,
            "failure": None,
            "soft": False,
        }

    def answer(self, state: AgentState) -> dict[str, Any]:
        """Compute the asked quantity and the explanation, and close the run."""
        parameter = state.get("proposal")
        proposal = parameter.value if parameter is not None else None
        checked, result = state.get("checked"), state.get("result")
        findings = list(state.get("findings", []))
        # errors found by verify count as warnings only when the budget ran out on them
        doubtful = isinstance(state.get("failure"), Doubts)
        warnings: list[str] = []
        best = state.get("best")
        if (result is None or not result.has_solution) and best and not state.get("accepted"):
            # later repairs broke a model that had solved: report that one, and say so
            proposal, checked, result = best.proposal, best.checked, best.result
            findings, doubtful = list(best.findings), False
            warnings.append(
                f"the repairs after attempt {best.number} did not give a better model; "
                f"this answer comes from attempt {best.number}"
            )
        warnings += [f.message for f in findings if doubtful or f.severity == "warning"]
        answer, solution = None, None
        solved = result is not None and result.has_solution
        if solved and checked is not None and proposal is not None:
            solution = check_solution(checked, result.values)
            try:
                missing = [n for n in state.get("report", []) if n not in proposal.answer.report]
                if missing:
                    raise AnswerError(
                        "answer.report has no expression for " + ", ".join(map(repr, missing))
                    )
                answer = compute_answer(proposal.answer, checked, result)
            except AnswerError as error:
                if state.get("repairs", 0) < self.config.max_repairs:
                    failure = AnswerFailure(proposal.answer.expression or "", str(error))
                    return self._fail(state, state.get("output"), failure, "answer_error")
                warnings.append(f"the answer expression failed ({error}); reporting the objective")
                objective_spec = proposal.answer.model_copy(update={"expression": None})
                answer = compute_answer(objective_spec, checked, result)
        status = _final_status(state, answer is not None, result)
        output = state.get("output")
        unresolved = status not in ("solved", "feasible") or state.get("failure") is not None
        final = AgentResult(
            status=status,
            answer=answer,
            proposal=proposal,
            checked=checked,
            solve_result=result,
            solution_check=solution,
            explanation=explain(checked, result, solution) if answer and checked else "",
            attempts=list(state.get("attempts", [])),
            repairs=state.get("repairs", 0),
            usage_log=self.context.usage,
            events=list(self.context.events),
            warnings=list(dict.fromkeys(warnings)),
            final_feedback=state.get("feedback") if unresolved else None,
            trace_text=graph_of(output).render() if output is not None else "",
        )
        self.context.emit("answer", f"{status}: {answer.text if answer else 'no answer'}")
        return {"final": final, "failure": None}


def _final_status(state: AgentState, answered: bool, result: SolveResult | None) -> AgentStatus:
    """solved / feasible with an answer; else what the last solve or its diagnosis said."""
    if answered and result is not None:
        return "solved" if result.status is SolveStatus.OPTIMAL else "feasible"
    if result is not None and result.status is SolveStatus.INFEASIBLE:
        return "infeasible"
    if result is not None and result.status is SolveStatus.UNBOUNDED:
        return "unbounded"
    failure = state.get("failure")
    kind = getattr(failure.diagnosis, "kind", None) if isinstance(failure, SolveFailure) else None
    if kind == "infeasible":
        return "infeasible"
    if kind == "unbounded":
        return "unbounded"
    return "failed"


def _raised_result(error: BaseException | None, checked: Any) -> SolveResult:
    """The solve step's exception as an `error` result, so that it becomes feedback."""
    return SolveResult(
        status=SolveStatus.ERROR,
        backend="none",
        problem_class=getattr(checked, "problem_class", None),
        message=f"{type(error).__name__}: {error}",
    )
