"""Prompt tuning: seeded disjoint splits, the OptoPrime loop over the agent's prompts, held-out."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from optiagent.agent.api import Agent
from optiagent.agent.prompts import PromptSet, load_prompts
from optiagent.datasets import GroundTruth, Problem, load_dataset
from optiagent.evals.testing import in_memory_dataset, synthetic_problems
from optiagent.evals.tuning import (
    TuneOptions,
    TuneResult,
    agent_factory,
    batches,
    check_example,
    problem_feedback,
    save_tune_result,
    sign_test,
    split_problems,
    tune_files,
    tune_prompts,
)
from optiagent.exceptions import ConfigurationError
from optiagent.testing import FunctionModel, RecordedRequest, proposal_reply

RULE = "Use integers."


def _problem(i: int) -> Problem:
    # The best earnings are 3 * i in whole lots, and 3 * i + 1.5 if lots could be split.
    return Problem(
        dataset="toy",
        version="memory",
        id=f"t{i:02d}",
        question=f"Problem {i}: each lot takes 2 hours, {2 * i + 1} hours are free, a lot earns "
        "3. Choose the lots to maximize earnings.",
        ground_truth=GroundTruth(kind="value", value=3.0 * i, raw=str(3 * i)),
        category="MILP",
        has_table=False,
        source_file="memory",
        source_line=None,
    )


def _formulation(i: int, whole: bool) -> dict[str, Any]:
    return {
        "name": f"lots{i}",
        "parameters": [{"name": "hours", "value": 2 * i + 1}],
        "variables": [
            {
                "name": "x",
                "domain": "nonnegative_integer" if whole else "nonnegative_real",
                "description": "lots",
            }
        ],
        "objective": {"sense": "maximize", "expression": "3 * x"},
        "constraints": [{"name": "time", "expression": "2 * x <= hours"}],
    }


def _is_optimizer(request: RecordedRequest) -> bool:
    return "modeling_rules (text, " in request.text


def _suggest(rules: str | None = None, example: str | None = None) -> str:
    suggestion = {}
    if rules is not None:
        suggestion["modeling_rules"] = rules
    if example is not None:
        suggestion["example"] = example
    return json.dumps({"reasoning": "the answers are fractional", "suggestion": suggestion})


def _model(optimizer: Callable[[RecordedRequest, int], str]) -> FunctionModel:
    """The agent answers right only when its system message holds RULE; `optimizer` plays OptoPrime."""
    calls = {"optimizer": 0}

    def reply(request: RecordedRequest) -> str:
        if _is_optimizer(request):
            calls["optimizer"] += 1
            return optimizer(request, calls["optimizer"])
        match = re.search(r"Problem (\d+):", request.last_user_message)
        assert match, request.last_user_message[:200]
        whole = RULE in request.messages[0]["content"]
        return proposal_reply(_formulation(int(match.group(1)), whole))

    return FunctionModel(reply)


def _add_rule(request: RecordedRequest, call: int) -> str:
    return _suggest(rules=PromptSet().modeling_rules + f"\n8. {RULE}")


def _tune(model: FunctionModel, work: Path, **kwargs: Any) -> TuneResult:
    settings = {"train": 6, "test": 5, "seed": 1, "options": TuneOptions(rounds=3)}
    settings.update(kwargs)
    problems = [_problem(i) for i in range(1, 16)]
    return asyncio.run(
        tune_prompts(
            in_memory_dataset(problems),
            agent_factory(Agent(model=model, max_repairs=0)),
            model,
            work,
            **settings,
        )
    )


# -- splits ------------------------------------------------------------------------------------


def test_splits_are_disjoint_stable_and_depend_on_the_seed() -> None:
    problems = synthetic_problems(40)
    missing = Problem(
        "synthetic", "memory", "no-truth", "?", GroundTruth(kind="missing"), None, False, "m", 1
    )
    problems.append(missing)
    train, test = split_problems(problems, train=12, test=10, seed=3)
    assert len(train) == 12 and len(test) == 10
    assert not {p.id for p in train} & {p.id for p in test}
    assert "no-truth" not in {p.id for p in train + test}
    again = split_problems(list(reversed(problems)), train=12, test=10, seed=3)
    assert again == (train, test)  # the loader's order does not matter
    other = split_problems(problems, train=12, test=10, seed=4)
    assert other != (train, test)
    # the held-out split does not move when the training size changes
    assert split_problems(problems, train=5, test=10, seed=3)[1] == test


def test_a_set_too_small_for_the_split_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="needs 31: lower --train or --test"):
        split_problems(synthetic_problems(30), train=20, test=11, seed=0)
    with pytest.raises(ConfigurationError, match="at least 1"):
        split_problems(synthetic_problems(30), train=0, test=5, seed=0)


def test_split_of_a_real_set(data_dir: Path) -> None:
    dataset = load_dataset("nl4opt", None, data_dir)
    train, test = split_problems(dataset.problems, train=40, test=40, seed=0)
    assert not {p.id for p in train} & {p.id for p in test}
    assert all(p.ground_truth.kind != "missing" for p in train + test)
    assert split_problems(dataset.problems, train=40, test=40, seed=0) == (train, test)


def test_batches_walk_through_the_training_problems() -> None:
    problems = synthetic_problems(5)
    assert [[p.id for p in b] for b in batches(problems, 2, 3)] == [
        ["0", "1"],
        ["2", "3"],
        ["4", "0"],
    ]
    assert batches(problems, None, 2) == [problems, problems]
    assert batches(problems, 9, 1) == [problems]


# -- the example check -----------------------------------------------------------------------


def test_the_default_example_passes_its_check() -> None:
    check_example(PromptSet().example)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("Reply:", "Answer:"), "no 'Reply:'"),
        (lambda t: t.replace("Problem:", "Task:"), "no 'Problem:'"),
        (lambda t: t + "\nThat is all.", "text after the JSON"),
        (lambda t: t.replace('"formulation": {', '"formulation": {{'), "not valid JSON"),
        (lambda t: t.replace("make[p] for p in Products)", "mak[p] for p in Products)"), "'mak'"),
        (lambda t: t.replace("\"make['table']\"", "\"make['table'\""), "does not parse"),
        (lambda t: t.replace('"reasoning"', '"thoughts"', 1), "not a valid proposal"),
    ],
)
def test_a_broken_example_is_rejected_with_the_reason(
    edit: Callable[[str], str], message: str
) -> None:
    broken = edit(PromptSet().example)
    assert broken != PromptSet().example
    with pytest.raises(ValueError, match=re.escape(message)):
        check_example(broken)


# -- feedback --------------------------------------------------------------------------------


def test_feedback_says_right_or_wrong_and_why() -> None:
    right = problem_feedback({"id": "a", "correct": True, "reason": "expected 3, got 3"}, None)
    assert right.score == 1.0 and right.text == "problem a: correct (expected 3, got 3)"
    wrong = problem_feedback(
        {
            "id": "b",
            "correct": False,
            "reason": "expected 3, got 4.5",
            "status": "ok",
            "system_status": "solved",
            "final_feedback": "x" * 2000,
        },
        {"warnings": ["every decision variable is 0"]},
    )
    assert wrong.score == 0.0 and wrong.text is not None
    assert "problem b: wrong (expected 3, got 4.5)" in wrong.text
    assert "warnings: every decision variable is 0" in wrong.text
    assert "x" * 800 + " ..." in wrong.text and "x" * 801 not in wrong.text
    late = problem_feedback(
        {
            "id": "c",
            "correct": False,
            "reason": "expected 3, got none",
            "status": "timeout",
            "error": "no answer within 5 s",
        },
        None,
    )
    assert late.text is not None and "ran out of time: no answer within 5 s" in late.text


def test_sign_test() -> None:
    assert sign_test(0, 0) == 1.0
    assert sign_test(6, 0) == pytest.approx(2 / 64)
    assert sign_test(0, 6) == pytest.approx(2 / 64)
    assert sign_test(3, 3) == 1.0
    assert sign_test(5, 1) == pytest.approx(2 * 7 / 64)


# -- the loop ------------------------------------------------------------------------------------


def test_tuning_improves_training_and_held_out_accuracy(tmp_path: Path) -> None:
    model = _model(_add_rule)
    result = _tune(model, tmp_path / "runs")

    assert [r.accuracy for r in result.rounds] == [0.0, 1.0]
    assert result.rounds[1].changed == ("modeling_rules",)
    assert result.stop_reason == "training accuracy reached 100%"
    assert result.best_round == 1 and result.improved
    assert RULE in result.tuned.modeling_rules and result.tuned.example == PromptSet().example
    held = result.held_out
    assert (held.before.accuracy, held.after.accuracy) == (0.0, 1.0)
    assert held.fixed == result.test_ids and held.broken == ()
    assert held.after_dir != held.before_dir

    optimizer_requests = [r for r in model.requests if _is_optimizer(r)]
    assert len(optimizer_requests) == 1
    prompt = optimizer_requests[0].last_user_message
    # the trace: one bundled step per training problem, with its documentation and feedback
    assert prompt.count("= TracedSystem.solve_with_prompts(modeling_rules=#1, example=#2") == 6
    assert "Solve one training problem with the agent" in prompt
    assert "answered 0 of 6 of these problems correctly" in prompt
    assert prompt.count("wrong (expected ") == 6 and '"domain": "nonnegative_real"' in prompt
    # held-out problems never reach the optimizer; expected answers never reach the agent
    for problem_id in result.test_ids:
        number = int(problem_id[1:])
        assert all(f"Problem {number}:" not in r.text for r in optimizer_requests)
    agent_requests = [r for r in model.requests if not _is_optimizer(r)]
    assert all("expected" not in r.text and "#Feedback" not in r.text for r in agent_requests)
    # training evaluated 2 x 6 problems, held-out 2 x 5
    assert len(agent_requests) == 6 * 2 + 5 * 2

    files = tune_files(tmp_path / "tuned.json")
    save_tune_result(result, files)
    assert load_prompts(files.prompts) == result.tuned
    report = json.loads(files.report_json.read_text())
    assert report["held_out"]["fixed"] == list(result.test_ids)
    assert report["split"]["train"] == list(result.train_ids)
    markdown = files.report_markdown.read_text()
    assert "| baseline | 0.0% | 0/5 |" in markdown and "| tuned | 100.0% | 5/5 |" in markdown
    assert f"+8. {RULE}" in markdown


def test_a_suggestion_that_breaks_the_example_is_sent_back(tmp_path: Path) -> None:
    broken = PromptSet().example.replace("make[p] for p in Products)", "mak[p] for p in Products)")

    def optimizer(request: RecordedRequest, call: int) -> str:
        if call == 1:
            return _suggest(rules=PromptSet().modeling_rules + f"\n8. {RULE}", example=broken)
        return _add_rule(request, call)

    model = _model(optimizer)
    result = _tune(model, tmp_path / "runs")
    optimizer_requests = [r for r in model.requests if _is_optimizer(r)]
    assert len(optimizer_requests) == 2
    retry = optimizer_requests[1].text
    assert "'example'" in retry and "unknown name 'mak'" in retry
    assert result.rounds[1].optimizer_attempts == 2
    assert result.tuned.example == PromptSet().example and RULE in result.tuned.modeling_rules


def test_no_better_prompts_keep_the_baseline_and_held_out_runs_once(tmp_path: Path) -> None:
    def optimizer(request: RecordedRequest, call: int) -> str:
        return _suggest(rules=PromptSet().modeling_rules + f"\n8. Be careful ({call}).")

    model = _model(optimizer)
    result = _tune(model, tmp_path / "runs", options=TuneOptions(rounds=2))
    assert [r.accuracy for r in result.rounds] == [0.0, 0.0, 0.0]
    assert result.stop_reason == "ran 2 round(s)"
    assert not result.improved and result.tuned == PromptSet() and result.best_round == 0
    held = result.held_out
    assert held.after_dir == held.before_dir and not (tmp_path / "runs" / "heldout-tuned").exists()
    assert held.change == 0.0 and held.p_value == 1.0
    # the second step sees the first suggestion and its feedback in its memory
    second = [r for r in model.requests if _is_optimizer(r)][1].last_user_message
    memory = second.split("#Memory", 1)[1]
    assert "Be careful (1)" not in memory and "wrong (expected" in memory


def test_an_optimizer_without_usable_replies_ends_the_loop(tmp_path: Path) -> None:
    model = _model(lambda request, call: "I would rather not.")
    result = _tune(model, tmp_path / "runs")
    assert result.stop_reason.startswith("the optimizer gave no usable suggestion in round 1")
    assert len(result.rounds) == 1 and result.tuned == PromptSet()
    assert result.held_out.before.scored == 5


def test_unchanged_prompts_are_not_evaluated_again(tmp_path: Path) -> None:
    def optimizer(request: RecordedRequest, call: int) -> str:
        return _suggest(rules=PromptSet().modeling_rules) if call == 1 else _add_rule(request, 2)

    model = _model(optimizer)
    result = _tune(model, tmp_path / "runs")
    assert [(r.number, r.accuracy, r.changed) for r in result.rounds] == [
        (0, 0.0, ()),
        (1, None, ()),
        (2, 1.0, ("modeling_rules",)),
    ]
    assert not (tmp_path / "runs" / "train-01").exists()


def test_batches_rotate_and_the_work_dir_must_be_fresh(tmp_path: Path) -> None:
    model = _model(lambda request, call: _suggest(rules=f"HOW TO MODEL\n{call}. Think."))
    result = _tune(model, tmp_path / "runs", options=TuneOptions(rounds=2, batch=4))
    ids = [r.problem_ids for r in result.rounds]
    train = result.train_ids
    assert ids == [train[:4], train[4:] + train[:2], train[2:6]]
    with pytest.raises(ConfigurationError, match="already holds files"):
        _tune(model, tmp_path / "runs")
