"""Recurring duties (村级事务清单): which periods of a scheduled item were done, late, missed.

A checklist item with a ``schedule`` (``every: quarter, due: {days: 10, after: period_end}``)
must be fulfilled once in every period. Each period has a **window**, from the period's first
day to its **due date** (``days`` calendar or Chinese working days after the period's end, or
start). Cases fulfil periods (the rules, also in docs/compliance.md):

1. A case that names its period (case field ``period`` / 期间, e.g. ``2024-Q1``) fulfils that
   period. The value must be a period of the item's schedule (a quarter for a quarterly
   item) — otherwise an input error with its row.
2. A case without a period fulfils the earliest unfulfilled period whose window holds its
   date; when no window holds it, the earliest unfulfilled period already due before its date
   (late).
3. A case for a period that is already fulfilled is a ``duplicate``: reported, not counted.
4. Cases dated after the as-of date are not counted (the report is as of that date); a case
   dated before the rule file's ``effective.from`` is an input error.

Cases that name their period are placed first, then the others in date order (case id breaks
ties), so a case written for Q1 is never taken by a case that merely happened in Q1's window.

Every period from ``effective.from`` (or ``check --from``) up to the as-of date (and no later
than ``effective.until``) is judged: **compliant** (done by its due date), **late** (done after
it; ``days_late`` in calendar days, as for the ``late`` finding), **missed** (not done, due date
passed), **pending** (not done, not yet due: the due date itself is not past). A period is
judged when any of its days is on or after the start: a quarter that ended before
``effective.from`` is not.

The date of a case: a one-row case (an item with only a schedule) is done on its row's date
(the latest, if it has several rows); a case of an item that also has procedures is done on
the date its procedure's last step was taken, and does not fulfil anything before that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from xiangyue.checklists.workdays import add_days
from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register
from xiangyue.periods import Period, next_period, parse_duty_period, period_of
from xiangyue.rules.model import ChecklistItem, Procedure, Ruleset, Schedule

__all__ = ["DUTY_STATUSES", "Duty", "judge_duties", "due_date", "periods_between", "parse_from"]

#: Statuses of a period, worst first; ``duplicate`` marks a further case for a fulfilled period.
DUTY_STATUSES: tuple[str, ...] = ("missed", "late", "pending", "compliant")
DUPLICATE = "duplicate"

register(
    {
        "E-DUTY-PERIOD": Msg(
            zh="期间“{value}”无法识别",
            en="the period '{value}' is not understood",
            hint_zh="“{item}”每{every_zh}一次，期间写成 {example}",
            hint_en="“{item}” is due every {every_en}; write the period as {example}",
        ),
        "E-DUTY-PERIOD-KIND": Msg(
            zh="期间“{value}”不是“{item}”的一个期间：该事项每{every_zh}一次",
            en="'{value}' is not a period of “{item}”, which is due every {every_en}",
            hint_zh="期间写成 {example}",
            hint_en="write the period as {example}",
        ),
        "E-DUTY-PERIOD-RANGE": Msg(
            zh="期间 {period} 在规则生效（{start}）之前",
            en="the period {period} is before the rules took effect ({start})",
            hint_zh="检查期间是否写错；生效前的期间不按本规则核对",
            hint_en="check the period; periods before the rules took effect are not checked",
        ),
        "E-DUTY-PERIOD-AFTER": Msg(
            zh="期间 {period} 在规则失效（{until}）之后",
            en="the period {period} is after the rules expired ({until})",
            hint_zh="检查期间是否写错；失效后的期间按新的规则文件核对",
            hint_en="check the period; periods after the rules expired are checked with the new rule file",
        ),
        "E-DUTY-BEFORE-EFFECTIVE": Msg(
            zh="事项 {case_id} 的日期 {date} 早于规则生效日期 {start}",
            en="case {case_id} is dated {date}, before the rules took effect on {start}",
            hint_zh="检查日期是否写错；生效前办理的事项不按本规则核对，请不要放进事项表",
            hint_en="check the date; cases before the rules took effect are not checked by "
            "them, leave them out of the case file",
        ),
        "E-DUTY-NO-START": Msg(
            zh="规则文件没有生效日期 effective.from，无法确定从哪一期开始核对定期事项",
            en="the rule file has no effective.from, so it is unknown from which period on "
            "the recurring duties are due",
            hint_zh="在规则文件中写 effective: {{from: 2024-01-01}}，或运行 check 时加 --from 2024-01-01",
            hint_en="add effective: {{from: 2024-01-01}} to the rule file, or run check with "
            "--from 2024-01-01",
        ),
        "E-DUTY-FROM": Msg(
            zh="起始日期“{text}”无法识别",
            en="the start '{text}' is not understood",
            hint_zh="写成 2024-01-01（日期）或 2024-Q1、2024-03、2024（期间）",
            hint_en="write a date (2024-01-01) or a period (2024-Q1, 2024-03, 2024)",
        ),
    }
)

_EVERY_WORDS = {"month": ("月", "month", "2024-03"), "quarter": ("季度", "quarter", "2024-Q1"),
                "half_year": ("半年", "half year", "2024-H1 / 2024-H2"),
                "year": ("年", "year", "2024")}


def _every_args(item: ChecklistItem) -> dict[str, str]:
    assert item.schedule is not None
    zh, en, example = _EVERY_WORDS[item.schedule.every]
    return {"item": item.name, "every_zh": zh, "every_en": en, "example": example}


@dataclass(frozen=True)
class Duty:
    """One period of a scheduled item and what became of it (or a duplicate case for it)."""

    item: str
    name: str
    list: str
    period: str
    start: dt.date
    end: dt.date
    due: dt.date
    status: str  # compliant | late | missed | pending | duplicate
    date: dt.date | None = None  # the date of the case that fulfilled it
    days_late: int | None = None  # late: calendar days after the due date
    case_id: str | None = None
    calendar: str = "calendar"
    fulfilled_by: str | None = None  # duplicate: the case that fulfilled the period first

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "item": self.item, "name": self.name, "list": self.list, "period": self.period,
            "due": self.due.isoformat(), "status": self.status,
            "date": self.date.isoformat() if self.date else None,
            "days_late": self.days_late,
            "case_id": self.case_id,
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "calendar": self.calendar,
        }
        if self.status == DUPLICATE:
            out["fulfilled_by"] = self.fulfilled_by
        return out


def due_date(schedule: Schedule, period: Period) -> dt.date:
    """The last day on which ``period``'s duty is on time."""
    anchor = period.end if schedule.after == "period_end" else period.start
    return add_days(anchor, schedule.days, schedule.calendar)


def periods_between(every: str, start: dt.date, end: dt.date) -> list[Period]:
    """The periods of kind ``every`` with a day in ``start``..``end`` (none when end < start)."""
    out: list[Period] = []
    if end < start:
        return out
    p = period_of(start, every)
    while p.start <= end:
        out.append(p)
        p = next_period(p)
    return out


def parse_from(text: str | None) -> dt.date | None:
    """``check --from``: a date (``2024-04-01``) or a period (its first day: ``2024-Q2``)."""
    if text is None or not str(text).strip():
        return None
    from xiangyue.periods import DateTextError, parse_date_text

    t = str(text).strip()
    try:
        return parse_date_text(t)  # 2024-04-01, 2024/4/1, 2024年4月1日
    except DateTextError:
        pass
    try:
        return parse_duty_period(t).start
    except InputError:
        raise InputError(Diagnostic("E-DUTY-FROM", file="--from", args={"text": text})) from None


def _case_date(case: Any, procedures: tuple[Procedure, ...], choose) -> dt.date | None:
    """When a case fulfilled its duty (None when it is not done yet)."""
    if not case.steps:
        return None
    if not procedures:
        return max(s.date for s in case.steps)
    proc = choose(case)
    if proc is None or not proc.steps:
        return None
    last = proc.steps[-1].name
    return next((s.date for s in case.steps if s.name == last), None)


def _case_period_value(case: Any) -> Any:
    value = case.values.get("period") if case.values else None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def _period_text(value: Any, every: str) -> str:
    """A cell's period as text: a spreadsheet turns ``2024-03`` into the date 2024-03-01,
    which reads back as ``2024-03-01`` — taken as its month for a monthly item."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        value = value.isoformat()
    t = str(value).strip()
    if every == "month" and len(t) == 10 and t.endswith("-01"):
        try:
            dt.date.fromisoformat(t)
            return t[:7]
        except ValueError:
            pass
    if t.endswith(".0") and t[:-2].isdigit():  # 2024 typed as a number
        t = t[:-2]
    return t


def judge_duties(ruleset: Ruleset, cases: Iterable[Any], as_of: dt.date, *,
                 start: dt.date | None = None, choose=None) -> tuple[Any, ...]:
    """Judge every period of every scheduled item of ``ruleset`` as of ``as_of``.

    ``cases`` are grouped cases (:class:`xiangyue.checklists.check.Case`), any item, in case id
    order (it breaks ties between cases of one date); those of scheduled items are used. ``start`` (``check --from``) overrides ``effective.from`` but
    never reaches before it. ``choose(case)`` picks a case's procedure (for items that have
    procedures too). Returns :class:`Duty` rows by item (rule file order), then period, each
    period's duplicates right after it. Raises :class:`InputError` with every bad row.
    """
    items = [it for it in ruleset.checklists if it.schedule is not None]
    if not items:
        return ()
    effective = ruleset.effective_from
    begin = max(d for d in (start, effective) if d is not None) if (start or effective) else None
    if begin is None:
        raise InputError(Diagnostic("E-DUTY-NO-START", file=ruleset.file))
    last = min(as_of, ruleset.effective_until) if ruleset.effective_until else as_of

    by_item: dict[str, list[Any]] = {it.id: [] for it in items}
    for case in cases:
        it = ruleset.item(case.item) if case.item else None
        if it is not None and it.id in by_item:
            by_item[it.id].append(case)

    diags: list[Diagnostic] = []
    out: list[Duty] = []
    for it in items:
        out.extend(_judge_item(it, by_item[it.id], as_of, begin, last, (effective, ruleset.effective_until),
                               choose, diags))
    if diags:
        raise InputError(diags)
    return tuple(out)


def _judge_item(item: ChecklistItem, cases: list[Any], as_of: dt.date, begin: dt.date, last: dt.date,
                in_force: tuple[dt.date | None, dt.date | None], choose,
                diags: list[Diagnostic]) -> list[Duty]:
    effective, until = in_force
    sched = item.schedule
    assert sched is not None
    periods = periods_between(sched.every, begin, last)
    dues = {p.key: due_date(sched, p) for p in periods}
    judged = {p.key: p for p in periods}

    explicit: list[tuple[dt.date, str, Period, Any]] = []
    loose: list[tuple[dt.date, str, Any]] = []
    for case in cases:
        day = _case_date(case, item.procedures, choose)
        value = _case_period_value(case)
        period = None
        if value is not None:
            pfile, line, column = case.field_at.get("period", (case.pos.file, case.pos.line, "期间"))
            where = {"file": pfile or case.pos.file, "line": line, "column": column}
            text = _period_text(value, sched.every)
            try:
                period = parse_duty_period(text)
            except InputError:
                diags.append(Diagnostic("E-DUTY-PERIOD", **where, args={"value": value, **_every_args(item)}))
                continue
            if period.kind != sched.every:
                diags.append(Diagnostic("E-DUTY-PERIOD-KIND", **where,
                                        args={"value": value, **_every_args(item)}))
                continue
            if effective is not None and period.end < effective:
                diags.append(Diagnostic("E-DUTY-PERIOD-RANGE", **where,
                                        args={"period": period.key, "start": effective.isoformat()}))
                continue
            if until is not None and period.start > until:
                diags.append(Diagnostic("E-DUTY-PERIOD-AFTER", **where,
                                        args={"period": period.key, "until": until.isoformat()}))
                continue
        if day is None:
            continue  # not done yet (its procedure's last step is not taken)
        if effective is not None and day < effective:
            row = min(case.steps, key=lambda s: s.date)
            column = case.columns.get("date") or "日期"
            diags.append(Diagnostic("E-DUTY-BEFORE-EFFECTIVE", file=row.pos.file or case.pos.file,
                                    line=row.pos.line or case.pos.line, column=column,
                                    args={"case_id": case.case_id, "date": day.isoformat(),
                                          "start": effective.isoformat()}))
            continue
        if day > as_of:
            continue  # the report is as of its date
        if period is not None:
            if period.key in judged:
                explicit.append((day, case.case_id, period, case))
            continue  # a period outside the judged range (before --from, not yet begun)
        loose.append((day, case.case_id, case))

    done: dict[str, tuple[dt.date, str]] = {}
    dups: dict[str, list[tuple[dt.date, str]]] = {}

    def fulfil(key: str, day: dt.date, case_id: str) -> None:
        if key in done:
            dups.setdefault(key, []).append((day, case_id))
        else:
            done[key] = (day, case_id)

    for day, case_id, period, _case in sorted(explicit, key=lambda x: x[0]):
        fulfil(period.key, day, case_id)
    for day, case_id, _case in sorted(loose, key=lambda x: x[0]):
        open_windows = [p for p in periods if p.key not in done and p.start <= day <= dues[p.key]]
        if open_windows:
            fulfil(open_windows[0].key, day, case_id)
            continue
        overdue = [p for p in periods if p.key not in done and dues[p.key] < day]
        if overdue:
            fulfil(overdue[0].key, day, case_id)
            continue
        # every period it could fulfil is fulfilled: a duplicate of the period whose window
        # holds it, else of the last one due before it
        holding = [p for p in periods if p.start <= day <= dues[p.key]]
        before = [p for p in periods if dues[p.key] < day]
        target = holding[0] if holding else (before[-1] if before else None)
        if target is not None:
            fulfil(target.key, day, case_id)

    out: list[Duty] = []
    for p in periods:
        due = dues[p.key]
        base = dict(item=item.id, name=item.name, list=item.list, period=p.key, start=p.start,
                    end=p.end, due=due, calendar=sched.calendar)
        if p.key in done:
            day, case_id = done[p.key]
            if day <= due:
                out.append(Duty(**base, status="compliant", date=day, case_id=case_id))
            else:
                out.append(Duty(**base, status="late", date=day, case_id=case_id,
                                days_late=(day - due).days))
        elif as_of > due:
            out.append(Duty(**base, status="missed"))
        else:
            out.append(Duty(**base, status="pending"))
        for day, case_id in dups.get(p.key, ()):
            out.append(Duty(**base, status=DUPLICATE, date=day, case_id=case_id,
                            fulfilled_by=done[p.key][1]))
    return out
