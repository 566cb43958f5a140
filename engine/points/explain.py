"""A household's points story for a period, record by record, in words a villager reads.

    3月5日 志愿服务 ×4：按“志愿服务”应得 8 分；本月志愿服务已得 8 分，封顶 10 分，实得 2 分

:func:`explain` evaluates only the household's own records (every limit is counted per
household, so its result is the same as in the whole village's evaluation) and returns a
:class:`Story`; :func:`story_text` renders it in Chinese or English, :meth:`Story.to_json`
as data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from xiangyue.errors import Diagnostic, InputError
from xiangyue.points.evaluate import evaluate
from xiangyue.points.inputs import Inputs
from xiangyue.points.results import BASE_RULE, Evaluation, LedgerEntry, RecordIssue
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import Ruleset
from xiangyue.periods import Period
from xiangyue.report.jsonout import decimal_text

register(
    {
        "E-EXPLAIN-HOUSEHOLD": Msg(
            zh="户号“{household}”不在农户名册中",
            en="household '{household}' is not in the household register",
            hint_zh="检查户号，或先导入农户名册",
            hint_en="check the household id, or import the household register first",
        ),
    }
)

_PER_ZH = {"day": "今天", "week": "本周", "month": "本月", "quarter": "本季度", "year": "本年度",
           "ever": "累计"}
_PER_EN = {"day": "today", "week": "this week", "month": "this month", "quarter": "this quarter",
           "year": "this year", "ever": "in all"}
_EVERY_ZH = {"day": "每天", "week": "每周", "month": "每月", "quarter": "每季度", "year": "每年",
             "ever": "累计"}
_STEP_ZH = {"day": "当天", "week": "本周", "month": "本月", "quarter": "本季度", "year": "本年",
            "ever": "累计"}


@dataclass
class Story:
    household: str
    head: str | None
    grid: str | None
    period: Period
    total: Decimal
    vetoed: bool
    base: list[LedgerEntry] = field(default_factory=list)
    records: list[tuple[Mapping[str, Any], list[LedgerEntry]]] = field(default_factory=list)
    issues: list[RecordIssue] = field(default_factory=list)
    vetoes: list[dict[str, Any]] = field(default_factory=list)
    ruleset: Ruleset | None = None
    person: str | None = None
    earned: Decimal = Decimal(0)
    deducted: Decimal = Decimal(0)
    base_total: Decimal = Decimal(0)
    #: record id -> the record's cells under columns the rules do not know (kept on import)
    extras: dict[str, dict[str, str]] = field(default_factory=dict)

    def _record_json(self, rec: Mapping[str, Any], entries: list[LedgerEntry],
                     lang: str) -> dict[str, Any]:
        out = {
            "record_id": rec.get("record_id"),
            "date": rec["date"].isoformat(),
            "what": _what(rec, self.ruleset, lang),
            "rules": [_entry_json(e) for e in entries],
            "text": _record_line(rec, entries, self.ruleset, lang)
            + _extra_words(self.extras.get(str(rec.get("record_id"))), lang),
        }
        extra = self.extras.get(str(rec.get("record_id")))
        if extra:
            out["extra"] = dict(extra)
        return out

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "period": self.period.key,
            "household": self.household,
            "head": self.head,
            "grid": self.grid,
            "total": self.total,
            "base_points": self.base_total,
            "earned": self.earned,
            "deducted": self.deducted,
            "vetoed": self.vetoed,
            "vetoes": [dict(v) for v in self.vetoes],
            "base": [e.to_json() for e in self.base],
            "records": [self._record_json(rec, entries, lang) for rec, entries in self.records],
            "issues": [dict(i.to_json(lang), kind=i.kind) for i in self.issues],
            "text": story_text(self, lang).splitlines(),
        }


def _entry_json(e: LedgerEntry) -> dict[str, Any]:
    return {"rule": e.rule, "rule_name": e.rule_name, "category": e.category, "raw": e.raw,
            "awarded": e.awarded, "reasons": [dict(r) for r in e.reasons],
            "position": e.position, **({"step": dict(e.step)} if e.step is not None else {})}


def story_of(ev: Evaluation, household: str) -> Story:
    """The story of one household in an evaluation made with its ledger."""
    res = ev.result(household)
    if res is None:
        raise InputError(Diagnostic("E-EXPLAIN-HOUSEHOLD", args={"household": household}))
    if ev.ledger is None:
        raise ValueError("the evaluation was made without a ledger")
    story = Story(household=household, head=res.head, grid=res.grid, period=ev.period,
                  total=_household_total(ev, household), vetoed=res.vetoed, ruleset=ev.ruleset,
                  vetoes=list(res.vetoes))
    own = [r for r in ev.results if r.household == household]
    story.earned = sum((r.earned for r in own), Decimal(0))
    story.deducted = sum((r.deducted for r in own), Decimal(0))
    story.base_total = sum((r.base for r in own), Decimal(0))
    current: list[LedgerEntry] | None = None
    last_key: Any = None
    for e in ev.ledger:
        if e.household != household:
            continue
        if e.record_id is None:
            story.base.append(e)
            continue
        key = (e.record_id, e.date)
        if key != last_key:
            current = []
            story.records.append((e.record or {"record_id": e.record_id, "date": e.date},
                                  current))
            last_key = key
        current.append(e)  # type: ignore[union-attr]
    for issues in (ev.unmatched, ev.not_covered, ev.invalid, ev.pending):
        story.issues.extend(i for i in issues if i.household == household)
    story.issues.sort(key=lambda i: (i.date or dt.date.min, str(i.record_id or "")))
    return story


def _household_total(ev: Evaluation, household: str) -> Decimal:
    """The household's total (with ``unit: person``, all its members together)."""
    return sum((r.total for r in ev.results if r.household == household), Decimal(0))


def explain(
    ruleset: Ruleset,
    records: Iterable[Mapping[str, Any]],
    households: Iterable[Mapping[str, Any]] | None,
    period: Period,
    household: str,
    *,
    presorted: bool = False,
) -> Story:
    """Evaluate one household's records for ``period`` and tell its story.

    Raises :class:`~xiangyue.errors.InputError` when the register does not know the household.
    """
    register_rows = None
    if households is not None:
        register_rows = [h for h in households if h.get("household") == household]
        if not register_rows:
            raise InputError(Diagnostic("E-EXPLAIN-HOUSEHOLD", args={"household": household}))
    own = (r for r in records if r.get("household") == household)
    register = register_rows if register_rows is not None else [{"household": household}]
    ev = evaluate(ruleset, Inputs(own, register, presorted), period)
    return story_of(ev, household)


# --------------------------------------------------------------------------------------------
# Words


def _n(value: Decimal) -> str:
    return decimal_text(value)


def _day(day: dt.date, lang: str) -> str:
    if lang == "en":
        return day.strftime("%d %b").lstrip("0")
    return f"{day.month}月{day.day}日"


def _period_words(kind: str, key: str, lang: str) -> str:
    """``2024`` -> 2024年度; ``2024-Q1`` -> 2024年第一季度; ``2024-03`` -> 2024年3月."""
    from xiangyue.periods import period_words

    if lang == "en":
        return {"year": f"the year {key}", "quarter": f"quarter {key}",
                "month": f"month {key}"}.get(kind, key)
    return period_words(key, lang)


def _what(rec: Mapping[str, Any], ruleset: Ruleset | None, lang: str) -> str:
    """What was done: the activity, ×quantity when not 1, and enumerated fields (等级 优)."""
    parts = [str(rec.get("activity") or "")]
    qty = rec.get("quantity")
    if isinstance(qty, Decimal) and qty != 1:
        parts.append(f"×{_n(qty)}")
    if ruleset is not None:
        for f in ruleset.fields:
            if f.values and f.id != "activity" and rec.get(f.id) not in (None, ""):
                label = f.id if lang == "en" else (f.label or f.id)
                parts.append(f"{label} {rec[f.id]}")
    return " ".join(p for p in parts if p)


def _reason(entry: LedgerEntry, r: Mapping[str, Any], lang: str) -> str:
    limit, per = r["limit"], r.get("per", "")
    when = (_PER_EN if lang == "en" else _PER_ZH).get(per, per)
    name = entry.rule_name
    cat = entry.category or ""
    if "times" in r:
        taken = limit in ("deduction_cap", "category_deduction_cap")
        what = name if limit in ("cap", "deduction_cap") else (
            f"category {cat}" if lang == "en" else f"{cat}类")
        if lang == "en":
            every = "in all" if per == "ever" else f"per {per}"
            return (f"{when} {what} already counted {r['used']} time{'s' if r['used'] != 1 else ''}, "
                    f"at most {r['times']} {every}")
        verb = "扣" if taken else "记"
        return f"{when}{what}已{verb} {r['used']} 次，{_EVERY_ZH.get(per, per)}限 {r['times']} 次"
    if limit in ("cap", "category_cap"):
        what = name if limit == "cap" else (f"category {cat}" if lang == "en" else f"{cat}类")
        if lang == "en":
            return (f"{when} {what} has already given {_n(r['used'])}, at most {_n(r['max'])}")
        return f"{when}{what}已得 {_n(r['used'])} 分，封顶 {_n(r['max'])} 分"
    if limit in ("deduction_cap", "category_deduction_cap"):
        what = name if limit == "deduction_cap" else (
            f"category {cat}" if lang == "en" else f"{cat}类")
        if lang == "en":
            return (f"{when} {what} has already taken {_n(r['used'])}, "
                    f"at most {_n(r['max'])} taken")
        return f"{when}{what}已扣 {_n(r['used'])} 分，最多扣 {_n(r['max'])} 分"
    if limit == "once":
        first_day = dt.date.fromisoformat(r["first_date"])
        if lang == "en":
            return (f"counts once {when}; it already counted on {_day(first_day, lang)} "
                    f"(record {r['first']})")
        return f"{when}只计一次，已在{_day(first_day, lang)}（记录 {r['first']}）计过"
    if limit == "highest_only":
        if lang == "en":
            return f"only the highest counts {when}; {_n(r['highest'])} already counted"
        return f"{when}只计最高一次，已按 {_n(r['highest'])} 分计，只补差额"
    return limit


def _step_words(e: LedgerEntry, lang: str) -> str:
    """Which occurrence an escalation counted: ``（本年第 2 次）`` / `` (2nd time this year)``."""
    if e.step is None:
        return ""
    n, per = e.step["n"], e.step["per"]
    if lang == "en":
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else n % 10, "th")
        return f" ({n}{suffix} time {_PER_EN.get(per, per)})"
    return f"（{_STEP_ZH.get(per, per)}第 {n} 次）"


def rule_clause(e: LedgerEntry, lang: str) -> str:
    """How one rule scored one record, in plain words (按“志愿服务”应得 8 分；…实得 2 分)."""
    return _rule_clause(e, lang)


def _rule_clause(e: LedgerEntry, lang: str) -> str:
    step = _step_words(e, lang)
    if lang == "en":
        if not e.reasons:
            return f"by rule '{e.rule_name}'{step} {_n(e.awarded)} points"
        reasons = "; ".join(_reason(e, r, lang) for r in e.reasons)
        return (f"by rule '{e.rule_name}'{step} {_n(e.raw)} points; {reasons}; "
                f"awarded {_n(e.awarded)}")
    if not e.reasons:
        if e.awarded < 0:
            return f"按“{e.rule_name}”{step}扣 {_n(-e.awarded)} 分"
        return f"按“{e.rule_name}”{step}得 {_n(e.awarded)} 分"
    reasons = "；".join(_reason(e, r, lang) for r in e.reasons)
    if e.raw < 0:
        return f"按“{e.rule_name}”{step}应扣 {_n(-e.raw)} 分；{reasons}，实扣 {_n(-e.awarded)} 分"
    return f"按“{e.rule_name}”{step}应得 {_n(e.raw)} 分；{reasons}，实得 {_n(e.awarded)} 分"


def _extra_words(extra: Mapping[str, str] | None, lang: str) -> str:
    """The record's extra fields (columns the rules do not know), as the clerk wrote them."""
    if not extra:
        return ""
    if lang == "en":
        return " [" + "; ".join(f"{k}: {v}" for k, v in extra.items()) + "]"
    return "（" + "，".join(f"{k} {v}" for k, v in extra.items()) + "）"


def _record_line(rec: Mapping[str, Any], entries: list[LedgerEntry], ruleset: Ruleset | None,
                 lang: str) -> str:
    sep = "; " if lang == "en" else "；"
    colon = ": " if lang == "en" else "："
    head = f"{_day(rec['date'], lang)} {_what(rec, ruleset, lang)}"
    return head + colon + sep.join(_rule_clause(e, lang) for e in entries)


def _issue_line(issue: RecordIssue, lang: str) -> str:
    day = _day(issue.date, lang) if isinstance(issue.date, dt.date) else ""
    act = issue.activity or ""
    if lang == "en":
        why = {
            "unmatched": "no rule applies, nothing awarded (check the activity's name)",
            "not_covered": "outside the rule file's effective dates, nothing awarded",
            "invalid": "cannot be scored, nothing awarded",
            "pending": "pending (not counted yet)",
        }[issue.kind]
    else:
        why = {
            "unmatched": "没有适用的规则，不计分（请核对事项名称）",
            "not_covered": "不在本细则的有效期内，不计分",
            "invalid": "无法计分，整条不计",
            "pending": "待审核，暂不计分，也不计入任何限制",
        }[issue.kind]
    if issue.kind == "pending" and issue.reason:
        why += f" ({issue.reason})" if lang == "en" else f"（{issue.reason}）"
    if issue.kind == "invalid" and issue.diagnostic is not None:
        why += ("：" if lang != "en" else ": ") + issue.diagnostic.message(lang)
    rid = f"（记录 {issue.record_id}）" if lang != "en" else f" (record {issue.record_id})"
    return f"{day} {act}{rid}{': ' if lang == 'en' else '：'}{why}"


def story_text(story: Story, lang: str = "zh") -> str:
    """The story as lines of text."""
    lines: list[str] = []
    who = story.household + (f" {story.head}" if story.head else "")
    period = _period_kind_words(story.period, lang)
    if lang == "en":
        lines.append(f"Household {who}, {period}")
    else:
        lines.append(f"{who} 户 {period}积分明细")
    for e in story.base:
        if lang == "en":
            lines.append(f"{_day(e.date, lang)} base points: {_n(e.awarded)}")
        else:
            lines.append(f"{_day(e.date, lang)} 基础分：{_n(e.awarded)} 分")
    # Records and listed problems, in date order.
    items: list[tuple[tuple, str]] = []
    for rec, entries in story.records:
        items.append(((rec["date"], str(rec.get("record_id") or "")),
                      _record_line(rec, entries, story.ruleset, lang)
                      + _extra_words(story.extras.get(str(rec.get("record_id"))), lang)))
    for issue in story.issues:
        items.append(((issue.date if isinstance(issue.date, dt.date) else dt.date.min,
                       str(issue.record_id or "")), _issue_line(issue, lang)))
    items.sort(key=lambda kv: kv[0])
    lines.extend(text for _, text in items)
    for v in story.vetoes:
        words = _period_words(v["per"], v["period"], lang)
        day = _day(dt.date.fromisoformat(v["date"]), lang)
        if lang == "en":
            lines.append(f"Because of '{v['rule_name']}' ({day}, record {v['record_id']}), "
                         f"vetoed (一票否决) for {words}")
        else:
            lines.append(f"因{v['rule_name']}（{day}，记录 {v['record_id']}），{words}一票否决")
    if not story.records and not story.base:
        lines.append("No points in this period." if lang == "en" else "本期没有积分记录。")
    pending = sum(1 for i in story.issues if i.kind == "pending")
    if lang == "en":
        if pending:
            lines.append(f"{pending} record{'s' if pending != 1 else ''} pending: not counted yet")
        lines.append(f"Base {_n(story.base_total)}, earned {_n(story.earned)}, "
                     f"deducted {_n(story.deducted)}")
        lines.append(f"Total for {story.period.key}: {_n(story.total)} points"
                     + (" (vetoed)" if story.vetoed else ""))
    else:
        if pending:
            lines.append(f"另有 {pending} 条记录待审核，暂不计分")
        lines.append(f"基础分 {_n(story.base_total)} 分，得分 {_n(story.earned)} 分，"
                     f"扣分 {_n(-story.deducted)} 分")
        lines.append(f"{period}合计：{_n(story.total)} 分" + ("（一票否决）" if story.vetoed else ""))
    return "\n".join(lines)


def _period_kind_words(period: Period, lang: str) -> str:
    words = _period_words(period.kind, period.key, lang)
    if lang != "en" and period.kind == "year":
        return f"{period.key} 年"
    return words


__all__ = ["Story", "explain", "record_extras", "story_of", "story_text", "BASE_RULE"]


def record_extras(ruleset: Ruleset, ids: list[str], *, db_path: str | None,
                   records_path: str | None) -> dict[str, dict[str, str]]:
    """The extra fields of the records ``ids``, from the records file or the database."""
    if records_path:
        from xiangyue.data.tables import read_table

        table = read_table(records_path, ruleset.fields)
        wanted = set(ids)
        return {str(r["record_id"]): e for r, e in zip(table.rows, table.extras)
                if e and str(r["record_id"]) in wanted}
    if not db_path:
        return {}
    from xiangyue.data.store import open_store

    with open_store(db_path, create=False) as store:
        return store.record_extras(ids)
