"""Collision-free Python identifiers for generated scripts.

A generated script mixes three kinds of names: the formulation's own symbols (sets,
parameters, variables) and loop names, which a reader must recognise, and the script's
helpers (`model`, `pyo`, `solver`, `label`, ...). The user's names win: they are kept unless
they would shadow a Python builtin the script relies on, and every helper takes the first
free spelling of its preferred name (`model`, `model_`, `model_2`, ...).
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable

from optiagent.formulations import nodes as n
from optiagent.formulations.analysis import CheckedFormulation

__all__ = ["Namer", "loop_names", "user_names"]

# Builtins a generated script calls; a user symbol with one of these names is renamed.
_SCRIPT_BUILTINS = frozenset(
    {
        "abs",
        "all",
        "any",
        "dict",
        "float",
        "int",
        "isinstance",
        "len",
        "list",
        "max",
        "min",
        "print",
        "range",
        "round",
        "str",
        "sum",
        "tuple",
    }
)


def loop_names(checked: CheckedFormulation) -> set[str]:
    """Every loop name bound anywhere in the formulation's expressions and quantifiers."""
    trees: list[n.Expr] = []
    if checked.parsed.objective is not None:
        trees.append(checked.parsed.objective)
    for constraint in checked.parsed.constraints:
        trees.append(constraint.expression)
        trees.extend(constraint.forall)
    found: set[str] = set()
    for tree in trees:
        for node in n.walk(tree):
            if isinstance(node, n.Generator):
                found.update(node.targets)
    return found


class Namer:
    """Hands out identifiers that never collide with each other or with reserved names."""

    def __init__(self, reserved: Iterable[str] = (), *, globals_: bool = True) -> None:
        """`globals_=False` names attributes, which cannot shadow the builtins."""
        self._taken: set[str] = set(reserved) | set(keyword.kwlist) | {"None", "True", "False"}
        if globals_:
            self._taken |= _SCRIPT_BUILTINS | set(keyword.softkwlist)

    def is_free(self, name: str) -> bool:
        """True if `name` may still be handed out."""
        return name not in self._taken

    def reserve(self, names: Iterable[str]) -> None:
        """Mark names as taken without handing them out (e.g. every user symbol)."""
        self._taken.update(names)

    def claim(self, wanted: str) -> str:
        """`wanted` if free, else the first free of `wanted_`, `wanted_2`, `wanted_3`, ..."""
        candidate, number = wanted, 1
        while candidate in self._taken:
            number += 1
            candidate = f"{wanted}_" if number == 2 else f"{wanted}_{number - 1}"
        self._taken.add(candidate)
        return candidate


def user_names(symbols: Iterable[str], namer: Namer) -> dict[str, str]:
    """Python names for the user's symbols and loop names: their own, unless that shadows a
    builtin the script calls (then `print` becomes `print_`)."""
    symbols = list(dict.fromkeys(symbols))
    clashing = [s for s in symbols if s in _SCRIPT_BUILTINS or keyword.iskeyword(s)]
    namer.reserve(s for s in symbols if s not in clashing)
    mapping = {s: s for s in symbols if s not in clashing}
    for symbol in clashing:
        mapping[symbol] = namer.claim(symbol)
    return mapping
