"""The System protocol, SystemOutput validation, the factory and the replay system."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from optiagent.datasets.records import Task
from optiagent.evals import factory
from optiagent.evals.factory import (
    SystemConfig,
    SystemEntry,
    available_systems,
    build_system,
    parse_options,
    register_system,
)
from optiagent.evals.replay import ReplaySystem
from optiagent.evals.systems import System, SystemOutput, SystemUsage
from optiagent.evals.testing import ScriptedSystem
from optiagent.exceptions import ConfigurationError

TASK = Task(dataset="d", version="v", id="7", question="q")


@pytest.mark.parametrize("prediction", [1.5, -3, 0, "infeasible", "unbounded", None])
def test_valid_predictions(prediction: object) -> None:
    assert SystemOutput(prediction=prediction).prediction == prediction  # type: ignore[arg-type]


@pytest.mark.parametrize("prediction", ["12", "optimal", float("nan"), float("inf"), True])
def test_invalid_predictions_are_rejected(prediction: object) -> None:
    with pytest.raises(ValueError, match="prediction must be"):
        SystemOutput(prediction=prediction)  # type: ignore[arg-type]


def test_confidence_and_repairs_are_checked() -> None:
    with pytest.raises(ValueError, match="confidence"):
        SystemOutput(prediction=1.0, confidence=1.5)
    with pytest.raises(ValueError, match="repairs"):
        SystemOutput(prediction=1.0, repairs=-1)


def test_usage_from_an_llm_usage_dict() -> None:
    usage = SystemUsage.from_mapping(
        {"calls": 3, "prompt_tokens": 10, "completion_tokens": 5, "latency_s": 1.2, "x": None}
    )
    assert usage == SystemUsage(calls=3, prompt_tokens=10, completion_tokens=5)
    assert usage.total_tokens == 15


def test_scripted_system_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedSystem({}), System)


def test_unknown_system_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="'orlm' is not available") as info:
        build_system("orlm")
    assert "replay" in str(info.value)
    with pytest.raises(ConfigurationError, match="Did you mean 'replay'"):
        build_system("replai")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register systems without leaking them into other tests."""
    monkeypatch.setattr(factory, "_ENTRIES", list(factory._ENTRIES))


@pytest.mark.usefixtures("registry")
def test_registering_a_system_is_one_line(tmp_path: Path) -> None:
    register_system(SystemEntry("echo-test", "test system", lambda c: ScriptedSystem({})))
    assert isinstance(build_system("echo-test"), ScriptedSystem)
    assert "echo-test" in [e.name for e in available_systems()]
    (tmp_path / "p.jsonl").write_text('{"id": "1", "prediction": 2}\n', encoding="utf-8")
    register_system(
        SystemEntry("lazy", "imported when built", "optiagent.evals.factory:_build_replay")
    )
    config = SystemConfig(options={"predictions": str(tmp_path / "p.jsonl")})
    assert isinstance(build_system("lazy", config), ReplaySystem)
    register_system(SystemEntry("echo-test", "gone", "no.such.module:build"))
    with pytest.raises(ConfigurationError, match="cannot be loaded"):
        build_system("echo-test")


@pytest.mark.usefixtures("registry")
def test_factory_result_must_be_a_system() -> None:
    broken = SystemEntry("not-a-system", "broken", lambda c: object())  # type: ignore[arg-type]
    register_system(broken)
    with pytest.raises(ConfigurationError, match="lacks"):
        build_system("not-a-system")


def test_system_options() -> None:
    assert parse_options(["a=1", " b = two=2 "]) == {"a": "1", "b": "two=2"}
    with pytest.raises(ConfigurationError, match="KEY=VALUE"):
        parse_options(["novalue"])


def test_replay_answers_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [
        {"id": 7, "prediction": "1,200", "repairs": 2, "usage": {"calls": 1, "prompt_tokens": 9}},
        {"id": "8", "prediction": "No Best Solution"},
        {"id": "9", "prediction": "???"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    system = build_system("replay", SystemConfig(options={"predictions": str(path)}))
    assert isinstance(system, ReplaySystem)
    first = asyncio.run(system.solve(TASK))
    assert first.prediction == 1200.0 and first.repairs == 2 and first.usage.prompt_tokens == 9
    second = asyncio.run(system.solve(Task("d", "v", "8", "q")))
    assert second.prediction == "infeasible"
    third = asyncio.run(system.solve(Task("d", "v", "9", "q")))
    assert third.prediction is None and third.status == "unreadable_prediction"
    missing = asyncio.run(system.solve(Task("d", "v", "10", "q")))
    assert missing.status == "no_prediction"
    assert system.describe()["predictions_sha256"]


def test_replay_needs_its_file() -> None:
    with pytest.raises(ConfigurationError, match="predictions=FILE"):
        build_system("replay", SystemConfig(options={}))
