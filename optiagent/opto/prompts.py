"""The OptoPrime prompt: named sections, the system message, and how a trace is rendered in them.

The user message is a sequence of sections, each a header line from `SECTIONS` followed by its
text, in this order: the instruction, the code of the run (one line per step), the
documentation of each function, the trainable variables with their current values (never
shortened), their constraints, the inputs, the other intermediate values, the outputs, the
feedback, and the memory of earlier values with the feedback they received.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optiagent.opto.feedback import Feedback
from optiagent.opto.graph import Trace, truncate
from optiagent.opto.parameters import Parameter

__all__ = [
    "DEFAULT_OBJECTIVE",
    "SECTIONS",
    "SECTION_CODE",
    "SECTION_CONSTRAINTS",
    "SECTION_DOCUMENTATION",
    "SECTION_FEEDBACK",
    "SECTION_INPUTS",
    "SECTION_INSTRUCTION",
    "SECTION_MEMORY",
    "SECTION_OTHERS",
    "SECTION_OUTPUTS",
    "SECTION_VARIABLES",
    "SYSTEM_PROMPT",
    "MemoryEntry",
    "PromptLimits",
    "render_user_message",
]

SECTION_INSTRUCTION = "#Instruction"
SECTION_CODE = "#Code"
SECTION_DOCUMENTATION = "#Documentation"
SECTION_VARIABLES = "#Variables"
SECTION_CONSTRAINTS = "#Constraints"
SECTION_INPUTS = "#Inputs"
SECTION_OTHERS = "#Others"
SECTION_OUTPUTS = "#Outputs"
SECTION_FEEDBACK = "#Feedback"
SECTION_MEMORY = "#Memory"

SECTIONS = (
    SECTION_INSTRUCTION,
    SECTION_CODE,
    SECTION_DOCUMENTATION,
    SECTION_VARIABLES,
    SECTION_CONSTRAINTS,
    SECTION_INPUTS,
    SECTION_OTHERS,
    SECTION_OUTPUTS,
    SECTION_FEEDBACK,
    SECTION_MEMORY,
)
"""Every section header of the user message, in the order they appear."""

DEFAULT_OBJECTIVE = (
    "Change the trainable variables so that the next run of the program earns better feedback."
)

SYSTEM_PROMPT = """\
You tune the trainable variables of a program so that its output improves.

You are shown one run of the program, recorded as numbered values (#1, #2, ...):
- #Code lists the steps in the order they ran: "#5 = f(a=#1, b=#2)" means step f was called
  with the values #1 and #2 and produced #5.
- #Documentation describes each function: what it does and, where known, its source.
- #Variables are the values you may change, each with its type, description and current value.
- #Constraints are rules every new value must obey.
- #Inputs are fixed values you cannot change; #Others are intermediate results; #Outputs are
  the results the feedback is about. Long values are shortened with "...[N characters omitted]...".
- #Feedback says what was wrong with the outputs (a message, a score, or both).
- #Memory lists earlier values of the variables and the feedback each received; learn from it
  and do not propose a value that already failed.

Work out how the variables influenced the outputs, why the feedback is what it is, and which new
values would do better. Then reply with one JSON object and nothing else:
{"reasoning": "<your analysis in a few sentences>",
 "suggestion": {"<variable name>": <new value>, ...}}

Rules for "suggestion":
- Its keys are names listed under #Variables, exactly as written there. Leave out a variable
  you would keep as it is.
- Each new value replaces the old one entirely and has the variable's type: a JSON string for
  text and code, a number for a number, a list of numbers of the stated length for a vector, a
  complete JSON object for a structured value (never a partial change).
- Every value must obey #Constraints.
"""


@dataclass(frozen=True)
class PromptLimits:
    """How many characters of each kind of value the prompt shows (trainable values: all)."""

    inputs: int = 4000
    others: int = 800
    outputs: int = 2000
    documentation: int = 4000
    memory: int = 2000


@dataclass(frozen=True)
class MemoryEntry:
    """Earlier values of the trainable variables (as JSON data) and the feedback they got."""

    values: dict[str, Any]
    feedback: str


def render_user_message(
    trace: Trace,
    feedback: Sequence[tuple[Sequence[int], Feedback]],
    parameters: Sequence[Parameter[Any]],
    memory: Sequence[MemoryEntry],
    *,
    objective: str = DEFAULT_OBJECTIVE,
    limits: PromptLimits = PromptLimits(),
) -> str:
    """Return the user message: every section of `SECTIONS`, filled from one trace.

    `feedback` pairs the trace ids of the outputs a feedback is about with that feedback.
    """
    own = {id(p) for p in parameters}
    leaves = [n for n in trace.leaves if id(n) not in own]
    outputs = {id(n) for n in trace.outputs}
    sections = {
        SECTION_INSTRUCTION: objective.strip(),
        SECTION_CODE: "\n".join(f"#{trace.id_of(n)} = {trace.call_text(n)}" for n in trace.steps),
        SECTION_DOCUMENTATION: _documentation(trace, limits.documentation),
        SECTION_VARIABLES: "\n\n".join(_variable(p, trace) for p in parameters),
        SECTION_CONSTRAINTS: "\n".join(f"- {rule}" for p in parameters for rule in p.constraints()),
        SECTION_INPUTS: "\n".join(trace.line(n, limit=limits.inputs) for n in leaves),
        SECTION_OTHERS: "\n".join(
            trace.line(n, limit=limits.others) for n in trace.steps if id(n) not in outputs
        ),
        SECTION_OUTPUTS: "\n".join(trace.line(n, limit=limits.outputs) for n in trace.outputs),
        SECTION_FEEDBACK: _feedback(feedback),
        SECTION_MEMORY: _memory(memory, limits.memory),
    }
    return "\n\n".join(f"{header}\n{sections[header] or '(none)'}" for header in SECTIONS)


def _documentation(trace: Trace, limit: int) -> str:
    blocks: list[str] = []
    for info in trace.functions:
        lines = [f"[{info.name}] {info.doc or '(no docstring)'}"]
        if info.source:
            lines.append(_fence(truncate(info.source, limit), "python"))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _variable(parameter: Parameter[Any], trace: Trace) -> str:
    where = f"#{trace.id_of(parameter)}" if parameter in trace else "not used in this run"
    header = f"{parameter.name} ({parameter.type_description()}, {where})"
    if parameter.description:
        header += f": {parameter.description}"
    if parameter.kind in ("text", "code"):
        language = "python" if parameter.kind == "code" else ""
        return f"{header}\ncurrent value:\n{_fence(str(parameter.value), language)}"
    return f"{header}\ncurrent value: {json.dumps(parameter.to_json(), ensure_ascii=False)}"


def _feedback(feedback: Sequence[tuple[Sequence[int], Feedback]]) -> str:
    if len(feedback) == 1:
        return feedback[0][1].render()
    parts = []
    for ids, item in feedback:
        about = ", ".join(f"#{i}" for i in ids)
        parts.append(f"on output {about}:\n{item.render()}")
    return "\n\n".join(parts)


def _memory(memory: Sequence[MemoryEntry], limit: int) -> str:
    if not memory:
        return ""
    lines = ["Earlier values of the variables and the feedback they got (oldest first):"]
    for number, entry in enumerate(memory, start=1):
        values = truncate(json.dumps(entry.values, ensure_ascii=False), limit)
        feedback = entry.feedback.replace("\n", "\n   ")
        lines.append(f"{number}. values: {values}\n   feedback: {feedback}")
    return "\n".join(lines)


def _fence(text: str, language: str = "") -> str:
    # A fence longer than any run of backticks inside keeps the value intact.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"
