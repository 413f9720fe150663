"""Shared helpers: formulations built from short dicts, solved by the routed backend."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.io import load_formulation, parse_formulation
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.results import SolveResult

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _checked_model(document: dict[str, Any] | str) -> CheckedFormulation:
    if isinstance(document, str):
        return check_formulation(load_formulation(EXAMPLES / document))
    return check_formulation(parse_formulation({"name": "test", **document}))


def _example_document(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


@pytest.fixture
def model() -> Callable[[dict[str, Any] | str], CheckedFormulation]:
    """Builds a checked formulation from a short-form dict, or from an example's file name."""
    return _checked_model


@pytest.fixture
def example() -> Callable[[str], dict[str, Any]]:
    """Reads an example's YAML as a dict, for a test to edit."""
    return _example_document


@pytest.fixture
def solved() -> Callable[[CheckedFormulation], SolveResult]:
    """Solves with the routed backend."""
    return lambda checked: solve(checked, time_limit=10)


@pytest.fixture
def short_transport() -> CheckedFormulation:
    """The transport example with 50 cases less supply than demand (850 vs 900)."""
    document = _example_document("transport.yaml")
    document["parameters"][0]["value"] = {"seattle": 350, "san-diego": 500}
    return check_formulation(parse_formulation(document))
