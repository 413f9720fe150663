"""Chat sessions: a problem, then what-if follow-ups that edit the formulation and re-solve it.

    from optiagent.agent.api import Agent
    from optiagent.agent.chat import ChatSession

    with ChatSession.open(Agent(model="gpt-4o-mini"), "plant") as session:
        session.send("Wyndor makes doors and windows ... maximize weekly profit.")
        turn = session.send("what if plant 3 had 24 hours?")
        print(turn.diff, turn.version.summary.answer_text)
        session.undo()

Sessions persist in SQLite through LangGraph's checkpointer (thread_id = session name), so
`ChatSession.open` with the same file and name resumes after a restart.
"""

from __future__ import annotations

from optiagent.agent.chat.records import ChatTurn, ChatVersion, ResultSummary, proposal_diff
from optiagent.agent.chat.session import EDIT_REQUEST, ChatSession, SessionInfo, list_sessions
from optiagent.agent.chat.store import SessionStore, default_db_path

__all__ = [
    "EDIT_REQUEST",
    "ChatSession",
    "ChatTurn",
    "ChatVersion",
    "ResultSummary",
    "SessionInfo",
    "SessionStore",
    "default_db_path",
    "list_sessions",
    "proposal_diff",
]
