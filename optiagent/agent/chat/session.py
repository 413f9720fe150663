"""`ChatSession`: a problem, then follow-ups that edit its formulation and re-solve it.

    session = ChatSession.open(Agent(model="gpt-4o-mini"), "plant", db="sessions.sqlite")
    session.send("Wyndor makes doors and windows ... maximize weekly profit.")   # solves
    turn = session.send("what if plant 3 had 24 hours?")                         # edits
    print(turn.diff, turn.version.summary.answer_text)
    session.undo()

The first message is the problem and goes to `Agent.solve`. Every later message is a change
request: one model call rewrites the current proposal (`PromptSet.edit_message()` as the
system prompt), then `Agent.solve(problem, proposal=...)` checks, solves, verifies and, if
needed, repairs the edited proposal. Follow-ups are not sorted into "questions" and "edits":
"what if capacity were 120?" is phrased as a question but is an edit, and no keyword test
tells them apart reliably. A plain question comes back from the model as the unchanged
proposal, which makes no new version (nothing is re-solved) and whose `note` carries the
model's reply; `explain()` answers from the stored result without a model call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from optiagent.agent.api import Agent, load_data
from optiagent.agent.chat.records import ChatTurn, ChatVersion, ResultSummary, proposal_diff
from optiagent.agent.chat.store import SessionState, SessionStore, default_db_path
from optiagent.agent.llm import UsageLog, complete_validated
from optiagent.agent.proposal import Proposal, proposal_schema
from optiagent.agent.result import AgentEvent, AgentResult
from optiagent.exceptions import ConfigurationError, FormulationError
from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.export import ortools_obstacle, to_ortools_script, to_pyomo_script
from optiagent.formulations.io import save_formulation
from optiagent.formulations.render import to_markdown
from optiagent.formulations.schema import Formulation
from optiagent.formulations.tables import describe_tables, load_csv

__all__ = ["EDIT_REQUEST", "ChatSession", "SessionInfo", "list_sessions"]

EDIT_REQUEST = """\
Problem:
{problem}
{tables}
Current proposal (version {number}):
{proposal}

Its result: {result}

Requested change:
{request}

Reply with the complete updated proposal as one JSON object."""
"""The user message of an edit; the system message is `PromptSet.edit_message()`."""

ExportTarget = Literal["auto", "pyomo", "ortools"]
EventSink = Callable[[AgentEvent], None]


@dataclass(frozen=True)
class SessionInfo:
    """A saved session at a glance (what `optiagent chat --list` shows)."""

    name: str
    versions: int
    problem: str
    headline: str  # the current version's status and answer ('' when it has none)


def list_sessions(db: str | Path | None = None) -> list[SessionInfo]:
    """The sessions saved in a database file (the default file when `db` is None)."""
    path = Path(db) if db is not None else default_db_path()
    if not path.expanduser().is_file():
        return []
    store = SessionStore(path)
    try:
        infos = []
        for name in store.names():
            state = store.load(name)
            versions = state.get("versions", [])
            headline = ChatVersion.from_record(versions[-1]).summary.headline if versions else ""
            infos.append(SessionInfo(name, len(versions), state.get("problem", ""), headline))
        return infos
    finally:
        store.close()


def _emit(sink: EventSink | None, node: str, message: str, seconds: float = 0.0) -> None:
    if sink is not None:
        sink(AgentEvent(node, message, seconds))


class ChatSession:
    """A conversation about one problem whose versions persist in SQLite under a name."""

    def __init__(self, agent: Agent, store: SessionStore, name: str, data: Sequence[Path]) -> None:
        self.agent = agent
        self.name = name
        self._store = store
        self._data = list(data)
        self._state: SessionState = store.load(name)
        self._versions = [ChatVersion.from_record(r) for r in self._state.get("versions", [])]
        self._last_result: AgentResult | None = None
        self.resumed = bool(self._versions)  # versions were saved before this process opened it

    @classmethod
    def open(
        cls,
        agent: Agent,
        name: str,
        db: str | Path | None = None,
        *,
        data: Sequence[str | Path] = (),
    ) -> ChatSession:
        """Open the session `name` in `db` (default ~/.optiagent/sessions.sqlite), new or saved.

        `data` are CSV files the problem refers to. A saved session keeps the files it was
        started with; giving other files for it is an error (its formulation reads them).
        Sessions hold formulations, so the agent takes the IR route; with route="auto" a first
        message answered by the code route is shown but not recorded. The caller closes the
        agent.
        """
        if agent.route == "code":
            raise ConfigurationError(
                "chat sessions edit formulations, and the code route writes programs instead: "
                "use an Agent with route='ir' (or 'auto')"
            )
        name = name.strip()
        if not name:
            raise ConfigurationError("the session name is empty: give a name such as 'plant'")
        files = [Path(p).expanduser().resolve() for p in data]
        for file in files:
            if not file.is_file():
                raise ConfigurationError(f"data file not found: {file}")
        store = SessionStore(db if db is not None else default_db_path())
        try:
            state = store.load(name)
            stored = [Path(p) for p in state.get("data", [])]
            if state.get("versions") and files and files != stored:
                shown = ", ".join(map(str, stored)) or "no data files"
                raise ConfigurationError(
                    f"session {name!r} was started with {shown}; open it without --data, "
                    "or start a new session for other files"
                )
            return cls(agent, store, name, files or stored)
        except BaseException:
            store.close()
            raise

    # -- what the session holds ----------------------------------------------------------------

    @property
    def db(self) -> Path:
        """The SQLite file the session is saved in."""
        return self._store.path

    @property
    def problem(self) -> str:
        """The problem text ('' until the first message)."""
        return self._state.get("problem", "") if self._versions else ""

    @property
    def data(self) -> list[Path]:
        """The data files of the problem."""
        return list(self._data)

    @property
    def current(self) -> ChatVersion | None:
        """The current version (None before the problem is solved)."""
        return self._versions[-1] if self._versions else None

    @property
    def diff(self) -> str:
        """The unified diff of the change that made the current version ('' for the first)."""
        return self.current.diff if self.current else ""

    @property
    def last_result(self) -> AgentResult | None:
        """The full result of the current version if it was solved in this process."""
        return self._last_result

    def history(self) -> list[ChatVersion]:
        """Every version, oldest first."""
        return list(self._versions)

    # -- turns ---------------------------------------------------------------------------------

    def send(self, message: str, *, on_event: EventSink | None = None) -> ChatTurn:
        """Solve the problem (first message) or apply a change to it (later messages).

        A turn that fails before anything is solved (the endpoint is down, the model's reply
        is unusable) raises and leaves the session as it was.
        """
        text = message.strip()
        if not text:
            raise ConfigurationError("the message is empty: type a problem or a change")
        if self.current is None:
            return self._solve_problem(text, on_event)
        return self._edit(text, self.current, on_event)

    def _solve_problem(self, text: str, on_event: EventSink | None) -> ChatTurn:
        result = self.agent.solve(text, data=self._data, on_event=on_event)
        if result.proposal is None:
            # Nothing to edit later: keep the session empty so the next message is a problem.
            return ChatTurn(text, "problem", None, None, result, False, usage=result.usage)
        version = ChatVersion(
            number=1, message=text, proposal=result.proposal, summary=ResultSummary.of(result)
        )
        data = [str(p) for p in self._data]
        self._state = self._store.start(self.name, text, data, version.to_record())
        self._versions = [version]
        self._last_result = result
        return ChatTurn(text, "problem", version, None, result, True, usage=result.usage)

    def edit_messages(self, request: str) -> list[dict[str, str]]:
        """The system and user messages that ask the model to apply `request`."""
        current = self.current
        if current is None:
            raise ConfigurationError("there is no formulation to change yet: send the problem")
        tables = ""
        if self._data:
            described = describe_tables([load_csv(p) for p in self._data])
            tables = self.agent.prompts.tables_section.format(description=described)
        # The old reasoning is left out: the reply's reasoning is read as the change's summary.
        proposal = current.proposal.model_dump(
            mode="json", exclude_defaults=True, exclude={"reasoning"}
        )
        summary = current.summary
        result = summary.headline
        if summary.explanation:
            result += f"\n{summary.explanation}"
        if summary.final_feedback and summary.status not in ("solved", "feasible"):
            result += f"\n{summary.final_feedback}"
        user = EDIT_REQUEST.format(
            problem=self.problem.strip(),
            tables=tables,
            number=current.number,
            proposal=json.dumps(proposal, ensure_ascii=False),
            result=result,
            request=request.strip(),
        )
        return [
            {"role": "system", "content": self.agent.prompts.edit_message()},
            {"role": "user", "content": user},
        ]

    def _edit(self, text: str, previous: ChatVersion, on_event: EventSink | None) -> ChatTurn:
        agent, started = self.agent, time.perf_counter()
        usage = UsageLog()
        _emit(on_event, "edit", "asking the model to apply the change")
        validated = complete_validated(
            agent.model,
            self.edit_messages(text),
            Proposal.model_validate,
            response_schema=proposal_schema(),
            max_attempts=agent.config.output_attempts,
            temperature=agent.config.temperature,
            seed=agent.config.seed,
            usage=usage,
            node="edit",
        )
        edited = validated.value
        note = edited.reasoning.strip()
        if edited.same_model(previous.proposal):
            _emit(on_event, "edit", "no change to the formulation", time.perf_counter() - started)
            return ChatTurn(
                text, "edit", previous, previous, None, False, note=note, usage=usage.totals()
            )
        _emit(on_event, "edit", "formulation changed", time.perf_counter() - started)
        result = agent.solve(self.problem, data=self._data, proposal=edited, on_event=on_event)
        final = result.proposal or edited  # repairs may have changed the edit further
        number = previous.number + 1
        diff = proposal_diff(previous.proposal, final, f"v{previous.number}", f"v{number}")
        version = ChatVersion(
            number=number,
            message=text,
            proposal=final,
            summary=ResultSummary.of(result),
            diff=diff,
            note=note,
        )
        self._state = self._store.push(self.name, version.to_record())
        self._versions.append(version)
        self._last_result = result
        return ChatTurn(
            text,
            "edit",
            version,
            previous,
            result,
            bool(diff),
            diff=diff,
            note=note,
            usage=usage.totals() + result.usage,
        )

    def undo(self) -> ChatVersion:
        """Drop the current version and return it; the one before becomes current again.

        Undoing the first version empties the session: the next message is a problem again.
        """
        if not self._versions:
            raise ConfigurationError("nothing to undo: the session has no versions yet")
        removed = self._versions[-1]
        self._state = self._store.pop(self.name)
        self._versions.pop()
        self._last_result = None
        return removed

    # -- reading the current version -----------------------------------------------------------

    def _require(self) -> ChatVersion:
        if self.current is None:
            raise ConfigurationError("no formulation yet: send the problem first")
        return self.current

    def checked(self) -> CheckedFormulation:
        """The current formulation checked against the problem's data (FormulationError if bad)."""
        version = self._require()
        return check_formulation(version.proposal.formulation, load_data(self.problem, self._data))

    def _formulation(self) -> Formulation:
        """The checked formulation (tables inlined), or as proposed when it does not check."""
        try:
            return self.checked().formulation
        except FormulationError:
            return self._require().proposal.formulation

    def show(self) -> str:
        """The current formulation as Markdown, with the quantity the answer reports."""
        version = self._require()
        spec = version.proposal.answer
        asked = f"`{spec.expression}`" if spec.expression else "the objective value"
        details = ", ".join(p for p in (spec.description, spec.units) if p)
        line = f"**Answer:** {asked}" + (f" ({details})" if details else "")
        return f"{to_markdown(self._formulation())}\n\n{line}\n"

    def explain(self) -> str:
        """The current result in words: answer, status, binding constraints, warnings."""
        version = self._require()
        summary = version.summary
        lines = [f"v{version.number}: {summary.headline}"]
        if summary.objective is not None and summary.objective != summary.answer:
            lines.append(f"objective: {summary.objective:.10g}")
        if summary.explanation:
            lines.append(summary.explanation)
        lines += [f"warning: {w}" for w in summary.warnings]
        if summary.final_feedback and summary.status not in ("solved", "feasible"):
            lines.append(summary.final_feedback)
        if version.proposal.reasoning.strip():
            lines.append(f"the model's notes: {version.proposal.reasoning.strip()}")
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        """Write the current formulation to a YAML (or .json) file; return the path."""
        formulation = self._formulation()
        try:
            return save_formulation(formulation, Path(path).expanduser())
        except OSError as error:
            raise ConfigurationError(f"cannot write {path}: {error}") from None

    def export(self, path: str | Path, target: ExportTarget = "auto") -> Path:
        """Write a standalone solver script for the current formulation; return the path.

        "auto" picks OR-Tools for models with global constraints it can express, else Pyomo.
        """
        checked = self.checked()
        if target == "auto":
            use_ortools = checked.analysis.global_constraints and ortools_obstacle(checked) is None
            target = "ortools" if use_ortools else "pyomo"
        script = to_ortools_script(checked) if target == "ortools" else to_pyomo_script(checked)
        file = Path(path).expanduser()
        try:
            file.write_text(script, encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(f"cannot write {path}: {error}") from None
        return file

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session database (every version is already saved)."""
        self._store.close()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
