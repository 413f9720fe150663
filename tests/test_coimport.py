"""HiGHS and OR-Tools must load in one process (highspy >= 1.15 clashes with the OR-Tools wheel)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "order",
    [
        "import highspy; from ortools.sat.python import cp_model; from ortools.linear_solver import pywraplp",
        "from ortools.sat.python import cp_model; import highspy; import pyomo.environ",
    ],
)
def test_highspy_and_ortools_import_together(order: str) -> None:
    code = order + "; h = highspy.Highs(); h.silent(); print('ok')"
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "ok"
