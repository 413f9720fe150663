"""The LangGraph pipeline: formulate -> check -> solve -> verify -> answer, with bounded repair.

    formulate -> check -> solve -> verify -> answer
                   ^        |        |        |
                   +---- repair <----+--------+      (every failure becomes feedback)

Routing functions return literal node names; the repair budget (AgentConfig.max_repairs) and
LangGraph's recursion limit both bound the loop.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph

from optiagent.agent.nodes import AgentNodes
from optiagent.agent.state import AgentState, RunContext

__all__ = ["build_graph", "recursion_limit"]


def _after_formulate(state: AgentState) -> Literal["check", "answer"]:
    return "check" if state.get("proposal") is not None else "answer"


def _after_check(state: AgentState) -> Literal["solve", "repair"]:
    return "solve" if state.get("failure") is None else "repair"


def _after_solve(state: AgentState) -> Literal["verify", "repair"]:
    return "verify" if state.get("failure") is None else "repair"


def _after_verify(state: AgentState) -> Literal["answer", "repair"]:
    return "answer" if state.get("failure") is None else "repair"


def _after_repair(state: AgentState) -> Literal["check", "answer"]:
    if state.get("exhausted") or state.get("accepted"):
        return "answer"
    return "check"


def _after_answer(state: AgentState) -> Literal["repair", "__end__"]:
    return END if state.get("final") is not None else "repair"


def build_graph(context: RunContext) -> Any:
    """The compiled graph for one run, its nodes bound to `context`."""
    nodes = AgentNodes(context)
    graph = StateGraph(AgentState)
    graph.add_node("formulate", nodes.formulate)
    graph.add_node("check", nodes.check)
    graph.add_node("solve", nodes.solve)
    graph.add_node("verify", nodes.verify)
    graph.add_node("repair", nodes.repair)
    graph.add_node("answer", nodes.answer)
    graph.add_edge(START, "formulate")
    graph.add_conditional_edges("formulate", _after_formulate)
    graph.add_conditional_edges("check", _after_check)
    graph.add_conditional_edges("solve", _after_solve)
    graph.add_conditional_edges("verify", _after_verify)
    graph.add_conditional_edges("repair", _after_repair)
    graph.add_conditional_edges("answer", _after_answer)
    return graph.compile()


def recursion_limit(max_repairs: int) -> int:
    """A LangGraph step limit comfortably above the longest run the budget allows."""
    return 12 + 6 * (max_repairs + 2)
