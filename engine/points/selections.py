"""评选 (selections such as 美丽庭院) and star ratings (星级文明户).

A selection's criteria are expressions over one household's aggregates for the period
(the loader has checked them with :func:`xiangyue.rules.pipeline.selection_scope`):

* ``total`` / ``总分``: the household's total for the period;
* ``vetoed`` / ``一票否决``: whether it is vetoed in the period;
* ``count(condition)`` / ``计数(...)``: how many of the household's records dated in the
  period satisfy a record condition (``事项 == "庭院检查" 且 等级 == "优"``);
* ``points("rule_id")`` / ``得分(...)``: the household's points from that rule in the period.

Compiling (no eval/exec): every ``count(...)``/``points(...)`` call is replaced by a
synthetic name (``__agg0``, ...) bound in a :class:`~xiangyue.rules.checker.Scope`; the argument of
``count`` is compiled as a record condition, the rewritten criterion as a condition over the
per-household aggregate dict. A household qualifies when every criterion holds (and, with
``no_veto``, it is not vetoed). For one that does not, each failed criterion is explained
with the actual values: ``计数(事项 == "庭院检查" 且 等级 == "优") 为 8，需 ≥ 9``.

Records that a count condition cannot be computed for (e.g. arithmetic on an empty cell)
count as not satisfying it and are reported as warnings with their row.

Star ratings: a household gets the highest level whose ``min`` its period total reaches; a
vetoed household gets none (一票否决 disqualifies from honours).
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from xiangyue.rules import nodes as n
from xiangyue.points.boards import household_totals
from xiangyue.rules.checker import Binding, Scope
from xiangyue.rules.compiler import compile_condition, compile_expression
from xiangyue.errors import Diagnostic, InputError, RulesetError, XiangyueError
from xiangyue.points.results import Evaluation
from xiangyue.rules.functions import BOOLEAN, NUMBER
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import Ruleset, Selection, StarLevel
from xiangyue.periods import Period
from xiangyue.rules.printer import to_source
from xiangyue.report.jsonout import decimal_text, dumps

__all__ = ["CompiledSelection", "compile_selection", "run_selection", "SelectionResult",
           "Outcome", "check_selection", "needs_records", "find_selection", "StarsResult",
           "rate_stars", "render_selection", "render_stars"]

register({
    "E-SELECT-UNKNOWN": Msg(
        zh="规则文件中没有名为“{name}”的评选", en="the rule file has no selection '{name}'",
        hint_zh="{suggest_zh}", hint_en="{suggest_en}"),
    "E-SELECT-NAME": Msg(
        zh="评选 {selection} 的条件“{criterion}”：{name} 只能写在 计数(...) 里面",
        en="selection {selection}, criterion '{criterion}': {name} may only be used inside count(...)",
        hint_zh="评选条件可用 总分、一票否决、计数(记录条件)、得分(\"规则编号\")",
        hint_en='criteria may use total, vetoed, count(record condition), points("rule_id")'),
    "E-SELECT-NESTED": Msg(
        zh="评选 {selection} 的条件“{criterion}”：计数/得分 不能写在 计数(...) 里面",
        en="selection {selection}, criterion '{criterion}': count/points cannot be nested in count(...)",
        hint_zh="计数(...) 里写一条记录的条件，例如 计数(事项 == \"庭院检查\")",
        hint_en='inside count(...) write a record condition, e.g. count(activity == "x")'),
    "E-SELECT-POINTS-ARG": Msg(
        zh="评选 {selection} 的条件“{criterion}”：得分(...) 要写规则编号，例如 得分(\"volunteer\")",
        en="selection {selection}, criterion '{criterion}': points(...) takes a rule id in quotes",
        hint_zh="可用的规则编号：{rules}", hint_en="rule ids: {rules}"),
    "E-SELECT-PERIOD": Msg(
        zh="评选“{name}”按{per_zh}评选，期间“{period}”不是{per_zh}",
        en="selection '{name}' is per {per}, and '{period}' is not a {per}",
        hint_zh="期间写成 {example}", hint_en="write the period as {example}"),
    "E-STARS-NONE": Msg(
        zh="规则文件没有星级评定标准（stars:）", en="the rule file declares no star levels (stars:)",
        hint_zh="在规则文件中加上 stars: [{{stars: 1, min: 20, name: 一星文明户}}, …]",
        hint_en="add stars: [{{stars: 1, min: 20, name: ...}}, ...] to the rule file"),
    "W-SELECT-RECORD": Msg(
        zh="记录 {record_id} 无法判断条件“{criterion}”：{detail}（按不满足计）",
        en="record {record_id}: cannot check '{criterion}': {detail} (counted as not met)"),
})

ZERO = Decimal(0)
_PER = {"month": ("月", "2024-03"), "quarter": ("季度", "2024-Q1"), "year": ("年", "2024")}
_OPS_ZH = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_OPS_EN = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
TOTAL_KEY, VETO_KEY = "total", "vetoed"


# --------------------------------------------------------------------------------------------
# Compiling


@dataclass(frozen=True)
class Aggregate:
    """One count(...) or points(...) call, computed per household."""

    key: str  # the synthetic name bound in the aggregate scope
    kind: str  # count | points
    text: str  # as written (printed back from the tree)
    condition: Callable[[Mapping[str, Any]], bool] | None = None  # count
    rule: str | None = None  # points


@dataclass(frozen=True)
class Criterion:
    text: str
    fn: Callable[[Mapping[str, Any]], bool]
    # conjuncts (top-level 且/and), each with what is needed to explain a failure
    parts: tuple["Part", ...]


@dataclass(frozen=True)
class Part:
    text: str
    fn: Callable[[Mapping[str, Any]], bool]
    op: str | None = None  # a comparison's operator
    left: Callable[[Mapping[str, Any]], Any] | None = None
    right: Callable[[Mapping[str, Any]], Any] | None = None
    left_text: str = ""
    right_text: str = ""
    right_const: bool = False
    veto_only: bool = False  # the part is "not vetoed"
    agg_kind: str | None = None  # left side is a count(...)


@dataclass(frozen=True)
class CompiledSelection:
    selection: Selection
    criteria: tuple[Criterion, ...]
    aggregates: tuple[Aggregate, ...]


def _agg_scope(aggs: Sequence[Aggregate]) -> Scope:
    bindings = {"total": Binding(TOTAL_KEY, NUMBER), "总分": Binding(TOTAL_KEY, NUMBER),
                "vetoed": Binding(VETO_KEY, BOOLEAN), "一票否决": Binding(VETO_KEY, BOOLEAN)}
    for a in aggs:
        bindings[a.key] = Binding(a.key, NUMBER)
    return Scope(bindings)


class _Rewriter:
    """Replaces count/points calls by synthetic names, checking what may appear where."""

    def __init__(self, ruleset: Ruleset, selection: Selection, record_scope: Scope):
        self.ruleset = ruleset
        self.selection = selection
        self.record_scope = record_scope
        self.scope = _selection_scope(record_scope)
        self.aggs: dict[n.Expr, Aggregate] = {}
        self.diags: list[Diagnostic] = []
        self.text = ""

    def _diag(self, code: str, **args: Any) -> None:
        p = self.selection.pos
        self.diags.append(Diagnostic(code, p.file, p.line, p.column, args={
            "selection": self.selection.id, "criterion": self.text, **args}))

    def canonical(self, func: str) -> str | None:
        f = self.scope.function(func)
        return f.name if f is not None and f.name in ("count", "points") else None

    def rewrite(self, node: n.Expr) -> n.Expr:
        if isinstance(node, n.Call) and self.canonical(node.func):
            return self._aggregate(node)
        if isinstance(node, n.Name):
            if node.name not in ("total", "总分", "vetoed", "一票否决"):
                self._diag("E-SELECT-NAME", name=node.name)
            return node
        if isinstance(node, n.Unary):
            return replace(node, operand=self.rewrite(node.operand))
        if isinstance(node, n.Binary):
            return replace(node, left=self.rewrite(node.left), right=self.rewrite(node.right))
        if isinstance(node, n.In):
            return replace(node, operand=self.rewrite(node.operand),
                           options=tuple(self.rewrite(o) for o in node.options))
        if isinstance(node, n.Cond):
            return replace(node, test=self.rewrite(node.test), then=self.rewrite(node.then),
                           otherwise=self.rewrite(node.otherwise))
        if isinstance(node, n.Lookup):
            return replace(node, key=self.rewrite(node.key),
                           table=tuple((self.rewrite(k), self.rewrite(v)) for k, v in node.table),
                           default=self.rewrite(node.default) if node.default is not None else None)
        if isinstance(node, n.Call):
            return replace(node, args=tuple(self.rewrite(a) for a in node.args))
        return node

    def _aggregate(self, node: n.Call) -> n.Expr:
        kind = self.canonical(node.func)
        found = self.aggs.get(node)
        if found is None:
            key = f"__agg{len(self.aggs)}"
            text = to_source(node)
            if kind == "count":
                arg = node.args[0]
                for sub in n.walk(arg):
                    if isinstance(sub, n.Call) and self.canonical(sub.func):
                        self._diag("E-SELECT-NESTED")
                        break
                    if isinstance(sub, n.Name) and sub.name not in self.record_scope.bindings:
                        self._diag("E-SELECT-NAME", name=sub.name)
                        break
                cond = compile_condition(arg, self.record_scope) if not self.diags else None
                found = Aggregate(key, "count", text, condition=cond)
            else:
                arg = node.args[0]
                if not isinstance(arg, n.Text):
                    self._diag("E-SELECT-POINTS-ARG",
                               rules=", ".join(r.id for r in self.ruleset.rules))
                    found = Aggregate(key, "points", text, rule=None)
                else:
                    found = Aggregate(key, "points", text, rule=arg.value)
            self.aggs[node] = found
        return n.Name(found.key, node.span)


def _selection_scope(record_scope: Scope) -> Scope:
    from xiangyue.rules.pipeline import selection_scope

    return selection_scope(record_scope)


def _conjuncts(node: n.Expr) -> list[n.Expr]:
    if isinstance(node, n.Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def compile_selection(ruleset: Ruleset, selection: Selection) -> CompiledSelection:
    """Compile a selection's criteria; :class:`RulesetError` for what the loader let through
    but a per-household criterion cannot mean (a record field outside count(...))."""
    record_scope = Scope.from_fields(ruleset.fields)
    rw = _Rewriter(ruleset, selection, record_scope)
    pending = []
    for text, expr, _ in selection.criteria:
        rw.text = text
        parts = []
        for conj in _conjuncts(expr):
            parts.append((conj, rw.rewrite(conj)))
        pending.append((text, rw.rewrite(expr), parts))
    if rw.diags:
        raise RulesetError(rw.diags)
    aggs = tuple(rw.aggs.values())
    scope = _agg_scope(aggs)
    agg_of = {a.key: a for a in aggs}
    criteria = []
    for text, tree, parts in pending:
        compiled_parts = []
        for orig, new in parts:
            part = Part(to_source(orig), compile_condition(new, scope))
            if isinstance(new, n.Binary) and new.op in _OPS_ZH:
                left, right, lt, rt, op = new.left, new.right, orig.left, orig.right, new.op
                if _is_const(left) and not _is_const(right):  # 9 <= count(...): flip
                    left, right, lt, rt, op = right, left, rt, lt, _FLIP[op]
                part = replace(part, op=op, left=compile_expression(left, scope),
                               right=compile_expression(right, scope), left_text=to_source(lt),
                               right_text=to_source(rt), right_const=_is_const(right),
                               agg_kind=agg_of[left.name].kind
                               if isinstance(left, n.Name) and left.name in agg_of else None)
            elif isinstance(new, n.Unary) and new.op == "not" and isinstance(new.operand, n.Name) \
                    and scope.bindings.get(new.operand.name, Binding("", "")).key == VETO_KEY:
                part = replace(part, veto_only=True)
            compiled_parts.append(part)
        criteria.append(Criterion(text, compile_condition(tree, scope), tuple(compiled_parts)))
    return CompiledSelection(selection, tuple(criteria), aggs)


def _is_const(node: n.Expr) -> bool:
    return not any(isinstance(x, (n.Name, n.Call)) for x in n.walk(node))


# --------------------------------------------------------------------------------------------
# Running


@dataclass(frozen=True)
class Failure:
    criterion: str
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass
class Outcome:
    household: str
    head: str | None
    grid: str | None
    total: Decimal
    vetoed: bool
    qualified: bool
    failures: list[Failure] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # aggregate text -> value

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {"household": self.household, "head": self.head, "grid": self.grid,
                "total": self.total, "vetoed": self.vetoed, "qualified": self.qualified,
                "values": dict(self.values),
                "reasons": [{"criterion": f.criterion, "message": f.text(lang)}
                            for f in self.failures]}


@dataclass
class SelectionResult:
    selection: Selection
    period: Period
    village: str
    outcomes: list[Outcome]
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def qualified(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.qualified]

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        s = self.selection
        return {
            "selection": {"id": s.id, "name": s.name, "per": s.per, "no_veto": s.no_veto,
                          "criteria": [c[0] for c in s.criteria]},
            "period": self.period.key,
            "qualified": [o.to_json(lang) for o in self.outcomes if o.qualified],
            "not_qualified": [o.to_json(lang) for o in self.outcomes if not o.qualified],
            "warnings": [d.to_json(lang) for d in self.warnings],
        }


def _value_text(v: Any, lang: str) -> str:
    if isinstance(v, bool):
        return ("yes" if v else "no") if lang == "en" else ("是" if v else "否")
    if isinstance(v, Decimal):
        return decimal_text(v)
    if isinstance(v, int):
        return str(v)
    return "" if v is None else str(v)


def _explain(part: Part, agg: Mapping[str, Any]) -> Failure:
    if part.veto_only:
        return Failure(part.text, "本期被一票否决", "vetoed in the period")
    if part.op is not None:
        lv, rv = part.left(agg), part.right(agg)  # type: ignore[misc]
        unit_zh = " 次" if part.agg_kind == "count" else ""
        need_zh = f"需 {_OPS_ZH[part.op]} {_value_text(rv, 'zh')}"
        need_en = f"needs {_OPS_EN[part.op]} {_value_text(rv, 'en')}"
        if not part.right_const:
            need_zh += f"（{part.right_text}）"
            need_en += f" ({part.right_text})"
        return Failure(part.text, f"{part.left_text} 为 {_value_text(lv, 'zh')}{unit_zh}，{need_zh}",
                       f"{part.left_text} is {_value_text(lv, 'en')}, {need_en}")
    return Failure(part.text, f"不满足：{part.text}", f"not met: {part.text}")


def run_selection(ruleset: Ruleset, selection: Selection, ev: Evaluation,
                  records: Sequence[Mapping[str, Any]]) -> SelectionResult:
    """Who qualifies for ``selection`` in the evaluated period, and why the others do not.
    ``records`` are the records the evaluation read (those outside the period are ignored)."""
    cs = compile_selection(ruleset, selection)
    period = ev.period
    totals = household_totals(ev)
    by_rule: dict[str, dict[str, Decimal]] = {}
    for r in ev.results:
        acc = by_rule.setdefault(r.household, {})
        for rid, v in r.by_rule.items():
            acc[rid] = acc.get(rid, ZERO) + v
    counts: dict[str, dict[str, int]] = {}
    warnings: list[Diagnostic] = []
    count_aggs = [a for a in cs.aggregates if a.kind == "count"]
    if count_aggs:
        for rec in records:
            day = rec.get("date")
            if not isinstance(day, dt.date) or day not in period:
                continue
            hh = rec.get("household")
            acc = counts.setdefault(hh, {})
            for a in count_aggs:
                try:
                    ok = a.condition(rec)  # type: ignore[misc]
                except XiangyueError as err:
                    ok = False
                    d = err.diagnostics[0] if err.diagnostics else None
                    warnings.append(Diagnostic(
                        "W-SELECT-RECORD", file=rec.get("_file") or "", line=rec.get("_row") or 0,
                        severity="warning", args={"record_id": rec.get("record_id"),
                                                  "criterion": a.text,
                                                  "detail": d.message("zh") if d else ""}))
                if ok:
                    acc[a.key] = acc.get(a.key, 0) + 1
    outcomes = []
    for h in totals:
        agg: dict[str, Any] = {TOTAL_KEY: h.total, VETO_KEY: h.vetoed}
        values: dict[str, Any] = {}
        for a in cs.aggregates:
            if a.kind == "count":
                v: Any = Decimal(counts.get(h.household, {}).get(a.key, 0))
            else:
                v = by_rule.get(h.household, {}).get(a.rule or "", ZERO)
            agg[a.key] = v
            values[a.text] = v
        failures = []
        if selection.no_veto and h.vetoed:
            failures.append(Failure("no_veto", "本期被一票否决，不参加评选",
                                    "vetoed in the period: not eligible"))
        for c in cs.criteria:
            if c.fn(agg):
                continue
            for part in c.parts:
                if not part.fn(agg):
                    failures.append(_explain(part, agg))
        outcomes.append(Outcome(h.household, h.head, h.grid, h.total, h.vetoed,
                                not failures, failures, values))
    return SelectionResult(selection, period, ruleset.village, outcomes, warnings)


def find_selection(ruleset: Ruleset, name: str) -> Selection:
    for s in ruleset.selections:
        if name in (s.id, s.name):
            return s
    known = [s.id for s in ruleset.selections] + [s.name for s in ruleset.selections]
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.3)
    if close:
        zh, en = "是不是：" + "、".join(close) + "？", "did you mean: " + ", ".join(close) + "?"
    elif known:
        zh = "规则文件中的评选：" + "、".join(f"{s.id}（{s.name}）" for s in ruleset.selections)
        en = "selections: " + ", ".join(f"{s.id} ({s.name})" for s in ruleset.selections)
    else:
        zh, en = "规则文件还没有 selections: 一节", "the rule file has no selections: section"
    raise InputError(Diagnostic("E-SELECT-UNKNOWN", file=ruleset.file, args={
        "name": name, "suggest_zh": zh, "suggest_en": en}))


def check_selection(ruleset: Ruleset, name: str, period: Period, period_text: str) -> Selection:
    """The selection ``name`` of the rule file, checked before any record is read: it exists,
    ``period`` is of its kind, its criteria compile."""
    selection = find_selection(ruleset, name)
    if period.kind != selection.per:
        per_zh, example = _PER[selection.per]
        raise InputError(Diagnostic("E-SELECT-PERIOD", file="--period", args={
            "name": selection.name, "per": selection.per, "per_zh": per_zh,
            "period": period_text, "example": example}))
    compile_selection(ruleset, selection)
    return selection


def needs_records(ruleset: Ruleset, selection: Selection) -> bool:
    """True when the selection counts records (计数), so the job must read them."""
    return any(a.kind == "count" for a in compile_selection(ruleset, selection).aggregates)


# --------------------------------------------------------------------------------------------
# Stars


@dataclass
class StarsResult:
    period: Period
    village: str
    levels: tuple[StarLevel, ...]
    rows: list[tuple[str, str | None, str | None, Decimal, bool, StarLevel | None]]

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period.key,
            "levels": [{"stars": lv.stars, "min": lv.min_total, "name": lv.name}
                       for lv in self.levels],
            "households": [{"household": h, "head": head, "grid": grid, "total": total,
                            "vetoed": vetoed, "stars": lv.stars if lv else 0,
                            "name": lv.name if lv else None}
                           for h, head, grid, total, vetoed, lv in self.rows],
        }


def rate_stars(ruleset: Ruleset, ev: Evaluation) -> StarsResult:
    """Each household's star level for the evaluated period."""
    levels = tuple(sorted(ruleset.stars, key=lambda s: s.stars))
    if not levels:
        raise InputError(Diagnostic("E-STARS-NONE", file=ruleset.file))
    rows = []
    for h in household_totals(ev):
        best = None
        if not h.vetoed:
            for lv in levels:
                if h.total >= lv.min_total and (best is None or lv.stars > best.stars):
                    best = lv
        rows.append((h.household, h.head, h.grid, h.total, h.vetoed, best))
    return StarsResult(ev.period, ruleset.village, levels, rows)


# --------------------------------------------------------------------------------------------
# Rendering


def render_selection(result: SelectionResult, fmt: str = "table", lang: str = "zh", *,
                     color: bool = False) -> str:
    from xiangyue.report.notice import period_title
    from xiangyue.report.terminal import style, table

    if fmt == "json":
        return dumps(result.to_json(lang)) + "\n"
    s = result.selection
    en = lang == "en"
    out = [f"{result.village} {s.name} {period_title(result.period.key, lang)}", ""]
    out.append(("Criteria: " if en else "评选条件：") + ("; " if en else "；").join(
        c[0] for c in s.criteria) + ((" (vetoed households excluded)" if en else "（一票否决户不参评）")
                                     if s.no_veto else ""))
    out.append("")
    q = sorted(result.qualified, key=lambda o: (-o.total, o.household))
    head = ["household", "head", "grid", "total"] if en else ["户号", "户主", "网格", "总分"]
    title = f"Qualified: {len(q)}" if en else f"符合条件：{len(q)} 户"
    out.append(style(title, "green", "bold", enabled=color))
    if q:
        out.append(table(head, [[o.household, o.head or "", o.grid or "", decimal_text(o.total)]
                                for o in q], right={3}, indent="  ", color=color))
    others = [o for o in result.outcomes if not o.qualified]
    out.append("")
    out.append(style(f"Not qualified: {len(others)}" if en else f"不符合：{len(others)} 户",
                     "bold", enabled=color))
    if others:
        rows = [[o.household, o.head or "", o.grid or "", decimal_text(o.total),
                 ("; " if en else "；").join(f.text(lang) for f in o.failures)] for o in others]
        out.append(table(head + (["why not"] if en else ["原因"]), rows, right={3}, indent="  ",
                         color=color))
    for d in result.warnings:
        out.append(f"{d.location()}: {d.message(lang)}")
    return "\n".join(out) + "\n"


def render_stars(result: StarsResult, fmt: str = "table", lang: str = "zh", *,
                 color: bool = False) -> str:

    from xiangyue.report.notice import period_title
    from xiangyue.report.terminal import table

    en = lang == "en"
    if fmt == "json":
        return dumps(result.to_json()) + "\n"
    head = ["household", "head", "grid", "total", "stars", "level"] if en else \
        ["户号", "户主", "网格", "总分", "星级", "称号"]
    rows = []
    for h, headname, grid, total, vetoed, lv in result.rows:
        label = lv.name or "" if lv else (("vetoed" if en else "一票否决") if vetoed else "")
        rows.append([h, headname or "", grid or "", decimal_text(total),
                     ("★" * lv.stars) if lv else "", label])
    if fmt == "csv":
        from xiangyue.report.cells import csv_text

        return csv_text(head, [row[:4] + [r[5].stars if r[5] else 0, row[5]]
                               for r, row in zip(result.rows, rows)])
    levels = ("; " if en else "；").join(
        f"{'★' * lv.stars} {lv.name or ''} ≥ {decimal_text(lv.min_total)}" for lv in result.levels)
    out = [f"{result.village} {period_title(result.period.key, lang)}", levels, "",
           table(head, rows, right={3}, color=color)]
    return "\n".join(out) + "\n"
