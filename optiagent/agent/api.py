"""`Agent`: the library entry point. A problem in plain language in, a checked answer out.

    from optiagent import Agent
    agent = Agent(model="gpt-4o-mini")     # or any ChatModel, e.g. testing.ScriptedModel
    result = agent.solve("A bakery makes bread and cakes ... maximize profit")
    print(result.status, result.answer.text)

Two routes: "ir" (the default) has the model write a five-element formulation that our code
checks, solves, verifies and explains; "code" has it write a complete Pyomo / OR-Tools program
that runs in the sandbox, with the same verify / repair loop. "auto" takes the IR route and
falls back to the code route when it ends without a usable formulation: the IR is checkable
and explainable, so it goes first; code reaches what the IR cannot express. The sandbox is
created on the first code-route run and kept (warm workers): close it with `agent.close()`
or `with Agent(...) as agent:`.

No global state: each Agent holds its own model client and settings, and each run its own
graph, usage log and trace, so agents with different models work side by side.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from optiagent.agent.code import CodeRoute, code_limits, merge_fallback
from optiagent.agent.code_prompts import code_digest
from optiagent.agent.consensus import choose_by_agreement
from optiagent.agent.graph import build_graph, recursion_limit
from optiagent.agent.llm import ChatModel, resolve_chat_model
from optiagent.agent.prompts import PromptSet, load_prompts
from optiagent.agent.proposal import Proposal
from optiagent.agent.result import AgentEvent, AgentResult
from optiagent.agent.state import AgentConfig, RunContext
from optiagent.exceptions import ConfigurationError
from optiagent.formulations.tables import DataTable, load_csv, parse_markdown_tables
from optiagent.solvers_backend.sandbox import Sandbox

__all__ = ["Agent", "DataInput", "load_data"]

DataInput = str | Path | DataTable
_SAMPLE_TEMPERATURE = 0.7
ROUTES = ("ir", "code", "auto")


def load_data(problem: str, data: Sequence[DataInput] = ()) -> list[DataTable]:
    """The tables of a problem: the given files and tables, then the tables in its text."""
    tables: list[DataTable] = []
    for item in data:
        tables.append(item if isinstance(item, DataTable) else load_csv(item))
    names = [t.name for t in tables]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigurationError(
            f"two data tables are named {', '.join(sorted(duplicates))}; rename one of the files"
        )
    for table in parse_markdown_tables(problem):
        if table.name in names:
            table = replace(table, name=f"{table.name}_text")
        tables.append(table)
    return tables


class Agent:
    """Formulates, solves, checks and repairs optimization problems written in plain language."""

    def __init__(
        self,
        model: ChatModel | str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        cache: str | Path | None = None,
        max_repairs: int = 3,
        samples: int = 1,
        time_limit: float = 60.0,
        backend: str = "auto",
        threads: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        prompts: PromptSet | str | Path | None = None,
        diagnose: bool = True,
        review_warnings: bool = True,
        route: str = "ir",
        sandbox: Sandbox | None = None,
        **model_options: Any,
    ) -> None:
        if route not in ROUTES:
            raise ConfigurationError(f"unknown route {route!r}: choose one of {', '.join(ROUTES)}")
        if samples < 1:
            raise ConfigurationError(f"samples must be at least 1, got {samples}")
        if max_repairs < 0:
            raise ConfigurationError(f"max_repairs must be 0 or more, got {max_repairs}")
        options = {"base_url": base_url, "api_key": api_key, "cache": cache, **model_options}
        self.model: ChatModel = resolve_chat_model(
            model, **{k: v for k, v in options.items() if v is not None}
        )
        self.prompts = prompts if isinstance(prompts, PromptSet) else load_prompts(prompts)
        self.samples = samples
        self.config = AgentConfig(
            max_repairs=max_repairs,
            time_limit=time_limit,
            backend=backend,
            threads=threads,
            temperature=temperature,
            seed=seed,
            diagnose=diagnose,
            review_warnings=review_warnings,
        )
        self.route = route
        # the code route's sandbox: given (then the caller closes it), or made on first use
        self._sandbox = sandbox
        self._owns_sandbox = sandbox is None
        self._sandbox_lock = threading.Lock()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the sandbox workers this agent started (a later code-route run starts anew)."""
        with self._sandbox_lock:
            sandbox, owned = self._sandbox, self._owns_sandbox
            if owned:
                self._sandbox = None
        if sandbox is not None and owned:
            sandbox.close()

    def _code_sandbox(self) -> Sandbox:
        with self._sandbox_lock:
            if self._sandbox is None:
                # workers start on the first run, only for the family the program needs
                self._sandbox = Sandbox(prestart=False)
            return self._sandbox

    def describe(self) -> dict[str, Any]:
        """The settings of this agent, as recorded in evaluation configs."""
        description = {
            "system": "agent",
            "model": self.model.name,
            "endpoint": getattr(self.model, "base_url", None),
            "prompts": self.prompts.digest(),
            "samples": self.samples,
            "max_repairs": self.config.max_repairs,
            "time_limit": self.config.time_limit,
            "backend": self.config.backend,
            "temperature": self.config.temperature,
        }
        if self.route != "ir":  # the IR route's description stays as it was before routes
            description["route"] = self.route
            description["code_prompts"] = code_digest()
        return description

    async def _run_once(
        self,
        problem: str,
        tables: list[DataTable],
        report: list[str],
        sample: int,
        on_event: Callable[[AgentEvent], None] | None,
        given: Proposal | None = None,
    ) -> AgentResult:
        config = self.config
        if self.samples > 1:
            temperature = _SAMPLE_TEMPERATURE if config.temperature is None else config.temperature
            seed = (config.seed or 0) + sample
            config = replace(config, temperature=temperature, seed=seed)
        context = RunContext(self.model, self.prompts, config, on_event=on_event, sample=sample)
        route = "ir" if given is not None else self.route  # chat edits stay formulations
        if route == "code":
            return await self._run_code(context, problem, tables, report)
        result = await self._run_ir(context, problem, tables, report, given)
        if route == "auto" and result.status == "failed":
            context.emit("route", "no usable formulation: trying the code route")
            first = len(result.attempts) + 1
            code = await self._run_code(context, problem, tables, report, first)
            return merge_fallback(result, code)
        return result

    async def _run_code(
        self,
        context: RunContext,
        problem: str,
        tables: list[DataTable],
        report: list[str],
        first_attempt: int = 1,
    ) -> AgentResult:
        route = CodeRoute(context, self._code_sandbox(), code_limits(context.config.time_limit))
        return await route.run(problem, tables, report, first_attempt=first_attempt)

    async def _run_ir(
        self,
        context: RunContext,
        problem: str,
        tables: list[DataTable],
        report: list[str],
        given: Proposal | None,
    ) -> AgentResult:
        config = context.config
        graph = build_graph(context)
        state = await graph.ainvoke(
            {
                "problem": problem,
                "tables": tables,
                "report": report,
                "given": given,
                "attempts": [],
            },
            {"recursion_limit": recursion_limit(config.max_repairs)},
        )
        return state["final"]

    async def asolve(
        self,
        problem: str,
        *,
        data: Sequence[DataInput] = (),
        report: Sequence[str] = (),
        proposal: Proposal | None = None,
        on_event: Callable[[AgentEvent], None] | None = None,
    ) -> AgentResult:
        """Solve a problem (async).

        `data` are CSV files or DataTables the problem refers to; `report` names quantities to
        report besides the answer (their values come back in `result.answer.reported`);
        `proposal`, if given, is checked, solved and repaired instead of asking for a new one
        (this is how chat edits are re-solved).
        """
        if not problem or not problem.strip():
            raise ConfigurationError("the problem text is empty: describe the problem to solve")
        tables = load_data(problem, data)
        wanted = list(report)
        if self.samples == 1 or proposal is not None:
            return await self._run_once(problem, tables, wanted, 0, on_event, proposal)
        runs = [self._run_once(problem, tables, wanted, i, on_event) for i in range(self.samples)]
        return choose_by_agreement(await asyncio.gather(*runs))

    def solve(
        self,
        problem: str,
        *,
        data: Sequence[DataInput] = (),
        report: Sequence[str] = (),
        proposal: Proposal | None = None,
        on_event: Callable[[AgentEvent], None] | None = None,
    ) -> AgentResult:
        """Solve a problem (blocking); see `asolve`."""
        coroutine = self.asolve(
            problem, data=data, report=report, proposal=proposal, on_event=on_event
        )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        # Called from inside an event loop (a notebook, an async app): run on a fresh loop.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coroutine).result()
