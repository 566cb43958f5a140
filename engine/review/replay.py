"""Replay: what a new rule file does to real households.

Both versions of a rule file are evaluated (:meth:`xiangyue.Village.replay`) on the same
records and household register for the same period. For each household: the old total, the new
total and the change; who enters or leaves the red and black boards (computed by
:mod:`xiangyue.points.boards`, never by a second board algorithm here); and the distribution of the
change (how many gain, lose, stay the same; the sum of the changes).

Records are read once per version, with that version's fields (a version that adds a field can
read a column the old one does not know); a table that one version cannot read makes the
replay impossible (exit 2), as for ``xiangyue evaluate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xiangyue.points.results import Evaluation
from xiangyue.periods import Period

__all__ = ["HouseholdImpact", "Impact", "compare", "compare_evaluations"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class HouseholdImpact:
    household: str
    old: Decimal
    new: Decimal
    head: str | None = None
    old_vetoed: bool = False
    new_vetoed: bool = False
    #: (base, earned, deducted) under each version; total = base + earned + deducted
    old_parts: tuple[Decimal, Decimal, Decimal] = (ZERO, ZERO, ZERO)
    new_parts: tuple[Decimal, Decimal, Decimal] = (ZERO, ZERO, ZERO)

    @property
    def delta(self) -> Decimal:
        return self.new - self.old

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"household": self.household, "old": self.old, "new": self.new,
                               "delta": self.delta}
        for side, parts in (("old", self.old_parts), ("new", self.new_parts)):
            out[f"{side}_base"], out[f"{side}_earned"], out[f"{side}_deducted"] = parts
        if self.head is not None:
            out["head"] = self.head
        if self.old_vetoed or self.new_vetoed:
            out["old_vetoed"] = self.old_vetoed
            out["new_vetoed"] = self.new_vetoed
        return out


@dataclass
class Impact:
    """The replay of one period under both versions."""

    period: Period
    households: list[HouseholdImpact]
    boards: dict[str, Any] | None  # red/black: old, new, entered, left (see board_changes)
    old_eval: Evaluation | None = field(default=None, repr=False)
    new_eval: Evaluation | None = field(default=None, repr=False)

    @property
    def changed(self) -> list[HouseholdImpact]:
        return [h for h in self.households if h.delta != 0]

    def summary(self) -> dict[str, Any]:
        deltas = [h.delta for h in self.households]
        return {
            "households": len(deltas),
            "gain": sum(1 for d in deltas if d > 0),
            "lose": sum(1 for d in deltas if d < 0),
            "same": sum(1 for d in deltas if d == 0),
            "sum_delta": sum(deltas, ZERO),
            "old_total": sum((h.old for h in self.households), ZERO),
            "new_total": sum((h.new for h in self.households), ZERO),
            "largest_gain": max((d for d in deltas if d > 0), default=ZERO),
            "largest_loss": min((d for d in deltas if d < 0), default=ZERO),
        }

    def to_json(self) -> dict[str, Any]:
        return {"period": self.period.key,
                "households": [h.to_json() for h in self.households],
                "boards": self.boards,
                "summary": self.summary()}


def compare_evaluations(old: Evaluation, new: Evaluation) -> list[HouseholdImpact]:
    """Per household (old register order, then households only the new run has), with
    ``unit: person`` results summed per household."""
    none = (ZERO, False, None, (ZERO, ZERO, ZERO))

    def totals(ev: Evaluation) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for r in ev.results:
            t, v, head, (ba, ea, de) = out.get(r.household, (ZERO, False, r.head, none[3]))
            out[r.household] = (t + r.total, v or r.vetoed, head or r.head,
                                (ba + r.base, ea + r.earned, de + r.deducted))
        return out

    a, b = totals(old), totals(new)
    order = list(a) + [h for h in b if h not in a]
    rows = []
    for h in order:
        ot, ov, oh, op = a.get(h, none)
        nt, nv, nh, np_ = b.get(h, none)
        rows.append(HouseholdImpact(h, ot, nt, oh or nh, ov, nv, op, np_))
    return rows


def _boards(old: Evaluation, new: Evaluation, before: tuple[Any, Any] = (None, None)) -> dict[str, Any]:
    """Who enters and leaves each board (the boards of :mod:`xiangyue.points.boards`);
    ``before``: each version's evaluation of the previous period (progress boards)."""
    from xiangyue.points.boards import compute_boards

    def listed(ev: Evaluation, prev: Any) -> dict[str, list[str]]:
        b = compute_boards(ev, previous=prev)
        out = {"red": [e.household for e in b.red], "black": [e.household for e in b.black]}
        if b.progress is not None:
            out["progress"] = [e.household for e in b.progress]
        return out

    return board_changes(listed(old, before[0]), listed(new, before[1]))


def board_changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    """``{"red": {"old": [...], "new": [...], "entered": [...], "left": [...]}, "black": ...}``
    from the households listed on each board before and after."""
    out: dict[str, Any] = {}
    for board in ("red", "black", "progress"):
        if board == "progress" and board not in before and board not in after:
            continue
        a, b = list(before.get(board, [])), list(after.get(board, []))
        out[board] = {"old": a, "new": b, "entered": [h for h in b if h not in a],
                      "left": [h for h in a if h not in b]}
    return out


def compare(period: Period, old: Evaluation, new: Evaluation,
            before: tuple[Any, Any] = (None, None)) -> Impact:
    """The impact of a rule change: two evaluations of ``period`` on the same records (by
    the old and the new rule file, :meth:`xiangyue.Village.replay`) household by household;
    ``before``: each version's evaluation of the previous period (progress boards)."""
    return Impact(period, compare_evaluations(old, new), _boards(old, new, before), old, new)
