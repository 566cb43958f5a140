"""County guardrails: check villages' rule files against a county policy file.

A policy is a small YAML file (``schemas/policy.schema.json``; example
``rulesets/policies/jiangyang-county.policy.yaml``)::

    xiangyue_policy: 1
    county: 江阳区
    max_points: 20              # one rule gives at most 20 points for one record
    max_deduction: 30           # one rule takes at most 30 points for one record
    forbidden: [参与宗教活动, 上访]  # activities no rule may score (give or take points for)
    required_categories: [乡风文明, 人居环境, 遵纪守法]
    positive_monthly_limit: true  # every rule that gives points has a monthly limit
    max_monthly_deduction: 60   # a household loses at most 60 points a month, all rules together

Each finding is a :class:`~xiangyue.errors.Diagnostic` at the offending rule (file:line of the
effective file, so an inherited rule points into the template) and names the policy clause it
breaks (policy file:line).

What a rule can give or take is worked out from its expressions without running them
(:func:`points_range`): constants, lookup tables, field bounds (``min``/``max`` of the field),
arithmetic, ``if``, ``min``/``max``/``abs``/rounding; anything else counts as unbounded. A rule's
cap (deduction cap) bounds what one record can give (take). Decisions:

- ``positive_monthly_limit``: a ``cap`` per month or a ``once`` limit (any period: at most one
  record a month counts) satisfies it; a quarterly or yearly cap does not.
- ``max_monthly_deduction``: a rule's monthly deduction is bounded by its ``deduction_limit``
  (of any period: a quarter's allowance can all fall in one month), else by one record's worst
  deduction when the rule is ``once``, else unbounded (records repeat); a category's
  ``deduction_limit`` bounds its rules together.
- ``forbidden``: a rule scores a forbidden activity when its name, or a text in its condition,
  contains the activity's words.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from importlib import resources
from typing import Any, Iterable

from xiangyue.rules import model as m
from xiangyue.rules import nodes as n
from xiangyue.errors import Diagnostic, Pos, XiangyueError
from xiangyue.i18n import Msg, register
from xiangyue.rules.source import YamlDoc

__all__ = ["Policy", "LintReport", "load_policy", "lint_ruleset", "lint_files", "points_range",
           "record_range"]

register(
    {
        "L-MAX-POINTS": Msg(
            zh="规则 {rule}（{name}）一条记录最多可加 {value} 分，超过县里规定的单项最多 {max} 分（违反县级规定 {policy}）",
            en="rule {rule} ({name}) can give {value} points for one record, more than the "
            "county's {max} per item (breaks {policy})",
            hint_zh="可加 limit 上限或调低分值",
            hint_en="add a limit or lower the points",
        ),
        "L-MAX-DEDUCTION": Msg(
            zh="规则 {rule}（{name}）一条记录最多可扣 {value} 分，超过县里规定的单项最多扣 {max} 分（违反县级规定 {policy}）",
            en="rule {rule} ({name}) can take {value} points for one record, more than the "
            "county's {max} per item (breaks {policy})",
            hint_zh="可加 deduction_limit 或调低扣分",
            hint_en="add a deduction_limit or lower the deduction",
        ),
        "L-FORBIDDEN": Msg(
            zh="规则 {rule}（{name}）对“{activity}”计分，县里规定不得对此计分（违反县级规定 {policy}）",
            en="rule {rule} ({name}) scores '{activity}', which the county forbids (breaks {policy})",
            hint_zh="删除这条规则",
            hint_en="remove this rule",
        ),
        "L-CATEGORY-MISSING": Msg(
            zh="缺少县里要求的类别“{category}”（违反县级规定 {policy}）",
            en="the category '{category}' the county requires is missing (breaks {policy})",
            hint_zh="在 categories 中加上它并设置相应规则",
            hint_en="add it under categories, with its rules",
        ),
        "L-NO-MONTHLY-LIMIT": Msg(
            zh="加分项 {rule}（{name}）没有每月上限（违反县级规定 {policy}）",
            en="points item {rule} ({name}) has no monthly limit (breaks {policy})",
            hint_zh="加上 limit: {{max: …, per: month}} 或 once",
            hint_en="add limit: {{max: …, per: month}} or once",
        ),
        "L-MONTHLY-DEDUCTION-UNBOUNDED": Msg(
            zh="扣分项 {rule}（{name}）每月扣分没有上限，一户一个月被扣的总分可能超过 {max} 分（违反县级规定 {policy}）",
            en="deduction item {rule} ({name}) has no monthly limit, so a household could lose "
            "more than {max} points in a month (breaks {policy})",
            hint_zh="加上 deduction_limit: {{max: …, per: month}}",
            hint_en="add deduction_limit: {{max: …, per: month}}",
        ),
        "L-MONTHLY-DEDUCTION": Msg(
            zh="一户一个月最多可被扣 {value} 分（{detail_zh}），超过县里规定的 {max} 分（违反县级规定 {policy}）",
            en="a household can lose {value} points in one month ({detail_en}), more than the "
            "county's {max} (breaks {policy})",
            hint_zh="调低扣分上限",
            hint_en="lower the deduction limits",
        ),
        "E-POLICY-NOT-OBJECT": Msg(
            zh="审查要点文件的最外层应是“键: 值”的映射",
            en="the top level of a policy file must be a mapping of keys to values",
            hint_zh="参考 rulesets/policies/jiangyang-county.policy.yaml",
            hint_en="see rulesets/policies/jiangyang-county.policy.yaml",
        ),
    }
)


# --------------------------------------------------------------------------------------------
# What a rule can give: interval arithmetic over expressions (None = unbounded)

Bound = tuple[Decimal | None, Decimal | None]
UNBOUNDED: Bound = (None, None)


def _scale(b: Bound, c: Decimal) -> Bound:
    lo, hi = b
    if c == 0:
        return (Decimal(0), Decimal(0))
    a = None if lo is None else lo * c
    z = None if hi is None else hi * c
    return (a, z) if c > 0 else (z, a)


def _mul(a: Bound, b: Bound) -> Bound:
    if a[0] is not None and a[0] == a[1]:
        return _scale(b, a[0])
    if b[0] is not None and b[0] == b[1]:
        return _scale(a, b[0])
    if None not in a and None not in b:
        prods = [x * y for x in a for y in b]  # type: ignore[operator]
        return (min(prods), max(prods))
    if a[0] is not None and b[0] is not None and a[0] >= 0 and b[0] >= 0:
        return (a[0] * b[0], None if a[1] is None or b[1] is None else a[1] * b[1])
    return UNBOUNDED


def _hull(bounds: Iterable[Bound]) -> Bound:
    bs = list(bounds)
    if not bs:
        return UNBOUNDED
    los = [b[0] for b in bs]
    his = [b[1] for b in bs]
    return (None if None in los else min(los),  # type: ignore[type-var]
            None if None in his else max(his))  # type: ignore[type-var]


def _min_of(bs: list[Bound]) -> Bound:
    los = [b[0] for b in bs]
    his = [b[1] for b in bs if b[1] is not None]
    return (None if None in los else min(los), min(his) if his else None)  # type: ignore[type-var]


def _max_of(bs: list[Bound]) -> Bound:
    his = [b[1] for b in bs]
    los = [b[0] for b in bs if b[0] is not None]
    return (max(los) if los else None, None if None in his else max(his))  # type: ignore[type-var]


def expr_range(expr: n.Expr, ruleset: m.Ruleset | None) -> Bound:
    """The smallest and largest value a numeric expression can take (None: no bound known)."""
    if isinstance(expr, n.Number):
        return (expr.value, expr.value)
    if isinstance(expr, n.Name):
        spec = ruleset.field(expr.name) if ruleset is not None else None
        if spec is not None and spec.type in ("decimal", "integer"):
            return (spec.min, spec.max)
        return UNBOUNDED
    if isinstance(expr, n.Unary) and expr.op == "-":
        lo, hi = expr_range(expr.operand, ruleset)
        return (None if hi is None else -hi, None if lo is None else -lo)
    if isinstance(expr, n.Binary):
        a, b = expr_range(expr.left, ruleset), expr_range(expr.right, ruleset)
        if expr.op == "+":
            return (None if a[0] is None or b[0] is None else a[0] + b[0],
                    None if a[1] is None or b[1] is None else a[1] + b[1])
        if expr.op == "-":
            return (None if a[0] is None or b[1] is None else a[0] - b[1],
                    None if a[1] is None or b[0] is None else a[1] - b[0])
        if expr.op == "*":
            return _mul(a, b)
        if expr.op == "/" and b[0] is not None and b[0] == b[1] and b[0] != 0:
            return _scale(a, 1 / b[0])
        return UNBOUNDED
    if isinstance(expr, n.Cond):
        return _hull([expr_range(expr.then, ruleset), expr_range(expr.otherwise, ruleset)])
    if isinstance(expr, n.Lookup):
        values = [v for _, v in expr.table] + ([expr.default] if expr.default is not None else [])
        return _hull(expr_range(v, ruleset) for v in values)
    if isinstance(expr, n.Call):
        args = [expr_range(a, ruleset) for a in expr.args]
        if expr.func == "min" and args:
            return _min_of(args)
        if expr.func == "max" and args:
            return _max_of(args)
        if expr.func == "abs" and args:
            lo, hi = args[0]
            if lo is not None and lo >= 0:
                return (lo, hi)
            if hi is not None and hi <= 0:
                return (-hi, None if lo is None else -lo)
            return (Decimal(0), None if lo is None or hi is None else max(-lo, hi))
        if expr.func in ("round", "floor", "ceil") and args:
            lo, hi = args[0]
            return (None if lo is None else lo.to_integral_value(ROUND_FLOOR),
                    None if hi is None else hi.to_integral_value(ROUND_CEILING))
    return UNBOUNDED


def points_range(rule: m.Rule, ruleset: m.Ruleset | None) -> Bound:
    """The raw points one record can get from ``rule`` (before any limit)."""
    if rule.escalation is not None:
        return (min(rule.escalation.steps), max(rule.escalation.steps))
    if rule.points_expr is None:
        return (Decimal(0), Decimal(0))
    return expr_range(rule.points_expr, ruleset)


def record_range(rule: m.Rule, ruleset: m.Ruleset | None) -> Bound:
    """What one record can get from ``rule`` after its own cap and deduction cap."""
    lo, hi = points_range(rule, ruleset)
    for lim in rule.limit:
        if lim.max is not None and (hi is None or hi > lim.max):
            hi = lim.max
    for lim in rule.deduction_limit:
        if lim.max is not None and (lo is None or lo < -lim.max):
            lo = -lim.max
    return lo, hi


#: How many periods of a kind one calendar month can touch (a month holds at most 31 days and
#: touches at most 6 ISO weeks; a longer period holds the whole month).
_PER_MONTH = {"day": 31, "week": 6}


def _monthly_bound(limits: tuple[m.Limit, ...], once: str | None, one: Decimal | None) -> Decimal | None:
    """The most a rule can give (or take) in one month under its limits, ``one`` being the most
    one record can give (take); None when nothing bounds it."""
    bounds = []
    for lim in limits:
        n = _PER_MONTH.get(lim.per, 1)
        if lim.max is not None:
            bounds.append(lim.max * n)
        elif one is not None:
            bounds.append(one * lim.times * n)
    if once is not None and one is not None:
        bounds.append(one * _PER_MONTH.get(once, 1))
    return min(bounds) if bounds else None


# --------------------------------------------------------------------------------------------
# Policy


@dataclass
class Policy:
    """A loaded, checked policy file; ``doc`` keeps each clause's position."""

    file: str
    data: dict[str, Any]
    doc: YamlDoc

    def clause(self, key: str, index: int | None = None) -> str:
        """``policy.yaml:5 max_points: 20`` — where a clause is written, and what it says."""
        path: tuple = (key,) if index is None else (key, index)
        p = self.doc.pos(path)
        value = self.data[key] if index is None else self.data[key][index]
        shown = value if not isinstance(value, bool) else ("true" if value else "false")
        if index is not None:
            return f"{p.file}:{p.line} {key}: {shown}"
        if isinstance(value, list):
            shown = "[" + ", ".join(str(v) for v in value) + "]"
        return f"{p.file}:{p.line} {key}: {shown}"

    def get(self, key: str) -> Any:
        return self.data.get(key)


@functools.lru_cache(maxsize=1)
def policy_schema() -> dict[str, Any]:
    text = resources.files("xiangyue.schemas").joinpath("policy.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def load_policy(path: str | os.PathLike) -> Policy:
    """Load and check a policy file; raise :class:`XiangyueError` (exit 2) with every problem,
    each at its line and column."""
    from xiangyue.rules.schema import load_checked_yaml

    doc = load_checked_yaml(path, policy_schema(), "E-POLICY-NOT-OBJECT")
    return Policy(doc.file, doc.data, doc)


# --------------------------------------------------------------------------------------------
# Checks


@dataclass
class LintReport:
    """Findings per rule file (in the order the files were given)."""

    policy: Policy
    files: dict[str, list[Diagnostic]] = field(default_factory=dict)

    @property
    def findings(self) -> list[Diagnostic]:
        return [d for ds in self.files.values() for d in ds]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {"policy": self.policy.file,
                "files": [{"file": f, "findings": [d.to_json(lang) | {"policy": d.args.get("policy")}
                                                   for d in ds]} for f, ds in self.files.items()],
                "findings": len(self.findings)}


def _num(d: Decimal | None) -> str:
    if d is None:
        return "∞"
    return format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")


def _at(code: str, pos: Pos, source: str | None = None, **args: Any) -> Diagnostic:
    return Diagnostic(code, pos.file, pos.line, pos.column, args=args, source_line=source)


def lint_ruleset(rs: m.Ruleset, policy: Policy) -> list[Diagnostic]:
    """Every way ``rs`` breaks ``policy``, in file order."""
    out: list[Diagnostic] = []
    max_points = policy.get("max_points")
    max_ded = policy.get("max_deduction")
    for r in rs.rules:
        lo, hi = record_range(r, rs)
        if max_points is not None and (hi is None or hi > Decimal(str(max_points))):
            out.append(_at("L-MAX-POINTS", r.pos, rule=r.id, name=r.name, value=_num(hi),
                           max=max_points, policy=policy.clause("max_points")))
        if max_ded is not None and (lo is None or -lo > Decimal(str(max_ded))):
            out.append(_at("L-MAX-DEDUCTION", r.pos, rule=r.id, name=r.name,
                           value=_num(None if lo is None else -lo), max=max_ded,
                           policy=policy.clause("max_deduction")))
        for j, activity in enumerate(policy.get("forbidden") or ()):
            texts = [r.name] + [t.value for t in n.walk(r.when_expr) if isinstance(t, n.Text)]
            if any(activity in t for t in texts):
                out.append(_at("L-FORBIDDEN", r.pos, rule=r.id, name=r.name, activity=activity,
                               policy=policy.clause("forbidden", j)))
        if policy.get("positive_monthly_limit") and (hi is None or hi > 0):
            monthly = (any(lim.per in ("day", "week", "month") for lim in r.limit)
                       or r.once is not None)
            if not monthly:
                out.append(_at("L-NO-MONTHLY-LIMIT", r.pos, rule=r.id, name=r.name,
                               policy=policy.clause("positive_monthly_limit")))
    have = {c.id for c in rs.categories} | {c.name for c in rs.categories}
    for j, cat in enumerate(policy.get("required_categories") or ()):
        if cat not in have:
            at = rs.categories[0].pos if rs.categories else Pos(rs.file, 1, 1)
            out.append(_at("L-CATEGORY-MISSING", at, category=cat,
                           policy=policy.clause("required_categories", j)))
    max_month = policy.get("max_monthly_deduction")
    if max_month is not None:
        out.extend(_monthly_deduction(rs, policy, Decimal(str(max_month))))
    return sorted(out, key=Diagnostic.sort_key)


def _rule_monthly_deduction(r: m.Rule, rs: m.Ruleset) -> Decimal | None:
    """The most ``r`` can take from a household in one month (None: no bound)."""
    lo, _ = record_range(r, rs)
    if lo is not None and lo >= 0:
        return Decimal(0)
    return _monthly_bound(r.deduction_limit, r.once, None if lo is None else -lo)


def _may_take(r: m.Rule, rs: m.Ruleset) -> bool:
    lo = record_range(r, rs)[0]
    return lo is None or lo < 0


def _monthly_deduction(rs: m.Ruleset, policy: Policy, limit: Decimal) -> list[Diagnostic]:
    clause = policy.clause("max_monthly_deduction")
    out: list[Diagnostic] = []
    total = Decimal(0)
    parts_zh: list[str] = []
    parts_en: list[str] = []
    for cat in [*rs.categories, None]:
        rules = [r for r in rs.rules if (cat is None and rs.category(r.category) is None)
                 or (cat is not None and r.category == cat.id)]
        amounts = {r.id: _rule_monthly_deduction(r, rs) for r in rules}
        cap = (_monthly_bound(tuple(lim for lim in cat.deduction_limit if lim.max is not None), None, None)
               if cat is not None else None)
        unbounded = [r for r in rules if amounts[r.id] is None]
        if unbounded and cap is None:
            for r in unbounded:
                out.append(_at("L-MONTHLY-DEDUCTION-UNBOUNDED", r.pos, rule=r.id, name=r.name,
                               max=_num(limit), policy=clause))
            continue
        worth = sum((a for a in amounts.values() if a is not None), Decimal(0))
        if cap is not None and (unbounded or worth > cap):
            worth = cap
            if worth:
                parts_zh.append(f"类别 {cat.id} {_num(worth)}")  # type: ignore[union-attr]
                parts_en.append(f"category {cat.id} {_num(worth)}")  # type: ignore[union-attr]
        else:
            for r in rules:
                if amounts[r.id]:
                    parts_zh.append(f"{r.name} {_num(amounts[r.id])}")
                    parts_en.append(f"{r.id} {_num(amounts[r.id])}")
        total += worth
    if not out and total > limit:
        at = next((r.pos for r in rs.rules if _may_take(r, rs)), Pos(rs.file, 1, 1))
        out.append(_at("L-MONTHLY-DEDUCTION", at, value=_num(total), max=_num(limit),
                       detail_zh="、".join(parts_zh), detail_en=", ".join(parts_en), policy=clause))
    return out


def lint_files(policy_path: str, paths: Iterable[str]) -> LintReport:
    """Load the policy and every rule file, then check each. A policy or rule file that cannot
    be loaded raises :class:`XiangyueError` (exit 2) with the problems of every file."""
    from xiangyue.rules.pipeline import load_ruleset

    diags: list[Diagnostic] = []
    policy: Policy | None = None
    try:
        policy = load_policy(policy_path)
    except XiangyueError as err:
        diags.extend(err.diagnostics)
    rulesets: list[m.Ruleset] = []
    for p in paths:
        try:
            rulesets.append(load_ruleset(p))
        except XiangyueError as err:
            diags.extend(err.diagnostics)
    if diags or policy is None:
        raise XiangyueError(diags, kind="unusable")
    report = LintReport(policy)
    for rs in rulesets:
        report.files[rs.file] = lint_ruleset(rs, policy)
    return report
