"""What an evaluation gives, whichever evaluator computed it: ledger entries, the records a
report lists, one result per household (or person), and the :class:`Evaluation` holding them.

Both evaluators (:mod:`xiangyue.points.reference` and :mod:`xiangyue.points.columnar`) build
these, and :func:`build_results` turns their per-unit sums into results the same way (base
points, vetoes overlapping the period, every register household listed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from xiangyue.errors import Diagnostic
from xiangyue.periods import Period, overlapping_keys, period_of, period_starts
from xiangyue.rules.model import Ruleset

ZERO = Decimal(0)
BASE_RULE = "base"
#: The key under which a record read from a table carries why it cannot be scored (a
#: :class:`Diagnostic`, e.g. a value outside its field's allowed values). Both evaluators
#: set such a record aside as invalid.
INVALID = "_invalid"



@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One (record, rule) that applied, or one base-points grant (``record_id`` None).

    ``reasons`` explain every difference between ``raw`` and ``awarded``: dicts with
    ``limit`` (cap, deduction_cap, category_cap, category_deduction_cap — the file's ``limit``
    and ``deduction_limit`` of the rule and of its category —, once, highest_only), ``per``,
    ``period`` and the numbers (``max``, ``used``, ``left`` for a points limit; ``times`` and
    ``used`` for a count limit; ``first`` for once; ``highest`` for highest_only).
    ``step`` says which occurrence an escalation counted (``{"per", "period", "n"}``).
    """

    record_id: str | None
    household: str
    date: dt.date
    rule: str
    rule_name: str
    category: str | None
    raw: Decimal
    awarded: Decimal
    reasons: tuple[dict[str, Any], ...] = ()
    position: str = ""  # rule's file:line
    file: str | None = None  # source table of the record
    row: int | None = None  # row of the record in that table
    person: str | None = None
    record: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    step: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_id": self.record_id,
            "household": self.household,
        }
        if self.person is not None:
            out["person"] = self.person
        out.update(
            {
                "date": self.date.isoformat(),
                "rule": self.rule,
                "rule_name": self.rule_name,
                "category": self.category,
                "raw": self.raw,
                "awarded": self.awarded,
                "reasons": [dict(r) for r in self.reasons],
                "position": self.position,
                "file": self.file,
                "row": self.row,
            }
        )
        if self.step is not None:
            out["step"] = dict(self.step)
        return out


@dataclass(frozen=True, slots=True)
class RecordIssue:
    """A record listed for the clerk: unmatched, not covered, invalid, unknown household,
    pending (fails the file's ``counted_when``)."""

    kind: str  # unmatched | not_covered | invalid | unknown_household | pending
    record_id: str | None
    household: str | None
    date: dt.date | None
    activity: Any = None
    file: str | None = None
    row: int | None = None
    rule: str | None = None  # invalid: the rule that could not be computed
    diagnostic: Diagnostic | None = None
    reason: str | None = None  # pending: the condition the record fails

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_id": self.record_id,
            "household": self.household,
            "date": self.date.isoformat() if isinstance(self.date, dt.date) else self.date,
            "activity": self.activity,
            "file": self.file,
            "row": self.row,
        }
        if self.kind == "pending":
            return {"record_id": self.record_id, "household": self.household,
                    "date": out["date"], "activity": self.activity, "reason": self.reason,
                    "file": self.file, "row": self.row}
        if self.kind == "invalid":
            out["rule"] = self.rule
            if self.diagnostic is not None:
                out["code"] = self.diagnostic.code
                out["message"] = self.diagnostic.message(lang)
        return out


@dataclass(slots=True)
class UnitResult:
    """One household's (or, with ``unit: person``, one person's) result for the period."""

    household: str
    person: str | None = None
    head: str | None = None
    grid: str | None = None
    total: Decimal = ZERO  # base + earned + deducted
    vetoed: bool = False
    by_rule: dict[str, Decimal] = field(default_factory=dict)
    by_category: dict[str, Decimal] = field(default_factory=dict)
    vetoes: list[dict[str, Any]] = field(default_factory=list)  # rule, record_id, date, period
    earned: Decimal = ZERO  # sum of the positive awards (>= 0)
    deducted: Decimal = ZERO  # sum of the negative awards (<= 0)
    base: Decimal = ZERO  # base points (基础分) granted in the period
    records: int = 0  # records of the period some rule applied to (board tie-breakers)
    last_date: dt.date | None = None  # the date of the last of them

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"household": self.household}
        if self.person is not None:
            out["person"] = self.person
        out["head"] = self.head
        out["grid"] = self.grid
        out["total"] = self.total
        out["base"] = self.base
        out["earned"] = self.earned
        out["deducted"] = self.deducted
        out["vetoed"] = self.vetoed
        out["by_rule"] = dict(self.by_rule)
        out["by_category"] = dict(self.by_category)
        if self.vetoes:
            out["vetoes"] = [dict(v) for v in self.vetoes]
        return out


class LazySumsResult(UnitResult):
    """A :class:`UnitResult` whose ``by_rule`` and ``by_category`` dicts are made the first
    time either is read (``_build`` sets ``_rule_d`` and ``_cat_d`` from ``_src``), for
    commands that read thousands of results and few of their sums (boards: totals only).
    Equal to the plain :class:`UnitResult` with the same values."""

    __slots__ = ("_src", "_rule_d", "_cat_d")

    def _build(self) -> None:  # pragma: no cover - each kind builds its own
        raise NotImplementedError

    @property  # type: ignore[override]
    def by_rule(self) -> dict[str, Decimal]:
        if self._src is not None:
            self._build()
        return self._rule_d

    @by_rule.setter
    def by_rule(self, value: dict[str, Decimal]) -> None:
        if self._src is not None:
            self._build()
        self._rule_d = value

    @property  # type: ignore[override]
    def by_category(self) -> dict[str, Decimal]:
        if self._src is not None:
            self._build()
        return self._cat_d

    @by_category.setter
    def by_category(self, value: dict[str, Decimal]) -> None:
        if self._src is not None:
            self._build()
        self._cat_d = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UnitResult):
            return all(getattr(self, f) == getattr(other, f) for f in _RESULT_FIELDS)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


_RESULT_FIELDS = tuple(UnitResult.__dataclass_fields__)


@dataclass(frozen=True)
class EngineChoice:
    """Which evaluator computed a result: ``fast`` or ``reference``; ``reason`` says why the
    fast one was not used (None when it was, or when the reference was asked for)."""

    engine: str
    reason: str | None = None

    def describe(self) -> str:
        if self.engine == "fast":
            return "fast (columnar, exact)"
        if self.reason:
            return f"reference (fast path not used: {self.reason})"
        return "reference"


@dataclass
class Evaluation:
    """The outcome of one evaluation of one period (see :func:`xiangyue.points.evaluate.evaluate`)."""

    period: Period
    ruleset: Ruleset
    results: list[UnitResult]
    ledger: list[LedgerEntry] | None
    unmatched: list[RecordIssue]
    not_covered: list[RecordIssue]
    invalid: list[RecordIssue]
    unknown_households: list[RecordIssue]
    record_count: int  # records dated in the period
    replayed: int  # records read to count the limits (from 1 January of the period's year)
    engine: EngineChoice | None = field(default=None, compare=False)  # which evaluator ran
    #: records of the period failing the file's ``counted_when`` (neither scored nor counted)
    pending: list[RecordIssue] = field(default_factory=list)
    #: the stored run this evaluation was saved as or read back from (None: not stored)
    run_id: str | None = field(default=None, compare=False)

    @property
    def unit(self) -> str:
        return self.ruleset.unit

    def result(self, household: str, person: str | None = None) -> UnitResult | None:
        for r in self.results:
            if r.household == household and (person is None or r.person == person):
                return r
        return None

    def ruleset_info(self) -> dict[str, Any]:
        rs = self.ruleset
        return {"name": rs.name, "version": rs.version, "sha256": rs.sha256}


# --------------------------------------------------------------------------------------------
# The engine

def pending_reason(ruleset: Ruleset) -> str:
    """Why a record is pending: the condition it fails."""
    return f"不满足 counted_when：{ruleset.counted_when_text}"


def register_of(households: Iterable[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]] | None:
    """The household register by id (the first row of an id wins), or None: the households
    seen in the records. Both evaluators read the register through this."""
    if households is None:
        return None
    register: dict[str, Mapping[str, Any]] = {}
    for h in households:
        hid = h.get("household")
        if hid is not None and hid not in register:
            register[hid] = h
    return register


def record_issue(kind: str, rec: Mapping[str, Any], **extra: Any) -> RecordIssue:
    return RecordIssue(
        kind=kind,
        record_id=rec.get("record_id"),
        household=rec.get("household"),
        date=rec.get("date"),
        activity=rec.get("activity"),
        file=rec.get("_file"),
        row=rec.get("_row"),
        **extra,
    )



def base_days(ruleset: Ruleset, period: Period) -> list[tuple[dt.date, str]]:
    """The base-points grants of ``period``: the first days (and keys) of the ``base.per``
    periods starting inside it that overlap the rule file's effective dates (a 2024 file gives
    no base points for 2023 or 2025)."""
    base = ruleset.base
    if base is None:
        return []
    out = []
    for day, key in period_starts(period, base.per):
        end = period_of(day, base.per).end
        if ruleset.effective_from is not None and end < ruleset.effective_from:
            continue
        if ruleset.effective_until is not None and day > ruleset.effective_until:
            continue
        out.append((day, key))
    return out


def build_results(ruleset: Ruleset, period: Period, register: dict[str, Mapping[str, Any]] | None,
             seen_units: dict[Any, None], sums: dict[Any, list],
             vetoes: dict[Any, list[dict[str, Any]]],
             ledger: list[LedgerEntry] | None,
             stats: Mapping[Any, tuple[int, dt.date]] | None = None) -> list[UnitResult]:
    person_unit = ruleset.unit == "person"
    if person_unit:
        units = sorted(seen_units, key=lambda u: (str(u[0]), str(u[1])))
        with_person = {u[0] for u in units}
        if register is not None:
            # Every household of the register appears: one row with no person for a
            # household none of whose members has a record.
            units.extend((h, None) for h in register if h not in with_person)
            order = {h: i for i, h in enumerate(register)}
            units.sort(key=lambda u: (order.get(u[0], len(order)), u[1] is not None,
                                      str(u[1] or "")))
    else:
        units = list(register) if register is not None else sorted(seen_units, key=str)

    overlap = overlapping_keys(period)
    base = ruleset.base
    base_starts = base_days(ruleset, period)
    base_entries: list[LedgerEntry] = []

    rule_order = {r.id: i for i, r in enumerate(ruleset.rules)}
    cat_order = {c.id: i for i, c in enumerate(ruleset.categories)}
    out: list[UnitResult] = []
    for unit in units:
        hh, person = unit if person_unit else (unit, None)
        info = register.get(hh, {}) if register is not None else {}
        res = UnitResult(household=hh, person=person, head=info.get("head"),
                         grid=info.get("grid"))
        s = sums.get(unit)
        if base is not None and base_starts:
            grants = base.points * len(base_starts)
            res.total += grants
            res.base = grants
            res.by_rule[BASE_RULE] = grants
            if ledger is not None:
                for day, _ in base_starts:
                    base_entries.append(
                        LedgerEntry(None, hh, day, BASE_RULE, "基础分", None, base.points,
                                    base.points, (), f"{base.pos.file}:{base.pos.line}"
                                    if base.pos.line else base.pos.file, None, None, person)
                    )
        if s is not None:
            res.total += s[0]
            res.earned, res.deducted = s[3], s[4]
            for rid in sorted(s[1], key=rule_order.__getitem__):
                res.by_rule[rid] = s[1][rid]
            for cid in sorted(s[2], key=lambda c: (cat_order.get(c, len(cat_order)), c)):
                res.by_category[cid] = s[2][cid]
        for v in vetoes.get(unit, ()):
            if v["period"] in overlap[v["per"]]:
                res.vetoed = True
                res.vetoes.append(v)
        st = stats.get(unit) if stats else None
        if st is not None:
            res.records, res.last_date = st
        out.append(res)

    if ledger is not None and base_entries:
        ledger.extend(base_entries)
        # Base points first on their day, then the records in their order (stable sort).
        ledger.sort(key=lambda e: (e.date, e.record_id is not None))
    return out


