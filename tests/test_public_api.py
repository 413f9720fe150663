"""The public API: every name in `__all__` resolves, and importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import optiagent


def test_every_public_name_resolves() -> None:
    for name in optiagent.__all__:
        assert getattr(optiagent, name) is not None, name


def test_all_is_sorted_and_matches_the_lazy_table() -> None:
    names = [n for n in optiagent.__all__ if n != "__version__"]
    assert sorted(names) == sorted(optiagent._PUBLIC)
    assert {"Agent", "solve", "load_formulation", "Formulation", "OptiAgentError"} <= set(names)


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        optiagent.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_the_heavy_libraries() -> None:
    code = (
        "import sys, optiagent, optiagent.cli; "
        "print(sorted(m for m in ('langgraph', 'pyomo', 'openai', 'ortools', 'pyscipopt') if m in sys.modules))"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert finished.stdout.strip() == "[]", finished.stdout + finished.stderr


def test_the_readme_library_example_runs() -> None:
    from pathlib import Path

    examples = Path(__file__).parents[1] / "examples"
    assert optiagent.solve(optiagent.load_formulation(examples / "wyndor.yaml")).objective == 36
