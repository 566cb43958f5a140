"""红黑榜: the red board, the black board and the grid ranking of one period.

Definitions (reference page ``jingou.md``, "Boards"):

* **Red board**: households with a positive total for the period, highest first, competition
  ranking (1, 2, 2, 4); every household ranked within the board size (``boards.red``) is
  listed, so a tie at the cut-off lists all tied. A household vetoed (一票否决) is never on it
  and does not take a rank from anyone.
* **Black board**: households with a negative total, lowest first, ranked the same way within
  ``boards.black``; and every vetoed household, marked ``vetoed``. A vetoed household not
  ranked (total not negative, or ranked beyond the board size) is listed with ``rank`` None,
  after the ranked ones (lowest total first).
* **Grid ranking**: every grid of the register, ranked (competition ranking) by the average
  total of *all* its households (a household without records counts 0). Ranking uses the
  exact average (a fraction, so 1/3 is not 0.333); ``average`` shows it rounded half-up to
  2 decimals. Households with no grid are not ranked; they are listed in ``no_grid``.

Board rules (``boards:`` in the rule file, docs/format.md#boards) extend these:

* ``red: {size: 10%, min: 3, max: 20, rank_by: earned, ties: [fewer_deductions, ...]}``: the
  size may be a percentage of the households ranked for the period (every household of the
  evaluation, rounded up), kept within ``min``/``max``; ``rank_by: earned`` ranks by points
  earned (deductions left out; only households that earned points are ranked); ``ties`` names
  tie-breakers applied in order (``fewer_deductions``, ``more_records``, ``earlier_last_record``,
  ``higher_total``, ``more_earned``): households still equal on all of them share a rank. A
  household the black board lists is never on the red board (ranked by earned, a household
  can have earned points and still be below 0).
* ``black: {below: 0}``: every household whose total is below 0 (帮扶榜), lowest first, all
  listed; ``black: {size: N}`` as ``black: N``.
* ``progress``: the 进步榜, households ranked by the increase of their total over the previous
  period of the same length (2024-Q2 against 2024-Q1), size rules as for red. Only increases
  above 0 are ranked; a vetoed household is never on it; a household absent from the previous
  period's evaluation has nothing to compare with and is not ranked.

"Vetoed" is the engine's flag for the period (see :mod:`xiangyue.points.evaluate`): with the
reference rule file's ``veto: year`` a fishing offence vetoes the household in every board
of that year from the offence on.

With ``unit: person`` the boards rank households: a household's total is the sum of its
members' totals, and it is vetoed when any member is.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from operator import itemgetter
from typing import Any, Callable, Sequence, TypeVar

from xiangyue.points.results import Evaluation
from xiangyue.rules.model import BoardSpec

__all__ = ["BoardEntry", "GridEntry", "Boards", "HouseholdTotal", "compute_boards",
           "household_totals", "competition_ranks", "previous_period"]

ZERO = Decimal(0)
T = TypeVar("T")


@dataclass(frozen=True)
class HouseholdTotal:
    """One household's total for the period (members summed with ``unit: person``)."""

    household: str
    head: str | None
    grid: str | None
    total: Decimal
    vetoed: bool
    earned: Decimal = ZERO
    deducted: Decimal = ZERO
    records: int = 0
    last_date: Any = None


@dataclass(frozen=True)
class BoardEntry:
    rank: int | None
    household: str
    head: str | None
    grid: str | None
    total: Decimal
    vetoed: bool = False
    earned: Decimal | None = None  # red board ranked by points earned
    previous: Decimal | None = None  # progress board: the previous period's total
    increase: Decimal | None = None  # progress board: total - previous

    def to_json(self) -> dict[str, Any]:
        out = {"rank": self.rank, "household": self.household, "head": self.head,
               "grid": self.grid, "total": self.total, "vetoed": self.vetoed}
        for key in ("earned", "previous", "increase"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class GridEntry:
    rank: int
    grid: str
    households: int
    total: Decimal  # sum of the grid's households' totals
    average_exact: Fraction = field(compare=False)

    @property
    def average(self) -> Decimal:
        """The average, rounded half-up to 2 decimals (for display)."""
        return round_half_up(self.average_exact)

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "grid": self.grid, "average": self.average,
                "households": self.households, "total": self.total}


@dataclass
class Boards:
    """The three boards of one period, with what they were computed from."""

    period: str
    village: str
    ruleset: dict[str, Any]
    spec: BoardSpec
    red: list[BoardEntry]
    black: list[BoardEntry]
    grids: list[GridEntry]
    no_grid: list[str]
    households: list[HouseholdTotal]  # every household, register order
    progress: list[BoardEntry] | None = None  # the 进步榜 when the file defines one
    sizes: dict[str, int | None] = field(default_factory=dict)  # ranks listed per board
    previous_period: str | None = None

    def to_json(self, *, details: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "period": self.period,
            "village": self.village,
            "ruleset": dict(self.ruleset),
            "sizes": dict(self.sizes) or {"red": self.spec.red_size, "black": self.spec.black_size},
            "shown": list(self.spec.shown),
            "red": [e.to_json() for e in self.red],
            "black": [e.to_json() for e in self.black],
            "grids": [g.to_json() for g in self.grids],
            "no_grid": list(self.no_grid),
        }
        if self.progress is not None:
            out["progress"] = [e.to_json() for e in self.progress]
            out["previous_period"] = self.previous_period
        if details:
            out["households"] = [
                {"household": h.household, "head": h.head, "grid": h.grid, "total": h.total,
                 "vetoed": h.vetoed, "earned": h.earned, "deducted": h.deducted}
                for h in self.households]
        return out


def round_half_up(value: Fraction | Decimal, places: int = 2) -> Decimal:
    """``value`` rounded half-up (away from zero at .5) to ``places`` decimals, exactly."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    scaled = value * 10 ** places
    sign = -1 if scaled < 0 else 1
    q, r = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * r >= scaled.denominator:
        q += 1
    return (Decimal(sign * q).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def competition_ranks(items: Sequence[T], key: Callable[[T], Any]) -> list[tuple[int, T]]:
    """``items`` already sorted best first, each with its competition rank (1, 2, 2, 4):
    one more than the number of items strictly better."""
    out: list[tuple[int, T]] = []
    prev: Any = object()
    rank = 0
    for i, item in enumerate(items):
        k = key(item)
        if i == 0 or k != prev:
            rank = i + 1
            prev = k
        out.append((rank, item))
    return out


def household_totals(ev: Evaluation) -> list[HouseholdTotal]:
    """Each household's total and veto for the evaluated period, in the evaluation's order."""
    order: dict[str, list] = {}
    for r in ev.results:
        acc = order.get(r.household)
        if acc is None:
            order[r.household] = [r.head, r.grid, r.total, r.vetoed, r.earned, r.deducted,
                                  r.records, r.last_date]
        else:
            acc[0] = acc[0] or r.head
            acc[1] = acc[1] or r.grid
            acc[2] += r.total
            acc[3] = acc[3] or r.vetoed
            acc[4] += r.earned
            acc[5] += r.deducted
            acc[6] += r.records
            if r.last_date is not None and (acc[7] is None or r.last_date > acc[7]):
                acc[7] = r.last_date
    return [HouseholdTotal(h, *vals) for h, vals in order.items()]


def _tie_key(h: HouseholdTotal, name: str) -> Any:
    """Smaller is better."""
    if name == "fewer_deductions":
        return -h.deducted  # deducted is <= 0: closer to 0 is better
    if name == "more_records":
        return -h.records
    if name == "earlier_last_record":
        return h.last_date.toordinal() if h.last_date is not None else 0
    if name == "higher_total":
        return -h.total
    if name == "more_earned":
        return -h.earned
    raise ValueError(name)


def _ranked(pool: list[HouseholdTotal], value: Callable[[HouseholdTotal], Decimal],
            rule: Any, places: int) -> list[tuple[int, HouseholdTotal]]:
    """``pool`` ranked by ``value`` (highest first), then ``rule.ties`` in order; the
    households ranked ``places`` or better (a tie at the last rank lists all tied)."""
    ties = rule.ties
    if ties:
        keyed = [((-value(h), *[_tie_key(h, t) for t in ties]), h.household, h) for h in pool]
    else:
        if places <= 0:
            return []
        values = [value(h) for h in pool]
        if len(values) > places:  # ranked `places` or better: at least the places-th value
            cut = heapq.nlargest(places, values)[-1]
            pool = [h for h, v in zip(pool, values) if v >= cut]
        keyed = [((-value(h),), h.household, h) for h in pool]
    keyed.sort(key=_KEY_AND_HOUSEHOLD)  # households differ: the items are never compared
    return _best(keyed, places)


_KEY_AND_HOUSEHOLD = itemgetter(0, 1)


def _best(keyed: list[tuple[Any, str, HouseholdTotal]], places: int
          ) -> list[tuple[int, HouseholdTotal]]:
    """The competition ranks of ``keyed`` ((key, household, item) sorted best first) up to
    ``places`` (all tied at the last rank listed); the ones ranked beyond are not looked at."""
    out: list[tuple[int, HouseholdTotal]] = []
    prev: Any = object()
    rank = 0
    for i, (k, _, h) in enumerate(keyed):
        if i == 0 or k != prev:
            rank = i + 1
            if rank > places:
                break
            prev = k
        out.append((rank, h))
    return out


def previous_period(period: Any) -> Any:
    """The period of the same length just before ``period`` (2024-Q1 → 2023-Q4)."""
    import datetime as dt

    from xiangyue.periods import period_of

    return period_of(period.start - dt.timedelta(days=1), period.kind)


def compute_boards(ev: Evaluation, spec: BoardSpec | None = None,
                   previous: Evaluation | None = None) -> Boards:
    """The boards and grid ranking of an evaluation; ``previous`` (the evaluation of the
    previous period of the same length) gives the progress board when the file defines one."""
    spec = spec or ev.ruleset.boards
    totals = household_totals(ev)
    sizes: dict[str, int | None] = {"red": None}

    black_pool = sorted((h for h in totals if h.total < (spec.black_below if spec.black_below
                                                          is not None else 0)),
                        key=lambda h: (h.total, h.household))
    sizes["black"] = None if spec.black_below is not None else spec.black_size
    black: list[BoardEntry] = []
    listed: set[str] = set()
    for rank, h in _best([(h.total, h.household, h) for h in black_pool],
                         len(black_pool) if spec.black_below is not None else spec.black_size):
        black.append(BoardEntry(rank, h.household, h.head, h.grid, h.total, h.vetoed))
        listed.add(h.household)
    for h in sorted((h for h in totals if h.vetoed and h.household not in listed),
                    key=lambda h: (h.total, h.household)):
        black.append(BoardEntry(None, h.household, h.head, h.grid, h.total, True))

    rule = spec.red_rule
    sizes["red"] = places = rule.places(len(totals))
    by_earned = rule.rank_by == "earned"
    # never on both boards: ranked by earned, a household the black board lists is left out
    red_pool = [h for h in totals if not h.vetoed and h.household not in listed
                and (h.earned if by_earned else h.total) > 0]
    red = [BoardEntry(rank, h.household, h.head, h.grid, h.total, False,
                      earned=h.earned if by_earned else None)
           for rank, h in _ranked(red_pool, (lambda h: h.earned) if by_earned else (lambda h: h.total),
                                  rule, places)]

    by_grid: dict[str, list[HouseholdTotal]] = {}
    no_grid: list[str] = []
    for h in totals:
        if h.grid is None or str(h.grid).strip() == "":
            no_grid.append(h.household)
        else:
            by_grid.setdefault(str(h.grid), []).append(h)
    stats = []
    for g, members in by_grid.items():
        s = sum((m.total for m in members), ZERO)
        stats.append((g, len(members), s, Fraction(s) / len(members)))
    stats.sort(key=lambda x: (-x[3], _natural(x[0])))
    grids = [GridEntry(rank, g, count, s, avg)
             for rank, (g, count, s, avg) in competition_ranks(stats, lambda x: x[3])]

    progress = None
    prev_key = None
    if spec.progress is not None and previous is not None:
        prev_key = previous.period.key
        before = {h.household: h.total for h in household_totals(previous)}
        rule = spec.progress
        sizes["progress"] = places = rule.places(len(totals))
        gain = {h.household: h.total - before[h.household] for h in totals if h.household in before}
        pool = [h for h in totals if not h.vetoed and gain.get(h.household, ZERO) > 0]
        progress = [BoardEntry(rank, h.household, h.head, h.grid, h.total, False,
                               previous=before[h.household], increase=gain[h.household])
                    for rank, h in _ranked(pool, lambda h: gain[h.household], rule, places)]

    rs = ev.ruleset
    raw = rs.raw or {}
    return Boards(period=ev.period.key, village=rs.village,
                  ruleset={"name": rs.name, "version": rs.version, "sha256": rs.sha256,
                           "town": raw.get("town"), "county": raw.get("county")},
                  spec=spec, red=red, black=black, grids=grids, no_grid=no_grid,
                  households=totals, progress=progress, sizes=sizes, previous_period=prev_key)


def _natural(text: str) -> tuple:
    """Sort key that puts 第2网格 before 第10网格."""
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))
