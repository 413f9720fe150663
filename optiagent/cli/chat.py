"""`optiagent chat`: a problem, then what-if follow-ups that edit the formulation and re-solve it.

The REPL only reads lines and prints; `optiagent.agent.chat.ChatSession` does the work and
saves every version in SQLite, so an error in one turn (or a crash) loses nothing.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markdown import Markdown
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from optiagent.cli._console import console, err_console, print_error
from optiagent.cli.agent import (
    BaseUrlOption,
    CacheOption,
    ModelOption,
    PromptsOption,
    _print_result,
    _progress,
    build_agent,
    read_problem,
)
from optiagent.exceptions import OptiAgentError

if TYPE_CHECKING:
    from optiagent.agent.chat import ChatSession, ChatTurn, ChatVersion, SessionInfo

__all__ = ["register"]

_BLOCK = '"""'  # a line holding only this starts and ends a multi-line message
_COMMANDS = {
    "/show": "the current formulation",
    "/explain": "the current answer, binding constraints and warnings",
    "/diff": "the change that made the current version",
    "/history": "every version of the model",
    "/undo": "go back to the previous version",
    "/save [FILE]": "write the formulation as YAML (default <session>.yaml)",
    "/export [FILE]": "write a standalone solver script (default <session>.py)",
    "/help": "this list",
    "/quit": "leave (Ctrl-D too); the session stays saved",
}
_COLOURS = {"solved": "green", "feasible": "yellow"}


def _file_stem(name: str) -> str:
    """A session name made safe as a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "session"


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def _print_diff(diff: str) -> None:
    if console.is_terminal:
        console.print(
            Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", background_color="default")
        )
    else:
        console.print(Text(diff.rstrip("\n")), highlight=False)


def _print_summary(version: ChatVersion, previous: ChatVersion | None) -> None:
    """The answer and status of a version, with the previous answer for comparison."""
    summary = version.summary
    colour = _COLOURS.get(summary.status, "red")
    if summary.answer_text is not None:
        answer = Text.assemble(("Answer: ", "bold"), (summary.answer_text, "bold " + colour))
        before = previous.summary if previous else None
        if before is not None and before.answer != summary.answer:
            was = f"{before.answer:.10g}" if before.answer is not None else before.status
            answer.append(f"   (was {was})", style="dim")
        console.print(answer)
    console.print(
        Text.assemble("status: ", (summary.status, colour), f"   repairs: {summary.repairs}")
    )
    if summary.explanation:
        console.print(Text(summary.explanation))
    for warning in summary.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))
    if summary.final_feedback and summary.status not in ("solved", "feasible"):
        console.print(Text(summary.final_feedback))


class _Repl:
    """Reads messages and commands, hands them to the session, prints what came back."""

    def __init__(self, session: ChatSession, quiet: bool) -> None:
        self.session = session
        self.progress = _progress(quiet)
        self.interactive = sys.stdin.isatty()
        self.commands: dict[str, Callable[[str], bool]] = {
            "/show": self.show,
            "/explain": self.explain,
            "/diff": self.diff,
            "/history": self.history,
            "/undo": self.undo,
            "/save": self.save,
            "/export": self.export,
            "/help": self.help,
            "/quit": self.quit,
            "/exit": self.quit,
            "/q": self.quit,
        }
        if self.interactive:
            with contextlib.suppress(ImportError):  # line editing for input(), where available
                import readline  # noqa: F401

    # -- input ---------------------------------------------------------------------------------

    def _line(self, prompt: str) -> str | None:
        """One line of input, or None at the end of input."""
        if self.interactive:
            try:
                return console.input(prompt)
            except EOFError:
                return None
        line = sys.stdin.readline()
        if not line:
            return None
        # echo piped input so that the output reads as a transcript
        console.print(Text(f"> {line.rstrip()}", style="dim"), highlight=False)
        return line.rstrip("\n")

    def read(self) -> str | None:
        """The next message: one line, or the lines between two lines of three double quotes."""
        line = self._line("[bold cyan]you>[/] ")
        if line is None or line.strip() != _BLOCK:
            return line
        lines: list[str] = []
        while (more := self._line("[dim]...[/] ")) is not None and more.strip() != _BLOCK:
            lines.append(more)
        return "\n".join(lines)

    def run(self) -> None:
        """Read and handle input until /quit or the end of input."""
        while True:
            try:
                line = self.read()
            except KeyboardInterrupt:
                console.print("\n[dim](/quit or Ctrl-D to leave)[/]")
                continue
            if line is None or not self.handle(line):
                return

    def handle(self, line: str) -> bool:
        """Act on one message or command; False means leave."""
        text = line.strip()
        if not text:
            return True
        try:
            if text.startswith("/"):
                name, _, argument = text.partition(" ")
                command = self.commands.get(name.lower())
                if command is None:
                    print_error(f"unknown command {name}; commands: {self._names()} (/help)")
                    return True
                return command(argument.strip())
            self.send(text)
        except OptiAgentError as error:
            print_error(f"{error} (the session is unchanged)")
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted; the session is unchanged[/]")
        return True

    @staticmethod
    def _names() -> str:
        return " ".join(c.split()[0] for c in _COMMANDS)

    # -- turns ---------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        """Send a message and print the turn."""
        turn = self.session.send(text, on_event=self.progress)
        if turn.kind == "problem":
            self._print_problem(turn)
        else:
            self._print_edit(turn)

    def _saved(self, version: ChatVersion) -> None:
        back = " (/undo goes back)" if version.number > 1 else ""
        text = f"saved as v{version.number} of session {self.session.name!r}{back}"
        err_console.print(Text(text, style="dim"), highlight=False)

    def _print_problem(self, turn: ChatTurn) -> None:
        assert turn.result is not None
        _print_result(turn.result)
        if turn.version is None:
            print_error(
                "no formulation came back, so nothing was saved: send the problem again "
                "(perhaps rephrased)"
            )
        else:
            self._saved(turn.version)

    def _print_edit(self, turn: ChatTurn) -> None:
        if turn.note:
            console.print(Text.assemble(("model: ", "bold"), turn.note))
        if not turn.recorded:
            console.print("[yellow]no change to the formulation[/]; nothing was re-solved")
            return
        assert turn.version is not None
        if turn.diff:
            console.rule(
                f"v{turn.previous.number if turn.previous else 0} -> v{turn.version.number}"
            )
            _print_diff(turn.diff)
        else:
            console.print("[yellow]the re-solved formulation is the same as before[/]")
        console.rule("answer")
        _print_summary(turn.version, turn.previous)
        usage = turn.usage
        console.print(
            f"[dim]{usage.calls} model call(s), {usage.prompt_tokens} prompt + "
            f"{usage.completion_tokens} completion tokens[/]"
        )
        self._saved(turn.version)

    # -- commands (each returns False to leave) -------------------------------------------------

    def show(self, _: str) -> bool:
        """Print the current formulation."""
        console.print(Markdown(self.session.show()))
        return True

    def explain(self, _: str) -> bool:
        """Print the current answer in words."""
        console.print(Text(self.session.explain()), highlight=False)
        return True

    def diff(self, _: str) -> bool:
        """Print the change that made the current version."""
        current = self.session.current
        if current is None:
            console.print("no formulation yet: type the problem")
        elif not self.session.diff:
            console.print(f"v{current.number} is the first version: there is no change to show")
        else:
            _print_diff(self.session.diff)
        return True

    def history(self, _: str) -> bool:
        """Print every version."""
        versions = self.session.history()
        if not versions:
            console.print("no versions yet: type the problem")
            return True
        table = Table("v", "message", "result", "change", title=f"session {self.session.name}")
        for version in versions:
            marker = " *" if version is versions[-1] else ""
            table.add_row(
                f"{version.number}{marker}",
                Text(_short(version.message)),
                Text(version.summary.headline),
                Text(_short(version.note, 40)),
            )
        console.print(table)
        return True

    def undo(self, _: str) -> bool:
        """Go back one version."""
        removed = self.session.undo()
        console.print(Text(f"undid v{removed.number} ({_short(removed.message, 50)})"))
        current = self.session.current
        if current is None:
            console.print("the session is empty: type a problem")
        else:
            console.print(Text(f"now at v{current.number}: {current.summary.headline}"))
        return True

    def save(self, argument: str) -> bool:
        """Write the formulation as YAML."""
        path = self.session.save(argument or f"{_file_stem(self.session.name)}.yaml")
        console.print(Text(f"formulation saved to {path}"), soft_wrap=True)
        return True

    def export(self, argument: str) -> bool:
        """Write a solver script."""
        path = self.session.export(argument or f"{_file_stem(self.session.name)}.py")
        console.print(Text(f"script written to {path}"), soft_wrap=True)
        return True

    def help(self, _: str) -> bool:
        """List the commands."""
        table = Table.grid(padding=(0, 2))
        for usage, text in _COMMANDS.items():
            table.add_row(Text(usage, style="bold"), text)
        console.print('Type a problem first, then changes such as "what if capacity were 120".')
        console.print(f"A line with only {_BLOCK} starts and ends a message of several lines.")
        console.print(table)
        return True

    def quit(self, _: str) -> bool:
        """Leave."""
        return False

    # -- start ---------------------------------------------------------------------------------

    def greet(self) -> None:
        """Say which session this is and how to use it."""
        session = self.session
        current = session.current
        if current is None:
            err_console.print(
                Text(
                    f"session {session.name!r} (new), saved in {session.db}\n"
                    "Type the problem; /help lists the commands."
                ),
                soft_wrap=True,
            )
            return
        err_console.print(
            Text(
                f"session {session.name!r} resumed from {session.db}: "
                f"v{current.number}, {current.summary.headline}\n"
                f"problem: {_short(session.problem, 70)}"
            ),
            soft_wrap=True,
        )


def _new_session_name(taken: set[str]) -> str:
    base = time.strftime("chat-%Y%m%d-%H%M%S")
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    return name


def _print_sessions(infos: list[SessionInfo], db: Path) -> None:
    if not infos:
        console.print(Text(f"no sessions in {db}"), soft_wrap=True)
        return
    table = Table("session", "versions", "result", "problem", title=str(db))
    for info in infos:
        table.add_row(
            Text(info.name), str(info.versions), Text(info.headline), Text(_short(info.problem, 50))
        )
    console.print(table)


def chat(
    text: Annotated[
        str | None, typer.Argument(help="the first message (a problem or a change), or - for stdin")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="read the first message from a file")
    ] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", "-s", help="session name: resumes it if it exists"),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="session database (default ~/.optiagent/sessions.sqlite)"),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="list the saved sessions and exit")
    ] = False,
    data: Annotated[
        list[Path] | None, typer.Option("--data", "-d", help="CSV data file (repeatable)")
    ] = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    max_repairs: Annotated[int | None, typer.Option(min=0, help="repair rounds per turn")] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.001, help="solver limit (s)")
    ] = None,
    backend: Annotated[str, typer.Option("--backend", "-b", help="auto, highs, scip, cpsat")] = (
        "auto"
    ),
    cache: CacheOption = None,
    prompts: PromptsOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
) -> None:
    """Talk about a problem: solve it, then ask "what if ..." to edit and re-solve the model."""
    from optiagent.agent.chat import ChatSession, default_db_path, list_sessions

    path = db if db is not None else default_db_path()
    if list_only:
        _print_sessions(list_sessions(path), path)
        return
    first = read_problem(text, file) if text is not None or file is not None else None
    agent = build_agent(
        model=model,
        base_url=base_url,
        cache=cache,
        prompts=prompts,
        max_repairs=max_repairs,
        time_limit=time_limit,
        backend=backend,
    )
    if session is None:
        session = _new_session_name({i.name for i in list_sessions(path)})
    with agent, ChatSession.open(agent, session, path, data=list(data or [])) as opened:
        repl = _Repl(opened, quiet)
        repl.greet()
        if first is None or repl.handle(first):
            repl.run()


def register(app: typer.Typer) -> None:
    """Add `chat` to the root app."""
    app.command(rich_help_panel="Language model")(chat)
