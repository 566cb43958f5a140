"""The same work done by general-purpose rule engines, for comparison.

Each peer reads the records from the same database table (``sqlite3``, in date then
record_id order), asks its engine which rules apply to each record and for how many points,
then applies the limits with the same plain-Python bookkeeping (:class:`Limits`, the reference
semantics: escalation, once, highest_only, caps, deduction caps, category caps). Only the rule
matching and the points differ between peers:

* ``zen``: GoRules zen-engine, the rule file as one decision table (hit policy ``collect``: every
  matching row), one ``ZenDecision.evaluate`` per record (its fastest API here; the batch API
  measured slower);
* ``rule-engine``: rule-engine ``Rule`` objects, indexed by activity (a dict from activity to the
  rules whose ``when`` names it), ``matches`` for the rest of the condition and ``evaluate`` for
  the points;
* ``scan``: no rules at all, a bare Python scan of the same table (the floor for anything that
  touches rows in Python).

The rule files are translated from our expression trees (:func:`expression`), so every peer
runs the very rule file our engine runs. Only what the benchmark's rule files use is
translated; anything else raises ``NotImplementedError``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from typing import Any, Iterator

from xiangyue.rules import nodes as n
from xiangyue.rules.checker import Scope
from xiangyue.rules.model import Ruleset
from xiangyue.periods import Period, period_key

ZERO = Decimal(0)


def expression(node: n.Expr, scope: Scope, *, decimal_type: str = "float") -> str:
    """Our expression tree as text both peers read (C-like operators, ``a ? b : c``)."""

    def go(x: n.Expr) -> str:
        if isinstance(x, n.Number):
            return format(x.value, "f")
        if isinstance(x, n.Text):
            return json.dumps(x.value, ensure_ascii=False)
        if isinstance(x, n.Bool):
            return "true" if x.value else "false"
        if isinstance(x, n.Name):
            return scope.bindings[x.name].key
        if isinstance(x, n.Unary):
            return f"(not {go(x.operand)})" if x.op == "not" else f"(-{go(x.operand)})"
        if isinstance(x, n.Binary):
            return f"({go(x.left)} {x.op} {go(x.right)})"
        if isinstance(x, n.In):
            inner = f"{go(x.operand)} in [{', '.join(go(o) for o in x.options)}]"
            return f"(not ({inner}))" if x.negated else f"({inner})"
        if isinstance(x, n.Cond):
            return f"({go(x.test)} ? {go(x.then)} : {go(x.otherwise)})"
        if isinstance(x, n.Lookup):
            out = go(x.default) if x.default is not None else "null"
            for k, v in reversed(x.table):
                out = f"({go(x.key)} == {go(k)} ? {go(v)} : {out})"
            return out
        raise NotImplementedError(type(x).__name__)

    return go(node)


def split_activity(node: n.Expr, scope: Scope) -> tuple[list[str], n.Expr | None]:
    """(activities a ``when`` is restricted to, the rest of the condition) — for indexing."""
    def act(x: n.Expr) -> list[str] | None:
        if isinstance(x, n.Binary) and x.op == "==" and isinstance(x.left, n.Name) \
                and scope.bindings[x.left.name].key == "activity" and isinstance(x.right, n.Text):
            return [x.right.value]
        if isinstance(x, n.In) and not x.negated and isinstance(x.operand, n.Name) \
                and scope.bindings[x.operand.name].key == "activity" \
                and all(isinstance(o, n.Text) for o in x.options):
            return [o.value for o in x.options]  # type: ignore[union-attr]
        return None

    a = act(node)
    if a is not None:
        return a, None
    if isinstance(node, n.Binary) and node.op == "and":
        a = act(node.left)
        if a is not None:
            return a, node.right
    raise NotImplementedError("a rule not indexed by activity")


# ------------------------------------------------------------------------------------------
# Records and limits, shared by every peer


def read_records(db: str, ruleset: Ruleset, period: Period, fields: list[str]
                 ) -> Iterator[tuple[str, str, dt.date, dict[str, Any]]]:
    """(record_id, household, date, values) in date then record_id order, typed as the
    store types them (decimals as Decimal, empty as the field's default)."""
    specs = {f.id: f for f in ruleset.fields}
    conn = sqlite3.connect(db)
    cols = ", ".join(f'"{f}"' for f in fields)
    sql = (f"SELECT record_id, household, date, {cols} FROM records "
           "WHERE date >= ? AND date <= ? ORDER BY date, record_id")
    conv = []
    for f in fields:
        spec = specs[f]
        conv.append((f, spec.type == "decimal", spec.default))
    days: dict[str, dt.date] = {}
    start = dt.date(period.start.year, 1, 1).isoformat()
    try:
        for row in conn.execute(sql, (start, period.end.isoformat())):
            rid, hh, d = row[0], row[1], row[2]
            day = days.get(d)
            if day is None:
                day = days[d] = dt.date.fromisoformat(d)
            values: dict[str, Any] = {}
            for (f, is_dec, default), v in zip(conv, row[3:]):
                if v is None:
                    v = default
                elif is_dec:
                    v = Decimal(v)
                values[f] = v
            yield rid, hh, day, values
    finally:
        conn.close()


class Limits:
    """Totals per household for a period, with every limit applied as the reference says."""

    def __init__(self, ruleset: Ruleset, period: Period):
        self.rules = ruleset.rules
        self.cats = {c.id: c for c in ruleset.categories}
        self.period = period
        self.state: dict[tuple, Any] = {}
        self.totals: dict[str, Decimal] = {}
        self.vetoed: set[str] = set()
        self.covers = ruleset.covers

    def _limit(self, key: tuple, limit: Any, day: dt.date, amount: Decimal) -> Decimal:
        k = (*key, period_key(day, limit.per))
        used = self.state.get(k, ZERO)
        left = max(limit.max - used, ZERO)
        if amount > left:
            amount = left
        self.state[k] = used + amount
        return amount

    def add(self, hh: str, day: dt.date, matches: list[tuple[int, Decimal]]) -> None:
        st = self.state
        for i, raw in matches:
            rule = self.rules[i]
            if rule.escalation is not None:
                k = ("esc", hh, i, period_key(day, rule.escalation.per))
                c = st[k] = st.get(k, 0) + 1
                steps = rule.escalation.steps
                raw = steps[min(c, len(steps)) - 1]
            value = raw
            if rule.once is not None:
                k = ("once", hh, i, period_key(day, rule.once))
                if k in st:
                    value = ZERO
                else:
                    st[k] = True
            if rule.highest_only is not None:
                k = ("hi", hh, i, period_key(day, rule.highest_only))
                prev = st.get(k)
                if prev is None:
                    st[k] = value
                else:
                    st[k] = max(prev, value)
                    value = max(value - prev, ZERO)
            cat = self.cats.get(rule.category)
            # points limits only (the benchmark's rule file has no count limits)
            if value > 0:
                for lim in rule.limit:
                    value = self._limit(("cap", hh, i), lim, day, value)
                for lim in cat.limit if cat is not None else ():
                    value = self._limit(("ccap", hh, rule.category), lim, day, value)
            elif value < 0:
                for lim in rule.deduction_limit:
                    value = -self._limit(("dcap", hh, i), lim, day, -value)
                for lim in cat.deduction_limit if cat is not None else ():
                    value = -self._limit(("cdcap", hh, rule.category), lim, day, -value)
            if rule.veto is not None:
                self.vetoed.add(hh)
            if day >= self.period.start:
                self.totals[hh] = self.totals.get(hh, ZERO) + value


# ------------------------------------------------------------------------------------------
# The peers


def _fields(ruleset: Ruleset, scope: Scope) -> list[str]:
    out: set[str] = set()
    for r in ruleset.rules:
        for e in (r.when_expr, r.points_expr):
            if e is not None:
                out |= {scope.bindings[x].key for x in n.names(e)}
    return sorted(out - {"record_id", "household", "date"})


def run_rule_engine(db: str, ruleset: Ruleset, period: Period) -> Limits:
    import rule_engine

    scope = Scope.from_fields(ruleset.fields)
    ctx = rule_engine.Context(default_value=None)
    index: dict[str, list[tuple[int, Any, Any]]] = {}
    for i, r in enumerate(ruleset.rules):
        acts, rest = split_activity(r.when_expr, scope)
        cond = rule_engine.Rule(expression(rest, scope), context=ctx) if rest is not None else None
        pts = rule_engine.Rule(expression(r.points_expr, scope), context=ctx)
        for a in acts:
            index.setdefault(a, []).append((i, cond, pts))
    limits = Limits(ruleset, period)
    covers = ruleset.covers
    for rid, hh, day, values in read_records(db, ruleset, period, _fields(ruleset, scope)):
        if not covers(day):
            continue
        matches = []
        for i, cond, pts in index.get(values.get("activity"), ()):
            if cond is None or cond.matches(values):
                matches.append((i, Decimal(pts.evaluate(values))))
        if matches:
            limits.add(hh, day, matches)
    return limits


def zen_decision(ruleset: Ruleset) -> dict[str, Any]:
    """The rule file as a zen-engine JDM graph: one decision table, hit policy collect."""
    scope = Scope.from_fields(ruleset.fields)
    rows = []
    for i, r in enumerate(ruleset.rules):
        acts, rest = split_activity(r.when_expr, scope)
        rows.append({
            "_id": f"row{i}",
            "act": ", ".join(json.dumps(a, ensure_ascii=False) for a in acts),
            "cond": expression(rest, scope) if rest is not None else "",
            "rule": str(i),
            "points": expression(r.points_expr, scope),
        })
    pos = {"x": 0, "y": 0}
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "request", "position": pos},
            {"id": "table", "type": "decisionTableNode", "name": "rules", "position": pos,
             "content": {
                 "hitPolicy": "collect",
                 "inputs": [{"id": "act", "name": "activity", "field": "activity"},
                            {"id": "cond", "name": "condition"}],
                 "outputs": [{"id": "rule", "name": "rule", "field": "rule"},
                             {"id": "points", "name": "points", "field": "points"}],
                 "rules": rows,
             }},
            {"id": "out", "type": "outputNode", "name": "response", "position": pos},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "table", "type": "edge"},
                  {"id": "e2", "sourceId": "table", "targetId": "out", "type": "edge"}],
    }


def run_zen(db: str, ruleset: Ruleset, period: Period) -> Limits:
    import zen

    scope = Scope.from_fields(ruleset.fields)
    decision = zen.ZenEngine().create_decision(json.dumps(zen_decision(ruleset),
                                                          ensure_ascii=False))
    limits = Limits(ruleset, period)
    covers = ruleset.covers
    fields = _fields(ruleset, scope)
    decimals = {f.id for f in ruleset.fields if f.type == "decimal"}
    for rid, hh, day, values in read_records(db, ruleset, period, fields):
        if not covers(day):
            continue
        ctx = {k: (float(v) if k in decimals and v is not None else v) for k, v in values.items()}
        out = decision.evaluate(ctx)["result"]
        if out:
            # zen computes in binary floating point; the points go back to exact decimals
            matches = [(int(o["rule"]), Decimal(repr(o["points"]))) for o in out]
            matches.sort()
            limits.add(hh, day, matches)
    return limits


def run_scan(db: str, ruleset: Ruleset, period: Period) -> int:
    """Touch every row of the table in Python, nothing else."""
    conn = sqlite3.connect(db)
    scope = Scope.from_fields(ruleset.fields)
    cols = ", ".join(["household", "date"] + [f'"{f}"' for f in _fields(ruleset, scope)])
    count = 0
    try:
        for _row in conn.execute(f"SELECT {cols} FROM records"):
            count += 1
    finally:
        conn.close()
    return count
