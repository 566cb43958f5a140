"""The rule-file pipeline: load → validate → parse → check → compile → :class:`Ruleset`.

The stages run in this order because each needs the one before:

1. **load** (:mod:`source`, :mod:`templates`): safe YAML with positions, the template chain;
2. **validate** (:mod:`schema`): the structure of each file; a file that fails here is not
   built further (its shapes cannot be trusted), but every structural error is reported;
3. **parse** (:mod:`parser`) every ``when``/``points``/criterion expression;
4. **check** (:mod:`checker` and the checks below): names, types, allowed values, duplicate ids,
   unknown categories, limits that make no sense, steps that refer to unknown steps;
5. **compile** (:mod:`compiler`) the expressions into callables.

:data:`STAGES` lists them in order, as data (load, validate, merge the templates, build =
parse, check and compile each section); :func:`run_stages` runs them. All problems of stages
2–4 are collected and reported together, sorted by position; only a file without errors is
compiled and returned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field as dc_field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping

from xiangyue.rules import model as m
from xiangyue.rules.model import (BUILTIN_CASE_FIELDS, BUILTIN_HOUSEHOLD_FIELDS,
                                  BUILTIN_RECORD_FIELDS, PERSON_FIELD)
from xiangyue.rules import nodes as n
from xiangyue.rules.checker import Binding, Scope, check_expression, window_days
from xiangyue.rules.compiler import compile_condition, compile_expression, constant_value
from xiangyue.errors import Diagnostic, Pos, RulesetError, XiangyueError
from xiangyue.rules.functions import BOOLEAN, NUMBER, Function
from xiangyue.i18n import Msg, did_you_mean, register
from xiangyue.rules.parser import ExpressionError, parse_expression
from xiangyue.rules.schema import structural_errors
from xiangyue.rules.source import YamlDoc
from xiangyue.rules.templates import Effective, load_chain, merge

register(
    {
        "E-DUP-ID": Msg(
            zh="{kind_zh}编号“{id}”重复（第一次在第 {first_line} 行）",
            en="duplicate {kind_en} id '{id}' (first at line {first_line})",
            hint_zh="每个编号只能用一次",
            hint_en="each id may be used once",
        ),
        "E-RULE-CATEGORY": Msg(
            zh="规则 {rule}：类别“{category}”没有在 categories 中列出",
            en="rule {rule}: category '{category}' is not listed under categories",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-RULE-NO-POINTS": Msg(
            zh="规则 {rule}：缺少分值 points（或 escalation）",
            en="rule {rule}: points (or escalation) is missing",
            hint_zh="加上 points: 分值，例如 points: 2",
            hint_en="add points: …, e.g. points: 2",
        ),
        "E-RULE-NO-WHEN": Msg(
            zh="规则 {rule}：缺少适用条件 when",
            en="rule {rule}: the condition 'when' is missing",
            hint_zh='例如 when: 事项 == "志愿服务"',
            hint_en='e.g. when: activity == "volunteer"',
        ),
        "E-RULE-POINTS-AND-ESCALATION": Msg(
            zh="规则 {rule}：points 和 escalation 只能写一个",
            en="rule {rule}: give either points or escalation, not both",
            hint_zh="按次数递增扣分时只写 escalation",
            hint_en="when points grow with each occurrence, write only escalation",
        ),
        "E-RULE-ONCE-ESCALATION": Msg(
            zh="规则 {rule}：once（每期一次）与 escalation（按次数递增）矛盾",
            en="rule {rule}: once (once per period) contradicts escalation (by occurrence)",
            hint_zh="去掉其中一个",
            hint_en="remove one of them",
        ),
        "W-RULE-CAP-SIGN": Msg(
            zh="规则 {rule}：{limit} 不会起作用，因为本规则的分值总是{sign_zh}",
            en="rule {rule}: {limit} never applies, because this rule's points are always {sign_en}",
            hint_zh="加分用 limit（每期最多得分），扣分用 deduction_limit（每期最多扣分）",
            hint_en="use limit for points given and deduction_limit for points taken",
        ),
        "E-TABLE-KINDS": Msg(
            zh="表 {table} 的{what_zh}要么都是数，要么都是文字",
            en="the {what_en} of table {table} must be all numbers or all texts",
            hint_zh="文字加引号，例如 \"01\": 4",
            hint_en='quote texts, e.g. "01": 4',
        ),
        "E-COUNTED-WHEN-WINDOW": Msg(
            zh="counted_when 不能用近期次数（它本身决定哪些记录被计数）",
            en="counted_when may not use count_recent (it decides which records are counted)",
        ),
        "E-LIMIT-KIND": Msg(
            zh="{limit} 要写 max（每期最多多少分）或 times（每期限几次），二者写且只写一个",
            en="{limit} needs either max (points per period) or times (records per period), exactly one",
            hint_zh="例如 {{max: 10, per: 月}} 或 {{times: 1, per: 天}}；两种都要时写成列表",
            hint_en="e.g. {{max: 10, per: month}} or {{times: 1, per: day}}; for both, write a list",
        ),
        "E-LIMIT-TWICE": Msg(
            zh="{limit} 中有两个同样的每{per}限制（第一个在第 {first_line} 行）",
            en="{limit} lists two limits of the same kind per {per} (the first at line {first_line})",
            hint_zh="同一期间的分数限制和次数限制各写一个；保留较严的一个",
            hint_en="give one points limit and one count limit per period; keep the stricter one",
        ),
        "E-LIMIT-PERIOD": Msg(
            zh="规则 {rule}：{limit} 的期间“{per}”比评比周期还长，无法计算",
            en="rule {rule}: the period '{per}' of {limit} is not supported",
        ),
        "E-DATE": Msg(
            zh="日期“{value}”不存在",
            en="the date '{value}' does not exist",
            hint_zh="检查月份和日期，例如 2 月没有 30 日",
            hint_en="check month and day, e.g. February has no 30th",
        ),
        "E-EFFECTIVE-RANGE": Msg(
            zh="生效日期 {start} 晚于失效日期 {end}",
            en="effective from {start} is after until {end}",
        ),
        "E-ADOPTED-COUNTS": Msg(
            zh="表决人数不合理：{detail_zh}",
            en="the adoption counts do not add up: {detail_en}",
        ),
        "E-FIELD-BUILTIN": Msg(
            zh="字段“{id}”是内置字段，不需要声明",
            en="'{id}' is a built-in field and need not be declared",
            hint_zh="删除这个字段声明",
            hint_en="remove this declaration",
        ),
        "E-FIELD-NAME": Msg(
            zh="字段名“{name}”已被另一个字段使用",
            en="the name '{name}' is already used by another field",
        ),
        "E-FIELD-VALUES": Msg(
            zh="字段 {id}：只有文字字段才能列出可选值 values",
            en="field {id}: only text fields can list allowed values",
        ),
        "E-FIELD-DEFAULT": Msg(
            zh="字段 {id}：默认值“{value}”不是{type_zh}",
            en="field {id}: the default '{value}' is not {type_en}",
        ),
        "E-FIELD-RANGE": Msg(
            zh="字段 {id}：min 大于 max",
            en="field {id}: min is greater than max",
        ),
        "E-STEP-AFTER": Msg(
            zh="步骤“{step}”的期限参照“{after}”，但{problem_zh}",
            en="step '{step}' counts from '{after}', but {problem_en}",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-FRACTION": Msg(
            zh="“{value}”不是 0 到 1 之间的比例",
            en="'{value}' is not a proportion between 0 and 1",
            hint_zh="写成 2/3 或 0.5",
            hint_en="write 2/3 or 0.5",
        ),
        "W-PROCEDURE-NO-WHEN": Msg(
            zh="清单事项 {item} 有多个程序，但程序“{procedure}”没有适用条件 when",
            en="item {item} has several procedures but '{procedure}' has no condition",
            hint_zh="给每个程序写 when，例如 when: 金额 >= 50000",
            hint_en="give each procedure a when, e.g. when: amount >= 50000",
        ),
        "E-ITEM-EMPTY": Msg(
            zh="清单事项 {item} 既没有程序 procedures，也没有周期 schedule",
            en="item {item} has neither procedures nor a schedule",
            hint_zh="按步骤办理的事项写 procedures；定期要办的事项写 schedule，例如 schedule: {{every: 季度, due: {{days: 10}}}}",
            hint_en="write procedures for an item done step by step, or a schedule for a recurring "
            "duty, e.g. schedule: {{every: quarter, due: {{days: 10}}}}",
        ),
        "E-SCHEDULE-EVERY": Msg(
            zh="清单事项 {item}：周期“{value}”无法识别",
            en="item {item}: the schedule period '{value}' is not understood",
            hint_zh="{suggest_zh}可写 month（每月）、quarter（每季度）、half_year（每半年）、year（每年）",
            hint_en="{suggest_en}write month (每月), quarter (每季度), half_year (每半年) or year (每年)",
        ),
        "W-SCHEDULE-OVERLAP": Msg(
            zh="清单事项 {item}：期限（{days}{unit_zh}）比一个{every_zh}还长，相邻两期的办理时间会重叠",
            en="item {item}: the due window ({days} {unit_en}) is longer than a {every_en}, so the "
            "windows of two periods overlap",
            hint_zh="没有写期间的办理记录算作最早一个尚未完成的期间；如要算给别的期间，请在记录中填写“期间”",
            hint_en="a case without a period fulfils the earliest unfulfilled period; give the "
            "period column where a case is meant for another one",
        ),
        "W-SCHEDULE-NO-START": Msg(
            zh="清单事项 {item} 是定期事项，但规则文件没有生效日期 effective.from，核对时不知道从哪一期算起",
            en="item {item} is a recurring duty but the rule file has no effective.from, so "
            "check cannot tell from which period on it is owed",
            hint_zh="加上 effective: {{from: 2024-01-01}}（或每次核对时加 --from）",
            hint_en="add effective: {{from: 2024-01-01}} (or give check --from every time)",
        ),
        "E-EXAMPLE-COLUMN": Msg(
            zh="算例“{example}”：不认识的列“{column}”",
            en="example '{example}': unknown column '{column}'",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-EXAMPLE-PERIOD": Msg(
            zh="算例“{example}”：期间“{value}”无法识别",
            en="example '{example}': period '{value}' is not understood",
            hint_zh="写成 2024-03、2024-Q1 或 2024",
            hint_en="write 2024-03, 2024-Q1 or 2024",
        ),
        "E-EXAMPLE-RULE": Msg(
            zh="算例“{example}”：没有编号为“{rule}”的规则",
            en="example '{example}': there is no rule '{rule}'",
        ),
    }
)

# Names selection criteria may use besides count(...) and points(...)
SELECTION_NAMES = {"total": NUMBER, "总分": NUMBER, "vetoed": BOOLEAN, "一票否决": BOOLEAN}


_SHAPE_ERRORS = (KeyError, TypeError, AttributeError, ValueError, IndexError, ArithmeticError)


class _RulesetBuilder:
    """Builds the :class:`~xiangyue.rules.model.Ruleset` from the merged rule file, section by
    section, checking each (names, references, expressions) and collecting every diagnostic;
    parts the schema already found malformed are skipped, not reported twice."""

    def __init__(self, eff: Effective, broken: dict[str, list[tuple]] | None = None):
        self.eff = eff
        self.data = eff.data
        self.diags: list[Diagnostic] = []
        # file -> paths (in that file) where the schema found a problem
        self.broken = broken or {}
        self.categories_unsure = False

    def is_broken(self, path: tuple) -> bool:
        """Whether the schema found a problem in (or around) the part of the file at ``path``."""
        if not self.broken:
            return False
        doc, p = self.eff.where(path)
        for bad in self.broken.get(doc.file, ()):
            k = min(len(bad), len(p))
            if bad[:k] == p[:k]:  # one contains the other
                return True
        return False

    def unusable(self, path: tuple) -> bool:
        """Whether the schema found the part at ``path`` itself (or what holds it) malformed."""
        if not self.broken:
            return False
        doc, p = self.eff.where(path)
        return any(p[:len(bad)] == bad for bad in self.broken.get(doc.file, ()))

    @contextlib.contextmanager
    def item_guard(self):
        """After schema errors, an item whose shape cannot be read is skipped (its problems
        are already reported); the other items are still checked."""
        if not self.broken:
            yield
            return
        try:
            yield
        except _SHAPE_ERRORS:
            pass

    def guarded(self, build_fn, default):
        """Run one section's builder; after schema errors, a shape it cannot read is skipped."""
        if not self.broken:
            return build_fn()
        try:
            return build_fn()
        except _SHAPE_ERRORS:
            return default

    # ---- positions and diagnostics -------------------------------------------------------
    def diag(self, code: str, path: tuple, *, key: bool = False, severity: str = "error", **args) -> None:
        p = self.eff.key_pos(path) if key else self.eff.pos(path)
        shown = (str(path[-1]) if path else "") if key else (self.eff.raw(path) or "")
        span = len(shown) if shown and "\n" not in shown else 1  # the caret underlines it all
        self.diags.append(Diagnostic(code, p.file, p.line, p.column, args=args, severity=severity,
                                     span=span))

    def pos(self, path: tuple) -> Pos:
        return self.eff.pos(path)

    def _expr_origin(self, path: tuple) -> tuple[Pos, str]:
        """Where an expression's text starts in the file, and how it was written."""
        p = self.eff.pos(path)
        raw = self.eff.raw(path) or ""
        return p, raw

    def _move(self, d: Diagnostic, path: tuple) -> Diagnostic:
        """An expression diagnostic (relative to the expression) moved into the YAML file."""
        p, raw = self._expr_origin(path)
        line, col = p.line, p.column
        if raw[:1] in ("'", '"'):
            col += 1
        if raw[:1] in ("|", ">"):
            # block scalar: the expression's first line is the next line of the file
            doc, _ = self.eff.where(path)
            target_line = line + d.line
            text_line = doc.source_line(target_line)
            indent = len(text_line) - len(text_line.lstrip(" "))
            return d.at(p.file, target_line, indent + d.column)
        if d.line > 1:
            return d.at(p.file, line + d.line - 1, d.column)
        return d.at(p.file, line, col + d.column - 1)

    # ---- expressions ---------------------------------------------------------------------
    def expression(self, path: tuple, scope: Scope, role: str) -> n.Expr | None:
        if self.is_broken(path):
            return None
        value = self.eff_value(path)
        text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False else str(value))
        try:
            expr = parse_expression(text)
        except ExpressionError as err:
            self.diags.extend(self._move(d, path) for d in err.diagnostics)
            return None
        _, problems = check_expression(expr, scope, role)
        self.diags.extend(self._move(d, path) for d in problems)
        if any(d.severity == "error" for d in problems):
            return None
        return expr

    def eff_value(self, path: tuple) -> Any:
        v: Any = self.data
        for p in path:
            v = v[p]
        return v

    def date(self, path: tuple) -> dt.date | None:
        if self.is_broken(path):
            return None
        value = self.eff_value(path)
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.diag("E-DATE", path, value=value)
            return None

    def unique_ids(self, section: str, kind_zh: str, kind_en: str, items: list) -> None:
        seen: dict[Any, int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or "id" not in item:
                continue
            iid = item["id"]
            if iid in seen:
                first = self.pos((section, seen[iid], "id")).line
                self.diag("E-DUP-ID", (section, i, "id"), kind_zh=kind_zh, kind_en=kind_en, id=iid, first_line=first)
            else:
                seen[iid] = i

    # ---- sections ------------------------------------------------------------------------
    def fields(self, section: str, builtins: tuple[m.FieldSpec, ...]) -> tuple[m.FieldSpec, ...]:
        items = self.data.get(section) or []
        self.unique_ids(section, "字段", "field", items)
        out = list(builtins)
        taken = {name: None for f in builtins for name in f.names()}
        builtin_ids = {f.id for f in builtins}
        for i, f in enumerate(items):
            if self.unusable((section, i)):
                continue
            with self.item_guard():
                path = (section, i)
                if f["id"] in builtin_ids:
                    self.diag("E-FIELD-BUILTIN", path + ("id",), id=f["id"])
                    continue
                ftype = f["type"]
                values = tuple(str(v) for v in f["values"]) if "values" in f else None
                if values is not None and ftype != "text":
                    self.diag("E-FIELD-VALUES", path + ("values",), id=f["id"])
                default = f.get("default")
                if default is not None:
                    default = self._typed_default(path + ("default",), f["id"], ftype, default)
                lo = Decimal(str(f["min"])) if "min" in f else None
                hi = Decimal(str(f["max"])) if "max" in f else None
                if lo is not None and hi is not None and lo > hi:
                    self.diag("E-FIELD-RANGE", path + ("min",), id=f["id"])
                spec = m.FieldSpec(
                    id=f["id"], type=ftype, label=f.get("label"), aliases=tuple(f.get("aliases") or ()),
                    required=bool(f.get("required", False)), values=values, default=default, min=lo, max=hi,
                    pos=self.pos(path),
                )
                for name in spec.names():
                    if name in taken:
                        self.diag("E-FIELD-NAME", path, name=name)
                    taken[name] = None
                out.append(spec)
        return tuple(out)

    def _typed_default(self, path: tuple, fid: str, ftype: str, value: Any) -> Any:
        try:
            if ftype == "decimal":
                if isinstance(value, bool):
                    raise ValueError
                return Decimal(str(value))
            if ftype == "integer":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError
                return value
            if ftype == "date":
                return dt.date.fromisoformat(str(value))
            if ftype == "boolean":
                if not isinstance(value, bool):
                    raise ValueError
                return value
            return str(value)
        except (ValueError, ArithmeticError):
            names = {"decimal": ("数", "a number"), "integer": ("整数", "a whole number"), "date": ("日期", "a date"),
                     "boolean": ("true/false", "true/false")}
            zh, en = names.get(ftype, (ftype, ftype))
            self.diag("E-FIELD-DEFAULT", path, id=fid, value=value, type_zh=zh, type_en=en)
            return None

    def tables(self) -> tuple[m.Table, ...]:
        """The named lookup tables: keys all text or all numbers, values likewise."""
        items = self.data.get("tables") or []
        self.unique_ids("tables", "表", "table", items)
        out = []
        for i, t in enumerate(items):
            if self.unusable(("tables", i)):
                continue
            with self.item_guard():
                path = ("tables", i)
                entries = t["entries"]
                # mapping keys are read as text; `keys: number` makes them numbers
                key_type = t.get("keys", "text")
                if key_type == "number":
                    try:
                        entries = {Decimal(str(k).strip()): v for k, v in entries.items()}
                    except ArithmeticError:
                        self.diag("E-TABLE-KINDS", path + ("entries",), table=t["id"], what_zh="键",
                                  what_en="keys")
                        continue
                else:
                    entries = {str(k): v for k, v in entries.items()}
                vkinds = {_value_kind(v) for v in entries.values()}
                if "default" in t:
                    vkinds.add(_value_kind(t["default"]))
                if len(vkinds) > 1:
                    self.diag("E-TABLE-KINDS", path + ("entries",), table=t["id"], what_zh="值", what_en="values")
                    continue
                value_type = vkinds.pop() if vkinds else "number"

                def typed(v: Any) -> Any:
                    return Decimal(str(v)) if _value_kind(v) == "number" else str(v)

                out.append(m.Table(
                    id=str(t["id"]), name=str(t["name"]) if t.get("name") else None,
                    entries=tuple((typed(k), typed(v)) for k, v in entries.items()),
                    key_type=key_type, value_type=value_type,
                    default=typed(t["default"]) if "default" in t else None, pos=self.pos(path)))
        names: dict[str, str] = {}
        for t in out:
            for nm in t.names():
                if nm in names and names[nm] != t.id:
                    self.diag("E-DUP-ID", ("tables",), kind_zh="表名", kind_en="table name", id=nm,
                              first_line=self.pos(("tables",)).line)
                names.setdefault(nm, t.id)
        return tuple(out)

    def categories(self) -> tuple[m.Category, ...]:
        items = self.data.get("categories") or []
        self.unique_ids("categories", "类别", "category", items)
        # a misspelt section name or a category whose id cannot be read: "unknown category"
        # would only echo that error
        self.categories_unsure = self.unusable(("categories",)) or any(
            self.unusable(("categories", i, "id")) for i in range(len(items)))
        out = []
        for i, c in enumerate(items):
            if self.unusable(("categories", i)):
                continue
            with self.item_guard():
                path = ("categories", i)
                out.append(m.Category(
                    id=str(c["id"]), name=str(c.get("name") or c["id"]), limit=self.limit(c, "limit", path),
                    deduction_limit=self.limit(c, "deduction_limit", path), pos=self.pos(path)))
        return tuple(out)

    def limit(self, owner: dict, key: str, path: tuple) -> tuple[m.Limit, ...]:
        """The limits under ``key`` (one mapping or a list of them), in file order."""
        spec = owner.get(key)
        if spec is None or self.is_broken(path + (key,)):
            return ()
        items = spec if isinstance(spec, list) else [spec]
        out = []
        seen: dict[tuple, int] = {}
        for j, one in enumerate(items):
            lpath = path + (key, j) if isinstance(spec, list) else path + (key,)
            if ("times" in one) == ("max" in one):
                self.diag("E-LIMIT-KIND", lpath, limit=key)
                continue
            if "times" in one:
                lim = m.Limit(None, one["per"], int(one["times"]), self.pos(lpath))
            else:
                lim = m.Limit(Decimal(str(one["max"])), one["per"], None, self.pos(lpath))
            kind = ("times" if lim.times is not None else "max", lim.per)
            if kind in seen:
                self.diag("E-LIMIT-TWICE", lpath, key=False, limit=key, per=lim.per,
                          first_line=self.pos(path + (key, seen[kind])).line)
            seen.setdefault(kind, j)
            out.append(lim)
        return tuple(out)

    def rules(self, scope: Scope, categories: tuple[m.Category, ...]) -> tuple[m.Rule, ...]:
        items = self.data.get("rules") or []
        self.unique_ids("rules", "规则", "rule", items)
        cat_ids = [c.id for c in categories]
        out = []
        for i, r in enumerate(items):
            if self.unusable(("rules", i)):
                continue
            with self.item_guard():
                path = ("rules", i)
                rid = str(r["id"])
                category = str(r["category"]) if r.get("category") not in (None, "") else None
                if category is not None and category not in cat_ids and not self.categories_unsure:
                    zh, en = did_you_mean(category, cat_ids, cutoff=0.3,
                                          otherwise=("在 categories 中加上它", "add it under categories"))
                    self.diag("E-RULE-CATEGORY", path + ("category",), rule=rid, category=category,
                              suggest_zh=zh, suggest_en=en)
                when_expr = None
                if "when" not in r:
                    if not self.is_broken(path + ("when",)):  # not a misspelt `when`
                        self.diag("E-RULE-NO-WHEN", path + ("id",), rule=rid)
                else:
                    when_expr = self.expression(path + ("when",), scope, "when")
                escalation = None
                if "escalation" in r:
                    e = r["escalation"]
                    escalation = m.Escalation(tuple(Decimal(str(s)) for s in e["steps"]), e["per"],
                                              self.pos(path + ("escalation",)))
                    if "points" in r:
                        self.diag("E-RULE-POINTS-AND-ESCALATION", path + ("points",), key=True, rule=rid)
                    if "once" in r:
                        self.diag("E-RULE-ONCE-ESCALATION", path + ("once",), key=True, rule=rid)
                points_expr = None
                if "points" in r:
                    points_expr = self.expression(path + ("points",), scope, "points")
                elif escalation is None and not self.is_broken(path + ("points",)):
                    self.diag("E-RULE-NO-POINTS", path + ("id",), rule=rid)
                limit = self.limit(r, "limit", path)
                deduction_limit = self.limit(r, "deduction_limit", path)
                self._check_cap_signs(path, rid, points_expr, escalation, limit, deduction_limit)
                out.append(m.Rule(
                    id=rid, name=str(r.get("name") or rid), category=category, when_expr=when_expr,
                    when_fn=None, points_expr=points_expr, points_fn=None, limit=limit,
                    deduction_limit=deduction_limit,
                    once=r.get("once"), escalation=escalation, highest_only=r.get("highest_only"), veto=r.get("veto"),
                    description=r.get("description"), index=i, pos=self.pos(path)))
        return tuple(out)

    def _check_cap_signs(self, path, rid, points_expr, escalation, cap, deduction_cap) -> None:
        values: list[Decimal] = []
        if escalation is not None:
            values = list(escalation.steps)
        elif points_expr is not None:
            c = constant_value(points_expr)
            if isinstance(c, Decimal):
                values = [c]
            elif isinstance(points_expr, n.Lookup) and all(
                constant_value(v) is not None for _, v in points_expr.table
            ) and (points_expr.default is None or constant_value(points_expr.default) is not None):
                values = [constant_value(v) for _, v in points_expr.table]
                if points_expr.default is not None:
                    values.append(constant_value(points_expr.default))
        if not values:
            return
        if cap and all(v <= 0 for v in values):
            self.diag("W-RULE-CAP-SIGN", path + ("limit",), key=True, severity="warning", rule=rid, limit="limit",
                      sign_zh="扣分", sign_en="negative")
        if deduction_cap and all(v >= 0 for v in values):
            self.diag("W-RULE-CAP-SIGN", path + ("deduction_limit",), key=True, severity="warning", rule=rid,
                      limit="deduction_limit", sign_zh="加分", sign_en="positive")

    def checklists(self, scope: Scope) -> tuple[m.ChecklistItem, ...]:
        items = self.data.get("checklists") or []
        self.unique_ids("checklists", "清单事项", "item", items)
        names_seen: dict[str, int] = {}
        out = []
        for i, item in enumerate(items):
            if self.unusable(("checklists", i)):
                continue
            with self.item_guard():
                path = ("checklists", i)
                if item["name"] in names_seen:
                    self.diag("E-DUP-ID", path + ("name",), kind_zh="清单事项名称", kind_en="item name", id=item["name"],
                              first_line=self.pos(("checklists", names_seen[item["name"]], "name")).line)
                names_seen.setdefault(item["name"], i)
                procedures = []
                procs = item.get("procedures") or []
                schedule = self.schedule(path, str(item["id"])) if "schedule" in item else None
                if schedule is not None and "from" not in (self.data.get("effective") or {}):
                    self.diag("W-SCHEDULE-NO-START", path + ("schedule",), key=True, severity="warning",
                              item=item["id"])
                if not procs and "schedule" not in item:
                    self.diag("E-ITEM-EMPTY", path + ("id",), item=item["id"])
                for j, proc in enumerate(procs):
                    ppath = path + ("procedures", j)
                    pid = str(proc.get("id") or f"{item['id']}_{j + 1}")
                    when_expr = self.expression(ppath + ("when",), scope, "when") if "when" in proc else None
                    if len(procs) > 1 and "when" not in proc:
                        self.diag("W-PROCEDURE-NO-WHEN", ppath, severity="warning", item=item["id"], procedure=pid)
                    procedures.append(m.Procedure(
                        id=pid, name=str(proc.get("name") or pid), when_expr=when_expr, when_fn=None,
                        steps=self.steps(ppath), pos=self.pos(ppath)))
                out.append(m.ChecklistItem(id=str(item["id"]), name=str(item["name"]),
                                           list=str(item.get("list") or ""), procedures=tuple(procedures),
                                           pos=self.pos(path), schedule=schedule))
        return tuple(out)

    def schedule(self, path: tuple, item_id: str) -> m.Schedule | None:
        """A scheduled item's ``schedule`` (村级事务清单): ``every`` in English or Chinese words."""
        spath = path + ("schedule",)
        if self.is_broken(spath):
            return None  # its shape is already reported by the schema
        s = self.eff_value(spath)
        word = str(s["every"]).strip()
        every = next((k for k, words in m.EVERY_WORDS.items() if word.lower() in words), None)
        due = s.get("due") or {}
        days = int(due.get("days", 0))
        calendar = due.get("calendar", "calendar")
        if every is None:
            known = [w for words in m.EVERY_WORDS.values() for w in words]
            zh, en = did_you_mean(word, known, cutoff=0.5, otherwise=("", ""))
            self.diag("E-SCHEDULE-EVERY", spath + ("every",), item=item_id, value=word,
                      suggest_zh=zh + " " if zh else "", suggest_en=en + " " if en else "")
            return None
        # the window (anchor .. due date) longer than the shortest period of its kind: the
        # windows of neighbouring periods overlap (allowed, but said)
        shortest = {"month": 28, "quarter": 90, "half_year": 181, "year": 365}[every]
        if calendar == "working":
            shortest = shortest * 5 // 7  # about as many working days
        if days > shortest:
            unit = ("个工作日", "working days") if calendar == "working" else ("日", "days")
            names = {"month": ("月", "month"), "quarter": ("季度", "quarter"),
                     "half_year": ("半年", "half year"), "year": ("年", "year")}[every]
            self.diag("W-SCHEDULE-OVERLAP", spath + ("due", "days"), severity="warning", item=item_id,
                      days=days, unit_zh=unit[0], unit_en=unit[1], every_zh=names[0], every_en=names[1])
        return m.Schedule(every=every, days=days, after=due.get("after", "period_end"),  # type: ignore[arg-type]
                          calendar=calendar, pos=self.pos(spath))

    def steps(self, ppath: tuple) -> tuple[m.Step, ...]:
        raw_steps = self.eff_value(ppath + ("steps",))
        names = [s if isinstance(s, str) else s["name"] for s in raw_steps]
        seen: dict[str, int] = {}
        out = []
        for k, s in enumerate(raw_steps):
            spath = ppath + ("steps", k)
            name = names[k]
            if name in seen:
                self.diag("E-DUP-ID", spath, kind_zh="步骤", kind_en="step", id=name,
                          first_line=self.pos(ppath + ("steps", seen[name])).line)
            seen.setdefault(name, k)
            if isinstance(s, str):
                out.append(m.Step(name=s, pos=self.pos(spath)))
                continue
            meeting = None
            if "meeting" in s:
                quorum = self.fraction(spath + ("meeting", "quorum"))
                majority = self.fraction(spath + ("meeting", "majority"))
                meeting = m.Meeting(quorum or Fraction(0), majority or Fraction(0), self.pos(spath + ("meeting",)))
            within = self.deadline(spath, "within", name, names, k)
            not_before = self.deadline(spath, "not_before", name, names, k)
            out.append(m.Step(name=name, meeting=meeting, within=within, not_before=not_before, pos=self.pos(spath)))
        return tuple(out)

    def fraction(self, path: tuple) -> Fraction | None:
        value = self.eff_value(path)
        try:
            f = Fraction(str(value).replace(" ", ""))
        except (ValueError, ZeroDivisionError):
            f = None
        if f is None or not (0 <= f <= 1):
            self.diag("E-FRACTION", path, value=value)
            return None
        return f

    def deadline(self, spath: tuple, key: str, name: str, names: list[str], k: int) -> m.Deadline | None:
        s = self.eff_value(spath)
        if key not in s:
            return None
        d = s[key]
        after = d["after"]
        if after not in names:
            zh, en = did_you_mean(after, names, cutoff=0.3,
                                  otherwise=("可用的步骤：" + "、".join(names), "steps: " + ", ".join(names)))
            self.diag("E-STEP-AFTER", spath + (key, "after"), step=name, after=after,
                      problem_zh="程序中没有这个步骤", problem_en="the procedure has no such step",
                      suggest_zh=zh, suggest_en=en)
        elif names.index(after) >= k:
            self.diag("E-STEP-AFTER", spath + (key, "after"), step=name, after=after,
                      problem_zh="它不在本步骤之前", problem_en="it does not come before this step",
                      suggest_zh="期限只能从前面的步骤算起", suggest_en="a deadline counts from an earlier step")
        return m.Deadline(int(d["days"]), after, d.get("calendar", "calendar"), self.pos(spath + (key,)))

    def selections(self, record_scope: Scope, rule_ids: set[str]) -> tuple[m.Selection, ...]:
        items = self.data.get("selections") or []
        self.unique_ids("selections", "评选", "selection", items)
        out = []
        for i, s in enumerate(items):
            if self.unusable(("selections", i)):
                continue
            with self.item_guard():
                path = ("selections", i)
                criteria = []
                for j, _text in enumerate(s["criteria"]):
                    cpath = path + ("criteria", j)
                    scope = selection_scope(record_scope)
                    expr = self.expression(cpath, scope, "criterion")
                    if expr is None:
                        continue
                    for node in n.walk(expr):
                        if isinstance(node, n.Call) and node.func in ("points", "得分") and node.args:
                            arg = node.args[0]
                            if isinstance(arg, n.Text) and arg.value not in rule_ids:
                                self.diag("E-EXAMPLE-RULE", cpath, example=s["name"], rule=arg.value)
                    criteria.append((str(self.eff_value(cpath)), expr, None))
                out.append(m.Selection(id=str(s["id"]), name=str(s["name"]), per=s.get("per", "year"),
                                       criteria=tuple(criteria), no_veto=bool(s.get("no_veto", True)),
                                       pos=self.pos(path)))
        return tuple(out)

    def examples(self, record_fields, household_fields, case_fields, rule_ids: set[str]) -> tuple[m.Example, ...]:
        from xiangyue.periods import parse_period

        items = self.data.get("examples") or []
        out = []
        for i, ex in enumerate(items):
            if self.unusable(("examples", i)):
                continue
            with self.item_guard():
                path = ("examples", i)
                name = str(ex["name"])
                period = ex.get("period")
                if period is not None:
                    try:
                        parse_period(str(period))
                    except XiangyueError:
                        self.diag("E-EXAMPLE-PERIOD", path + ("period",), example=name, value=period)
                for section, fields in (("records", record_fields), ("households", household_fields),
                                        ("cases", case_fields)):
                    known = {nm for f in fields for nm in f.names()}
                    for j, row in enumerate(ex.get(section) or []):
                        for col in row:
                            if col not in known:
                                zh, en = did_you_mean(col, sorted(known), cutoff=0.4)
                                self.diag("E-EXAMPLE-COLUMN", path + (section, j, col), key=True, example=name,
                                          column=col, suggest_zh=zh, suggest_en=en)
                expect = ex["expect"]
                by_rule = expect.get("by_rule") if isinstance(expect, dict) else None
                if isinstance(by_rule, dict):
                    for hh, rules in by_rule.items():
                        if isinstance(rules, dict):
                            for rid in rules:
                                if rid not in rule_ids:
                                    self.diag("E-EXAMPLE-RULE", path + ("expect", "by_rule", hh, rid), key=True,
                                              example=name, rule=rid)
                as_of = self.date(path + ("as_of",)) if "as_of" in ex else None
                out.append(m.Example(
                    name=name, period=str(period) if period is not None else None,
                    records=tuple(ex.get("records") or ()), households=tuple(ex.get("households") or ()),
                    cases=tuple(ex.get("cases") or ()), as_of=as_of, expect=dict(expect), pos=self.pos(path)))
        return tuple(out)

    def metadata(self) -> dict[str, Any]:
        d = self.data
        eff = d.get("effective") or {}
        start = self.date(("effective", "from")) if "from" in eff else None
        end = self.date(("effective", "until")) if "until" in eff else None
        if start and end and start > end:
            self.diag("E-EFFECTIVE-RANGE", ("effective", "until"), start=start, end=end)
        a = d.get("adopted") or {}
        adopted = m.Adoption(meeting=a.get("meeting"), date=self.date(("adopted", "date")) if "date" in a else None,
                             attended=a.get("attended"), eligible=a.get("eligible"), approved=a.get("approved"))
        if adopted.attended is not None and adopted.eligible is not None and adopted.attended > adopted.eligible:
            self.diag("E-ADOPTED-COUNTS", ("adopted", "attended"), detail_zh="到会人数多于应到人数",
                      detail_en="more attended than were eligible")
        if adopted.approved is not None and adopted.attended is not None and adopted.approved > adopted.attended:
            self.diag("E-ADOPTED-COUNTS", ("adopted", "approved"), detail_zh="赞成人数多于到会人数",
                      detail_en="more approved than attended")
        version = self.eff.raw(("version",)) if "version" in d else None
        if version and version[:1] in ("'", '"'):
            version = str(d["version"])
        return {
            "village": str(d.get("village", "")), "name": str(d.get("name", "")),
            "version": version if version is not None else "", "effective_from": start, "effective_until": end,
            "adopted": adopted,
        }

    def market(self) -> m.Market:
        mk = self.data.get("market") or {}
        goods_raw = mk.get("goods") or []
        seen: dict[str, int] = {}
        goods = []
        for i, g in enumerate(goods_raw):
            gid = str(g["id"])
            if gid in seen:
                self.diag("E-DUP-ID", ("market", "goods", i, "id"), kind_zh="商品", kind_en="good", id=gid,
                          first_line=self.pos(("market", "goods", seen[gid], "id")).line)
            seen.setdefault(gid, i)
            goods.append(m.Good(gid, str(g["name"]), Decimal(str(g["price"])), self.pos(("market", "goods", i))))
        return m.Market(goods=tuple(goods), carry_over=mk.get("carry_over", "keep"),
                        min_total=Decimal(str(mk["min_total"])) if "min_total" in mk else None,
                        vetoed_may_redeem=bool(mk.get("vetoed_may_redeem", False)), pos=self.pos(("market",)))


def _board_rule(spec: Any) -> m.BoardRule:
    if not isinstance(spec, dict):
        return m.BoardRule(size=int(spec))
    size = spec.get("size")
    percent = None
    if isinstance(size, str):
        percent, size = Decimal(size.strip().rstrip("%").strip()), None
    ties = spec.get("ties", "all")
    return m.BoardRule(size=size if size is not None or percent is not None else 5, percent=percent,
                       min=spec.get("min"), max=spec.get("max"), rank_by=spec.get("rank_by", "total"),
                       ties=() if ties == "all" else tuple(ties))


def _board_spec(boards: dict[str, Any], pos: Pos) -> m.BoardSpec:
    """The boards section: plain sizes (``red: 5``) or rules (``red: {size: 10%, min: 3}``)."""
    red, black, progress = boards.get("red", 5), boards.get("black", 5), boards.get("progress")
    named = tuple(k for k in ("red", "black", "progress") if k in boards)
    black_size, below = 5, None
    if isinstance(black, dict):
        if "below" in black:
            below, black_size = Decimal(str(black["below"])), 0
        else:
            black_size = int(black["size"])
    else:
        black_size = int(black)
    red_rule = _board_rule(red) if isinstance(red, dict) else None
    return m.BoardSpec(
        red_size=int(red) if not isinstance(red, dict) else (red_rule.size or 0),
        black_size=black_size, per=boards.get("per", "quarter"), pos=pos, red=red_rule,
        black_below=below, progress=_board_rule(progress) if progress is not None else None,
        shown=named if named and set(named) - {"progress"} else ("red", "black") + named)


def _value_kind(v: Any) -> str:
    return "number" if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) else "text"


def selection_scope(record_scope: Scope) -> Scope:
    """Names and functions of selection criteria: totals and counts over the period."""
    labels = {"total": "总分", "vetoed": "一票否决"}
    keys = {"总分": "total", "一票否决": "vetoed"}
    bindings = {name: Binding(keys.get(name, name), t, None, labels[keys.get(name, name)])
                for name, t in SELECTION_NAMES.items()}
    funcs = {
        "count": Function("count", ("计数",), (BOOLEAN,), NUMBER, lambda *_: None, 1, 1,
                          "本期满足条件的记录条数", "number of the period's records meeting a condition"),
        "points": Function("points", ("得分",), ("text",), NUMBER, lambda *_: None, 1, 1,
                           "本期某条规则的得分", "points from one rule in the period"),
    }
    for f in list(funcs.values()):
        for alias in f.aliases:
            funcs[alias] = f
    return _SelectionScope(bindings, funcs, record_scope)


class _SelectionScope(Scope):
    """Selection criteria see totals; the argument of count(...) sees the record's fields."""

    def __init__(self, bindings, functions, record_scope: Scope):
        super().__init__({**record_scope.bindings, **bindings}, functions)
        self.record_scope = record_scope


def _sha256(docs) -> str:
    h = hashlib.sha256()
    for doc in docs:
        h.update(doc.text.encode("utf-8"))
    return h.hexdigest()


def build(eff: Effective, problems: list[tuple[Diagnostic, YamlDoc, tuple]] = (), *,
          examples: bool = True) -> m.Ruleset:
    """Check and compile an effective rule file; raise :class:`RulesetError` with every error.

    ``problems`` are the structural errors found by the schema: they are reported with the
    rest, and the parts of the file they are in are not checked further. ``examples=False``
    leaves the examples out (a reviewer diffing two versions compares rules, not examples).
    """
    broken: dict[str, list[tuple]] = {}
    for _diag, doc, path in problems:
        broken.setdefault(doc.file, []).append(path)
    b = _RulesetBuilder(eff, broken)
    b.diags.extend(diag for diag, _doc, _path in problems if diag is not None)
    d = eff.data
    meta = b.guarded(b.metadata, {"village": "", "name": "", "version": "", "effective_from": None,
                                  "effective_until": None, "adopted": m.Adoption()})
    unit = d.get("unit", "household")
    builtin_record = BUILTIN_RECORD_FIELDS + ((PERSON_FIELD,) if unit == "person" else ())
    fields = b.guarded(lambda: b.fields("fields", builtin_record), builtin_record)
    household_fields = b.guarded(lambda: b.fields("household_fields", BUILTIN_HOUSEHOLD_FIELDS),
                                 BUILTIN_HOUSEHOLD_FIELDS)
    case_fields = b.guarded(lambda: b.fields("case_fields", BUILTIN_CASE_FIELDS), BUILTIN_CASE_FIELDS)
    tables = b.guarded(b.tables, ())
    record_scope = Scope.from_fields(fields, tables)
    case_scope = Scope.from_fields(case_fields)
    categories = b.guarded(b.categories, ())
    counted_when = (b.guarded(lambda: b.expression(("counted_when",), record_scope, "when"), None)
                    if "counted_when" in d else None)
    if counted_when is not None and window_days(counted_when, record_scope):
        b.diag("E-COUNTED-WHEN-WINDOW", ("counted_when",))
    rules = b.guarded(lambda: b.rules(record_scope, categories), ())
    checklists = b.guarded(lambda: b.checklists(case_scope), ())
    rule_ids = {r.id for r in rules}
    selections = b.guarded(lambda: b.selections(record_scope, rule_ids), ())
    examples = b.guarded(lambda: b.examples(fields, household_fields, case_fields, rule_ids), ()) if examples else ()
    market = b.guarded(b.market, m.Market())
    errors = [x for x in b.diags if x.severity == "error"]
    if errors:
        raise RulesetError(with_source_lines(eff, b.diags))
    # compile: only a file without errors gets here
    rules = tuple(
        _replace(r, when_fn=compile_condition(r.when_expr, record_scope),
                 points_fn=compile_expression(r.points_expr, record_scope) if r.points_expr is not None else None)
        for r in rules
    )
    checklists = tuple(
        _replace(item, procedures=tuple(
            _replace(p, when_fn=compile_condition(p.when_expr, case_scope) if p.when_expr is not None else None)
            for p in item.procedures))
        for item in checklists
    )
    boards = d.get("boards") or {}
    base = d.get("base")
    ruleset = m.Ruleset(
        file=eff.main.file,
        sha256=_sha256(eff.docs),
        village=meta["village"],
        name=meta["name"],
        version=meta["version"],
        effective_from=meta["effective_from"],
        effective_until=meta["effective_until"],
        adopted=meta["adopted"],
        unit=unit,
        matching=d.get("matching", "all"),
        fields=fields,
        household_fields=household_fields,
        case_fields=case_fields,
        categories=categories,
        rules=rules,
        base=m.BasePoints(Decimal(str(base["points"])), base["per"], b.pos(("base",))) if base else None,
        checklists=checklists,
        boards=b.guarded(lambda: _board_spec(boards, b.pos(("boards",))), m.BoardSpec()),
        selections=selections,
        stars=tuple(sorted((m.StarLevel(int(s["stars"]), Decimal(str(s["min"])), s.get("name"))
                            for s in d.get("stars") or ()), key=lambda s: s.stars)),
        market=market,
        examples=examples,
        extends=tuple(doc.file for doc in eff.docs[:-1]),
        counted_when_expr=counted_when,
        counted_when_fn=compile_condition(counted_when, record_scope) if counted_when is not None else None,
        counted_when_text=str(d["counted_when"]) if counted_when is not None else None,
        tables=tables,
        window_days=max([window_days(e, record_scope) for r in rules
                         for e in (r.when_expr, r.points_expr)] + [0]),
        notice=_notice(d.get("notice") or {}),
        raw=d,
        warnings=tuple(with_source_lines(eff, b.diags)),
    )
    return ruleset


def _notice(section: dict) -> m.NoticeSpec:
    """The ``notice:`` section (already checked by the schema)."""
    signatories = section.get("signatories")
    return m.NoticeSpec(
        objection_days=int(section.get("objection_days", 7)),
        signatories=tuple(str(s) for s in signatories) if signatories is not None
        else m.DEFAULT_SIGNATORIES,
        place=section.get("place"), phone=_text(section.get("phone")),
        footnote=section.get("footnote"))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _replace(obj, **changes):
    from dataclasses import replace

    return replace(obj, **changes)


def with_source_lines(eff: Effective, diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    from dataclasses import replace

    out = []
    for x in diags:
        if x.source_line is None and x.line:
            x = replace(x, source_line=eff.source_line(x.file, x.line))
        out.append(x)
    return sorted(out, key=Diagnostic.sort_key)


@dataclass
class PipelineRun:
    """What the stages of one run hand on to the next (see :data:`STAGES`)."""

    path: str | os.PathLike | None = None
    display_name: str | None = None
    base_dir: str | None = None
    substitute: Mapping[str, str | os.PathLike] | None = None  # templates read from other files
    examples: bool = True  # False: leave the examples out (diff compares rules)
    docs: list[YamlDoc] = dc_field(default_factory=list)  # the templates, then the file
    problems: list[tuple[Diagnostic, YamlDoc, tuple]] = dc_field(default_factory=list)
    eff: Effective | None = None  # the rule file with its templates applied
    ruleset: m.Ruleset | None = None


def _load(run: PipelineRun) -> None:
    """Safe YAML with positions: the file and the templates it extends."""
    run.docs = load_chain(run.path, run.display_name, base_dir=run.base_dir,
                          substitute=run.substitute)


def _validate(run: PipelineRun) -> None:
    """Each file's structure against the schema; a top level that is not a mapping stops here."""
    for doc in run.docs:
        run.problems.extend((diag, doc, p) for diag, p in structural_errors(doc))
    if any(diag is not None and diag.code == "E-SCHEMA-ROOT" for diag, _doc, _p in run.problems):
        raise RulesetError([diag for diag, _doc, _p in run.problems if diag is not None])


def _merge(run: PipelineRun) -> None:
    """The templates applied (one effective file), the Chinese enum words made English."""
    run.eff, merge_problems = merge(run.docs)
    run.problems.extend((diag, run.eff.main, ("remove",)) for diag in merge_problems)
    normalize_words(run.eff.data)


def _build(run: PipelineRun) -> None:
    """Every section checked (expressions parsed and type-checked on the way), then, for a
    file without errors, compiled into the :class:`~xiangyue.rules.model.Ruleset`."""
    assert run.eff is not None
    run.ruleset = build(run.eff, run.problems, examples=run.examples)


#: The stages of a rule file, in order, as (name, stage) (as OPA's compiler lists its
#: stages). The order matters: each reads what the one before left in the
#: :class:`PipelineRun`: the schema validates each file *before* the merge (so an error points
#: into the file that has it, template or not), the merge needs every file's structure, the
#: section checks skip what the schema found malformed (one error, not two), and only a file
#: without errors is compiled (a compiler never meets an unchecked expression).
STAGES: tuple[tuple[str, Callable[[PipelineRun], None]], ...] = (
    ("load", _load),
    ("validate", _validate),
    ("merge", _merge),
    ("build", _build),
)


def run_stages(run: PipelineRun, *, first: str | None = None, last: str | None = None) -> None:
    """Run the stages from ``first`` to ``last`` (names of :data:`STAGES`; default: all)."""
    started = first is None
    for name, stage in STAGES:
        started = started or name == first
        if started:
            stage(run)
        if name == last:
            return


def load_checked(path: str | os.PathLike, display_name: str | None = None, *, base_dir: str | None = None,
                 substitute: Mapping[str, str | os.PathLike] | None = None
                 ) -> tuple[Effective, list[tuple[Diagnostic, YamlDoc, tuple]]]:
    """Load a rule file and its templates, check each file's structure, and merge them (the
    stages up to ``merge``).

    Returns the effective file and the structural problems (with the file and path of each).
    A file whose top level is not a mapping cannot be merged and raises at once. ``base_dir``
    is where templates named in ``extends`` are looked for (default: the file's folder);
    ``substitute`` reads some templates from other files (:func:`~xiangyue.rules.templates.load_chain`).
    """
    run = PipelineRun(path=path, display_name=display_name, base_dir=base_dir,
                      substitute=substitute)
    run_stages(run, last="merge")
    assert run.eff is not None
    return run.eff, run.problems


def _word(holder: Any, key: Any) -> None:
    if isinstance(holder, dict) and isinstance(holder.get(key), str):
        holder[key] = m.ENUM_WORDS.get(holder[key].strip(), holder[key])


def _limits_words(holder: Any) -> None:
    if not isinstance(holder, dict):
        return
    for key in ("limit", "deduction_limit"):
        spec = holder.get(key)
        for one in spec if isinstance(spec, list) else [spec]:
            _word(one, "per")


def _items(data: Any, key: str) -> list:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def normalize_words(data: dict[str, Any]) -> None:
    """Replace the Chinese words a rule file may write for enum words (``per: 月``, ``unit: 户``,
    ``once: 季度``, ``calendar: 工作日``) by the English ones, in place, after the schema has
    accepted either: every later stage, diff and show-effective see one spelling."""
    if not isinstance(data, dict):
        return
    _word(data, "unit")
    _word(data, "matching")
    _word(data.get("base"), "per")
    boards = data.get("boards")
    _word(boards, "per")
    for key in ("red", "progress"):
        spec = boards.get(key) if isinstance(boards, dict) else None
        if isinstance(spec, dict):
            if spec.get("rank_by") in ("总分", "得分"):
                spec["rank_by"] = {"总分": "total", "得分": "earned"}[spec["rank_by"]]
            _word(spec, "ties")
            if isinstance(spec.get("ties"), list):
                zh = {v: k for k, v in m.TIE_BREAKERS.items()}
                spec["ties"] = [zh.get(t, t) if isinstance(t, str) else t for t in spec["ties"]]
    for c in _items(data, "categories"):
        _limits_words(c)
    for r in _items(data, "rules"):
        if isinstance(r, dict):
            for key in ("once", "highest_only", "veto"):
                _word(r, key)
            _word(r.get("escalation"), "per")
            _limits_words(r)
    for sel in _items(data, "selections"):
        _word(sel, "per")
    for item in _items(data, "checklists"):
        for proc in _items(item, "procedures"):
            for step in _items(proc, "steps"):
                if isinstance(step, dict):
                    _word(step.get("within"), "calendar")
                    _word(step.get("not_before"), "calendar")


def load_effective(path: str | os.PathLike, display_name: str | None = None) -> Effective:
    """The effective (templates applied) rule file, raising if its structure is wrong."""
    eff, problems = load_checked(path, display_name)
    if any(diag is not None for diag, _doc, _p in problems):
        raise RulesetError(with_source_lines(eff, [diag for diag, _doc, _p in problems if diag is not None]))
    return eff


def load_ruleset(path: str | os.PathLike, display_name: str | None = None, *, base_dir: str | None = None,
                 examples: bool = True, substitute: Mapping[str, str | os.PathLike] | None = None
                 ) -> m.Ruleset:
    """The whole pipeline for one rule file. Raises :class:`RulesetError` listing every error.

    Warnings of a valid file are on ``ruleset.warnings``.
    """
    run = PipelineRun(path=path, display_name=display_name, base_dir=base_dir, examples=examples,
                      substitute=substitute)
    run_stages(run)
    assert run.ruleset is not None
    return run.ruleset


def validate_files(paths: Iterable[str]) -> dict[str, list[Diagnostic]]:
    """Check each file; map each to its diagnostics (errors and warnings), in position order."""
    out: dict[str, list[Diagnostic]] = {}
    for p in paths:
        try:
            rs = load_ruleset(p)
            out[p] = list(rs.warnings)
        except XiangyueError as err:
            out[p] = list(err.diagnostics)
    return out
