"""Export a formulation as a standalone Python script (Pyomo or OR-Tools).

`to_pyomo_script` and `to_ortools_script` check the formulation first and refuse, with an
`IncompatibleBackendError` that names the other target, what their library cannot express.
Every script prints the result protocol: `status: ...`, the non-zero variable values, and as
its last line `objective: <value>` (`objective: None` without a solution).
"""

from __future__ import annotations

from optiagent.formulations.export.ortools_script import (
    ORTOOLS_SOLVERS,
    ortools_obstacle,
    ortools_solver_for,
    to_ortools_script,
)
from optiagent.formulations.export.pyomo_script import (
    HIGHS_CLASSES,
    PYOMO_SOLVERS,
    pyomo_solver_for,
    to_pyomo_script,
)

__all__ = [
    "HIGHS_CLASSES",
    "ORTOOLS_SOLVERS",
    "PYOMO_SOLVERS",
    "ortools_obstacle",
    "ortools_solver_for",
    "pyomo_solver_for",
    "to_ortools_script",
    "to_pyomo_script",
]
