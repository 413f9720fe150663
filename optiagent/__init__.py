"""optiagent: optimization problems in plain language -> solved, checked, explained models.

    from optiagent import Agent
    result = Agent(model="gpt-4o-mini").solve("A bakery makes bread and cakes ... maximize profit")
    print(result.status, result.answer.text)

    from optiagent import load_formulation, solve
    print(solve(load_formulation("examples/wyndor.yaml")).objective)      # 36, no LLM

Every public name is listed below and in `__all__`; each is imported on first use, so that
`import optiagent` (and the CLI's start-up) does not load LangGraph, Pyomo or openai.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optiagent.agent.api import Agent
    from optiagent.agent.llm import OpenAIChatModel, Usage
    from optiagent.agent.result import AgentResult, Attempt
    from optiagent.chat_model import ChatModel, ChatReply
    from optiagent.exceptions import (
        CodeExecutionError,
        ConfigurationError,
        DatasetError,
        FormulationError,
        IncompatibleBackendError,
        LLMError,
        LLMOutputError,
        MissingDependencyError,
        OptiAgentError,
        RepairBudgetExhausted,
        SolverError,
    )
    from optiagent.formulations.analysis import (
        CheckedFormulation,
        ProblemClass,
        check_formulation,
    )
    from optiagent.formulations.io import load_formulation, parse_formulation, save_formulation
    from optiagent.formulations.schema import Formulation
    from optiagent.formulations.tables import DataTable, load_csv
    from optiagent.settings import Settings
    from optiagent.solvers_backend.api import solve
    from optiagent.solvers_backend.pool import SolverPool
    from optiagent.solvers_backend.results import SolveResult, SolveStatus

_PUBLIC: dict[str, str] = {
    "Agent": "optiagent.agent.api",
    "AgentResult": "optiagent.agent.result",
    "Attempt": "optiagent.agent.result",
    "ChatModel": "optiagent.chat_model",
    "ChatReply": "optiagent.chat_model",
    "CheckedFormulation": "optiagent.formulations.analysis",
    "CodeExecutionError": "optiagent.exceptions",
    "ConfigurationError": "optiagent.exceptions",
    "DataTable": "optiagent.formulations.tables",
    "DatasetError": "optiagent.exceptions",
    "Formulation": "optiagent.formulations.schema",
    "FormulationError": "optiagent.exceptions",
    "IncompatibleBackendError": "optiagent.exceptions",
    "LLMError": "optiagent.exceptions",
    "LLMOutputError": "optiagent.exceptions",
    "MissingDependencyError": "optiagent.exceptions",
    "OpenAIChatModel": "optiagent.agent.llm",
    "OptiAgentError": "optiagent.exceptions",
    "ProblemClass": "optiagent.formulations.analysis",
    "RepairBudgetExhausted": "optiagent.exceptions",
    "Settings": "optiagent.settings",
    "SolveResult": "optiagent.solvers_backend.results",
    "SolverPool": "optiagent.solvers_backend.pool",
    "SolveStatus": "optiagent.solvers_backend.results",
    "SolverError": "optiagent.exceptions",
    "Usage": "optiagent.agent.llm",
    "check_formulation": "optiagent.formulations.analysis",
    "load_csv": "optiagent.formulations.tables",
    "load_formulation": "optiagent.formulations.io",
    "parse_formulation": "optiagent.formulations.io",
    "save_formulation": "optiagent.formulations.io",
    "solve": "optiagent.solvers_backend.api",
}

__all__ = [
    "Agent",
    "AgentResult",
    "Attempt",
    "ChatModel",
    "ChatReply",
    "CheckedFormulation",
    "CodeExecutionError",
    "ConfigurationError",
    "DataTable",
    "DatasetError",
    "Formulation",
    "FormulationError",
    "IncompatibleBackendError",
    "LLMError",
    "LLMOutputError",
    "MissingDependencyError",
    "OpenAIChatModel",
    "OptiAgentError",
    "ProblemClass",
    "RepairBudgetExhausted",
    "Settings",
    "SolveResult",
    "SolveStatus",
    "SolverError",
    "SolverPool",
    "Usage",
    "__version__",
    "check_formulation",
    "load_csv",
    "load_formulation",
    "parse_formulation",
    "save_formulation",
    "solve",
]

try:
    __version__ = version("optiagent")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'optiagent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
