"""Feedback optimization after Trace/OptoPrime: traced parameters, LLM and numeric optimizers.

One interface for an LLM optimizer (OptoPrime) and classical numeric ones (scipy, CMA-ES):

    from optiagent.opto import Parameter, bundle, NelderMead

    x = Parameter([0.0, 0.0], name="x", description="the point to improve")

    @bundle
    def loss(x):
        \"\"\"Distance to (1, 2), squared.\"\"\"
        return (x[0] - 1) ** 2 + (x[1] - 2) ** 2

    opt = NelderMead([x])
    while not opt.done:
        out = loss(x)
        opt.zero_feedback()
        opt.backward(out, out.data)
        opt.step()

A bundled call returns a `Node` that remembers its inputs; `graph_of(node)` returns the trace
of the run (no global state: concurrent runs keep separate graphs).
"""

from __future__ import annotations

from optiagent.opto.bundling import bundle, step_info
from optiagent.opto.feedback import Feedback, FeedbackLike
from optiagent.opto.graph import Trace, graph_of, render_value
from optiagent.opto.nodes import Node, Step, StepError, StepInfo, node
from optiagent.opto.numeric import CMAES, BestPoint, NumericOptimizer, RandomSearch
from optiagent.opto.optimizer import Optimizer, StepResult
from optiagent.opto.optoprime import OptoPrime, Suggestion
from optiagent.opto.parameters import Parameter, ParameterKind
from optiagent.opto.prompts import MemoryEntry, PromptLimits
from optiagent.opto.scipy_methods import LBFGSB, NelderMead, Powell, ScipyOptimizer

__all__ = [
    "CMAES",
    "LBFGSB",
    "BestPoint",
    "Feedback",
    "FeedbackLike",
    "MemoryEntry",
    "NelderMead",
    "Node",
    "NumericOptimizer",
    "Optimizer",
    "OptoPrime",
    "Parameter",
    "ParameterKind",
    "Powell",
    "PromptLimits",
    "RandomSearch",
    "ScipyOptimizer",
    "Step",
    "StepError",
    "StepInfo",
    "StepResult",
    "Suggestion",
    "Trace",
    "bundle",
    "graph_of",
    "node",
    "render_value",
    "step_info",
]
