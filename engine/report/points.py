"""Renderers for an evaluation's results: terminal table, JSON, CSV.

The JSON shape (keys may be added, never renamed)::

    {"period": "2024-Q1",
     "ruleset": {"name": ..., "version": ..., "sha256": ...},
     "households": [{"household": "JG001", "total": 12.5, "base": 0, "earned": 15.5,
                     "deducted": -3, "vetoed": false, "by_rule": {"volunteer": 10, ...}, ...}, ...],
     "unmatched": [{"record_id": ..., "activity": ..., "suggestions": ["志愿服务"]}],
     "not_covered": [...], "invalid": [...],
     "pending": [{"record_id", "household", "date", "activity", "reason", "file", "row"}]}

``suggestions``: the activity names the rule file knows that are closest to an unmatched
record's activity (:mod:`xiangyue.rules.vocabulary`; empty when its name is known or nothing
is close).

Every household of the register appears; ``total`` = ``base`` + ``earned`` + ``deducted``;
numbers are exact (see :mod:`.jsonout`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

from xiangyue.points.results import BASE_RULE, Evaluation
from xiangyue.report.terminal import table, text_width  # noqa: F401  (text_width re-exported)
from xiangyue.report.cells import csv_text
from xiangyue.report.jsonout import decimal_text, dumps

__all__ = ["to_json", "render_json", "render_table", "render_csv", "text_width", "align"]


def to_json(ev: Evaluation, lang: str = "zh") -> dict[str, Any]:
    return {
        "period": ev.period.key,
        "ruleset": ev.ruleset_info(),
        "unit": ev.unit,
        "record_count": ev.record_count,
        "households": [r.to_json() for r in ev.results],
        "unmatched": [dict(i.to_json(lang), suggestions=s)
                      for i, s in zip(ev.unmatched, _suggestions(ev))],
        "not_covered": [i.to_json(lang) for i in ev.not_covered],
        "invalid": [i.to_json(lang) for i in ev.invalid],
        "unknown_households": [i.to_json(lang) for i in ev.unknown_households],
        "pending": [i.to_json(lang) for i in ev.pending],
    }


def render_json(ev: Evaluation, lang: str = "zh") -> str:
    return dumps(to_json(ev, lang))


def align(rows: Sequence[Sequence[str]], right: set[int] = frozenset(), gap: str = "  ") -> str:
    """Rows of cells as aligned text lines; columns in ``right`` are right-aligned."""
    return table((), rows, right=right, gap=gap)


def _num(value: Decimal) -> str:
    return decimal_text(value)


_HEAD = {
    "zh": ("户号", "成员", "户主", "网格", "总分", "一票否决", "基础分"),
    "en": ("household", "person", "head", "grid", "total", "vetoed", "base"),
}
_SPLIT = {"zh": ("得分", "扣分"), "en": ("earned", "deducted")}


def _columns(ev: Evaluation) -> list[str]:
    """Category columns, in file order, that appear in the results."""
    present = {c for r in ev.results for c in r.by_category}
    return [c.id for c in ev.ruleset.categories if c.id in present] + sorted(
        present - {c.id for c in ev.ruleset.categories}
    )


def render_table(ev: Evaluation, lang: str = "zh") -> str:
    """Totals per household (and per category), then what the clerk should look at."""
    h_house, h_person, h_head, h_grid, h_total, h_veto, h_base = _HEAD[lang]
    person = ev.unit == "person"
    cats = _columns(ev)
    has_base = any(BASE_RULE in r.by_rule for r in ev.results)
    header = [h_house] + ([h_person] if person else []) + [h_head, h_grid, h_total, h_veto]
    header += ([h_base] if has_base else []) + list(_SPLIT[lang]) + cats
    rows = [header]
    yes = "是" if lang != "en" else "yes"
    for r in ev.results:
        row = [r.household] + ([r.person or ""] if person else [])
        row += [r.head or "", r.grid or "", _num(r.total), yes if r.vetoed else ""]
        if has_base:
            row.append(_num(r.by_rule.get(BASE_RULE, Decimal(0))))
        row += [_num(r.earned), _num(r.deducted)]
        row += [_num(r.by_category[c]) if c in r.by_category else "" for c in cats]
        rows.append(row)
    first_num = len(header) - len(cats) - (1 if has_base else 0) - 4
    right = {first_num} | set(range(first_num + 2, len(header)))
    rs = ev.ruleset
    if lang == "en":
        title = f"{rs.village} {rs.name} (version {rs.version}), period {ev.period.key}, " \
                f"{ev.record_count} records"
    else:
        from xiangyue.periods import period_words
        from xiangyue.report.notice import ruleset_line

        title = (f"{rs.village} {ruleset_line({'name': rs.name, 'version': rs.version}, lang)} "
                 f"{period_words(ev.period.key)}，共 {ev.record_count} 条记录")
    out = [title, "", align(rows, right)]
    out.extend(_issue_lines(ev, lang))
    return "\n".join(out) + "\n"


def _suggestions(ev: Evaluation) -> list[list[str]]:
    """For each unmatched record, the closest activity names the rule file knows."""
    if not ev.unmatched:
        return []
    from xiangyue.rules.vocabulary import vocabulary

    vocab = vocabulary(ev.ruleset)
    if vocab is None:
        return [[] for _ in ev.unmatched]
    memo: dict[str, list[str]] = {}
    out = []
    for i in ev.unmatched:
        a = i.activity if isinstance(i.activity, str) else ""
        if a not in memo:
            memo[a] = vocab.suggest(a)
        out.append(memo[a])
    return out


def _issue_lines(ev: Evaluation, lang: str) -> list[str]:
    groups = [
        (ev.unmatched, "未匹配任何规则的记录（请核对事项名称）", "records no rule applies to (check the activity)"),
        (ev.not_covered, "不在细则有效期内的记录", "records outside the rule file's effective dates"),
        (ev.invalid, "无法计分的记录", "records that cannot be scored"),
        (ev.unknown_households, "户号不在农户名册中的记录", "records of households not in the register"),
        (ev.pending, "待审核的记录（不计分，也不计入任何限制）",
         "pending records (not scored, not counted toward any limit)"),
    ]
    out: list[str] = []
    suggested = _suggestions(ev)
    for issues, zh, en in groups:
        if not issues:
            continue
        out.append("")
        out.append(f"{en if lang == 'en' else zh}: {len(issues)}" if lang == "en"
                   else f"{zh}：{len(issues)} 条")
        rows = []
        for i in issues:
            where = f"{i.file}:{i.row}" if i.file and i.row else ""
            row = [where, str(i.record_id or ""), str(i.household or ""),
                   i.date.isoformat() if i.date else "", str(i.activity or "")]
            if i.kind == "invalid" and i.diagnostic is not None:
                row.append(i.diagnostic.message(lang))
            if i.kind == "pending" and i.reason:
                row.append(i.reason)
            if issues is ev.unmatched:
                from xiangyue.rules.vocabulary import suggestion_words

                row.append(suggestion_words(suggested[len(rows)], lang))
            rows.append(row)
        out.extend("  " + line for line in align(rows).splitlines())
    return out


def render_csv(ev: Evaluation, lang: str = "zh") -> str:
    """One row per household: ids, total, veto, [base], points per rule (file order), then
    earned and deducted."""
    h_house, h_person, h_head, h_grid, h_total, h_veto, h_base = _HEAD[lang]
    person = ev.unit == "person"
    has_base = any(BASE_RULE in r.by_rule for r in ev.results)
    rules = list(ev.ruleset.rules)
    header = [h_house] + ([h_person] if person else []) + [h_head, h_grid, h_total, h_veto]
    header += ([h_base] if has_base else [])
    header += [r.id if lang == "en" else r.name for r in rules]
    header += list(_SPLIT[lang])  # last: the columns before keep their places
    out: list[list[Any]] = []
    for r in ev.results:
        row: list[Any] = [r.household] + ([r.person or ""] if person else [])
        row += [r.head or "", r.grid or "", _num(r.total), "1" if r.vetoed else "0"]
        if has_base:
            row.append(_num(r.by_rule.get(BASE_RULE, Decimal(0))))
        row += [_num(r.by_rule[x.id]) if x.id in r.by_rule else "0" for x in rules]
        row += [_num(r.earned), _num(r.deducted)]
        out.append(row)
    return csv_text(header, out)
