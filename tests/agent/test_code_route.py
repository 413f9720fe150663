"""The code route: programs written by a scripted model, run in one shared sandbox, repaired
from the sandbox's feedback; the auto route's fallback; `optiagent solve --route code`."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optiagent.agent.api import Agent
from optiagent.agent.code import CodeRoute, extract_code
from optiagent.agent.code.program import counted_thing
from optiagent.agent.code_prompts import (
    CODE_EXAMPLE,
    baseline_messages,
    code_messages,
    code_repair_instruction,
)
from optiagent.agent.prompts import PromptSet
from optiagent.agent.state import AgentConfig, RunContext
from optiagent.exceptions import ConfigurationError
from optiagent.formulations.tables import parse_csv_text
from optiagent.solvers_backend.sandbox import ALLOWED_IMPORTS, Limits, Sandbox
from optiagent.solvers_backend.sandbox import parse_reported_result as parse
from optiagent.testing import OpenAIStubServer, ScriptedModel

WYNDOR_TEXT = "Wyndor makes doors and windows in three plants ... maximize weekly profit."

WYNDOR = """\
import pyomo.environ as pyo

m = pyo.ConcreteModel()
m.x = pyo.Var(within=pyo.NonNegativeReals)
m.y = pyo.Var(within=pyo.NonNegativeReals)
m.profit = pyo.Objective(expr=3 * m.x + 5 * m.y, sense=pyo.maximize)
m.plant1 = pyo.Constraint(expr=m.x <= 4)
m.plant2 = pyo.Constraint(expr=2 * m.y <= 12)
m.plant3 = pyo.Constraint(expr=3 * m.x + 2 * m.y <= 18)
results = pyo.SolverFactory("highs").solve(m, load_solutions=False, timelimit=10)
if pyo.check_optimal_termination(results):
    m.solutions.load_from(results)
    print("status: optimal")
    print(f"x = {pyo.value(m.x)}")
    print(f"y = {pyo.value(m.y)}")
    print(f"objective: {pyo.value(m.profit)}")
else:
    print(f"status: {results.solver.termination_condition}")
"""

INFEASIBLE = """\
import pyomo.environ as pyo

m = pyo.ConcreteModel()
m.x = pyo.Var(within=pyo.NonNegativeReals)
m.cost = pyo.Objective(expr=m.x)
m.at_least = pyo.Constraint(expr=m.x >= 10)
m.at_most = pyo.Constraint(expr=m.x <= 5)
results = pyo.SolverFactory("highs").solve(m, load_solutions=False)
if pyo.check_optimal_termination(results):
    m.solutions.load_from(results)
    print("status: optimal")
    print(f"objective: {pyo.value(m.cost)}")
else:
    print(f"status: {results.solver.termination_condition}")
"""


def program(code: str) -> str:
    """A write-step reply: a sentence and the program in a fence."""
    return f"Here is the program.\n\n```python\n{code}```\n"


def revise(code: str, reasoning: str = "fixed") -> str:
    """A repair-step reply (OptoPrime's JSON) proposing `code` as the new program."""
    return json.dumps({"reasoning": reasoning, "suggestion": {"program": code}})


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox (warm workers) for every test of the module."""
    with Sandbox(prestart=False) as shared:
        yield shared


def code_agent(sandbox: Sandbox, replies: list[Any], **options: Any) -> tuple[Agent, ScriptedModel]:
    model = ScriptedModel(replies)
    return Agent(model=model, route="code", sandbox=sandbox, **options), model


# -- the route end to end -------------------------------------------------------------------------


def test_wyndor_program_is_solved(sandbox: Sandbox) -> None:
    agent, model = code_agent(sandbox, [program(WYNDOR)])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.route == "code"
    assert result.answer is not None and result.answer.value == 36
    assert result.objective == 36 and result.prediction == 36
    assert [a.outcome for a in result.attempts] == ["ok"] and result.repairs == 0
    assert result.code == WYNDOR and result.execution is not None
    assert result.execution.reported.values == {"x": 2.0, "y": 6.0}
    assert result.usage_log.by_node()["write"].calls == 1 and result.usage.calls == 1
    assert "objective 36" in result.explanation and "y = 6" in result.explanation
    assert [e.node for e in result.events][:3] == ["write", "write", "run"]
    assert "run_program(program=#1)" in result.trace_text
    # the write prompt: the protocol, the allowed imports, the problem
    request = model.requests[0]
    assert "status: <optimal" in request.text and "objective: <number>" in request.text
    assert all(name in request.text for name in ("pyomo", "ortools", "scipy"))
    assert WYNDOR_TEXT in request.last_user_message
    data = json.loads(json.dumps(result.to_dict()))
    assert data["route"] == "code" and data["variables"] == {"x": 2.0, "y": 6.0}
    assert data["execution"]["exit_reason"] == "ok" and data["solve_status"] == "optimal"
    assert data["attempts"][0]["code"] == WYNDOR and data["formulation"] is None


def test_syntax_error_is_repaired_from_feedback_that_quotes_the_line(sandbox: Sandbox) -> None:
    broken = WYNDOR.replace("m.x <= 4)", "m.x <= 4")
    agent, model = code_agent(sandbox, [program(broken), revise(WYNDOR)])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.answer.value == 36
    assert [a.outcome for a in result.attempts] == ["syntax_error", "ok"]
    assert [a.origin for a in result.attempts] == ["write", "repair"]
    assert result.repairs == 1 and result.usage_log.by_node()["repair"].calls == 1
    feedback = result.attempts[0].feedback or ""
    assert "does not parse" in feedback and "m.plant1 = pyo.Constraint(expr=m.x <= 4" in feedback
    # the OptoPrime prompt: the trainable program, the run step, the problem, the feedback
    prompt = model.requests[1].text
    for section in ("#Instruction", "#Code", "#Variables", "#Feedback"):
        assert section in prompt
    assert "program (code" in prompt and "run_program" in prompt and WYNDOR_TEXT in prompt
    assert "does not parse" in prompt


def test_traceback_names_the_failing_line_and_is_repaired(sandbox: Sandbox) -> None:
    broken = WYNDOR.replace("2 * m.y <= 18", "2 * m.yy <= 18")
    agent, model = code_agent(sandbox, [program(broken), revise(WYNDOR)])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and [a.outcome for a in result.attempts] == ["error", "ok"]
    feedback = result.attempts[0].feedback or ""
    assert "AttributeError at line 9" in feedback and "m.yy" in feedback
    assert "line 9" in model.requests[1].text
    assert result.attempts[0].exit_reason == "error" and result.attempts[1].exit_reason == "ok"


def test_refused_import_feedback_names_the_allowed_imports(sandbox: Sandbox) -> None:
    sneaky = "import subprocess\n" + WYNDOR
    agent, model = code_agent(sandbox, [program(sneaky), revise(WYNDOR)])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and [a.outcome for a in result.attempts] == ["rejected", "ok"]
    feedback = result.attempts[0].feedback or ""
    assert "import subprocess is not allowed" in feedback
    assert "pyomo, ortools" in feedback and "ALLOWED_IMPORTS" in feedback
    # the repair prompt's constraint lists every allowed module
    assert all(name in model.requests[1].text for name in ALLOWED_IMPORTS if name != "__future__")


def test_timeout_becomes_feedback(sandbox: Sandbox) -> None:
    model = ScriptedModel([program("while True:\n    pass\n"), revise(WYNDOR)])
    context = RunContext(model, PromptSet(), AgentConfig())
    route = CodeRoute(context, sandbox, Limits(wall_seconds=1.0, cpu_seconds=10.0))
    result = asyncio.run(route.run(WYNDOR_TEXT, [], []))
    assert result.status == "solved" and [a.outcome for a in result.attempts] == ["timeout", "ok"]
    feedback = result.attempts[0].feedback or ""
    assert "ran longer than 1 s" in feedback and "time limit" in feedback
    assert "ran longer than 1 s" in model.requests[1].text


def test_infeasible_report_confirmed_by_the_model_is_the_status(sandbox: Sandbox) -> None:
    agent, model = code_agent(sandbox, [program(INFEASIBLE), revise(INFEASIBLE, "faithful")])
    result = agent.solve("x at least 10 and at most 5; minimize x")
    assert result.status == "infeasible" and result.prediction == "infeasible"
    assert result.answer is None and result.objective is None and result.repairs == 1
    assert [a.outcome for a in result.attempts] == ["infeasible"]
    feedback = result.attempts[0].feedback or ""
    assert "reports the model infeasible" in feedback and "return it unchanged" in feedback
    assert model.remaining == 0


def test_infeasible_then_fixed(sandbox: Sandbox) -> None:
    fixed = INFEASIBLE.replace("m.x <= 5", "m.x <= 15")
    agent, _ = code_agent(sandbox, [program(INFEASIBLE), revise(fixed)])
    result = agent.solve("x at least 10 and at most 15; minimize x")
    assert result.status == "solved" and result.answer.value == 10
    assert [a.outcome for a in result.attempts] == ["infeasible", "ok"]


def test_repair_budget_running_out_is_failed_with_the_last_feedback(sandbox: Sandbox) -> None:
    broken = WYNDOR.replace("2 * m.y <= 18", "2 * m.yy <= 18")
    still = broken.replace("timelimit=10", "timelimit=20")
    agent, model = code_agent(sandbox, [program(broken), revise(still)], max_repairs=1)
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "failed" and result.prediction is None
    assert [a.outcome for a in result.attempts] == ["error", "error"] and result.repairs == 1
    assert "AttributeError" in (result.final_feedback or "") and model.remaining == 0
    assert result.code == still


def test_answer_line_and_report_lines(sandbox: Sandbox) -> None:
    code = WYNDOR.replace(
        'print(f"objective',
        'print(f"answer: {pyo.value(m.y)}")\n    print(f"report[1] = {pyo.value(m.x)}")\n'
        '    print(f"objective',
    )
    agent, model = code_agent(sandbox, [program(code)])
    result = agent.solve(WYNDOR_TEXT, report=["Doors produced"])
    assert result.status == "solved" and result.answer.value == 6 and result.objective == 36
    assert result.answer.reported == {"Doors produced": 2.0}
    assert "report[<number>] = <value>" in model.requests[0].text and "1. Doors produced" in (
        model.requests[0].text
    )


def test_missing_report_line_is_an_error_to_repair(sandbox: Sandbox) -> None:
    with_report = WYNDOR.replace(
        'print(f"objective', 'print(f"report[1] = {pyo.value(m.x)}")\n    print(f"objective'
    )
    agent, _ = code_agent(sandbox, [program(WYNDOR), revise(with_report)])
    result = agent.solve(WYNDOR_TEXT, report=["Doors produced"])
    assert [a.outcome for a in result.attempts] == ["doubtful", "ok"]
    assert "report[1] (Doors produced)" in (result.attempts[0].feedback or "")
    assert result.answer.reported == {"Doors produced": 2.0}


def test_all_zero_plan_is_reviewed_once_then_kept_as_a_warning(sandbox: Sandbox) -> None:
    idle = WYNDOR.replace("3 * m.x + 5 * m.y, sense=pyo.maximize", "3 * m.x + 5 * m.y")
    agent, model = code_agent(sandbox, [program(idle), revise(idle, "it is right")])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.answer.value == 0
    assert [a.outcome for a in result.attempts] == ["doubtful"] and result.repairs == 1
    assert any("every variable the program printed is 0" in w for w in result.warnings)
    assert model.remaining == 0


def test_a_later_broken_program_falls_back_to_the_earlier_solution(sandbox: Sandbox) -> None:
    idle = WYNDOR.replace("3 * m.x + 5 * m.y, sense=pyo.maximize", "3 * m.x + 5 * m.y")
    broken = idle.replace("m.x <= 4)", "m.x <= 4")
    agent, _ = code_agent(sandbox, [program(idle), revise(broken)], max_repairs=1)
    result = agent.solve(WYNDOR_TEXT)
    assert [a.outcome for a in result.attempts] == ["doubtful", "syntax_error"]
    assert result.status == "solved" and result.answer.value == 0 and result.code == idle
    assert any("this answer comes from attempt 1" in w for w in result.warnings)


def test_reply_without_a_program_is_sent_back(sandbox: Sandbox) -> None:
    agent, model = code_agent(sandbox, ["I would use linear programming.", program(WYNDOR)])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.usage_log.by_node()["write"].calls == 2
    assert "holds no Python program" in model.requests[1].last_user_message


def test_no_program_at_all_is_failed_not_a_crash(sandbox: Sandbox) -> None:
    agent, _ = code_agent(sandbox, ["no", "still no", "never"])
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "failed" and result.code is None and result.execution is None
    assert [a.outcome for a in result.attempts] == ["unusable_reply"]


def test_data_files_reach_the_program(sandbox: Sandbox) -> None:
    table = parse_csv_text("product,profit\ndoor,3\nwindow,5\n", "profits", "profits.csv")
    code = (
        "import csv\n"
        "rows = list(csv.DictReader(open('profits.csv')))\n"
        "total = sum(float(r['profit']) for r in rows)\n"
        "print('status: optimal')\nprint(f'objective: {total}')\n"
    )
    agent, model = code_agent(sandbox, [program(code)])
    result = agent.solve("Sum the profits in the file.", data=[table])
    assert result.status == "solved" and result.answer.value == 8
    assert "File profits.csv" in model.requests[0].text


def test_fractional_how_many_is_doubted(sandbox: Sandbox) -> None:
    code = "print('status: optimal')\nprint('trucks = 2.5')\nprint('objective: 2.5')\n"
    fixed = code.replace("2.5", "3")
    agent, _ = code_agent(sandbox, [program(code), revise(fixed)])
    result = agent.solve("How many trucks should the company rent?")
    assert [a.outcome for a in result.attempts] == ["doubtful", "ok"]
    assert "asks how many trucks" in (result.attempts[0].feedback or "")
    assert result.answer.value == 3


# -- auto, configuration and the CLI --------------------------------------------------------------


def test_auto_falls_back_to_code_when_the_ir_route_fails(sandbox: Sandbox) -> None:
    model = ScriptedModel(["nope", "still nope", "no", program(WYNDOR)])
    agent = Agent(model=model, route="auto", sandbox=sandbox)
    result = agent.solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.route == "code" and result.answer.value == 36
    assert [a.outcome for a in result.attempts] == ["unusable_reply", "ok"]
    assert [a.number for a in result.attempts] == [1, 2]
    assert "comes from a generated program" in result.warnings[0]
    by_node = result.usage_log.by_node()
    assert by_node["formulate"].calls == 3 and by_node["write"].calls == 1
    assert any(e.node == "route" for e in result.events)


def test_auto_keeps_a_working_formulation(sandbox: Sandbox) -> None:
    formulation = {
        "name": "tiny",
        "variables": {"x": {"domain": "nonnegative_real", "upper": 4}},
        "objective": {"sense": "maximize", "expression": "3*x"},
    }
    reply = json.dumps({"reasoning": "", "formulation": formulation, "answer": {}})
    model = ScriptedModel([reply])
    result = Agent(model=model, route="auto", sandbox=sandbox).solve("maximize 3x, x at most 4")
    assert result.status == "solved" and result.route == "ir" and result.answer.value == 12
    assert "write" not in result.usage_log.by_node()


def test_routes_are_validated_and_described() -> None:
    with pytest.raises(ConfigurationError, match="unknown route 'python'"):
        Agent(model=ScriptedModel([]), route="python")
    assert "route" not in Agent(model=ScriptedModel([])).describe()
    described = Agent(model=ScriptedModel([]), route="code").describe()
    assert described["route"] == "code" and len(described["code_prompts"]) == 12


def test_agent_owns_and_closes_its_sandbox_but_not_a_given_one(sandbox: Sandbox) -> None:
    with Agent(model=ScriptedModel([]), route="code") as agent:
        own = agent._code_sandbox()
        assert agent._code_sandbox() is own  # one per agent, reused
    assert own._closed and agent._sandbox is None
    given = Agent(model=ScriptedModel([]), route="code", sandbox=sandbox)
    given.close()
    assert not sandbox._closed and given._code_sandbox() is sandbox


def test_solve_route_code_through_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from optiagent.cli import app

    with OpenAIStubServer([program(WYNDOR)]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPTIAGENT_MODEL", "stub-model")
        script = tmp_path / "program.py"
        outcome = CliRunner().invoke(
            app, ["solve", WYNDOR_TEXT, "--route", "code", "--json", "--export", str(script)]
        )
        assert outcome.exit_code == 0, outcome.output
        payload = json.loads(outcome.stdout)
        assert payload["route"] == "code" and payload["status"] == "solved"
        assert payload["answer"] == 36 and payload["code"] == WYNDOR
        assert payload["execution"]["reported"]["objective"] == 36
        assert script.read_text() == WYNDOR and len(server.requests) == 1
        assert "response_format" not in server.requests[0]
        refused = CliRunner().invoke(app, ["solve", WYNDOR_TEXT, "--route", "python"])
        assert refused.exit_code == 2 and "unknown route" in refused.output
        saved = tmp_path / "model.yaml"
        args = ["solve", WYNDOR_TEXT, "--route", "code", "--save", str(saved)]
        refused = CliRunner().invoke(app, args)
        assert refused.exit_code == 2 and "use --export" in refused.output
        assert len(server.requests) == 1 and not saved.exists()


def test_cli_shows_long_program_lines_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from optiagent.cli import app

    long_line = "# " + "a comment that runs well past the edge of an 80-column terminal " * 2
    code = WYNDOR.replace(
        "m = pyo.ConcreteModel()", long_line + "LAST_WORD\nm = pyo.ConcreteModel()"
    )
    with OpenAIStubServer([program(code)]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        outcome = CliRunner().invoke(app, ["solve", WYNDOR_TEXT, "--route", "code", "--quiet"])
    assert outcome.exit_code == 0, outcome.output
    assert "LAST_WORD" in outcome.stdout  # wrapped, not cropped at the terminal's edge
    assert "solution: 2 non-zero value(s)" in outcome.stdout


# -- pieces -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("```python\nx = 1\nprint(x)\n```", "x = 1\nprint(x)\n"),
        (
            "text\n```py\nshort = 1\n```\nmore\n```python\nlonger = 1\nprint(longer)\n```",
            "longer = 1\nprint(longer)\n",
        ),
        ("```\nimport math\nprint(math.pi)\n```", "import math\nprint(math.pi)\n"),
        ("```python\nimport math\nprint(1)", "import math\nprint(1)\n"),  # cut off
        ("import math\nprint(math.e)", "import math\nprint(math.e)\n"),
        ("import math\nprint((", "import math\nprint((\n"),  # broken code is still code
        ("I would model this as an LP.", None),
        ("", None),
    ],
)
def test_extract_code(reply: str, expected: str | None) -> None:
    assert extract_code(reply) == expected


def test_answer_line_is_parsed_and_stays_optional() -> None:
    reported = parse("status: optimal\nobjective: 1\nanswer: 4 trucks\nanswer = 7\nobjective: 5")
    assert reported.answer == 4 and reported.answer_lines == 1
    assert reported.objective == 5 and reported.objectives == (1.0, 5.0)
    assert reported.values == {"answer": 7.0}  # `answer = ...` is a variable line, as before
    assert reported.to_dict()["answer"] == 4
    assert parse("status: optimal\nobjective: 3").answer is None
    assert math.isinf(parse("answer: -inf").answer or 0)


def test_counted_things() -> None:
    assert counted_thing("How many trucks should be rented?") == "trucks"
    assert counted_thing("How many hours should machine A run?") is None
    assert counted_thing("Maximize profit.") is None


def test_every_prompt_renders_and_the_example_program_runs(sandbox: Sandbox) -> None:
    messages = code_messages("PROBLEM", files_description="File f.csv", report=["a"])
    text = "\n".join(m["content"] for m in messages)
    assert "{" not in text.replace(CODE_EXAMPLE, "")  # every placeholder was filled
    assert "PROBLEM" in text and "File f.csv" in text and "1. a" in text
    assert "THE PROBLEM\nPROBLEM" in code_repair_instruction("PROBLEM")
    baseline = "\n".join(m["content"] for m in baseline_messages("PROBLEM", report=["a"]))
    assert "PROBLEM" in baseline and "answer: <that number>" in baseline and "{" not in baseline
    run = sandbox.run(CODE_EXAMPLE)
    assert run.ok and run.reported.status == "optimal"
    assert run.reported.answer == 25 and run.reported.objective == 2350
