"""Every prompt renders, carries its contract, and a prompts file round-trips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from optiagent.agent.prompts import LANGUAGE_GUIDE, PromptSet, load_prompts
from optiagent.agent.proposal import Proposal
from optiagent.exceptions import ConfigurationError


def _unfilled(text: str) -> list[str]:
    return re.findall(r"(?<!\{)\{[a-z_]+\}(?!\})", text)


def test_every_prompt_renders_without_placeholders_left() -> None:
    prompts = PromptSet()
    system, user = prompts.formulate_messages("A problem.", "Table 't' ...", ["Total Profit"])
    rendered = [
        system["content"],
        user["content"],
        prompts.repair_instruction("A problem."),
        prompts.edit_message(),
    ]
    for text in rendered:
        assert _unfilled(text) == [], text[:200]
    assert LANGUAGE_GUIDE in system["content"] and prompts.modeling_rules in system["content"]
    assert "A problem." in user["content"] and "Table 't'" in user["content"]
    assert "- Total Profit" in user["content"]
    assert "A problem." in prompts.repair_instruction("A problem.")
    assert LANGUAGE_GUIDE in prompts.edit_message()


def test_the_worked_example_is_a_valid_proposal_that_solves() -> None:
    from optiagent.formulations.analysis import check_formulation
    from optiagent.solvers_backend.api import solve

    reply = PromptSet().example.split("Reply:", 1)[1]
    proposal = Proposal.model_validate(json.loads(reply))
    result = solve(check_formulation(proposal.formulation))
    assert result.status.value == "optimal" and result.objective == pytest.approx(
        2350
    )  # 25 tables, 20 chairs


def test_digest_changes_with_any_text() -> None:
    base = PromptSet()
    assert base.digest() == PromptSet().digest()
    assert base.digest() != base.model_copy(update={"modeling_rules": "be brief"}).digest()


def test_prompts_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "prompts.json"
    tuned = PromptSet(modeling_rules="1. Always use integers.")
    path.write_text(tuned.model_dump_json())
    assert load_prompts(path) == tuned
    assert load_prompts(None) == PromptSet()


@pytest.mark.parametrize(
    ("content", "fragment"), [("{", "not valid JSON"), ('{"nope": 1}', "not a prompts file")]
)
def test_bad_prompts_files(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "prompts.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=fragment):
        load_prompts(path)
    with pytest.raises(ConfigurationError, match="not found"):
        load_prompts(tmp_path / "missing.json")


def test_the_language_guide_lists_every_reserved_name() -> None:
    # a real model named a parameter 'start' because the guide did not say it was reserved
    from optiagent.formulations.expressions import RESERVED_NAMES

    words = set(
        re.findall(r"[a-z_0-9]+", PromptSet().system_message().split("cannot be names:")[1])
    )
    assert words >= RESERVED_NAMES
