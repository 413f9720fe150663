"""Explain an infeasible model: conflicting constraints and the least change that resolves them.

The steps, each skipped when the budget does not allow it:

1. data-only constraints that are false (found by the analysis, no solve needed);
2. a deletion filter over the named groups (each constraint, each variable's lower bounds,
   upper bounds and integrality), so that a conflict is first told in the formulation's
   own terms;
3. within the groups kept, for linear constraints whose continuous relaxation is
   infeasible, HiGHS's irreducible infeasible subset; then a deletion filter over single
   instances (which also checks HiGHS's answer) while the subset is small;
4. elastic relaxations: per group of a conflict (the least change of that group alone),
   and of the whole model (every constraint and declared bound may give), which is all a
   model too slow for the filters gets.

Up to `MAX_CONFLICTS` independent conflicts are found by setting the rows of each found
conflict aside and testing the rest again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.solvers_backend.diagnosis.elements import (
    Element,
    GroupId,
    ModelView,
    format_number,
    render_body,
)
from optiagent.solvers_backend.diagnosis.engines import Budget, ElasticResult, Engine
from optiagent.solvers_backend.diagnosis.report import (
    Change,
    Conflict,
    ConflictSet,
    Diagnosis,
    DiagnosisMethod,
    Repair,
)

__all__ = ["MAX_CONFLICTS", "diagnose_infeasible"]

MAX_CONFLICTS = 3
INSTANCE_FILTER_LIMIT = 150
"""Above this many elements, a conflict is reported at the level of named groups."""
IIS_LIMIT = 2000
"""HiGHS is asked for an IIS only below this many elements: highspy 1.14's getIis does not
honour the time limit (4.8 s with a 1 s limit on 120 rows and 3,600 bounded columns)."""


@dataclass
class _Found:
    elements: frozenset[Element]
    irreducible: bool  # no single element can be dropped
    groups_irreducible: bool  # no named group can be dropped as a whole
    method: DiagnosisMethod


def _deletion_filter(
    engine: Engine, units: list[frozenset[Element]]
) -> tuple[list[frozenset[Element]], bool]:
    """Drop every unit whose removal keeps the rest infeasible; (kept units, complete?)."""
    kept = list(units)
    complete = True
    for unit in units:
        trial = frozenset().union(*(u for u in kept if u is not unit))
        answer = engine.feasible(trial)
        if answer is False:
            kept = [u for u in kept if u is not unit]
        elif answer is None:
            complete = False
    return kept, complete


def _find_conflict(
    view: ModelView,
    engine: Engine,
    affordable: Callable[[int], bool],
    active: frozenset[Element],
    *,
    use_iis: bool,
) -> _Found | None:
    """One infeasible subset of `active`, as small as the budget allows.

    The named groups are filtered first: a conflict explained by whole constraints is what
    a modeler recognises, and it leaves a small model for the finer steps. Within the kept
    groups, HiGHS's IIS (linear models) or the deletion filter over instances follows.
    """
    seed = active
    groups_complete = False
    method: DiagnosisMethod = "deletion_filter"
    groups = [frozenset(g) for g in view.groups(active).values()]
    if len(groups) > 1:
        if affordable(len(groups)):
            kept, groups_complete = _deletion_filter(engine, groups)
            seed = frozenset().union(*kept)
            if not seed:
                return None
        elif not use_iis:
            return None
    else:
        groups_complete = True
    complete = False
    # getIis solves about one LP per four rows of the subset (4.85 s for 300 rows where one
    # warm solve took 0.06 s) and does not honour a time limit: ask only when affordable
    if use_iis and len(seed) <= IIS_LIMIT and affordable(len(seed) // 4):
        candidate = engine.iis(seed)
        if candidate is not None and engine.feasible(candidate) is False:
            # HiGHS's irreducible strategy claims irreducibility; the filter below checks it
            seed, method, complete = candidate, "iis", True
    if len(seed) <= INSTANCE_FILTER_LIMIT and affordable(len(seed)):
        units = [frozenset([e]) for e in view.ordered(seed)]
        kept, complete = _deletion_filter(engine, units)
        seed = frozenset().union(*kept)
    if not (complete or groups_complete) and seed == active:
        return None  # nothing was learned (the budget ran out)
    return _Found(seed, complete, groups_complete or complete, method)


def _conflict(view: ModelView, element: Element, relax_by: float | None = None) -> Conflict:
    kind, index = element
    if kind == "row":
        row = view.rows[index]
        relation = row.relation
        if relation is None:
            return Conflict(
                "constraint", row.name, row.label, row.written, "global", None, row.label
            )
        sense = relation.sense
        bound = relation.upper if relation.upper is not None else relation.lower
        return Conflict(
            "constraint",
            row.name,
            row.label,
            row.written,
            sense,
            bound,
            row.instance_text(by_label=False),
            relax_by,
        )
    column = view.columns[index]
    if kind == "integer":
        detail = f"domain {column.domain.value}"
        return Conflict(
            "integrality",
            column.name,
            column.label,
            f"{column.label} integer",
            "integer",
            None,
            detail,
        )
    if kind == "lower":
        bound = column.lower
        text = f"{column.label} >= {format_number(bound or 0.0)}"
        return Conflict(
            "lower_bound",
            column.name,
            column.label,
            text,
            ">=",
            bound,
            column.lower_source,
            relax_by,
        )
    bound = column.upper
    text = f"{column.label} <= {format_number(bound or 0.0)}"
    return Conflict(
        "upper_bound", column.name, column.label, text, "<=", bound, column.upper_source, relax_by
    )


def _change(view: ModelView, element: Element, amount: float, side: str) -> Change:
    kind, index = element
    if kind == "row":
        row = view.rows[index]
        relation = row.relation
        assert relation is not None
        old = relation.lower if side == "lower" else relation.upper
        assert old is not None
        new = old - amount if side == "lower" else old + amount
        equality = relation.lower is not None and relation.lower == relation.upper
        if old == 0 and render_body(relation.body) is None:
            # variables on both sides (body = left - right): a bound of 0 means nothing to
            # the reader, so say how far the sides may be apart
            how = {
                "upper": "its left side may exceed its right side",
                "lower": "its left side may fall short of its right side",
            }[side]
            if equality:
                how = "its two sides may differ"
            text = f"{row.label}: {how} by {format_number(amount)}"
        elif equality:
            text = f"{row.instance_text(new, new)} instead of == {format_number(old)}"
        elif relation.lower is not None and relation.upper is not None:
            which = "lower" if side == "lower" else "upper"
            text = f"{row.label}: {which} end {format_number(new)} instead of {format_number(old)}"
        elif side == "lower":
            text = f"{row.instance_text(new, None)} instead of >= {format_number(old)}"
        else:
            text = f"{row.instance_text(None, new)} instead of <= {format_number(old)}"
        return Change(row.label, side, old, new, amount, text)  # type: ignore[arg-type]
    column = view.columns[index]
    old = column.lower if kind == "lower" else column.upper
    assert old is not None
    new = old - amount if kind == "lower" else old + amount
    sense = ">=" if kind == "lower" else "<="
    text = f"{column.label} {sense} {format_number(new)} instead of {sense} {format_number(old)}"
    return Change(column.label, kind, old, new, amount, text)  # type: ignore[arg-type]


def _repair_from(
    view: ModelView, group: GroupId, result: ElasticResult, fixes_model: bool
) -> Repair:
    kind = {"constraint": "constraint", "lower": "lower_bound", "upper": "upper_bound"}[group[0]]
    ordered = sorted(result.amounts.items(), key=lambda item: -item[1][0])
    changes = tuple(_change(view, element, amount, side) for element, (amount, side) in ordered)
    domain = ""
    if kind != "constraint":
        columns = [view.columns[index] for (_, index), _ in ordered]
        sources = [c.lower_source if kind == "lower_bound" else c.upper_source for c in columns]
        if sources and all(source.startswith("domain") for source in sources):
            domain = columns[0].domain.value  # the bound is the domain's, not a declared one
    return Repair(kind, group[1], result.total, changes, fixes_model, domain)  # type: ignore[arg-type]


def _group_text(view: ModelView, group: GroupId) -> str:
    kind, name = group
    if kind == "constraint":
        return name
    if kind == "integer":
        return f"the whole-number requirement on {name}"
    plural = "s" if len(view.group_elements(group)) > 1 else ""
    return f"the {kind} bound{plural} of {name}"


def _repairs(
    view: ModelView,
    engine: Engine,
    found: frozenset[Element],
    everything: frozenset[Element],
    several: bool,
    whole_model: dict[GroupId, ElasticResult | None],
) -> tuple[list[Repair], list[str]]:
    """Single-group changes that restore feasibility, and the groups no change of which can.

    `whole_model` caches each group's elastic result in the whole model across conflicts.
    """
    repairs: list[Repair] = []
    blocked: list[str] = []
    for group, members in view.groups(found).items():
        whole_group = frozenset(view.group_elements(group))
        if group[0] == "integer":
            domain = view.columns[members[0][1]].domain.value
            if engine.feasible(everything - whole_group):
                repairs.append(Repair("integrality", group[1], 0.0, domain=domain))
            elif several and engine.feasible(found - whole_group):
                repairs.append(Repair("integrality", group[1], 0.0, (), False, domain))
            else:
                blocked.append(_group_text(view, group))
            continue
        if not engine.supports_elastic:
            continue
        if group not in whole_model:
            whole_model[group] = engine.elastic(everything, whole_group)
        result = whole_model[group]
        fixes_model = True
        if result is not None and not result.feasible and several:
            # other conflicts remain: measure the change needed for this one alone
            result = engine.elastic(found | whole_group, whole_group)
            fixes_model = False
        if result is None:
            continue
        if result.feasible and result.amounts:
            repairs.append(_repair_from(view, group, result, fixes_model))
        elif not result.feasible:
            blocked.append(_group_text(view, group))
    order = {"constraint": 0, "lower_bound": 1, "upper_bound": 1, "integrality": 2}
    repairs.sort(key=lambda r: (not r.fixes_model, order[r.kind]))
    return repairs, blocked


def _elastic_relaxable(view: ModelView, everything: frozenset[Element]) -> frozenset[Element]:
    """Rows and declared bounds; domain bounds (x >= 0 of a nonnegative variable) stay hard."""
    relaxable = set()
    for kind, index in everything:
        column = view.columns[index] if kind != "row" else None
        source = {"lower": column.lower_source, "upper": column.upper_source} if column else {}
        if kind == "row" or source.get(kind, "").startswith("declared"):
            relaxable.add((kind, index))
    return frozenset(relaxable)


def _trivial_conflicts(checked: CheckedFormulation) -> list[ConflictSet]:
    definitions = sorted(checked.formulation.constraints, key=lambda c: -len(c.name))
    sets = []
    for message in checked.analysis.trivially_false:
        definition = next(
            (d for d in definitions if message.startswith((f"{d.name}[", f"{d.name} "))), None
        )
        name = definition.name if definition else message.split(" ", 1)[0]
        label, _, rest = message.partition(" ")
        text = definition.expression if definition else ""
        detail = f"{label} ({text}) {rest}" if text else message
        member = Conflict("data", name, label, text, "", None, detail)
        sets.append(ConflictSet([member], irreducible=True))
    return sets


def diagnose_infeasible(
    view: ModelView,
    engine: Engine | None,
    budget: Budget,
    *,
    status_note: str = "",
    problem: str = "",
) -> Diagnosis:
    """The conflicts of an infeasible model, found within `budget`.

    `engine` None means no solver could be set up (`problem` says why): only data-only
    conflicts are reported then.
    """
    checked = view.checked
    diagnosis = Diagnosis(kind="infeasible", method="none", status_note=status_note)
    if problem:
        diagnosis.notes.append(problem)
    diagnosis.instance_counts = _instance_counts(view)
    diagnosis.conflict_sets = _trivial_conflicts(checked)
    if diagnosis.conflict_sets:
        diagnosis.method = "trivial"
    if engine is None:
        return diagnosis
    everything = view.elements()
    started = time.perf_counter()
    whole = engine.feasible(everything)
    first_solve = time.perf_counter() - started
    if whole is True:
        if not diagnosis.conflict_sets:
            diagnosis.notes.append(
                "A re-solve without the objective found a feasible point, so the reported "
                "infeasibility may be numerical: look for very large or very small "
                "coefficients, or tighten the data's precision."
            )
        return _finish(diagnosis, budget)
    if whole is None:
        diagnosis.notes.append(
            "The diagnosis could not re-solve the model within its time limit; no conflict "
            "was isolated."
        )
        return _finish(diagnosis, budget)
    integers = frozenset(e for e in everything if e[0] == "integer")
    relaxation_infeasible = True
    if integers and not view.has_globals:
        relaxed = engine.feasible(everything - integers)
        diagnosis.integrality_involved = relaxed is True
        relaxation_infeasible = relaxed is False

    def affordable(solves: int) -> bool:
        # on a large model keep the time for the elastic relaxation, which answers
        # "what must give" in one solve
        return first_solve * (solves + 2) < 0.5 * budget.remaining

    found_sets: list[_Found] = []
    excluded: frozenset[Element] = frozenset()
    while len(found_sets) < MAX_CONFLICTS:
        active = everything - excluded
        if found_sets:
            if engine.feasible(active) is not False:
                break
            if integers:
                relaxation_infeasible = engine.feasible(active - integers) is False
        found = _find_conflict(view, engine, affordable, active, use_iis=relaxation_infeasible)
        if found is None:
            break
        found_sets.append(found)
        # set the conflict's rows aside (its bounds only if it has no row) and look again
        rows = frozenset(e for e in found.elements if e[0] == "row")
        excluded = excluded | (rows or found.elements)
    several = len(found_sets) > 1
    whole_model: dict[GroupId, ElasticResult | None] = {}
    for found in found_sets:
        ordered = view.ordered(found.elements)
        # constraints first: they are what the reader looks for
        members = [_conflict(view, e) for e in ordered if e[0] == "row"]
        members += [_conflict(view, e) for e in ordered if e[0] != "row"]
        repairs, blocked = _repairs(view, engine, found.elements, everything, several, whole_model)
        diagnosis.conflict_sets.append(
            ConflictSet(members, found.irreducible, repairs, blocked, found.groups_irreducible)
        )
    if found_sets:
        methods = {f.method for f in found_sets}
        diagnosis.method = "iis" if methods == {"iis"} else "deletion_filter"
    elif budget.exhausted:
        diagnosis.notes.append(
            f"The diagnosis used up its budget ({budget.solves} "
            f"solve{'' if budget.solves == 1 else 's'}, "
            f"{budget.elapsed:.1f} s) before it could isolate a conflict."
        )
    elif not affordable(len(view.groups(everything))):
        diagnosis.notes.append(
            "The model is too large for a search of conflicting constraints within the time "
            "limit; the least total relaxation shows what must give instead."
        )
    if engine.supports_elastic:
        result = engine.elastic(everything, _elastic_relaxable(view, everything))
        if result is not None and result.feasible:
            diagnosis.elastic = [
                replace(
                    _conflict(view, element, amount),
                    detail=_change(view, element, amount, side).text,
                )
                for element, (amount, side) in sorted(
                    result.amounts.items(), key=lambda item: -item[1][0]
                )
            ]
            diagnosis.elastic_total = result.total
            if not found_sets:
                diagnosis.method = "elastic"
            if not result.optimal:
                diagnosis.notes.append(
                    "The elastic relaxation stopped at its time limit: its amounts may not be "
                    "the smallest."
                )
        elif result is not None and not diagnosis.conflict_sets:
            diagnosis.notes.append(
                "Even relaxing every constraint and declared bound does not make the model "
                "feasible: the conflict lies in the variables' domains (nonnegativity, "
                "integrality)."
            )
    else:
        diagnosis.notes.append(
            "Variable bounds and domains were kept in force; amounts of relaxation are not "
            "measured for models with global constraints."
        )
    return _finish(diagnosis, budget)


def _instance_counts(view: ModelView) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in view.rows:
        counts[("constraint", row.name)] = counts.get(("constraint", row.name), 0) + 1
    for column in view.columns:
        for kind, present in (
            ("lower_bound", column.lower is not None),
            ("upper_bound", column.upper is not None),
            ("integrality", column.integral),
        ):
            if present:
                counts[(kind, column.name)] = counts.get((kind, column.name), 0) + 1
    return counts


def _finish(diagnosis: Diagnosis, budget: Budget) -> Diagnosis:
    diagnosis.solves = budget.solves
    diagnosis.elapsed_s = budget.elapsed
    return diagnosis
