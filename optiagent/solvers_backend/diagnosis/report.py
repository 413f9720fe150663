"""What a diagnosis found, and the plain-words feedback the agent sends to the model.

`Diagnosis.feedback()` is written for a language model that must repair the formulation:
it names each conflicting constraint as the formulation calls it (with the expression as
written and the instances involved), each variable bound or domain that takes part, the
smallest change that restores feasibility, or the variables that run off in an unbounded
model and what to add.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from optiagent.solvers_backend.diagnosis.elements import format_number

__all__ = [
    "Change",
    "Conflict",
    "ConflictKind",
    "ConflictSet",
    "Diagnosis",
    "DiagnosisKind",
    "DiagnosisMethod",
    "Repair",
    "RunOff",
]

ConflictKind = Literal["constraint", "lower_bound", "upper_bound", "integrality", "data"]
DiagnosisKind = Literal["infeasible", "unbounded", "undetermined"]
DiagnosisMethod = Literal["trivial", "iis", "deletion_filter", "elastic", "box", "none"]

_MAX_LISTED = 6
_MAX_CHANGES = 3


def _listing(items: list[str], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _signed(value: float | None) -> str:
    number = format_number(value or 0.0)
    return number if number.startswith("-") else f"+{number}"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True)
class Conflict:
    """One part of a conflict: a constraint instance, a variable bound, integrality or data."""

    kind: ConflictKind
    name: str  # the constraint's or the variable's name in the formulation
    label: str  # the instance, e.g. supply_limit[seattle] or x[a]
    text: str  # the constraint as written, or the bound as a relation ("x <= 4")
    sense: str  # "<=", ">=", "==", "range", "global", "integer" or "" (data)
    bound: float | None = None  # the instance's bound on that side, when numeric
    detail: str = ""  # the instance with numbers, or where a bound comes from
    relax_by: float | None = None  # slack needed in the whole-model elastic relaxation


@dataclass(frozen=True)
class Change:
    """One instance's bound moved by a repair."""

    label: str
    side: Literal["lower", "upper"]
    old: float
    new: float
    amount: float
    text: str  # e.g. "x + y <= 10 instead of <= 5"


@dataclass(frozen=True)
class Repair:
    """The least change of one named group (alone) that restores feasibility."""

    kind: Literal["constraint", "lower_bound", "upper_bound", "integrality"]
    name: str
    total: float
    changes: tuple[Change, ...] = ()
    fixes_model: bool = True  # False: it resolves this conflict, others remain
    domain: str = ""  # integrality, or a bound that comes from the domain: the domain's name

    def describe(self) -> str:
        """e.g. "relax at_most_five by 5 (x + y <= 10 instead of <= 5)"."""
        shown = [c.text for c in self.changes[:_MAX_CHANGES]]
        if len(self.changes) > _MAX_CHANGES:
            shown.append(f"and {len(self.changes) - _MAX_CHANGES} more instances")
        detail = f" ({'; '.join(shown)})" if shown else ""
        amount = format_number(self.total)
        if len(self.changes) > 1:
            amount += " in total"
        if self.kind == "integrality":
            text = f"let {self.name} take fractional values (its domain is {self.domain})"
        elif self.kind == "upper_bound" and self.domain:
            text = (
                f"let {self.name} exceed the upper bound of its domain {self.domain} "
                f"by {amount}{detail}"
            )
        elif self.kind == "upper_bound":
            text = f"raise the upper bound of {self.name} by {amount}{detail}"
        elif self.kind == "lower_bound" and self.domain:
            text = (
                f"let {self.name} go below the lower bound of its domain {self.domain} "
                f"by {amount}{detail}"
            )
        elif self.kind == "lower_bound":
            text = f"lower the lower bound of {self.name} by {amount}{detail}"
        elif all(c.side == "upper" for c in self.changes) or all(
            c.side == "lower" for c in self.changes
        ):
            verb = "change" if any(" == " in c.text for c in self.changes) else "relax"
            text = f"{verb} {self.name} by {amount}{detail}"
        else:
            text = f"relax {self.name} by {amount}{detail}"
        return text if self.fixes_model else f"{text}, which resolves this conflict only"


@dataclass
class ConflictSet:
    """Parts of the model that cannot hold together, and single-group repairs."""

    members: list[Conflict]
    irreducible: bool  # True: dropping any one member makes the rest feasible
    repairs: list[Repair] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # groups no change of which alone helps
    groups_irreducible: bool = False  # True: dropping any one named group makes the rest feasible

    def _groups(self) -> list[list[Conflict]]:
        grouped: dict[tuple[str, str], list[Conflict]] = {}
        for member in self.members:
            grouped.setdefault((member.kind, member.name), []).append(member)
        return list(grouped.values())

    def describe_members(self, instance_counts: dict[tuple[str, str], int]) -> list[str]:
        """One line per named group, with its instances when it is indexed."""
        lines = []
        for members in self._groups():
            first = members[0]
            total = instance_counts.get((first.kind, first.name), len(members))
            lines.append(_describe_group(members, total))
        return lines


def _instance_item(member: Conflict, with_bounds: bool) -> str:
    if not with_bounds:
        return member.label
    if member.bound and member.sense in ("<=", ">=", "=="):
        return f"{member.label} ({member.sense} {format_number(member.bound)})"
    if member.detail and not member.detail.startswith(member.label):
        # a bound of 0 says little (variables on both sides): show the instance itself
        return f"{member.label}: {member.detail}"
    return member.label


def _instances_text(members: list[Conflict], total: int, with_bounds: bool) -> str:
    if total <= 1 and len(members) == 1 and members[0].label == members[0].name:
        return ""
    items = [_instance_item(m, with_bounds) for m in members]
    count = f"all {total} instances" if len(members) == total else f"{len(members)} of {total}"
    return f", {count}: {_listing(items)}"


def _describe_group(members: list[Conflict], total: int) -> str:
    first = members[0]
    instances = _instances_text(members, total, with_bounds=first.kind == "constraint")
    if first.kind == "constraint":
        if not instances:
            return f"constraint {first.name}: {first.text}"
        return f"constraint {first.name} ({first.text}){instances}"
    if first.kind == "data":
        return f"constraint {first.name}: {first.detail}"
    if first.kind == "integrality":
        where = instances or ""
        return f"{first.name} must take whole values ({first.detail}){where}"
    side = "lower" if first.kind == "lower_bound" else "upper"
    if not instances:
        return f"the {side} bound of {first.name}: {first.text} ({first.detail})"
    items = [f"{m.label} {m.sense} {format_number(m.bound or 0.0)}" for m in members]
    count = f"all {total} instances" if len(members) == total else f"{len(members)} of {total}"
    return f"the {side} bounds of {first.name} ({first.detail}), {count}: {_listing(items)}"


@dataclass(frozen=True)
class RunOff:
    """A variable that ran to the box in the boxed re-solve of an unbounded model."""

    name: str
    label: str
    direction: Literal["+", "-"]
    value: float
    objective_coefficient: float | None  # its linear coefficient in the objective, if any
    constraints: tuple[str, ...]  # names of the constraints it appears in

    @property
    def verb(self) -> str:
        """'increases' or 'decreases'."""
        return "increases" if self.direction == "+" else "decreases"


@dataclass
class Diagnosis:
    """Why a model has no optimal solution: the conflicts, or the unbounded direction."""

    kind: DiagnosisKind
    method: DiagnosisMethod
    conflict_sets: list[ConflictSet] = field(default_factory=list)
    elastic: list[Conflict] = field(default_factory=list)  # whole-model minimal relaxation
    elastic_total: float | None = None
    integrality_involved: bool | None = None
    unbounded: list[RunOff] = field(default_factory=list)
    objective_text: str = ""
    box: float | None = None
    status_note: str = ""  # how the solver's status was settled, shown after the first line
    notes: list[str] = field(default_factory=list)
    instance_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    constraint_texts: dict[str, str] = field(default_factory=dict)  # name -> as written
    solves: int = 0
    elapsed_s: float = 0.0

    @property
    def conflicts(self) -> list[Conflict]:
        """Every conflict member of every conflict set, in order."""
        return [m for s in self.conflict_sets for m in s.members]

    @property
    def conflicting_names(self) -> list[str]:
        """The names (constraints and variables) involved, in order, without repeats."""
        names = [m.name for m in self.conflicts] + [m.name for m in self.elastic]
        return list(dict.fromkeys(names))

    def feedback(self) -> str:
        """Plain-words feedback for the repair step: what conflicts or runs off, what to change."""
        if self.kind == "unbounded":
            lines = self._unbounded_lines()
        elif self.kind == "infeasible":
            lines = self._infeasible_lines()
        else:
            lines = ["The diagnosis could not confirm the solver's status."]
        if self.status_note:
            lines.insert(1, self.status_note)
        lines += self.notes
        return "\n".join(lines)

    def _infeasible_lines(self) -> list[str]:
        lines = ["The model is infeasible."]
        data_sets = [s for s in self.conflict_sets if s.members[0].kind == "data"]
        solver_sets = [s for s in self.conflict_sets if s.members[0].kind != "data"]
        if data_sets:
            items = [m.detail for s in data_sets for m in s.members]
            lines.append(
                "These constraints contain no variable once the data is filled in, and are "
                f"false: {'; '.join(items)}. Fix the data or the expression."
            )
        for number, conflict_set in enumerate(solver_sets, start=1):
            lines += self._conflict_lines(conflict_set, number, len(solver_sets))
        show_elastic = self.elastic and (len(solver_sets) != 1 or not solver_sets[0].repairs)
        if show_elastic:
            items = [
                f"{m.label} by {format_number(m.relax_by or 0.0)} ({m.detail})"
                for m in self.elastic
            ]
            lines.append(
                "Relaxing every constraint as little as possible in total (total "
                f"{format_number(self.elastic_total or 0.0)}) needs: {_listing(items)}."
            )
        kinds = {m.kind for m in self.conflicts} | {m.kind for m in self.elastic}
        advice = []
        if "constraint" in kinds:
            advice.append("the data and the direction (<= vs >=) of these constraints")
        if kinds & {"lower_bound", "upper_bound"}:
            advice.append("the variables' bounds and domains")
        if advice:
            lines.append(f"Check {' and '.join(advice)}.")
        if self.integrality_involved:
            lines.append(
                "Integrality is part of the conflict: without the whole-number requirements "
                "the constraints can be met, so check the integer variables and the data "
                "that makes a whole-number solution impossible."
            )
        return lines

    def _conflict_lines(self, conflict_set: ConflictSet, number: int, count: int) -> list[str]:
        single = len(conflict_set.members) == 1
        subject = "this" if single else "these"
        prefix = f"Conflict {number} of {count}: {subject}" if count > 1 else subject.title()
        what = (
            "cannot hold, even with everything else removed"
            if single
            else "cannot all hold together"
        )
        if conflict_set.irreducible and not single:
            what += " (removing any one of them makes the rest satisfiable)"
        elif conflict_set.groups_irreducible and not conflict_set.irreducible:
            what += (
                " (removing any one of these entirely makes the rest satisfiable, though not "
                "every instance listed may be needed)"
            )
        elif not conflict_set.irreducible:
            what += " (this set may include parts that are not needed for the conflict)"
        lines = [f"{prefix} {what}:"]
        lines += [f"  - {line}" for line in conflict_set.describe_members(self.instance_counts)]
        if conflict_set.repairs:
            options = [r.describe() for r in conflict_set.repairs]
            lead = "The smallest change that restores feasibility" + (
                ", any one of: " if len(options) > 1 else ": "
            )
            lines.append(lead + "; or ".join(options) + ".")
        if conflict_set.blocked:
            lines.append(
                f"Changing only {_and(conflict_set.blocked)} cannot restore feasibility: other "
                "parts of the model stand in the way as well."
            )
        return lines

    def _unbounded_lines(self) -> list[str]:
        objective = f" ({self.objective_text})" if self.objective_text else ""
        grows = "decreases" if self.objective_text.startswith("minimize") else "grows"
        lines = [f"The model is unbounded: the objective{objective} {grows} without limit."]
        if not self.unbounded:
            return lines
        grouped: dict[str, list[RunOff]] = {}
        for run in self.unbounded:
            grouped.setdefault(run.name, []).append(run)
        parts = []
        for name, runs in grouped.items():
            verbs = sorted({r.verb for r in runs})
            coefficients = sorted(
                {_signed(r.objective_coefficient) for r in runs if r.objective_coefficient}
            )
            info = f" (objective coefficient {', '.join(coefficients)})" if coefficients else ""
            labels = [r.label for r in runs]
            who = name if labels == [name] else f"{name} at {_listing(labels)}"
            parts.append(f"{who} {' or '.join(verbs)}{info}")
        box = format_number(self.box) if self.box is not None else "a large bound"
        lines.append(
            f"With every unbounded variable boxed to +/-{box}, these ran to the box: "
            f"{'; '.join(parts)}."
        )
        lines.append(f"Nothing in the model stops them: {self._limits_text(grouped)}.")
        lines.append(
            "Add the missing capacity, resource or demand constraint, or a bound on "
            f"{_and(list(grouped))}, and check the objective's sense (maximize vs minimize) "
            "and the signs of its coefficients."
        )
        return lines

    def _limits_text(self, grouped: dict[str, list[RunOff]]) -> str:
        constrained = [n for n, runs in grouped.items() if any(r.constraints for r in runs)]
        loose = [n for n in grouped if n not in constrained]
        pieces = []
        if constrained:
            names = list(
                dict.fromkeys(c for n in constrained for r in grouped[n] for c in r.constraints)
            )
            texts = [
                f"{c} ({self.constraint_texts[c]})" if c in self.constraint_texts else c
                for c in names
            ]
            verb = "appears" if len(constrained) == 1 else "appear"
            which = "which does" if len(names) == 1 else "which do"
            pieces.append(
                f"{_and(constrained)} {verb} only in {_listing(texts)}, {which} not limit "
                "this direction"
            )
        if loose:
            verb = "appears" if len(loose) == 1 else "appear"
            pieces.append(f"{_and(loose)} {verb} in no constraint")
        return "; ".join(pieces)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready summary including the feedback text."""
        payload = asdict(self)
        payload.pop("instance_counts")
        payload.pop("constraint_texts")
        payload["feedback"] = self.feedback()
        return payload
