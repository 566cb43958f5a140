"""Renderers for a semantic diff (and its replay): text, JSON, Markdown (the review memo).

JSON shape (keys may be added, never renamed)::

    {"old": {"file", "village", "name", "version", "sha256"}, "new": {...},
     "equivalent": false,
     "changes": [{"kind": "added|removed|changed|renamed", "section": "rules",
                  "path": "rules.volunteer.cap", "rule": "volunteer", "old": ..., "new": ...,
                  "message": "...", "metadata": false}],
     "impact": {"period": "2024-Q1",
                "households": [{"household", "old", "new", "delta"}],
                "boards": {"red": {"old", "new", "entered", "left"}, "black": {...}} | null,
                "summary": {"households", "gain", "lose", "same", "sum_delta", ...}}}
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xiangyue.review.diff import SECTIONS, Diff
from xiangyue.review.replay import Impact
from xiangyue.report.jsonout import decimal_text, dumps
from xiangyue.report.points import align

__all__ = ["render", "render_text", "render_json", "render_markdown", "FORMATS"]

FORMATS = ("text", "json", "markdown")

_SECTION_TITLES = {
    "rules": ("积分规则", "Rules"),
    "categories": ("类别", "Categories"),
    "checklists": ("清单", "Checklists"),
    "fields": ("记录字段", "Record fields"),
    "household_fields": ("户籍字段", "Household fields"),
    "case_fields": ("事项字段", "Case fields"),
    "selections": ("评选", "Selections"),
    "tables": ("查找表", "Tables"),
    "settings": ("计分设置", "Settings"),
    "metadata": ("版本信息（版本、日期、表决）", "Metadata (version, dates, adoption)"),
}
_MARK = {"added": "+", "removed": "-", "changed": "~", "renamed": "→"}


def _t(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else zh


def _signed(d: Decimal) -> str:
    text = decimal_text(d)
    return f"+{text}" if d > 0 else text


def _title(diff: Diff, lang: str) -> str:
    o, n = diff.old, diff.new
    if lang == "en":
        return f"Rule file diff: {n.village} {n.name}: {o.version} ({o.file}) -> {n.version} ({n.file})"
    return f"规则文件对比：{n.village} {n.name}：{o.version}（{o.file}）→ {n.version}（{n.file}）"


def _grouped(diff: Diff) -> list[tuple[str, list]]:
    return [(s, [c for c in diff.changes if c.section == s]) for s in SECTIONS
            if any(c.section == s for c in diff.changes)]


def _count_line(diff: Diff, lang: str) -> str:
    if diff.equivalent:
        return _t("两个版本等价：没有变化", "The two versions are equivalent: no changes", lang)
    rules, meta = len(diff.rule_changes), len(diff.metadata_changes)
    return _t(f"共 {rules + meta} 处变化（规则 {rules} 处，版本信息 {meta} 处）",
              f"{rules + meta} change(s) ({rules} to the rules, {meta} to the metadata)", lang)


def render_text(diff: Diff, impact: Impact | None = None, lang: str = "zh") -> str:
    out = [_title(diff, lang), ""]
    for section, changes in _grouped(diff):
        zh, en = _SECTION_TITLES[section]
        out.append(f"{_t(zh, en, lang)}" + _t(f"（{len(changes)} 处）", f" ({len(changes)})", lang))
        for c in changes:
            out.append(f"  {_MARK[c.kind]} {c.message(lang)}")
        out.append("")
    out.append(_count_line(diff, lang))
    if impact is not None:
        out.append("")
        out.extend(_impact_text(impact, lang))
    return "\n".join(out) + "\n"


def _impact_rows(impact: Impact, lang: str, only_changed: bool) -> list[list[str]]:
    head = [_t("户号", "household", lang), _t("户主", "head", lang), _t("原总分", "old", lang),
            _t("新总分", "new", lang), _t("变化", "delta", lang)]
    rows = [head]
    for h in impact.households:
        if only_changed and h.delta == 0:
            continue
        rows.append([h.household, h.head or "", decimal_text(h.old), decimal_text(h.new),
                     _signed(h.delta) if h.delta else "0"])
    return rows


def _summary_line(impact: Impact, lang: str) -> str:
    s = impact.summary()
    return _t(f"共 {s['households']} 户：{s['gain']} 户增加，{s['lose']} 户减少，{s['same']} 户不变；"
              f"变化合计 {_signed(s['sum_delta'])} 分（原 {decimal_text(s['old_total'])} 分，"
              f"现 {decimal_text(s['new_total'])} 分）",
              f"{s['households']} households: {s['gain']} gain, {s['lose']} lose, {s['same']} "
              f"unchanged; total change {_signed(s['sum_delta'])} points (from "
              f"{decimal_text(s['old_total'])} to {decimal_text(s['new_total'])})", lang)


def _board_lines(impact: Impact, lang: str) -> list[str]:
    out = []
    if impact.boards is None:
        return out
    for board, zh, en in (("red", "红榜", "Red board"), ("black", "黑榜", "Black board"),
                          ("progress", "进步榜", "Progress board")):
        b = impact.boards.get(board)
        if b is None:
            continue
        if not b["entered"] and not b["left"]:
            out.append(_t(f"{zh}：没有变化", f"{en}: no change", lang))
            continue
        sep = "、" if lang == "zh" else ", "
        none = _t("无", "none", lang)
        out.append(_t(f"{zh}：新上榜 {sep.join(b['entered']) or none}；落榜 {sep.join(b['left']) or none}",
                      f"{en}: entered {sep.join(b['entered']) or none}; left {sep.join(b['left']) or none}",
                      lang))
    return out


def _impact_text(impact: Impact, lang: str) -> list[str]:
    from xiangyue.periods import period_words

    out = [_t(f"对实际记录的影响（{period_words(impact.period.key)}，同一批记录按新旧两版计算）",
              f"Impact on the records ({impact.period.key}, the same records under both versions)", lang)]
    rows = _impact_rows(impact, lang, only_changed=False)
    out.append(align(rows, right={2, 3, 4}))
    out.append("")
    out.append(_summary_line(impact, lang))
    out.extend(_board_lines(impact, lang))
    return out


def render_json(diff: Diff, impact: Impact | None = None, lang: str = "zh") -> str:
    data: dict[str, Any] = diff.to_json(lang)
    if impact is not None:
        data["impact"] = impact.to_json()
    return dumps(data) + "\n"


def render_markdown(diff: Diff, impact: Impact | None = None, lang: str = "zh") -> str:
    o, n = diff.old, diff.new
    out = [_t(f"# 规则修订审查：{n.village} {n.name}", f"# Rule review: {n.village} {n.name}", lang), ""]
    out.append(_t(f"- 原版本：{o.version}（`{o.file}`）", f"- Old version: {o.version} (`{o.file}`)", lang))
    out.append(_t(f"- 新版本：{n.version}（`{n.file}`）", f"- New version: {n.version} (`{n.file}`)", lang))
    out.append(f"- {_count_line(diff, lang)}")
    out.append("")
    for section, changes in _grouped(diff):
        zh, en = _SECTION_TITLES[section]
        out.append(f"## {_t(zh, en, lang)}")
        out.append("")
        for c in changes:
            out.append(f"- {c.message(lang)}")
        out.append("")
    if impact is not None:
        from xiangyue.periods import period_words

        out.append(_t(f"## 影响（{period_words(impact.period.key)}）", f"## Impact ({impact.period.key})",
                      lang))
        out.append("")
        out.append(_summary_line(impact, lang))
        out.append("")
        rows = _impact_rows(impact, lang, only_changed=True)
        if len(rows) > 1:
            out.append("| " + " | ".join(rows[0]) + " |")
            out.append("|" + "---|" * len(rows[0]))
            out.extend("| " + " | ".join(r) + " |" for r in rows[1:])
            out.append("")
        out.extend(f"- {line}" for line in _board_lines(impact, lang))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render(diff: Diff, fmt: str, impact: Impact | None = None, lang: str = "zh") -> str:
    if fmt == "json":
        return render_json(diff, impact, lang)
    if fmt == "markdown":
        return render_markdown(diff, impact, lang)
    return render_text(diff, impact, lang)
