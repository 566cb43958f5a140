"""Points engine: apply a rule file to activity records for a period, explaining every point.

The semantics are those of the reference page (``jingou.md``, "What the limits mean"):

* Records are applied in order of date, then ``record_id`` compared as text. For each record
  every rule whose ``when`` holds counts, in file order (``matching: first``: only the first).
* For one (record, rule) the raw points (``points``, or the ``escalation`` step for the n-th
  record of the rule in its period) go through, in this order: ``once``, ``highest_only``,
  the rule's ``cap`` / ``deduction_cap``, then the category's ``cap`` / ``deduction_cap``
  (applied to what the rule awarded).
* Limits are counted in their own calendar periods whatever period is reported. Every limit
  period (month, quarter, year) nests inside a calendar year, so reporting a period P replays
  the records from 1 January of P's year up to P's last day; only records dated in P are
  summed and listed. Records after P matter only for the veto (below).

Decisions on points the reference page leaves open (documented in the report too):

* **Invalid records.** When a rule's ``when`` or ``points`` cannot be computed for a record
  (an :class:`~xiangyue.XiangyueError` such as the compiler's ``EvalError``: a grade the lookup
  has no entry for, a division by zero), the *whole record* is set aside as invalid: no rule
  awards it anything and it counts toward no limit, so the result never depends on the order
  of the rules. It is listed with its source row and the message.
* **Unknown households.** With a household register, a record for a household the register
  does not know is listed in ``unknown_households`` and awarded nothing (most often a typo in
  the household id; scoring it would put a household that does not exist on the boards).
  Without a register, the households seen in the records are the register.
* **Category limits** count gross amounts: a category ``cap`` limits the sum of positive
  awards of its rules, a category ``deduction_cap`` the sum of deductions; one does not offset
  the other.
* **once** keeps the first record of the period, whatever it was awarded (a 差 courtyard
  check first in the month makes a later 优 in that month count 0).
* **Veto** ("一票否决"): "a household with a vetoed record in a year is marked vetoed for that
  whole year": a household is vetoed for a reported period P when a record a ``veto`` rule
  applies to falls in a veto period (of the rule's kind) that overlaps P — also when that
  record is dated after P (a fishing offence in July vetoes the household in a Q1 report made
  at the end of the year). So the records are read up to the end of the last veto period that
  overlaps P, and those after P are only tested against the veto rules.
* **Base points** (``base``) are a ledger entry dated on the first day of each ``per`` period;
  a report sums those dated inside it (``per: year`` base shows in a report of Q1 or of the
  year, not of Q2). With ``unit: person`` each person seen in the records gets base points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping

from xiangyue.errors import Diagnostic, InputError, XiangyueError
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import Category, Rule, Ruleset
from xiangyue.periods import Period, period_key, period_of

register(
    {
        "E-EVAL-RECORD": Msg(
            zh="记录 {record_id} 无法按规则“{rule}”计分：{detail}",
            en="record {record_id} cannot be scored by rule '{rule}': {detail}",
            hint_zh="检查这一行的数据；这条记录整条不计分",
            hint_en="check this row's data; the whole record is awarded nothing",
        ),
        "E-EVAL-NOT-ALLOWED": Msg(
            zh="“{field}”的值“{value}”不是规则文件允许的值（{allowed}），这条记录不计分",
            en="'{value}' is not an allowed value of '{field}' ({allowed}); the record is not scored",
            hint_zh="改正表格中的值，或在规则文件的字段中加上这个值",
            hint_en="correct the value in the table, or add it to the field's values in the rule file",
        ),
        "E-EVAL-UNTYPED": Msg(
            zh="记录 {record} 的日期 {value} 不是日期：记录需先按规则文件的字段转换",
            en="record {record}: its date {value} is not a date; records must be typed by the rule file's fields",
            hint_zh="用 xiangyue.points.evaluate.typed_records(规则, 行) 转换从表格读出的行",
            hint_en="type rows read from a table with xiangyue.points.evaluate.typed_records(ruleset, rows)",
        ),
        "E-EVAL-NO-PERSON": Msg(
            zh="记录 {record_id} 没有填写成员（本规则文件按人计分）",
            en="record {record_id} names no person (this rule file scores persons)",
            hint_zh="填写“成员”一列",
            hint_en="fill in the person column",
        ),
    }
)

ZERO = Decimal(0)
BASE_RULE = "base"


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One (record, rule) that applied, or one base-points grant (``record_id`` None).

    ``reasons`` explain every difference between ``raw`` and ``awarded``: dicts with
    ``limit`` (cap, deduction_cap, category_cap, category_deduction_cap, once,
    highest_only), ``per``, ``period`` and the numbers (``max``, ``used``, ``left``; ``first``
    for once; ``highest`` for highest_only).
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
        return out


@dataclass(frozen=True, slots=True)
class RecordIssue:
    """A record listed for the clerk: unmatched, not covered, invalid, unknown household."""

    kind: str  # unmatched | not_covered | invalid | unknown_household
    record_id: str | None
    household: str | None
    date: dt.date | None
    activity: Any = None
    file: str | None = None
    row: int | None = None
    rule: str | None = None  # invalid: the rule that could not be computed
    diagnostic: Diagnostic | None = None

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_id": self.record_id,
            "household": self.household,
            "date": self.date.isoformat() if isinstance(self.date, dt.date) else self.date,
            "activity": self.activity,
            "file": self.file,
            "row": self.row,
        }
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
    total: Decimal = ZERO
    vetoed: bool = False
    by_rule: dict[str, Decimal] = field(default_factory=dict)
    by_category: dict[str, Decimal] = field(default_factory=dict)
    vetoes: list[dict[str, Any]] = field(default_factory=list)  # rule, record_id, date, period

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"household": self.household}
        if self.person is not None:
            out["person"] = self.person
        out.update(
            {
                "head": self.head,
                "grid": self.grid,
                "total": self.total,
                "vetoed": self.vetoed,
                "by_rule": dict(self.by_rule),
                "by_category": dict(self.by_category),
            }
        )
        if self.vetoes:
            out["vetoes"] = [dict(v) for v in self.vetoes]
        return out


@dataclass
class Evaluation:
    """The outcome of :func:`evaluate` for one period."""

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


class _Plan:
    """A rule prepared for the hot loop (attribute look-ups done once)."""

    __slots__ = (
        "rule", "id", "name", "category", "when", "points", "escalation", "once", "highest",
        "cap", "dcap", "ccap", "cdcap", "veto", "position", "guard",
    )

    def __init__(self, rule: Rule, category: Category | None, ruleset: Ruleset):
        self.rule = rule
        self.id = rule.id
        self.name = rule.name
        self.category = rule.category
        self.when = rule.when_fn
        self.points = rule.points_fn
        self.escalation = rule.escalation
        self.once = rule.once
        self.highest = rule.highest_only
        self.cap = rule.cap
        self.dcap = rule.deduction_cap
        self.ccap = category.cap if category else None
        self.cdcap = category.deduction_cap if category else None
        self.veto = rule.veto
        self.position = f"{rule.pos.file}:{rule.pos.line}" if rule.pos.line else rule.pos.file
        self.guard = _guard(rule.when_expr, ruleset)


def _guard(expr: Any, ruleset: Ruleset) -> tuple[str, str] | None:
    """``(field id, text)`` when ``when`` can only hold for records whose field equals that
    text: ``事项 == "志愿服务"``, or such a test on the left of ``且`` (which short-circuits, so
    a record failing it is never evaluated further). Used to skip rules that cannot apply."""
    from xiangyue.rules.nodes import Binary, Name, Text

    while isinstance(expr, Binary) and expr.op == "and":
        expr = expr.left
    if isinstance(expr, Binary) and expr.op == "==":
        name, text = expr.left, expr.right
        if isinstance(name, Text) and isinstance(text, Name):
            name, text = text, name
        if isinstance(name, Name) and isinstance(text, Text):
            spec = ruleset.field(name.name)
            if spec is not None and spec.type == "text":
                return spec.id, text.value
    return None


class _Candidates:
    """The rules worth asking about a record, in file order: those without a guard, and
    those whose guard the record meets (cached per combination of guarded values)."""

    def __init__(self, plans: list[_Plan]):
        self.plans = plans
        self.fields = tuple(sorted({p.guard[0] for p in plans if p.guard is not None}))
        self.cache: dict[Any, list[_Plan]] = {}

    def __call__(self, rec: Mapping[str, Any]) -> list[_Plan]:
        fields = self.fields
        if not fields:
            return self.plans
        key = rec.get(fields[0]) if len(fields) == 1 else tuple(rec.get(f) for f in fields)
        found = self.cache.get(key)
        if found is None:
            found = [p for p in self.plans
                     if p.guard is None or rec.get(p.guard[0]) == p.guard[1]]
            if len(self.cache) < 4096:
                self.cache[key] = found
        return found


def _as_decimal(value: Any) -> Decimal:
    if type(value) is Decimal:
        return value
    if isinstance(value, bool) or value is None:
        raise TypeError(f"points must be a number, not {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # never produced by the compiler; kept exact if it happens
        return Decimal(repr(value))
    return Decimal(value)


def _keys_cache() -> dict[dt.date, dict[str, str]]:
    return {}


def _period_keys(cache: dict[dt.date, dict[str, str]], day: dt.date) -> dict[str, str]:
    keys = cache.get(day)
    if keys is None:
        keys = {k: period_key(day, k) for k in ("month", "quarter", "year")}
        cache[day] = keys
    return keys


def _overlapping_keys(period: Period) -> dict[str, set[str]]:
    """For each period kind, the keys of the periods of that kind overlapping ``period``."""
    out: dict[str, set[str]] = {"month": set(), "quarter": set(), "year": set()}
    for month in range(period.start.month, period.end.month + 1):
        day = dt.date(period.start.year, month, 1)
        for kind in out:
            out[kind].add(period_key(day, kind))
    return out


def _period_starts(period: Period, kind: str) -> list[tuple[dt.date, str]]:
    """First days (and keys) of the periods of ``kind`` that start inside ``period``."""
    out = []
    for month in range(period.start.month, period.end.month + 1):
        day = dt.date(period.start.year, month, 1)
        if (kind == "month") or (kind == "quarter" and month % 3 == 1) or (
            kind == "year" and month == 1
        ):
            out.append((day, period_key(day, kind)))
    return out


def _ordered(records: Iterable[Mapping[str, Any]], first: dt.date, last: dt.date,
             presorted: bool) -> Iterator[Mapping[str, Any]]:
    """The records dated in [first, last], in order of date then record_id as text."""
    if presorted:
        prev: tuple[dt.date, str] | None = None
        for rec in records:
            day = rec["date"]
            key = (day, str(rec.get("record_id") or ""))
            if prev is not None and key < prev:
                raise ValueError(
                    f"records are not ordered by date, record_id: {key} after {prev}"
                )
            prev = key
            if day > last:
                return
            if day >= first:
                yield rec
        return
    kept = []
    for r in records:
        day = r.get("date")
        if not isinstance(day, dt.date):
            raise InputError(Diagnostic("E-EVAL-UNTYPED", file=str(r.get("_file") or ""),
                                        line=r.get("_row") or 0,
                                        args={"record": str(r.get("record_id", r.get("记录编号", "?"))),
                                              "value": repr(day)}))
        if first <= day <= last:
            kept.append(r)
    kept.sort(key=lambda r: (r["date"], str(r.get("record_id") or "")))
    yield from kept


def replay_window(ruleset: Ruleset, period: Period) -> tuple[dt.date, dt.date]:
    """The dates of the records needed to report ``period``: from 1 January of its year (limits
    are counted in their own periods) to the end of the last veto period overlapping it."""
    end = period.end
    for rule in ruleset.rules:
        if rule.veto is not None:
            end = max(end, period_of(period.end, rule.veto).end)
    return dt.date(period.start.year, 1, 1), end


def _late_veto(rec: Mapping[str, Any], candidates: "_Candidates", first_only: bool,
               register: dict[str, Mapping[str, Any]] | None, person_unit: bool, covers: Any,
               vetoes: dict[Any, list[dict[str, Any]]], key_cache: dict) -> None:
    """A record after the reported period counts only for the veto of its household."""
    day = rec["date"]
    hh = rec.get("household")
    if not covers(day) or hh is None or (register is not None and hh not in register):
        return
    unit: Any = hh
    if person_unit:
        person = rec.get("person")
        if person is None or person == "":
            return
        unit = (hh, person)
    try:
        for plan in candidates(rec):
            if plan.when(rec):
                if plan.veto is not None:
                    keys = _period_keys(key_cache, day)
                    vetoes.setdefault(unit, []).append(
                        {"rule": plan.id, "rule_name": plan.name, "record_id": rec.get("record_id"),
                         "date": day.isoformat(), "per": plan.veto, "period": keys[plan.veto]})
                if first_only:
                    return
    except (XiangyueError, ArithmeticError, TypeError, ValueError):
        return  # an invalid record is reported when its own period is reported


def _issue(kind: str, rec: Mapping[str, Any], **extra: Any) -> RecordIssue:
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


def evaluate(
    ruleset: Ruleset,
    records: Iterable[Mapping[str, Any]],
    households: Iterable[Mapping[str, Any]] | None,
    period: Period,
    *,
    with_ledger: bool = True,
    presorted: bool = False,
) -> Evaluation:
    """Score every household of the register for ``period``.

    ``records`` may hold any dates: only those from 1 January of the period's year up to the
    period's end are read (to count limits), and only those dated inside the period are
    summed and listed. They are sorted by date then record_id unless ``presorted`` says the
    source already yields them so (as :meth:`Store.iter_records` does; the order is checked).
    ``households`` is the register (dicts with ``household``, ``head``, ``grid``); ``None``
    takes the households seen in the records. ``with_ledger=False`` skips the ledger (faster,
    totals only).
    """
    year_start = dt.date(period.start.year, 1, 1)
    p_start, p_end = period.start, period.end
    person_unit = ruleset.unit == "person"
    first_only = ruleset.matching == "first"

    register: dict[str, Mapping[str, Any]] | None = None
    if households is not None:
        register = {}
        for h in households:
            hid = h.get("household")
            if hid is not None and hid not in register:
                register[hid] = h

    categories = {c.id: c for c in ruleset.categories}
    plans = [_Plan(r, categories.get(r.category), ruleset) for r in ruleset.rules]
    candidates = _Candidates(plans)
    covers = ruleset.covers

    # Running state for the replayed year, keyed by (unit, rule index or category, period key).
    esc_count: dict[tuple, int] = {}
    once_first: dict[tuple, Any] = {}
    highest: dict[tuple, Decimal] = {}
    used_cap: dict[tuple, Decimal] = {}  # rule caps: positive points awarded so far
    used_dcap: dict[tuple, Decimal] = {}  # rule deduction caps: points taken so far
    used_ccap: dict[tuple, Decimal] = {}
    used_cdcap: dict[tuple, Decimal] = {}
    vetoes: dict[Any, list[dict[str, Any]]] = {}

    # Per-unit sums for the reported period: unit -> [total, by_rule, by_category].
    sums: dict[Any, list] = {}
    seen_units: dict[Any, None] = {}  # units met while replaying, in order of first record
    ledger: list[LedgerEntry] | None = [] if with_ledger else None
    unmatched: list[RecordIssue] = []
    not_covered: list[RecordIssue] = []
    invalid: list[RecordIssue] = []
    unknown: list[RecordIssue] = []
    key_cache = _keys_cache()
    record_count = 0
    replayed = 0

    _, horizon = replay_window(ruleset, period)
    veto_plans = any(p.veto is not None for p in plans)

    for rec in _ordered(records, year_start, horizon, presorted):
        replayed += 1
        day = rec["date"]
        if day > p_end:
            if veto_plans:
                _late_veto(rec, candidates, first_only, register, person_unit, covers, vetoes,
                           key_cache)
            continue
        in_p = day >= p_start
        if in_p:
            record_count += 1
        if not covers(day):
            if in_p:
                not_covered.append(_issue("not_covered", rec))
            continue
        bad_value = rec.get("_invalid")
        if bad_value is not None:
            if in_p:
                invalid.append(_issue("invalid", rec, diagnostic=bad_value))
            continue
        hh = rec.get("household")
        if hh is None or (register is not None and hh not in register):
            if in_p:
                unknown.append(_issue("unknown_household", rec))
            continue
        person = None
        if person_unit:
            person = rec.get("person")
            if person is None or person == "":
                if in_p:
                    invalid.append(
                        _issue(
                            "invalid",
                            rec,
                            diagnostic=Diagnostic(
                                "E-EVAL-NO-PERSON",
                                file=rec.get("_file") or "",
                                line=rec.get("_row") or 0,
                                args={"record_id": rec.get("record_id")},
                            ),
                        )
                    )
                continue
            unit: Any = (hh, person)
        else:
            unit = hh

        # Phase 1 (pure): which rules apply, and their raw points. Any error sets the whole
        # record aside before it touches any running state.
        matched: list[tuple[_Plan, Decimal | None]] = []
        plan = None
        try:
            for plan in candidates(rec):
                if plan.when(rec):
                    raw = _as_decimal(plan.points(rec)) if plan.points is not None else None
                    matched.append((plan, raw))
                    if first_only:
                        break
        except XiangyueError as err:
            if in_p:
                diag = err.diagnostics[0] if err.diagnostics else None
                invalid.append(_issue("invalid", rec, rule=plan.id if plan else None,
                                      diagnostic=_record_diag(rec, plan, diag)))
            continue
        except (ArithmeticError, TypeError, ValueError) as err:
            if in_p:
                invalid.append(_issue("invalid", rec, rule=plan.id if plan else None,
                                      diagnostic=_record_diag(rec, plan, None, str(err))))
            continue
        if not matched:
            if in_p:
                unmatched.append(_issue("unmatched", rec))
            continue

        if unit not in seen_units:
            seen_units[unit] = None
        keys = _period_keys(key_cache, day)
        rid = rec.get("record_id")

        # Phase 2: limits, in the order of the reference page.
        for plan, raw in matched:
            reasons: list[dict[str, Any]] | None = [] if (ledger is not None and in_p) else None
            rule_id = plan.id
            esc = plan.escalation
            if esc is not None:
                k = (unit, rule_id, keys[esc.per])
                n = esc_count.get(k, 0) + 1
                esc_count[k] = n
                steps = esc.steps
                raw = steps[n - 1] if n <= len(steps) else steps[-1]
            if raw is None:  # a rule with neither points nor escalation: the checker forbids it
                raw = ZERO
            value = raw

            if plan.once is not None:
                pk = keys[plan.once]
                k = (unit, rule_id, pk)
                first = once_first.get(k)
                if first is None:
                    once_first[k] = (rid, day)
                else:
                    value = ZERO
                    if reasons is not None:
                        reasons.append({"limit": "once", "per": plan.once, "period": pk,
                                        "first": first[0], "first_date": first[1].isoformat()})

            if plan.highest is not None:
                pk = keys[plan.highest]
                k = (unit, rule_id, pk)
                prev = highest.get(k)
                if prev is None:
                    highest[k] = value
                else:
                    awarded = value - prev
                    if awarded < 0:
                        awarded = ZERO
                    if value > prev:
                        highest[k] = value
                    if reasons is not None and awarded != value:
                        reasons.append({"limit": "highest_only", "per": plan.highest,
                                        "period": pk, "highest": prev})
                    value = awarded

            if value > 0:
                if plan.cap is not None:
                    value = _limit(used_cap, (unit, rule_id), plan.cap, keys, value, 1,
                                   "cap", reasons)
                if plan.ccap is not None:
                    value = _limit(used_ccap, (unit, plan.category), plan.ccap, keys, value, 1,
                                   "category_cap", reasons)
            elif value < 0:
                if plan.dcap is not None:
                    value = _limit(used_dcap, (unit, rule_id), plan.dcap, keys, value, -1,
                                   "deduction_cap", reasons)
                if plan.cdcap is not None:
                    value = _limit(used_cdcap, (unit, plan.category), plan.cdcap, keys, value,
                                   -1, "category_deduction_cap", reasons)

            if plan.veto is not None:
                vetoes.setdefault(unit, []).append(
                    {"rule": rule_id, "rule_name": plan.name, "record_id": rid,
                     "date": day.isoformat(), "per": plan.veto, "period": keys[plan.veto]}
                )

            if in_p:
                s = sums.get(unit)
                if s is None:
                    s = sums[unit] = [ZERO, {}, {}]
                s[0] += value
                by_rule = s[1]
                by_rule[rule_id] = by_rule.get(rule_id, ZERO) + value
                by_cat = s[2]
                by_cat[plan.category] = by_cat.get(plan.category, ZERO) + value
                if reasons is not None:
                    ledger.append(  # type: ignore[union-attr]
                        LedgerEntry(rid, hh, day, rule_id, plan.name, plan.category, raw, value,
                                    tuple(reasons), plan.position, rec.get("_file"),
                                    rec.get("_row"), person, rec)
                    )

    results = _results(ruleset, period, register, seen_units, sums, vetoes, ledger)
    return Evaluation(
        period=period,
        ruleset=ruleset,
        results=results,
        ledger=ledger,
        unmatched=unmatched,
        not_covered=not_covered,
        invalid=invalid,
        unknown_households=unknown,
        record_count=record_count,
        replayed=replayed,
    )


def _limit(state: dict[tuple, Decimal], head: tuple, limit: Any, keys: Mapping[str, str],
           value: Decimal, sign: int, name: str, reasons: list | None) -> Decimal:
    """Apply "at most ``limit.max`` per ``limit.per``" to ``value`` (sign 1: points awarded,
    -1: points taken) and record what is used."""
    pk = keys[limit.per]
    k = (*head, pk)
    used = state.get(k, ZERO)
    amount = value if sign > 0 else -value
    left = limit.max - used
    if left < 0:
        left = ZERO
    if amount > left:
        if reasons is not None:
            reasons.append({"limit": name, "per": limit.per, "period": pk, "max": limit.max,
                            "used": used, "left": left})
        amount = left
    state[k] = used + amount
    return amount if sign > 0 else -amount


def _record_diag(rec: Mapping[str, Any], plan: _Plan | None, diag: Diagnostic | None,
                 detail: str | None = None) -> Diagnostic:
    """The diagnostic of an invalid record, placed at its source row."""
    if diag is None or detail is not None:
        return Diagnostic(
            "E-EVAL-RECORD",
            file=rec.get("_file") or "",
            line=rec.get("_row") or 0,
            args={"record_id": rec.get("record_id"), "rule": plan.id if plan else "",
                  "detail": detail or ""},
        )
    return diag


def _results(ruleset: Ruleset, period: Period, register: dict[str, Mapping[str, Any]] | None,
             seen_units: dict[Any, None], sums: dict[Any, list],
             vetoes: dict[Any, list[dict[str, Any]]],
             ledger: list[LedgerEntry] | None) -> list[UnitResult]:
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

    overlap = _overlapping_keys(period)
    base = ruleset.base
    base_starts = _period_starts(period, base.per) if base is not None else []
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
        if base is not None and not (person_unit and person is None):
            grants = base.points * len(base_starts)
            if grants or base_starts:
                res.total += grants
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
            for rid in sorted(s[1], key=rule_order.__getitem__):
                res.by_rule[rid] = s[1][rid]
            for cid in sorted(s[2], key=lambda c: (cat_order.get(c, len(cat_order)), c)):
                res.by_category[cid] = s[2][cid]
        for v in vetoes.get(unit, ()):
            if v["period"] in overlap[v["per"]]:
                res.vetoed = True
                res.vetoes.append(v)
        out.append(res)

    if ledger is not None and base_entries:
        ledger.extend(base_entries)
        # Base points first on their day, then the records in their order (stable sort).
        ledger.sort(key=lambda e: (e.date, e.record_id is not None))
    return out


# --------------------------------------------------------------------------------------------
# Sources: a rule file plus either table files or the village database


@dataclass
class Inputs:
    """What an evaluation reads: the checked rule file, records (an iterable, ordered when
    ``presorted``), the household register (None: the households in the records) and, in
    database mode, the open store (close it when done)."""

    ruleset: Ruleset
    records: Iterable[Mapping[str, Any]]
    households: list[Mapping[str, Any]] | None
    presorted: bool
    store: Any = None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def load_rules(path: str) -> Ruleset:
    """Load a rule file for an evaluation: a rule file with errors makes the input unusable
    (exit 2), as every other unusable input of ``evaluate``."""
    from xiangyue.rules.pipeline import load_ruleset

    try:
        return load_ruleset(path)
    except XiangyueError as err:
        raise XiangyueError(err.diagnostics, exit_code=2) from None


def read_records_file(ruleset: Ruleset, path: str) -> list[dict[str, Any]]:
    """Typed records of a table file, each with ``_file``/``_row``; any bad row stops the
    evaluation (InputError listing every problem), so no total is silently short."""
    from xiangyue.data.tables import read_table

    # A value outside a field's allowed values (grade 特优) does not stop the evaluation: the
    # record is listed as invalid with its row, like any other value the rules cannot use.
    from dataclasses import replace

    restricted = {f.id: f for f in ruleset.fields if f.values}
    relaxed = [replace(f, values=None) if f.id in restricted else f for f in ruleset.fields]
    table = read_table(path, relaxed, key="record_id")
    table.raise_for_errors()
    out = table.rows
    for row, line in zip(out, table.lines):
        row["_file"] = table.file
        row["_row"] = line
        for fid, spec in restricted.items():
            value = row.get(fid)
            if value is not None and value not in spec.values:
                row["_invalid"] = Diagnostic(
                    "E-EVAL-NOT-ALLOWED", file=table.file, line=line, column=table.header(fid) or fid,
                    args={"field": spec.label or fid, "value": value, "allowed": "、".join(spec.values)})
                break
    return out


def typed_records(ruleset: Ruleset, rows: Iterable[Mapping[str, Any]], *,
                  file: str = "<rows>") -> list[dict[str, Any]]:
    """Records as a Python caller has them (e.g. ``csv.DictReader`` rows: English or Chinese
    column names, text or numbers) typed by the rule file's fields, exactly as a table file's
    rows are; raises :class:`InputError` listing every problem (row = position, 1-based)."""
    from xiangyue.data.tables import read_rows

    table = read_rows(rows, ruleset.fields, file=file, key="record_id")
    table.raise_for_errors()
    for row, line in zip(table.rows, table.lines):
        row["_file"] = file
        row["_row"] = line
    return table.rows


def typed_households(ruleset: Ruleset, rows: Iterable[Mapping[str, Any]], *,
                     file: str = "<rows>") -> list[dict[str, Any]]:
    """The household register from a Python caller's rows (see :func:`typed_records`)."""
    from xiangyue.data.tables import read_rows

    table = read_rows(rows, ruleset.household_fields, file=file, key="household")
    table.raise_for_errors()
    return table.rows


def read_households_file(ruleset: Ruleset, path: str) -> list[dict[str, Any]]:
    from xiangyue.data.tables import read_table

    table = read_table(path, ruleset.household_fields, key="household")
    table.raise_for_errors()
    return table.rows


def stored_records(store: Any, ruleset: Ruleset, period: Period) -> Iterator[dict[str, Any]]:
    """The database's records needed to report ``period`` (from 1 January of its year), in
    order, each with ``_file``/``_row`` (where it was imported from)."""
    from xiangyue.rules.model import FieldSpec

    start, end = replay_window(ruleset, period)

    fields = list(ruleset.fields) + [FieldSpec("source_file", "text"),
                                     FieldSpec("source_row", "integer")]
    for row in store.iter_records(fields, start, end):
        row["_file"] = row.pop("source_file")
        row["_row"] = row.pop("source_row")
        yield row


def open_inputs(ruleset: Ruleset, period: Period, *, db_path: str | None = None,
                records_path: str | None = None, households_path: str | None = None) -> Inputs:
    """Records from ``records_path`` when given (no database needed), else from the database
    at ``db_path`` (which must exist); the register from ``households_path`` when given, else
    from the database in database mode (an empty register means: the households in the
    records)."""
    households = read_households_file(ruleset, households_path) if households_path else None
    if records_path:
        return Inputs(ruleset, read_records_file(ruleset, records_path), households, False)
    from xiangyue.data.store import open_store

    store = open_store(db_path or "xiangyue.db", create=False)
    try:
        if households is None:
            households = store.households(ruleset.household_fields) or None
    except BaseException:
        store.close()
        raise
    records = stored_records(store, ruleset, period)
    return Inputs(ruleset, records, households, True, store)


def evaluate_period(ruleset_path: str, period_text: str, *, db_path: str | None = None,
                    records_path: str | None = None, households_path: str | None = None,
                    save: bool = True, with_ledger: bool = True,
                    engine: str = "reference") -> tuple[Evaluation, str | None]:
    """The ``xiangyue evaluate`` job: load, read, evaluate and (database mode, ``save``) store
    the run in the ledger. Returns the evaluation and the stored run's id (or None).

    ``engine``: ``reference`` (this module), ``fast`` (the columnar path,
    :mod:`xiangyue.points.columnar.evaluate`; fails when it cannot compute the rule file exactly) or ``auto``
    (the fast path when it can, else this module)."""
    from xiangyue.periods import parse_period

    period = parse_period(period_text)
    ruleset = load_rules(ruleset_path)
    inputs = open_inputs(ruleset, period, db_path=db_path, records_path=records_path,
                         households_path=households_path)
    try:
        store = inputs.store
        if engine != "reference":
            from xiangyue.points.columnar.evaluate import evaluate_with_engine

            ev, _choice = evaluate_with_engine(
                ruleset, store if store is not None else inputs.records, period,
                inputs.households, engine=engine,
                with_ledger=with_ledger or (save and store is not None))
        else:
            ev = evaluate(ruleset, inputs.records, inputs.households, period,
                          with_ledger=with_ledger or (save and store is not None),
                          presorted=inputs.presorted)
        run_id = None
        if save and store is not None:
            from xiangyue.points.ledger import save_run

            run_id = save_run(store, ev)
        if store is not None:
            from xiangyue.data.workspace import remember_ruleset

            with store.transaction():
                remember_ruleset(store.conn, ruleset_path)
        return ev, run_id
    finally:
        inputs.close()
