"""The reference evaluator: a rule file applied to the records one by one, explaining every
point. It is the definition the columnar evaluator (:mod:`xiangyue.points.columnar`) must
match; both are reached through :func:`xiangyue.points.evaluate.evaluate`.

The semantics are those of the reference page (``jingou.md``, "What the limits mean"):

* Records are applied in order of date, then ``record_id`` compared as text. For each record
  every rule whose ``when`` holds counts, in file order (``matching: first``: only the first).
* A record failing the file's ``counted_when`` is *pending*: listed, neither scored nor counted
  toward any limit, escalation, once, highest_only or veto.
* For one (record, rule) the raw points (``points``, or the ``escalation`` step for the n-th
  record of the rule in its period) go through, in this order: ``once``, ``highest_only``,
  each of the rule's ``limit`` (points > 0) or ``deduction_limit`` (points < 0) in file order,
  then each of its category's. Each limit cuts what is left to its room (a points limit: its
  maximum less what was counted; a count limit: nothing once it has counted ``times``
  records); once nothing is left the later ones do not bite. Then what was finally awarded is
  counted toward every one of those limits (points, or one record if anything was awarded):
  limits count what the household actually received.
* Limits are counted in their own periods (day, ISO week, month, quarter, year, ever) whatever
  period is reported, so reporting P replays the records from the start of every limit period
  holding a day of P (:func:`~xiangyue.points.inputs.replay_window`) up to P's last day; only
  records dated in P are summed and listed. Records after P matter only for the veto (below).

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
* **Category limits** count gross amounts: a category ``limit`` limits the sum of positive
  awards of its rules, a category ``deduction_limit`` the sum of deductions; one does not offset
  the other. A category count limit counts (record, rule) awards.
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
  year, not of Q2), and only for ``per`` periods overlapping the effective dates. With
  ``unit: person`` the persons of a household are those named in its records (replayed for the
  report); each gets base points, and a register household none of whose members has a record
  gets them once, on its household row.
"""


from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping

from xiangyue.errors import Diagnostic, InputError, XiangyueError
from xiangyue.i18n import Msg, register
from xiangyue.periods import Period, period_key
from xiangyue.points.inputs import Inputs, limit_start, replay_window
from xiangyue.rules.compiler import WINDOW_HISTORY
from xiangyue.points.results import (BASE_RULE, INVALID, ZERO, Evaluation, LedgerEntry, RecordIssue,
                                     build_results, pending_reason, record_issue,
                                     register_of)
from xiangyue.rules.model import Category, Rule, Ruleset

__all__ = ["evaluate", "BASE_RULE"]

register(
    {
        "E-EVAL-RECORD": Msg(
            zh="记录 {record_id} 无法按规则“{rule}”计分：{detail}",
            en="record {record_id} cannot be scored by rule '{rule}': {detail}",
            hint_zh="检查这一行的数据；这条记录整条不计分",
            hint_en="check this row's data; the whole record is awarded nothing",
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




class _Plan:
    """A rule prepared for the hot loop (attribute look-ups done once)."""

    __slots__ = (
        "rule", "id", "name", "category", "when", "points", "escalation", "once", "highest",
        "limits", "dlimits", "veto", "position", "guard",
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
        # (limit, reason name, state head kind): the rule's own limits, then its category's
        self.limits = tuple([(lim, "cap", "rule") for lim in rule.limit]
                            + [(lim, "category_cap", "category")
                               for lim in (category.limit if category else ())])
        self.dlimits = tuple([(lim, "deduction_cap", "rule") for lim in rule.deduction_limit]
                             + [(lim, "category_deduction_cap", "category")
                                for lim in (category.deduction_limit if category else ())])
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
        iso = day.isocalendar()
        keys = {k: period_key(day, k) for k in ("month", "quarter", "year")}
        keys["day"] = day.isoformat()
        keys["week"] = f"{iso[0]:04d}-W{iso[1]:02d}"
        keys["ever"] = "ever"
        cache[day] = keys
    return keys


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



def _late_veto(rec: Mapping[str, Any], candidates: "_Candidates", first_only: bool,
               register: dict[str, Mapping[str, Any]] | None, person_unit: bool, covers: Any,
               vetoes: dict[Any, list[dict[str, Any]]], key_cache: dict,
               ruleset_counted: Any = None) -> None:
    """A record after the reported period counts only for the veto of its household."""
    day = rec["date"]
    hh = rec.get("household")
    if not covers(day) or hh is None or (register is not None and hh not in register):
        return
    if rec.get(INVALID) is not None:  # a value the rule file does not allow: no rule applies
        return
    unit: Any = hh
    if person_unit:
        person = rec.get("person")
        if person is None or person == "":
            return
        unit = (hh, person)
    try:
        if ruleset_counted is not None and not ruleset_counted(rec):
            return  # pending: counts toward no veto
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



def evaluate(ruleset: Ruleset, inputs: Inputs, period: Period, *,
             with_ledger: bool = True) -> Evaluation:
    """Score every household of the register for ``period``.

    ``inputs.records`` may hold any dates: only those from 1 January of the period's year up to the
    period's end are read (to count limits), and only those dated inside the period are
    summed and listed. They are sorted by date then record_id unless ``presorted`` says the
    source already yields them so (as :meth:`Store.iter_records` does; the order is checked).
    ``inputs.households`` is the register (dicts with ``household``, ``head``, ``grid``); ``None``
    takes the households seen in the records. ``with_ledger=False`` skips the ledger (faster,
    totals only).
    """
    records, households, presorted = inputs.records, inputs.households, inputs.presorted
    p_start, p_end = period.start, period.end
    person_unit = ruleset.unit == "person"
    first_only = ruleset.matching == "first"

    register = register_of(households)

    categories = {c.id: c for c in ruleset.categories}
    plans = [_Plan(r, categories.get(r.category), ruleset) for r in ruleset.rules]
    candidates = _Candidates(plans)
    covers = ruleset.covers

    # Running state for the replayed year, keyed by (unit, rule index or category, period key).
    esc_count: dict[tuple, int] = {}
    once_first: dict[tuple, Any] = {}
    highest: dict[tuple, Decimal] = {}
    # limits: (unit, "rule"|"category", rule or category id, reason name, per, times?,
    # period key) -> points or records counted so far (what was actually awarded)
    used: dict[tuple, Any] = {}
    vetoes: dict[Any, list[dict[str, Any]]] = {}
    counted_when = ruleset.counted_when_fn
    why_pending = pending_reason(ruleset) if counted_when is not None else None
    pending: list[RecordIssue] = []

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

    replay_start, horizon = replay_window(ruleset, period)
    score_from = limit_start(ruleset, period)  # records before it are only looked back on
    windows = ruleset.window_days > 0
    history: dict[Any, list] = {}  # unit -> [(date, record)] of its counted records
    stats: dict[Any, tuple[int, dt.date]] = {}  # unit -> (records of the period, last date)
    set_history = WINDOW_HISTORY.set
    veto_plans = any(p.veto is not None for p in plans)

    for rec in _ordered(records, replay_start, horizon, presorted):
        replayed += 1
        day = rec["date"]
        if day > p_end:
            if veto_plans:
                _late_veto(rec, candidates, first_only, register, person_unit, covers, vetoes,
                           key_cache, counted_when)
            continue
        in_p = day >= p_start
        if in_p:
            record_count += 1
        if not covers(day):
            if in_p:
                not_covered.append(record_issue("not_covered", rec))
            continue
        bad_value = rec.get(INVALID)
        if bad_value is not None:
            if in_p:
                invalid.append(record_issue("invalid", rec, diagnostic=bad_value))
            continue
        hh = rec.get("household")
        if hh is None or (register is not None and hh not in register):
            if in_p:
                unknown.append(record_issue("unknown_household", rec))
            continue
        person = None
        if person_unit:
            person = rec.get("person")
            if person is None or person == "":
                if in_p:
                    invalid.append(
                        record_issue(
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
        if counted_when is not None:
            try:
                counted = counted_when(rec)
            except XiangyueError as err:
                if in_p:
                    diag = err.diagnostics[0] if err.diagnostics else None
                    invalid.append(record_issue("invalid", rec, diagnostic=_record_diag(
                        rec, None, diag)))
                continue
            if not counted:
                if in_p:
                    pending.append(record_issue("pending", rec, reason=why_pending))
                continue

        # Phase 1 (pure): which rules apply, and their raw points. Any error sets the whole
        # record aside before it touches any running state.
        if windows:
            own = history.get(unit)
            if own is None:
                own = history[unit] = []
            set_history(own)
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
                invalid.append(record_issue("invalid", rec, rule=plan.id if plan else None,
                                      diagnostic=_record_diag(rec, plan, diag)))
            continue
        except (ArithmeticError, TypeError, ValueError) as err:
            if in_p:
                invalid.append(record_issue("invalid", rec, rule=plan.id if plan else None,
                                      diagnostic=_record_diag(rec, plan, None, str(err))))
            continue
        if windows:
            own.append((day, rec))  # a counted record: later windows look back on it
            if day < score_from:
                continue
        if not matched:
            if in_p:
                unmatched.append(record_issue("unmatched", rec))
            continue

        if unit not in seen_units:
            seen_units[unit] = None
        if in_p:
            st = stats.get(unit)
            stats[unit] = (st[0] + 1 if st else 1, day)
        keys = _period_keys(key_cache, day)
        rid = rec.get("record_id")

        # Phase 2: limits, in the order of the reference page.
        for plan, raw in matched:
            reasons: list[dict[str, Any]] | None = [] if (ledger is not None and in_p) else None
            rule_id = plan.id
            esc = plan.escalation
            step = None
            if esc is not None:
                k = (unit, rule_id, keys[esc.per])
                n = esc_count.get(k, 0) + 1
                esc_count[k] = n
                steps = esc.steps
                raw = steps[n - 1] if n <= len(steps) else steps[-1]
                step = {"per": esc.per, "period": keys[esc.per], "n": n}
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
                value = _apply_limits(used, unit, plan, plan.limits, keys, value, 1, reasons)
            elif value < 0:
                value = _apply_limits(used, unit, plan, plan.dlimits, keys, value, -1, reasons)

            if plan.veto is not None:
                vetoes.setdefault(unit, []).append(
                    {"rule": rule_id, "rule_name": plan.name, "record_id": rid,
                     "date": day.isoformat(), "per": plan.veto, "period": keys[plan.veto]}
                )

            if in_p:
                s = sums.get(unit)
                if s is None:
                    s = sums[unit] = [ZERO, {}, {}, ZERO, ZERO]
                s[0] += value
                if value > 0:
                    s[3] += value
                elif value < 0:
                    s[4] += value
                by_rule = s[1]
                by_rule[rule_id] = by_rule.get(rule_id, ZERO) + value
                if plan.category is not None:
                    by_cat = s[2]
                    by_cat[plan.category] = by_cat.get(plan.category, ZERO) + value
                if reasons is not None:
                    ledger.append(  # type: ignore[union-attr]
                        LedgerEntry(rid, hh, day, rule_id, plan.name, plan.category, raw, value,
                                    tuple(reasons), plan.position, rec.get("_file"),
                                    rec.get("_row"), person, rec, step)
                    )

    if windows:
        set_history(None)
    results = build_results(ruleset, period, register, seen_units, sums, vetoes, ledger, stats)
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
        pending=pending,
    )



def _apply_limits(used: dict[tuple, Any], unit: Any, plan: _Plan, limits: tuple,
                  keys: Mapping[str, str], value: Decimal, sign: int,
                  reasons: list | None) -> Decimal:
    """Apply a rule's limits, then its category's, in that order, to ``value`` (sign 1: points
    awarded, -1: points taken); then count what was finally awarded toward every one of them
    (a points limit by the points, a count limit by one record when something was awarded), so
    each limit counts what the household actually received."""
    amount = value if sign > 0 else -value
    touched = []
    for lim, name, head in limits:
        pk = keys[lim.per]
        k = (unit, head, plan.id if head == "rule" else plan.category, name, lim.per,
             lim.times is not None, pk)
        touched.append((k, lim))
        if not amount:
            continue  # an earlier limit left nothing: later ones do not bite
        so_far = used.get(k, 0)
        if lim.times is not None:
            if so_far >= lim.times:
                if reasons is not None:
                    reasons.append({"limit": name, "per": lim.per, "period": pk,
                                    "times": lim.times, "used": so_far})
                amount = ZERO
        else:
            left = lim.max - so_far
            if left < 0:
                left = ZERO
            if amount > left:
                if reasons is not None:
                    reasons.append({"limit": name, "per": lim.per, "period": pk, "max": lim.max,
                                    "used": so_far if so_far else ZERO, "left": left})
                amount = left
    if amount:
        for k, lim in touched:
            used[k] = used.get(k, 0) + (1 if lim.times is not None else amount)
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


