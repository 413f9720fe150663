"""Every prompt of the agent, one named constant per stage, in our own words.

The output contract of each stage is a pydantic model's JSON schema (`Proposal`); the prompts
explain the formulation language and how to model well. `PromptSet` groups the texts that
`optiagent tune` may improve and that `--prompts FILE` loads.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from optiagent.exceptions import ConfigurationError
from optiagent.formulations.expressions import RESERVED_NAMES

__all__ = [
    "EDIT_INSTRUCTION",
    "FORMULATE_EXAMPLE",
    "LANGUAGE_GUIDE",
    "MODELING_RULES",
    "REPAIR_OBJECTIVE",
    "PromptSet",
    "load_prompts",
]

LANGUAGE_GUIDE = """\
FORMULATION LANGUAGE
A formulation is JSON with five elements:
- sets: index sets. {"name": "Plants", "elements": ["seattle", "san-diego"]}, or a range of
  integers {"name": "T", "first": 1, "last": 12} (inclusive), or pairs
  {"name": "Arcs", "elements": [["a", "b"], ["b", "c"]]}.
- parameters: data. A scalar {"name": "budget", "value": 5000}; an indexed parameter
  {"name": "cost", "index": ["Plants", "Markets"], "value": {"seattle": {"chicago": 1.7}, ...}}
  (nested mappings in index order, or lists in the order of the set's elements).
  Optional "default" fills missing entries; "units" and "description" document it.
- variables: {"name": "ship", "index": ["Plants", "Markets"], "domain": "nonnegative_real"}.
  Domains: real, nonnegative_real, integer, nonnegative_integer, binary, interval.
  Optional "lower"/"upper": a number or the name of a parameter with the same index.
- objective: {"sense": "minimize" | "maximize", "expression": "..."}; omit it for a pure
  feasibility question.
- constraints: {"name": "supply_limit", "forall": "p in Plants",
  "expression": "sum(ship[p, m] for m in Markets) <= supply[p]"}.
  "forall" repeats the constraint for each binding: "p in P", "p in P, t in T if t > 1",
  "(i, j) in Arcs". Omit "forall" for a single constraint.

EXPRESSIONS use Python syntax, restricted to:
- numbers, names of sets/parameters/variables, loop names, string literals for elements;
- indexing with one value per index: x[i, t], cost[p, m], x[i, t - 1];
- + - * / and ** with a constant exponent; parentheses;
- sum(expr for i in S), nested: sum(... for i in I for j in J if cost[i, j] > 0);
  min/max over several arguments or a generator; abs, exp, log, log10, sqrt;
  len(S) (number of elements); range(a, b) may be looped over;
- conditions (after "if" or in "forall"): comparisons, and/or/not, "i in S"; they may use
  data only, never variables;
- a constraint is exactly one comparison with <=, >= or == (no strict < or >), or a range
  "low <= expression <= high", or a global constraint all_different(...) / no_overlap(...);
- scheduling: a variable with "domain": "interval" and a "duration" (number or parameter
  name) is a task; use start(task[j]) and end(task[j]) in expressions and
  no_overlap(task[j] for j in Jobs if machine[j] == m) to forbid overlaps.
Not allowed: attribute access (a.b), assignments, lambda, if-statements, other functions.
NAMES of sets, parameters, variables and constraints are letters, digits and underscores.
""" + textwrap.fill(
    # from the parser's own list, so the guide and the checker never disagree
    "These words belong to the language and cannot be names: "
    + ", ".join(sorted(RESERVED_NAMES))
    + " (write start_time, not start).",
    width=92,
)

MODELING_RULES = """\
HOW TO MODEL WELL
1. Read every number in the problem into a parameter; do not pre-compute totals by hand.
   Convert percentages to fractions (15% -> 0.15) and keep units consistent.
2. Prefer indexed sets and parameters over many scalar copies when items repeat.
3. Domains: decide divisibility from the nature of the thing, unless the problem says
   otherwise. Things counted in whole units (people, vehicles, machines, products made or
   bought as units, servings or portions of food, packages, bags, trips, batches) are
   nonnegative_integer even when the problem does not say "integer"; measured quantities
   (kg, tons, liters, hours, dollars invested, acres, fractions of a mix) are
   nonnegative_real; yes/no decisions are binary.
4. Include every requirement the problem states (demands, capacities, minimums, ratios,
   "at least", "no more than", "at most X% of the total"); write ratios linearly
   (x <= 0.3 * (x + y), not x / (x + y) <= 0.3).
5. The objective is exactly the quantity the problem asks to maximize or minimize.
6. "answer": set "expression" to null when the question asks for the optimal objective
   (e.g. "what is the maximum profit?"). If it asks for something else (e.g. "how many
   trucks should be used?"), give an expression over the variables for that quantity.
7. If the problem is ambiguous, choose the most natural reading and say so in "reasoning"."""

FORMULATE_EXAMPLE = """\
EXAMPLE
Problem: A shop sells tables ($70 profit each) and chairs ($30 each). A table needs 4 hours
of carpentry and 2 of painting; a chair 1 and 1. There are 120 carpentry hours and 70
painting hours per week, and at least 10 chairs must be made. How many tables should be
made to maximize profit?
Reply:
{"reasoning": "Decide whole numbers of tables and chairs; two hour limits and a minimum on chairs; the question asks for the number of tables.",
 "formulation": {
  "name": "tables_and_chairs",
  "sets": [{"name": "Products", "elements": ["table", "chair"]},
           {"name": "Shops", "elements": ["carpentry", "painting"]}],
  "parameters": [
   {"name": "profit", "index": ["Products"], "value": {"table": 70, "chair": 30}, "units": "dollars per unit"},
   {"name": "hours", "index": ["Shops", "Products"], "value": {"carpentry": {"table": 4, "chair": 1}, "painting": {"table": 2, "chair": 1}}},
   {"name": "available", "index": ["Shops"], "value": {"carpentry": 120, "painting": 70}, "units": "hours per week"},
   {"name": "min_chairs", "value": 10}],
  "variables": [{"name": "make", "index": ["Products"], "domain": "nonnegative_integer", "description": "units made per week"}],
  "objective": {"sense": "maximize", "expression": "sum(profit[p] * make[p] for p in Products)"},
  "constraints": [
   {"name": "shop_hours", "forall": "s in Shops", "expression": "sum(hours[s, p] * make[p] for p in Products) <= available[s]"},
   {"name": "enough_chairs", "expression": "make['chair'] >= min_chairs"}]},
 "answer": {"expression": "make['table']", "units": "tables", "description": "tables to make per week"}}"""

FORMULATE_SYSTEM = """\
You are an expert in operations research. You turn an optimization problem written in plain
language into a precise mathematical formulation in the JSON format below. The formulation
is checked and solved by software, so it must follow the language exactly.

{language}

{rules}

OUTPUT
Reply with one JSON object with the keys "reasoning", "formulation" and "answer", and
nothing else (no markdown fences, no text around it).

{example}"""
"""The formulate step's system message; {language}, {rules} and {example} are filled in."""

FORMULATE_USER = """\
Problem:
{problem}
{tables}{report}
Write the formulation as one JSON object."""

REPORT_SECTION = """
Report these quantities: in "answer", set "report" to a mapping from each name below, exactly
as written, to an expression over your variables giving its value:
{names}
"""

TABLES_SECTION = """
Data tables given with the problem (refer to them by name instead of copying large tables:
a set may use "from_table": {{"table": NAME, "column": COLUMN}} for its elements, and a
parameter "from_table": {{"table": NAME, "column": VALUE_COLUMN, "index_columns": [COLUMNS]}}
with one index column per index set, in order; for a wide table with one column per element
of the last index set (week1, week2, ...) use "columns": [those columns, in that set's order]
instead of "column", with index columns for the other sets):
{description}
"""

REPAIR_OBJECTIVE = """\
The program formulates the optimization problem below as the trainable variable `proposal`
(a formulation in the language described in #Constraints plus the answer specification),
then checks, solves and verifies it. The feedback says what went wrong. Return a corrected
`proposal` that formulates the problem faithfully and resolves the feedback. Change only what
the feedback and the problem justify. If the feedback reports an infeasible or unbounded
model, or asks you to confirm something, and the formulation is in fact a faithful model of
the problem as stated, return it unchanged.

THE PROBLEM
{problem}"""

EDIT_INSTRUCTION = """\
You maintain a formulation of an optimization problem for a user. The user asks for a change
("what if capacity were 120?", "workers must be whole numbers", "drop the budget
constraint"). Apply exactly that change to the current formulation and keep everything else
as it is. Keep the answer specification unless the user asks about another quantity.
Reply with the complete updated proposal as one JSON object with the keys "reasoning",
"formulation" and "answer" (put a one-sentence summary of the change in "reasoning").

{language}"""


class PromptSet(BaseModel):
    """The prompt texts the agent uses; `optiagent tune` improves them, --prompts loads them.

    `modeling_rules` and `example` are the parts worth tuning; the language guide is the
    contract of the formulation language and stays as it is.
    """

    model_config = ConfigDict(extra="forbid")

    modeling_rules: str = MODELING_RULES
    example: str = FORMULATE_EXAMPLE
    formulate_system: str = FORMULATE_SYSTEM
    formulate_user: str = FORMULATE_USER
    tables_section: str = TABLES_SECTION
    report_section: str = REPORT_SECTION
    repair_objective: str = REPAIR_OBJECTIVE
    edit_instruction: str = EDIT_INSTRUCTION

    def system_message(self) -> str:
        """The formulate step's system message with the language, rules and example in it."""
        return self.formulate_system.format(
            language=LANGUAGE_GUIDE, rules=self.modeling_rules, example=self.example
        )

    def edit_message(self) -> str:
        """The chat edit step's system message."""
        return self.edit_instruction.format(language=LANGUAGE_GUIDE)

    def digest(self) -> str:
        """A short hash of every text, recorded in evaluation configs."""
        text = json.dumps(self.model_dump(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def repair_instruction(self, problem: str) -> str:
        """The instruction of the repair step, with the problem statement in it."""
        return self.repair_objective.format(problem=problem.strip())

    def formulate_messages(
        self, problem: str, tables_description: str = "", report: Sequence[str] = ()
    ) -> list[dict[str, str]]:
        """The system and user messages of the formulate step."""
        tables = ""
        if tables_description:
            tables = self.tables_section.format(description=tables_description)
        names = "\n".join(f"- {name}" for name in report)
        wanted = self.report_section.format(names=names) if report else ""
        user = self.formulate_user.format(problem=problem.strip(), tables=tables, report=wanted)
        return [
            {"role": "system", "content": self.system_message()},
            {"role": "user", "content": user},
        ]


def load_prompts(path: str | Path | None) -> PromptSet:
    """The default prompts, or those saved in a JSON file (e.g. by `optiagent tune`)."""
    if path is None:
        return PromptSet()
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"prompts file not found: {file}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{file} is not valid JSON: {error}") from None
    try:
        return PromptSet.model_validate(data)
    except ValueError as error:
        raise ConfigurationError(f"{file} is not a prompts file: {error}") from None
