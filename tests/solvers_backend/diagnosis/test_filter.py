"""The search for conflicts against a planted oracle, and the pieces of the feedback text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.polynomial import Nonlinear, Poly
from optiagent.solvers_backend.diagnosis.elements import (
    Element,
    ModelView,
    format_number,
    render_body,
)
from optiagent.solvers_backend.diagnosis.engines import Budget, ElasticResult
from optiagent.solvers_backend.diagnosis.infeasible import diagnose_infeasible
from optiagent.solvers_backend.diagnosis.report import Change, Repair

Model = Callable[[dict[str, Any] | str], CheckedFormulation]


class PlantedEngine:
    """Infeasible exactly when one of the planted element sets is active; None after `limit`."""

    supports_elastic = False

    def __init__(
        self, view: ModelView, conflicts: list[frozenset[Element]], limit: int | None = None
    ) -> None:
        self.view = view
        self.conflicts = conflicts
        self.limit = limit
        self.calls = 0

    def feasible(self, active: frozenset[Element]) -> bool | None:
        self.calls += 1
        if self.limit is not None and self.calls > self.limit:
            return None
        return not any(conflict <= active for conflict in self.conflicts)

    def elastic(
        self, active: frozenset[Element], relaxable: frozenset[Element]
    ) -> ElasticResult | None:
        return None

    def iis(self, active: frozenset[Element]) -> frozenset[Element] | None:
        return None


def _row(view: ModelView, label: str) -> Element:
    return ("row", next(i for i, r in enumerate(view.rows) if r.label == label))


def _lower(view: ModelView, label: str) -> Element:
    return ("lower", next(j for j, c in enumerate(view.columns) if c.label == label))


def test_the_filter_finds_a_planted_conflict_down_to_its_instances(
    short_transport: CheckedFormulation,
) -> None:
    view = ModelView.of(short_transport)
    planted = frozenset(
        {
            _row(view, "meet_demand[chicago]"),
            _row(view, "meet_demand[topeka]"),
            _row(view, "supply_limit[seattle]"),
            _lower(view, "ship[seattle,chicago]"),
        }
    )
    engine = PlantedEngine(view, [planted])
    diagnosis = diagnose_infeasible(view, engine, Budget(10, 500))
    (conflict,) = diagnosis.conflict_sets
    assert conflict.irreducible
    assert {m.label for m in conflict.members} == {
        "meet_demand[chicago]",
        "meet_demand[topeka]",
        "supply_limit[seattle]",
        "ship[seattle,chicago]",
    }
    assert diagnosis.method == "deletion_filter"
    text = diagnosis.feedback()
    assert "constraint meet_demand (" in text and "2 of 3: meet_demand[chicago] (>= 300)" in text
    assert (
        "the lower bounds of ship (domain nonnegative_real), 1 of 6: ship[seattle,chicago] >= 0"
        in text
    )


def test_two_disjoint_planted_conflicts_are_both_found(short_transport: CheckedFormulation) -> None:
    view = ModelView.of(short_transport)
    first = frozenset({_row(view, "supply_limit[seattle]"), _row(view, "meet_demand[chicago]")})
    second = frozenset({_row(view, "supply_limit[san-diego]"), _row(view, "meet_demand[topeka]")})
    diagnosis = diagnose_infeasible(view, PlantedEngine(view, [first, second]), Budget(10, 500))
    found = [frozenset(m.label for m in s.members) for s in diagnosis.conflict_sets]
    assert sorted(found, key=sorted) == sorted(
        [
            frozenset({"supply_limit[seattle]", "meet_demand[chicago]"}),
            frozenset({"supply_limit[san-diego]", "meet_demand[topeka]"}),
        ],
        key=sorted,
    )


def test_unknown_answers_keep_parts_and_withdraw_the_irreducibility_claim(
    short_transport: CheckedFormulation,
) -> None:
    view = ModelView.of(short_transport)
    planted = frozenset({_row(view, "supply_limit[seattle]"), _row(view, "meet_demand[chicago]")})
    # enough answers for the first tests of the group filter, then "unknown"
    diagnosis = diagnose_infeasible(view, PlantedEngine(view, [planted], limit=4), Budget(10, 500))
    (conflict,) = diagnosis.conflict_sets
    assert not conflict.irreducible
    assert {"supply_limit[seattle]", "meet_demand[chicago]"} <= {m.label for m in conflict.members}


def test_numbers_and_bodies_are_written_as_a_person_would() -> None:
    assert format_number(5.0) == "5"
    assert format_number(-2.0) == "-2"
    assert format_number(1 / 3) == "0.333333"
    x, y = ("x", ()), ("y", ("a",))
    assert render_body(Poly({(x,): 1.0, (y,): -2.0, (): 3.0})) == "x - 2*y[a] + 3"
    assert render_body(Poly({(x, y): 0.5})) == "0.5*x*y[a]"
    assert render_body(Poly({(("v", (i,)),): 1.0 for i in range(7)})) is None
    assert render_body(Nonlinear([x], ["exp"])) is None


def test_repairs_of_bounds_say_whether_the_bound_is_declared_or_the_domains() -> None:
    change = Change("take[b]", "upper", 1.0, 2.0, 1.0, "take[b] <= 2 instead of <= 1")
    declared = Repair("upper_bound", "take", 1.0, (change,))
    from_domain = Repair("upper_bound", "take", 1.0, (change,), domain="binary")
    assert (
        declared.describe() == "raise the upper bound of take by 1 (take[b] <= 2 instead of <= 1)"
    )
    assert from_domain.describe() == (
        "let take exceed the upper bound of its domain binary by 1 (take[b] <= 2 instead of <= 1)"
    )
    partial = Repair("constraint", "cap", 3.0, (change,), fixes_model=False)
    assert partial.describe().endswith("which resolves this conflict only")


class _Clock:
    """A stand-in for the time module: time passes only when the engine solves."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class SlowElasticEngine(PlantedEngine):
    """Each solve takes `seconds` on the fake clock; the elastic model names one instance."""

    supports_elastic = True

    def __init__(self, view: ModelView, conflicts: list[frozenset[Element]], clock: _Clock) -> None:
        super().__init__(view, conflicts)
        self.clock = clock

    def feasible(self, active: frozenset[Element]) -> bool | None:
        self.clock.now += 5.0
        return super().feasible(active)

    def elastic(
        self, active: frozenset[Element], relaxable: frozenset[Element]
    ) -> ElasticResult | None:
        self.clock.now += 5.0
        element = _row(self.view, "meet_demand[chicago]")
        return ElasticResult({element: (50.0, "lower")}, 50.0, optimal=True)


def test_a_model_too_slow_to_filter_gets_the_elastic_relaxation_only(
    short_transport: CheckedFormulation, monkeypatch: Any
) -> None:
    from optiagent.solvers_backend.diagnosis import engines, infeasible

    clock = _Clock()
    monkeypatch.setattr(engines, "time", clock)
    monkeypatch.setattr(infeasible, "time", clock)
    view = ModelView.of(short_transport)
    planted = frozenset({_row(view, "supply_limit[seattle]"), _row(view, "meet_demand[chicago]")})
    engine = SlowElasticEngine(view, [planted], clock)
    diagnosis = diagnose_infeasible(view, engine, Budget(30, 500))
    assert diagnosis.method == "elastic" and diagnosis.conflict_sets == []
    assert engine.calls == 1  # only the first feasibility test: no filter
    text = diagnosis.feedback()
    assert "Relaxing every constraint as little as possible in total (total 50) needs: " in text
    assert "meet_demand[chicago] by 50 (meet_demand[chicago] >= 250 instead of >= 300)" in text
    assert "too large for a search of conflicting constraints" in text


def test_a_conflict_too_big_for_the_instance_filter_is_told_by_groups(model: Model) -> None:
    places = [f"n{i}" for i in range(13)]
    checked = model(
        {
            "sets": {"P": places, "M": places},
            "variables": {"ship": {"index": ["P", "M"]}},
            "objective": {"minimize": "sum(ship[p, m] for p in P for m in M)"},
            "constraints": {
                "sup": {"forall": "p in P", "expression": "sum(ship[p, m] for m in M) <= 1"},
                "dem": {"forall": "m in M", "expression": "sum(ship[p, m] for p in P) >= 2"},
                "spare": "ship['n0', 'n0'] <= 5",
            },
        }
    )
    view = ModelView.of(checked)
    planted = frozenset(e for e in view.elements() if view.group_of(e)[1] in ("sup", "dem", "ship"))
    assert len(planted) == 13 + 13 + 169
    diagnosis = diagnose_infeasible(view, PlantedEngine(view, [planted]), Budget(10, 500))
    (conflict,) = diagnosis.conflict_sets
    assert not conflict.irreducible and conflict.groups_irreducible
    assert {m.name for m in conflict.members} == {"sup", "dem", "ship"}
    assert "though not every instance listed may be needed" in diagnosis.feedback()
