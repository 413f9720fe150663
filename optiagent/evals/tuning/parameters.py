"""The two prompt texts `optiagent tune` trains, as opto Parameters with their checks.

`modeling_rules` and `example` are the parts of the formulate prompt worth tuning (see
`optiagent.agent.prompts.PromptSet`); the description of the formulation language is the
contract of the IR and stays fixed. A suggested example must still be a valid proposal in the
output format, or the optimizer is asked again with the reason quoted.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from optiagent.agent.llm import format_validation_error
from optiagent.agent.prompts import PromptSet
from optiagent.agent.proposal import Proposal
from optiagent.exceptions import FormulationError
from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.expressions import ExpressionSyntaxError, parse_expression
from optiagent.opto import Parameter

__all__ = [
    "MAX_EXAMPLE_CHARS",
    "MAX_RULES_CHARS",
    "check_example",
    "check_rules",
    "prompt_parameters",
    "prompts_with",
]

MAX_RULES_CHARS = 6000
MAX_EXAMPLE_CHARS = 8000
_REPLY_MARK = "Reply:"
_PROBLEM_MARK = "Problem:"

RULES_DESCRIPTION = (
    "the modeling advice in the agent's formulate prompt, shown after the fixed description "
    "of the formulation language: how to turn a problem statement into a correct model"
)
RULES_CONSTRAINT = (
    f"plain text of at most {MAX_RULES_CHARS} characters; general advice that helps on "
    "problems not seen here, never the answer or the data of a particular problem"
)
EXAMPLE_DESCRIPTION = (
    "the worked example at the end of the agent's formulate prompt: a problem and the reply "
    "the agent should give for it"
)
EXAMPLE_CONSTRAINT = (
    f"at most {MAX_EXAMPLE_CHARS} characters, laid out as a line 'EXAMPLE', then "
    "'Problem: <a problem statement>', then 'Reply:' followed by exactly one JSON object "
    'with the keys "reasoning", "formulation" and "answer" in the formulation language of the '
    "prompt; the formulation is checked and must be valid; use a made-up problem, not one "
    "from the feedback"
)


def check_rules(text: str) -> None:
    """Raise ValueError if `text` cannot serve as modeling rules (empty or too long)."""
    if not text.strip():
        raise ValueError("the modeling rules are empty; give the advice as plain text")
    if len(text) > MAX_RULES_CHARS:
        raise ValueError(
            f"the modeling rules have {len(text)} characters, more than {MAX_RULES_CHARS}; "
            "shorten them (merge or drop the least useful rules)"
        )


def check_example(text: str) -> None:
    """Raise ValueError unless `text` is a worked example whose reply is a valid proposal.

    The reply is the JSON object after "Reply:"; it must validate as a `Proposal`, its
    formulation must pass `check_formulation`, and its answer expression must parse.
    """
    if len(text) > MAX_EXAMPLE_CHARS:
        raise ValueError(
            f"the example has {len(text)} characters, more than {MAX_EXAMPLE_CHARS}; use a "
            "smaller problem"
        )
    head, mark, reply = text.partition(_REPLY_MARK)
    if not mark:
        raise ValueError(
            f"the example has no {_REPLY_MARK!r} line; keep the layout: 'EXAMPLE', "
            f"'{_PROBLEM_MARK} ...', then '{_REPLY_MARK}' and the reply as one JSON object"
        )
    if _PROBLEM_MARK not in head:
        raise ValueError(
            f"the example has no {_PROBLEM_MARK!r} before {_REPLY_MARK!r}; state the example "
            "problem first"
        )
    body = reply.strip()
    try:
        data, end = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"the reply after {_REPLY_MARK!r} is not valid JSON ({error.msg} at line "
            f"{error.lineno}, column {error.colno}); write one JSON object"
        ) from None
    if body[end:].strip():
        raise ValueError(
            f"there is text after the JSON object of the reply ({body[end:].strip()[:60]!r}); "
            "the reply must be the JSON object only"
        )
    try:
        proposal = Proposal.model_validate(data)
    except ValidationError as error:
        raise ValueError(
            "the reply of the example is not a valid proposal: " + format_validation_error(error)
        ) from None
    try:
        check_formulation(proposal.formulation)
    except FormulationError as error:
        raise ValueError(f"the formulation of the example is invalid:\n{error}") from None
    expressions = {"answer.expression": proposal.answer.expression} | {
        f"answer.report[{name!r}]": text for name, text in proposal.answer.report.items()
    }
    for label, expression in expressions.items():
        if expression is None or not expression.strip():
            continue
        try:
            parse_expression(expression)
        except ExpressionSyntaxError as error:
            hint = f"; {error.suggestion}" if error.suggestion else ""
            raise ValueError(f"{label} = {expression!r} does not parse: {error}{hint}") from None


def prompt_parameters(prompts: PromptSet) -> tuple[Parameter[str], Parameter[str]]:
    """Return trainable Parameters (modeling_rules, example) holding the texts of `prompts`.

    Each carries a description and a constraint for the optimizer, and a check that rejects
    an unusable value (the optimizer's retry quotes the reason).
    """
    rules = Parameter(
        prompts.modeling_rules,
        name="modeling_rules",
        description=RULES_DESCRIPTION,
        constraint=RULES_CONSTRAINT,
        check=check_rules,
    )
    example = Parameter(
        prompts.example,
        name="example",
        description=EXAMPLE_DESCRIPTION,
        constraint=EXAMPLE_CONSTRAINT,
        check=check_example,
    )
    return rules, example


def prompts_with(base: PromptSet, modeling_rules: str, example: str) -> PromptSet:
    """Return `base` with its modeling rules and example replaced."""
    return base.model_copy(update={"modeling_rules": modeling_rules, "example": example})
