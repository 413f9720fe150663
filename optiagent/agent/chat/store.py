"""Chat sessions on disk: a tiny LangGraph graph checkpointed by `SqliteSaver`, one thread each.

The graph has one node, `apply`, which folds an action ("start", "push", "pop") into the
session's state; the checkpointer saves the state after every action under
thread_id = session name, so a session survives a restart and several share one file. The
state is plain JSON-able data (the problem text, data file paths and version records), never
live objects, so any later process can read it back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph

from optiagent.exceptions import ConfigurationError

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

__all__ = ["SessionState", "SessionStore", "default_db_path"]

_FORMAT = 1  # version of the stored layout, kept in every session's state


class SessionState(TypedDict, total=False):
    """The checkpointed state of one chat session."""

    format: int
    problem: str
    data: list[str]  # data files (absolute paths) given with the problem
    versions: list[dict[str, Any]]  # ChatVersion records, oldest first
    action: dict[str, Any] | None  # the input of the last step, cleared by `apply`


def default_db_path() -> Path:
    """Where sessions live unless told otherwise: ~/.optiagent/sessions.sqlite."""
    return Path.home() / ".optiagent" / "sessions.sqlite"


def _apply(state: SessionState) -> dict[str, Any]:
    """Fold the pending action into the session state (the graph's only node)."""
    action = state.get("action") or {}
    kind = action.get("kind")
    versions = list(state.get("versions", []))
    if kind == "start":
        return {
            "format": _FORMAT,
            "problem": action["problem"],
            "data": list(action.get("data", [])),
            "versions": [action["version"]],
            "action": None,
        }
    if kind == "push":
        return {"versions": [*versions, action["version"]], "action": None}
    if kind == "pop":
        remaining = versions[:-1]
        # With no version left the session starts over: the next message is a problem again.
        update: dict[str, Any] = {"versions": remaining, "action": None}
        if not remaining:
            update["problem"] = ""
        return update
    raise ValueError(f"unknown session action {kind!r}")


def _build_graph() -> StateGraph[SessionState]:
    graph: StateGraph[SessionState] = StateGraph(SessionState)
    graph.add_node("apply", _apply)
    graph.add_edge(START, "apply")
    graph.add_edge("apply", END)
    return graph


class SessionStore:
    """The chat sessions kept in one SQLite file (thread_id = session name)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(str(self.path), check_same_thread=False)
            saver = SqliteSaver(self._connection)
            saver.setup()
        except (OSError, sqlite3.Error) as error:
            raise ConfigurationError(
                f"cannot open the session database {self.path}: {error}; "
                "choose another file with --db"
            ) from None
        self._graph = _build_graph().compile(checkpointer=saver)

    @staticmethod
    def _config(name: str) -> RunnableConfig:
        return {"configurable": {"thread_id": name}}

    def load(self, name: str) -> SessionState:
        """The saved state of a session (empty for a new one)."""
        try:
            values = self._graph.get_state(self._config(name)).values
        except sqlite3.Error as error:
            raise ConfigurationError(
                f"cannot read session {name!r} from {self.path}: {error}"
            ) from None
        state: SessionState = dict(values)  # type: ignore[assignment]
        found = state.get("format", _FORMAT)
        if found > _FORMAT:
            raise ConfigurationError(
                f"session {name!r} in {self.path} was saved by a newer optiagent "
                f"(format {found}); upgrade optiagent to open it"
            )
        return state

    def _run(self, name: str, action: dict[str, Any]) -> SessionState:
        try:
            values = self._graph.invoke(SessionState(action=action), self._config(name))
        except sqlite3.Error as error:
            raise ConfigurationError(
                f"cannot save session {name!r} to {self.path}: {error}"
            ) from None
        return dict(values)  # type: ignore[return-value]

    def start(
        self, name: str, problem: str, data: list[str], version: dict[str, Any]
    ) -> SessionState:
        """Begin (or begin again) a session with its problem and first version."""
        return self._run(
            name, {"kind": "start", "problem": problem, "data": data, "version": version}
        )

    def push(self, name: str, version: dict[str, Any]) -> SessionState:
        """Add a version to a session."""
        return self._run(name, {"kind": "push", "version": version})

    def pop(self, name: str) -> SessionState:
        """Remove a session's latest version."""
        return self._run(name, {"kind": "pop"})

    def names(self) -> list[str]:
        """The names of the sessions in this file, sorted."""
        try:
            rows = self._connection.execute(
                "SELECT DISTINCT thread_id FROM checkpoints ORDER BY thread_id"
            ).fetchall()
        except sqlite3.Error as error:
            raise ConfigurationError(f"cannot list the sessions in {self.path}: {error}") from None
        return [str(row[0]) for row in rows]

    def delete(self, name: str) -> None:
        """Forget a session entirely."""
        saver = self._graph.checkpointer
        assert isinstance(saver, SqliteSaver)
        saver.delete_thread(name)

    def close(self) -> None:
        """Close the database connection."""
        self._connection.close()
