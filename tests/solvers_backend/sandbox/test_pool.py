"""The Sandbox pool: concurrency, asyncio, arguments, life cycle, worker information."""

from __future__ import annotations

import asyncio
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from optiagent.exceptions import CodeExecutionError, ConfigurationError
from optiagent.solvers_backend.sandbox import ExitReason, Limits, Sandbox

PYOMO_TEMPLATE = """\
import pyomo.environ as pyo
m = pyo.ConcreteModel()
m.x = pyo.Var(bounds=(0, {bound}), domain=pyo.Integers)
m.o = pyo.Objective(expr=m.x, sense=pyo.maximize)
res = pyo.SolverFactory('highs').solve(m, load_solutions=False)
m.solutions.load_from(res)
print(f'status: {{res.solver.termination_condition}}')
print(f'objective: {{pyo.value(m.o)}}')
"""

CPSAT_TEMPLATE = """\
from ortools.sat.python import cp_model
model = cp_model.CpModel()
x = model.new_int_var(0, {bound}, 'x')
model.maximize(x)
solver = cp_model.CpSolver()
status = solver.solve(model)
print(f'status: {{solver.status_name(status)}}')
print(f'objective: {{solver.objective_value}}')
"""


def test_concurrent_runs_from_threads_get_their_own_results(sandbox: Sandbox) -> None:
    jobs = [(PYOMO_TEMPLATE if i % 2 else CPSAT_TEMPLATE).format(bound=i) for i in range(1, 13)]
    with ThreadPoolExecutor(max_workers=8) as executor:
        results = list(executor.map(sandbox.run, jobs))
    for bound, result in enumerate(results, start=1):
        assert result.exit_reason == "ok", result.feedback()
        assert result.reported.status == "optimal"
        assert result.reported.objective == bound
        assert result.family == ("pyomo" if bound % 2 else "ortools")


def test_arun_from_many_tasks(sandbox: Sandbox) -> None:
    async def main() -> list[float | None]:
        results = await asyncio.gather(
            *(sandbox.arun(PYOMO_TEMPLATE.format(bound=b)) for b in (3, 5, 7, 9))
        )
        return [result.reported.objective for result in results]

    assert asyncio.run(main()) == [3.0, 5.0, 7.0, 9.0]


def test_a_slow_run_does_not_block_others(sandbox: Sandbox) -> None:
    with ThreadPoolExecutor(max_workers=2) as executor:
        slow = executor.submit(
            sandbox.run, "import time\ntime.sleep(30)", limits=Limits(wall_seconds=3)
        )
        quick = sandbox.run(PYOMO_TEMPLATE.format(bound=4))
        assert quick.reported.objective == 4.0
        assert not slow.done()
        assert slow.result().exit_reason == "timeout"


def test_family_can_be_forced(sandbox: Sandbox) -> None:
    result = sandbox.run("print('status: optimal')", family="ortools")
    assert result.family == "ortools" and result.ok


def test_error_reports_the_failing_line(sandbox: Sandbox) -> None:
    code = "import pyomo.environ as pyo\nm = pyo.ConcreteModel()\nm.x = pyo.Var()\nprint(undefined_name)\n"
    result = sandbox.run(code)
    assert result.exit_reason == "error"
    assert result.error is not None
    assert (result.error.type, result.error.line) == ("NameError", 4)
    assert result.error.source == "print(undefined_name)"
    assert "line 4: `print(undefined_name)`" in result.feedback()
    assert "_child.py" not in result.stderr  # the traceback starts at the generated code


def test_exception_inside_a_library_points_at_the_calling_line(sandbox: Sandbox) -> None:
    code = (
        "import pyomo.environ as pyo\nm = pyo.ConcreteModel()\nm.x = pyo.Var(domain=pyo.Binary)\n"
        "m.c = pyo.Constraint(expr=m.x * m.x <= 1)\nm.o = pyo.Objective(expr=m.x)\n"
        "res = pyo.SolverFactory('highs').solve(m)\n"
    )
    result = sandbox.run(code)
    assert result.exit_reason == "error"
    assert result.error is not None and result.error.line == 6
    assert "scip_direct" in result.feedback()


def test_sys_exit(sandbox: Sandbox) -> None:
    assert sandbox.run("import sys\nprint('status: optimal')\nsys.exit(0)").ok
    failed = sandbox.run("import sys\nsys.exit(3)")
    assert failed.exit_reason == "error"
    assert "exit status 3" in failed.feedback()


def test_rejected_code_never_reaches_a_worker(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "import os\nfrom pyomo.environ import SolverFactory\nSolverFactory('gurobi')"
    )
    assert result.exit_reason == ExitReason.REJECTED
    assert len(result.issues) == 2
    assert result.wall_time_s == 0.0
    feedback = result.feedback()
    assert "line 1: `import os`" in feedback
    assert "SolverFactory('gurobi') is not available here" in feedback


def test_syntax_error(sandbox: Sandbox) -> None:
    result = sandbox.run("x = (1,\n")
    assert result.exit_reason == "syntax_error"
    assert "does not parse" in result.feedback()


def test_syntax_error_without_the_check_comes_from_the_worker(sandbox: Sandbox) -> None:
    result = sandbox.run("def f(:\n    pass\n", check=False)
    assert result.exit_reason == "syntax_error"
    assert result.error is not None and result.error.line == 1


def test_missing_protocol_lines_are_explained(sandbox: Sandbox) -> None:
    result = sandbox.run("print('the answer is 42')")
    assert result.ok and not result.complete
    assert "no `status:` and no `objective:` line" in result.feedback()
    result = sandbox.run("print('status: optimal')")
    assert "printed no `objective:` line" in result.feedback()


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".."])
def test_file_names_must_be_plain(sandbox: Sandbox, name: str) -> None:
    with pytest.raises(ConfigurationError, match="plain file name"):
        sandbox.run("pass", files={name: "x"})


def test_worker_info_lists_the_protections(sandbox: Sandbox) -> None:
    info = sandbox.worker_info("pyomo")
    assert set(info["protections"]) >= {"audit_hook", "rlimits", "landlock", "seccomp"}
    assert info["versions"]["highspy"].startswith("1.14")
    assert info["threads"] == 1  # single-threaded when it forks (HiGHS scheduler reset)
    assert "ortools" in sandbox.worker_info("ortools")["versions"]


def test_limits_are_validated() -> None:
    with pytest.raises(ConfigurationError):
        Limits(wall_seconds=0)
    with pytest.raises(ConfigurationError):
        Limits(memory_bytes=1024)


def test_unknown_family_and_closed_sandbox() -> None:
    with pytest.raises(ConfigurationError, match="unknown sandbox families"):
        Sandbox(families=["gurobi"])
    pool = Sandbox(families=["pyomo"], prestart=False)
    with pytest.raises(ConfigurationError, match="no 'ortools' worker"):
        pool.run("from ortools.sat.python import cp_model")
    pool.close()
    with pytest.raises(CodeExecutionError, match="closed"):
        pool.run("print(1)")


def test_a_worker_that_cannot_start_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\nexit 3\n")
    fake_python.chmod(0o755)
    with (
        Sandbox(families=["pyomo"], python=str(fake_python)) as pool,
        pytest.raises(CodeExecutionError, match="exited during start-up"),
    ):
        pool.run("print(1)")


def test_a_missing_python_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = set(os.listdir(tempfile.gettempdir()))
    with pytest.raises(CodeExecutionError, match="cannot start the pyomo sandbox worker"):
        Sandbox(families=["pyomo"], python=str(tmp_path / "no-such-python"))
    leaked = {name for name in os.listdir(tempfile.gettempdir()) if name not in before}
    assert not any(name.startswith("optiagent-sandbox-pyomo") for name in leaked)


def test_closing_removes_the_run_folders() -> None:
    with Sandbox(families=["pyomo"]) as pool:
        base_dir = pool.worker_info("pyomo")["base_dir"]
        assert os.path.isdir(base_dir)
    assert not os.path.exists(base_dir)


def test_to_dict_is_complete(sandbox: Sandbox) -> None:
    import json

    result = sandbox.run(PYOMO_TEMPLATE.format(bound=2))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["exit_reason"] == "ok" and data["reported"]["objective"] == 2.0
    assert data["limits"]["wall_seconds"] == 20
    assert data["feedback"].startswith("the code ran successfully")
