"""Rule objects built directly (no rule file), for unit tests of the engine's limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

from xiangyue.errors import Pos
from xiangyue.rules.model import (
    Adoption,
    BasePoints,
    BoardSpec,
    Category,
    Escalation,
    Limit,
    Market,
    Rule,
    Ruleset,
)
from xiangyue.rules.nodes import Bool

D = Decimal


def rule(rid: str, activity: str | None = None, points: Any = 1, *, when: Callable | None = None,
         category: str = "c", name: str | None = None, line: int = 1, **kw: Any) -> Rule:
    if when is None:
        when = lambda r, a=activity: r.get("activity") == a  # noqa: E731
    if callable(points) or points is None:
        fn = points
    else:
        fn = lambda r, p=D(str(points)): p  # noqa: E731
    return Rule(id=rid, name=name or rid, category=category, when_expr=Bool(True), when_fn=when,
                points_expr=None, points_fn=fn, pos=Pos("rules.yaml", line, 5), **kw)


def cap(n: Any, per: str = "month") -> Limit:
    return Limit(D(str(n)), per)


def esc(*steps: Any, per: str = "year") -> Escalation:
    return Escalation(tuple(D(str(s)) for s in steps), per)


def ruleset(*rules: Rule, categories: tuple[Category, ...] = (), base: BasePoints | None = None,
            matching: str = "all", unit: str = "household",
            effective: tuple[dt.date | None, dt.date | None] = (None, None)) -> Ruleset:
    cats = {c.id: c for c in categories}
    for r in rules:
        cats.setdefault(r.category, Category(r.category, r.category))
    return Ruleset(
        file="rules.yaml", sha256="0" * 64, village="测试村", name="测试细则", version="1",
        effective_from=effective[0], effective_until=effective[1], adopted=Adoption(),
        unit=unit, matching=matching, fields=(), household_fields=(), case_fields=(),
        categories=tuple(cats.values()),
        rules=tuple(r.__class__(**{**r.__dict__, "index": i}) for i, r in enumerate(rules)),
        base=base, checklists=(), boards=BoardSpec(), selections=(), stars=(), market=Market(),
        examples=(),
    )


def rec(rid: str, household: str, day: str, activity: str, quantity: Any = 1, **extra: Any) -> dict:
    out = {"record_id": rid, "household": household, "date": dt.date.fromisoformat(day),
           "activity": activity, "quantity": D(str(quantity))}
    out.update(extra)
    return out
