"""The traced step of tuning: each training problem is one call of `solve_with_prompts`.

`TracedSystem` is a `System` the evaluation runner drives like any other (concurrency, time
budget, results and traces on disk). Each task goes through the bundled method
`solve_with_prompts(modeling_rules, example, problem)`, so the optimizer's trace shows, per
problem, the step's documentation, the two prompt parameters, the problem and what the agent
produced. The feedback on each output is built from the runner's scored record: that record
holds the expected answer, which the optimizer may read but the agent never does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from optiagent.agent.api import Agent
from optiagent.agent.prompts import PromptSet
from optiagent.datasets.records import Task
from optiagent.evals.agent_system import AgentSystem
from optiagent.evals.systems import System, SystemOutput
from optiagent.evals.tuning.parameters import prompts_with
from optiagent.formulations.schema import VariableDef
from optiagent.opto import Feedback, Node, Parameter, bundle

__all__ = [
    "SystemFactory",
    "TracedSystem",
    "agent_factory",
    "problem_feedback",
    "summarize_output",
]

SystemFactory = Callable[[PromptSet], System]
"""Builds the system to evaluate (normally the agent) for a set of prompts."""

_FEEDBACK_CHARS = 800
_DEFAULT_DOMAIN = str(VariableDef.model_fields["domain"].default.value)
_WARNINGS_SHOWN = 5


def agent_factory(agent: Agent) -> SystemFactory:
    """Return a factory of AgentSystems: copies of `agent` (model, settings) with new prompts."""

    def make(prompts: PromptSet) -> System:
        clone = copy.copy(agent)
        clone.prompts = prompts
        return AgentSystem(clone)

    return make


def summarize_output(output: SystemOutput) -> dict[str, Any]:
    """Return what the optimizer sees of one run: status, answer, warnings, formulation."""
    summary: dict[str, Any] = {
        "status": output.status,
        "answer": output.answer_text or output.prediction,
    }
    trace = output.trace if isinstance(output.trace, Mapping) else {}
    if trace.get("answer_expression"):
        summary["answer_expression"] = trace["answer_expression"]
    if trace.get("warnings"):
        summary["warnings"] = list(trace["warnings"])[:_WARNINGS_SHOWN]
    if isinstance(trace.get("formulation"), Mapping):
        summary["formulation"] = _with_domains(trace["formulation"])
    return summary


def _with_domains(formulation: Mapping[str, Any]) -> dict[str, Any]:
    # Traces leave out default values, but a variable's domain is what a prompt most often
    # gets wrong: state it even when it is the default.
    shown = dict(formulation)
    variables = shown.get("variables")
    if isinstance(variables, list):
        shown["variables"] = [
            {**v, "domain": v.get("domain", _DEFAULT_DOMAIN)} if isinstance(v, dict) else v
            for v in variables
        ]
    return shown


def problem_feedback(record: Mapping[str, Any], summary: Mapping[str, Any] | None) -> Feedback:
    """Return the feedback on one training problem: right or wrong and, if wrong, why.

    `record` is the runner's result record (it holds the verdict and the expected answer);
    `summary` is the output of `solve_with_prompts` (None when the step never returned).
    The score is 1 for a correct answer and 0 otherwise.
    """
    problem = record.get("id")
    if record.get("correct"):
        return Feedback(text=f"problem {problem}: correct ({record.get('reason')})", score=1.0)
    lines = [f"problem {problem}: wrong ({record.get('reason')})"]
    status = record.get("status")
    if status == "timeout":
        lines.append(f"the agent ran out of time: {record.get('error')}")
    elif status != "ok":
        lines.append(f"the agent crashed: {record.get('error')}")
    elif record.get("system_status"):
        lines.append(f"the agent's final status: {record['system_status']}")
    warnings = list((summary or {}).get("warnings") or [])
    if warnings:
        lines.append("the agent's warnings: " + "; ".join(str(w) for w in warnings))
    final = record.get("final_feedback")
    if final:
        text = str(final).strip()
        if len(text) > _FEEDBACK_CHARS:
            text = text[:_FEEDBACK_CHARS] + " ..."
        lines.append(f"the last feedback the agent got:\n{text}")
    return Feedback(text="\n".join(lines), score=0.0)


class TracedSystem:
    """The system under tuning: solves each task through the traced step `solve_with_prompts`.

    `make_system` builds the real system for a PromptSet; `base` supplies every prompt text
    that is not tuned. After a run, `nodes` maps each task id to the step's output node (a
    failed node if the system raised); a task cut off by the time budget has none.
    """

    def __init__(
        self,
        make_system: SystemFactory,
        base: PromptSet,
        rules: Parameter[str],
        example: Parameter[str],
    ) -> None:
        self._make_system = make_system
        self._base = base
        self.rules = rules
        self.example = example
        self.prompts = prompts_with(base, rules.value, example.value)
        self._systems: dict[tuple[str, str], System] = {
            (rules.value, example.value): make_system(self.prompts)
        }
        self.name = self._systems[(rules.value, example.value)].name
        self.nodes: dict[str, Node[Any]] = {}
        self._outputs: dict[str, SystemOutput] = {}

    def describe(self) -> Mapping[str, Any]:
        """The description of the system for the current prompts."""
        return self._system_for(self.rules.value, self.example.value).describe()

    async def solve(self, task: Task) -> SystemOutput:
        """Solve one task through the traced step; re-raise the system's error, if any."""
        output_node = await self.solve_with_prompts(self.rules, self.example, task)
        self.nodes[task.id] = output_node
        if output_node.error is not None:
            raise output_node.error
        return self._outputs.pop(task.id)

    @bundle
    async def solve_with_prompts(
        self, modeling_rules: str, example: str, problem: Task
    ) -> dict[str, Any]:
        """Solve one training problem with the agent, using these two prompt texts.

        The agent's formulate prompt holds `modeling_rules` and `example`; the problem
        statement and its data files are all the agent sees. Returns the agent's status,
        answer, answer expression, warnings and final formulation.
        """
        system = self._system_for(modeling_rules, example)
        output = await system.solve(problem)
        self._outputs[problem.id] = output
        return summarize_output(output)

    def _system_for(self, modeling_rules: str, example: str) -> System:
        key = (modeling_rules, example)
        if key not in self._systems:
            self._systems[key] = self._make_system(prompts_with(self._base, *key))
        return self._systems[key]
