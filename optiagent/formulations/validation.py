"""Static validation of a formulation: names, references, index counts, placement rules.

These checks need no expansion of sums: they look at definitions and at the parsed
expression trees with the loop names in scope. Data-dependent problems (a missing parameter
entry at one index, division by zero) are found when the model is expanded
(`optiagent.formulations.analysis`). `check_formulation` runs both.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from optiagent.formulations import nodes as n
from optiagent.formulations.data import ModelData
from optiagent.formulations.expressions import (
    ALL_FUNCTIONS,
    RESERVED_NAMES,
    ExpressionSyntaxError,
    parse_expression,
    parse_forall,
)
from optiagent.formulations.issues import Issue, IssueKind, closest
from optiagent.formulations.schema import ConstraintDef, Domain, Formulation, VariableDef

__all__ = ["ParsedConstraint", "ParsedFormulation", "parse_and_check"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ParsedConstraint:
    """A constraint definition with its expression and quantifier parsed."""

    definition: ConstraintDef
    forall: tuple[n.Generator, ...]
    expression: n.Expr


@dataclass
class ParsedFormulation:
    """The parsed expression trees of a formulation (entries whose parse failed are left out)."""

    objective: n.Expr | None = None
    constraints: list[ParsedConstraint] = field(default_factory=list)


class _StaticChecker:
    def __init__(self, formulation: Formulation, data: ModelData) -> None:
        self.formulation = formulation
        self.data = data
        self.issues: list[Issue] = []
        self.sets = {s.name for s in formulation.sets}
        self.params = {p.name: p for p in formulation.parameters}
        self.variables = {v.name: v for v in formulation.variables}
        self.symbols = self.sets | set(self.params) | set(self.variables)

    def add(self, kind: IssueKind, element: str, message: str, **extra: object) -> None:
        self.issues.append(Issue(kind, element, message, **extra))  # type: ignore[arg-type]

    # definitions -----------------------------------------------------------------------
    def names(self) -> None:
        seen: dict[str, str] = {}
        groups: list[tuple[str, Iterable[str]]] = [
            ("set", (s.name for s in self.formulation.sets)),
            ("parameter", (p.name for p in self.formulation.parameters)),
            ("variable", (v.name for v in self.formulation.variables)),
            ("constraint", (c.name for c in self.formulation.constraints)),
        ]
        for kind, names in groups:
            for name in names:
                element = f"{kind} '{name}'"
                if not _IDENTIFIER.match(name) or keyword.iskeyword(name):
                    self.add(
                        IssueKind.RESERVED_NAME,
                        element,
                        f"'{name}' is not a valid name",
                        symbol=name,
                        suggestion="use letters, digits and underscores, starting with a letter",
                    )
                elif name.startswith("__") or name in RESERVED_NAMES:
                    self.add(
                        IssueKind.RESERVED_NAME,
                        element,
                        f"'{name}' is reserved by the expression language",
                        symbol=name,
                        suggestion=f"rename it, e.g. '{name}_'"
                        if not name.startswith("__")
                        else "rename it without leading underscores",
                    )
                namespace = "constraint" if kind == "constraint" else "symbol"
                slot = f"{namespace}:{name}"
                if slot in seen:
                    self.add(
                        IssueKind.DUPLICATE_NAME,
                        element,
                        f"the name '{name}' is already used by {seen[slot]}",
                        symbol=name,
                        suggestion="give every set, parameter, variable and constraint its own "
                        "name; for one constraint per element use 'forall'",
                    )
                else:
                    seen[slot] = element

    def set_references(self, element: str, index: list[str], field_name: str = "index") -> bool:
        ok = True
        for set_name in index:
            if set_name not in self.sets:
                hint = closest(set_name, self.sets)
                self.add(
                    IssueKind.UNKNOWN_SYMBOL
                    if set_name not in self.symbols
                    else IssueKind.WRONG_KIND,
                    element,
                    f"'{set_name}' is not a defined set",
                    field=field_name,
                    symbol=set_name,
                    suggestion=f"did you mean '{hint}'?" if hint else "define it under 'sets'",
                )
                ok = False
        return ok

    def parameters(self) -> None:
        for parameter in self.formulation.parameters:
            self.set_references(f"parameter '{parameter.name}'", parameter.index)

    def variables_defs(self) -> None:
        for variable in self.formulation.variables:
            element = f"variable '{variable.name}'"
            if not self.set_references(element, variable.index):
                continue
            for which in ("lower", "upper"):
                self.bound(variable, which)
            if (
                isinstance(variable.lower, (int, float))
                and isinstance(variable.upper, (int, float))
                and variable.lower > variable.upper
            ):
                self.add(
                    IssueKind.BAD_VARIABLE,
                    element,
                    f"lower bound {variable.lower} is above upper bound {variable.upper}",
                    suggestion="swap or correct the bounds",
                )
            if variable.domain is Domain.BINARY:
                for which in ("lower", "upper"):
                    bound = getattr(variable, which)
                    if isinstance(bound, (int, float)) and bound not in (0, 1):
                        self.add(
                            IssueKind.BAD_VARIABLE,
                            element,
                            f"a binary variable cannot have {which} bound {bound}",
                            field=which,
                            suggestion="use domain integer for counts, or drop the bound",
                        )
            if variable.domain is Domain.INTERVAL:
                if variable.duration is None:
                    self.add(
                        IssueKind.BAD_VARIABLE,
                        element,
                        "an interval variable needs a duration",
                        field="duration",
                        suggestion="give a number or the name of a parameter with the same index",
                    )
                elif isinstance(variable.duration, str):
                    self.bound(variable, "duration")
            elif variable.duration is not None:
                self.add(
                    IssueKind.BAD_VARIABLE,
                    element,
                    "only interval variables have a duration",
                    field="duration",
                    suggestion="remove 'duration' or use domain: interval",
                )

    def bound(self, variable: VariableDef, which: str) -> None:
        value = getattr(variable, which)
        if not isinstance(value, str):
            return
        element = f"variable '{variable.name}'"
        parameter = self.params.get(value)
        if parameter is None:
            hint = closest(value, self.params)
            self.add(
                IssueKind.UNKNOWN_SYMBOL,
                element,
                f"{which} refers to '{value}', which is not a parameter",
                field=which,
                symbol=value,
                suggestion=f"did you mean '{hint}'?"
                if hint
                else "use a number or the name of a parameter",
            )
        elif parameter.index and parameter.index != variable.index:
            self.add(
                IssueKind.ARITY,
                element,
                f"{which} parameter '{value}' is indexed by [{', '.join(parameter.index)}] but "
                f"the variable by [{', '.join(variable.index)}]",
                field=which,
                symbol=value,
                suggestion="use a scalar parameter or one indexed by exactly the variable's sets",
            )

    # expressions -----------------------------------------------------------------------
    def parse(self, element: str, field_name: str, text: str, forall: bool = False) -> object:
        try:
            return parse_forall(text) if forall else parse_expression(text)
        except ExpressionSyntaxError as error:
            self.add(
                IssueKind.SYNTAX
                if "syntax" in error.message or "parse" in error.message
                else IssueKind.FORBIDDEN,
                element,
                error.message,
                field=field_name,
                text=text,
                position=error.pos,
                suggestion=error.suggestion,
            )
            return None

    def expression_tree(
        self,
        element: str,
        field_name: str,
        text: str,
        node: n.Expr,
        bound: set[str],
        has_forall: bool,
    ) -> None:
        checker = _TreeChecker(self, element, field_name, text, has_forall)
        if isinstance(node, n.Compare) and element != "objective":
            for operand in node.operands:  # the top-level comparison of a constraint
                checker.visit(operand, bound, "value")
        else:
            checker.visit(node, bound, "value")


class _TreeChecker:
    """Checks one expression tree: names, kinds, and where variables may appear."""

    def __init__(
        self, owner: _StaticChecker, element: str, field: str, text: str, has_forall: bool
    ) -> None:
        self.owner = owner
        self.element = element
        self.field = field
        self.text = text
        self.has_forall = has_forall

    def add(self, kind: IssueKind, node: n.Expr, message: str, **extra: object) -> None:
        self.owner.add(
            kind,
            self.element,
            message,
            field=self.field,
            text=self.text,
            position=node.pos,
            **extra,
        )

    def generators(self, generators: tuple[n.Generator, ...], bound: set[str]) -> set[str]:
        scope = set(bound)
        for generator in generators:
            self.iterable(generator.iterable, scope)
            for target in generator.targets:
                if target in self.owner.symbols:
                    self.add(
                        IssueKind.DUPLICATE_NAME,
                        generator,
                        f"loop name '{target}' hides the symbol '{target}'",
                        symbol=target,
                        suggestion="use a different loop name, e.g. a lower-case letter",
                    )
            scope |= set(generator.targets)
            for condition in generator.conditions:
                self.visit(condition, scope, "data")
        return scope

    def iterable(self, node: n.Expr, scope: set[str]) -> None:
        if isinstance(node, n.Name) and node.id in self.owner.sets:
            return
        if isinstance(node, n.Call) and node.func == "range":
            for arg in node.args:
                self.visit(arg, scope, "data")
            return
        if isinstance(node, n.TupleExpr):
            for item in node.items:
                self.visit(item, scope, "data")
            return
        if isinstance(node, n.Name):
            self.unknown(node, node.id, scope, hint_sets=True)
            return
        self.add(
            IssueKind.WRONG_KIND,
            node,
            "loops can run over a set name, range(...), or a list of elements",
            suggestion="write 'for i in SetName'",
        )

    def unknown(self, node: n.Expr, name: str, scope: set[str], hint_sets: bool = False) -> None:
        owner = self.owner
        if name in owner.symbols or name in scope:
            if hint_sets:
                self.add(
                    IssueKind.WRONG_KIND,
                    node,
                    f"'{name}' is not a set, so it cannot be looped over",
                    symbol=name,
                    suggestion="loop over a set name, e.g. for i in Items",
                )
            return
        candidates = owner.sets if hint_sets else owner.symbols | scope
        hint = closest(name, candidates)
        if hint:
            suggestion = f"did you mean '{hint}'?"
        elif not self.has_forall and self.field == "expression" and "constraint" in self.element:
            suggestion = (
                f"if '{name}' is an index, add a quantifier, e.g. forall: '{name} in SomeSet'; "
                "otherwise define it under parameters or variables"
            )
        else:
            suggestion = "define it under sets, parameters or variables, or bind it in a loop"
        self.add(
            IssueKind.UNKNOWN_SYMBOL,
            node,
            f"unknown name '{name}'",
            symbol=name,
            suggestion=suggestion,
        )

    def visit(self, node: n.Expr, scope: set[str], context: str) -> None:
        """Check `node`; context is 'value' (variables allowed) or 'data' (no variables)."""
        owner = self.owner
        if isinstance(node, n.Name):
            if node.id in scope:
                return
            if node.id in owner.variables and context == "data":
                self.add(
                    IssueKind.VARIABLE_IN_DATA,
                    node,
                    f"variable '{node.id}' cannot appear in a condition, index or exponent",
                    symbol=node.id,
                    suggestion="conditions and indices may use only set elements and parameters",
                )
            elif node.id in owner.sets:
                self.add(
                    IssueKind.WRONG_KIND,
                    node,
                    f"'{node.id}' is a set and has no numeric value",
                    symbol=node.id,
                    suggestion=f"loop over it (for i in {node.id}) or use len({node.id})",
                )
            elif node.id in ALL_FUNCTIONS:
                self.add(
                    IssueKind.WRONG_KIND,
                    node,
                    f"'{node.id}' is a function",
                    symbol=node.id,
                    suggestion=f"call it, e.g. {node.id}(...)",
                )
            else:
                self.unknown(node, node.id, scope)
            return
        if isinstance(node, n.Subscript):
            self.subscript(node, scope, context)
            return
        if isinstance(node, n.Reduction):
            inner = self.generators(node.generators, scope)
            self.visit(node.body, inner, context)
            return
        if isinstance(node, n.Call):
            self.call(node, scope, context)
            return
        if isinstance(node, n.BinOp) and node.op == "**":
            self.visit(node.left, scope, context)
            self.visit(node.right, scope, "data")
            return
        if isinstance(node, n.IfExp):
            self.visit(node.test, scope, "data")
            self.visit(node.body, scope, context)
            self.visit(node.orelse, scope, context)
            return
        if isinstance(node, n.Compare) and context == "value":
            self.add(
                IssueKind.WRONG_KIND,
                node,
                "a comparison cannot be part of an arithmetic expression",
                suggestion="a constraint has exactly one comparison at its top level",
            )
            return
        if isinstance(node, n.Compare):
            for operand in node.operands:
                if isinstance(operand, n.Name) and operand.id in owner.sets:
                    continue  # the set in 'i in S'
                self.visit(operand, scope, "data")
            return
        for child in n.children(node):
            self.visit(child, scope, context)

    def subscript(self, node: n.Subscript, scope: set[str], context: str) -> None:
        owner = self.owner
        for index in node.indices:
            self.visit(index, scope, "data")
        if node.name in owner.params or node.name in scope:
            return
        variable = owner.variables.get(node.name)
        if variable is not None:
            if context == "data":
                self.add(
                    IssueKind.VARIABLE_IN_DATA,
                    node,
                    f"variable '{node.name}' cannot appear in a condition, index or exponent",
                    symbol=node.name,
                    suggestion="conditions and indices may use only set elements and parameters",
                )
            return
        if node.name in owner.sets:
            self.add(
                IssueKind.WRONG_KIND,
                node,
                f"'{node.name}' is a set and cannot be indexed",
                symbol=node.name,
                suggestion=f"loop over it: for i in {node.name}",
            )
            return
        self.unknown(node, node.name, scope)

    def call(self, node: n.Call, scope: set[str], context: str) -> None:
        if node.func == "len":
            if not (len(node.args) == 1 and isinstance(node.args[0], n.Name)):
                self.add(IssueKind.WRONG_KIND, node, "len() takes one set name", symbol="len")
            elif node.args[0].id not in self.owner.sets:
                self.unknown(node.args[0], node.args[0].id, scope, hint_sets=True)
            return
        if node.func == "range":
            self.add(
                IssueKind.WRONG_KIND,
                node,
                "range() can only be looped over",
                symbol="range",
                suggestion="write 'for t in range(1, 5)' inside sum(...) or a quantifier",
            )
            return
        if node.func in ("start", "end", "no_overlap"):
            for arg in node.args:
                if isinstance(arg, n.TupleExpr):
                    for item in arg.items:
                        self.interval_argument(item, scope)
                else:
                    self.interval_argument(arg, scope)
            return
        data_only = node.func in ("ceil", "floor", "round")
        for arg in node.args:
            self.visit(arg, scope, "data" if data_only else context)

    def interval_argument(self, node: n.Expr, scope: set[str]) -> None:
        name = node.name if isinstance(node, n.Subscript) else getattr(node, "id", None)
        variable = self.owner.variables.get(name) if isinstance(name, str) else None
        if variable is None or variable.domain is not Domain.INTERVAL:
            self.add(
                IssueKind.WRONG_KIND,
                node,
                "start(), end() and no_overlap() take interval variables, e.g. start(task[j])",
                symbol=name if isinstance(name, str) else None,
                suggestion="declare the variable with domain: interval and a duration",
            )
            return
        if isinstance(node, n.Subscript):
            for index in node.indices:
                self.visit(index, scope, "data")


def parse_and_check(
    formulation: Formulation, data: ModelData
) -> tuple[ParsedFormulation, list[Issue]]:
    """Parse every expression and run the static checks; return the trees and the issues."""
    checker = _StaticChecker(formulation, data)
    checker.names()
    checker.parameters()
    checker.variables_defs()
    parsed = ParsedFormulation()
    objective = formulation.objective
    if objective is not None:
        tree = checker.parse("objective", "expression", objective.expression)
        if isinstance(tree, n.Expr):
            if isinstance(tree, n.Compare):
                checker.add(
                    IssueKind.BAD_OBJECTIVE,
                    "objective",
                    "the objective must be an expression to optimize, not a comparison",
                    field="expression",
                    text=objective.expression,
                    position=tree.pos,
                    suggestion="move the comparison into a constraint",
                )
            else:
                checker.expression_tree(
                    "objective", "expression", objective.expression, tree, set(), False
                )
                parsed.objective = tree
    for constraint in formulation.constraints:
        element = f"constraint '{constraint.name}'"
        generators: tuple[n.Generator, ...] = ()
        bound: set[str] = set()
        if constraint.forall:
            result = checker.parse(element, "forall", constraint.forall, forall=True)
            if result is None:
                continue
            assert isinstance(result, tuple)
            generators = result
            bound = _TreeChecker(checker, element, "forall", constraint.forall, True).generators(
                generators, set()
            )
        tree = checker.parse(element, "expression", constraint.expression)
        if not isinstance(tree, n.Expr):
            continue
        before = len(checker.issues)
        _check_constraint_top(checker, element, constraint.expression, tree)
        checker.expression_tree(
            element, "expression", constraint.expression, tree, bound, bool(constraint.forall)
        )
        if len(checker.issues) == before:
            parsed.constraints.append(ParsedConstraint(constraint, generators, tree))
    return parsed, checker.issues


def _check_constraint_top(checker: _StaticChecker, element: str, text: str, tree: n.Expr) -> None:
    if isinstance(tree, (n.Call, n.Reduction)) and tree.func in ("no_overlap", "all_different"):
        return
    if not isinstance(tree, n.Compare):
        checker.add(
            IssueKind.BAD_CONSTRAINT,
            element,
            "a constraint must compare two sides with <=, >= or ==",
            field="expression",
            text=text,
            position=tree.pos,
            suggestion="e.g. sum(x[i] for i in I) <= capacity",
        )
        return
    ops = tree.ops
    for op in ops:
        if op in ("<", ">"):
            step = "- 1" if op == "<" else "+ 1"
            checker.add(
                IssueKind.BAD_CONSTRAINT,
                element,
                f"strict inequality '{op}' cannot be enforced by solvers",
                field="expression",
                text=text,
                position=tree.pos,
                suggestion=f"use '{op}=' (for whole numbers, '{op}= value {step}')",
            )
            return
        if op in ("!=", "in", "not in"):
            checker.add(
                IssueKind.BAD_CONSTRAINT,
                element,
                f"'{op}' is not a constraint",
                field="expression",
                text=text,
                position=tree.pos,
                suggestion="use <=, >= or ==; for 'all different' use all_different(...)",
            )
            return
    if len(ops) > 2 or (len(ops) == 2 and (ops[0] != ops[1] or ops[0] == "==")):
        checker.add(
            IssueKind.BAD_CONSTRAINT,
            element,
            "only a range 'low <= expression <= high' may chain two comparisons",
            field="expression",
            text=text,
            position=tree.pos,
            suggestion="split it into separate constraints",
        )
