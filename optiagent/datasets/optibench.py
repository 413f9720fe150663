"""Which `results` entry is OptiBench's objective, for the 18 records where it is not the last.

OptiBench (`ReSocratic/OptiBench.json`) stores each answer as a dict of requested quantities,
the objective usually last. The data folder's `optibench/PROVENANCE.md` lists, checked by hand,
the records where that is not so; this module encodes that list (key names, never values) so
the loader reads the objective from the right entry. The loader checks every named key exists,
so a changed file fails loudly instead of being scored against a variable value.
"""

from __future__ import annotations

__all__ = ["FOREIGN_KEYS", "LAST_KEY_NOT_OBJECTIVE", "NO_OBJECTIVE", "OBJECTIVE_KEYS"]

_FIRE_STATIONS = "The optimal number of fire stations to be built is"
_WEEKLY_COST = "The weekly cost of meeting demand is"
_WORKERS = "The minimum number of workers needed is"

#: Records whose objective is an earlier key than the last (original 0-based `index` -> key).
OBJECTIVE_KEYS: dict[int, str] = {
    4: _FIRE_STATIONS,
    20: _FIRE_STATIONS,
    476: _FIRE_STATIONS,
    490: _FIRE_STATIONS,
    78: _WEEKLY_COST,
    97: _WEEKLY_COST,
    321: _WEEKLY_COST,
    82: _WORKERS,
    289: _WORKERS,
    49: "The number of taxi rides",
    493: "The number of vans used",
    # total workers = technicians + researchers = 13 + 0: the first key carries the optimum
    545: "The number of ultrasound technicians",
    423: "The total number of refills per hour",
}

#: Records whose `results` list variable values only: no objective to compare with.
NO_OBJECTIVE: frozenset[int] = frozenset({33, 42, 164, 387, 583})

#: Entries that belong to another problem (record 423 carries a fish-transport problem's keys).
FOREIGN_KEYS: dict[int, tuple[str, ...]] = {
    423: (
        "The number of sled dog trips",
        "The number of truck trips",
        "The number of fish transported",
    ),
}

#: Every record where "last key = objective" (LLMOPT's and SIRL's assumption) is wrong.
LAST_KEY_NOT_OBJECTIVE: frozenset[int] = frozenset(OBJECTIVE_KEYS) | NO_OBJECTIVE
