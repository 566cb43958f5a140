"""积分存折 (a household's points passbook): every point awarded in a period, with its reason in
plain words, every redemption (and void) in the points supermarket, and the balance.

The passbook reads the village database the way ``evaluate`` and ``balance`` do: the job
(:meth:`xiangyue.Village.passbook`) makes sure the period's run is stored and current, so the
passbook lists exactly the entries the ledger holds, redemptions come from the ``redemptions`` table, and the
balance is :func:`xiangyue.points.market.balance_of` on the same day, so it always equals
``xiangyue balance HOUSEHOLD --date D``.

Running balance: the lines are in date order (a day's points before its redemptions); the
opening balance is what the household had available the day before the period in the
supermarket's carry-over window (0 when the window starts with the period).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from xiangyue.data.store import Store
from xiangyue.errors import Diagnostic, InputError
from xiangyue.periods import Period
from xiangyue.points.market import (
    Balance,
    balance_of,
    list_redemptions,
    voided_redemptions,
    window_start,
)
from xiangyue.points.results import Evaluation

__all__ = ["PassbookLine", "Passbook", "passbooks"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class PassbookLine:
    """One line: ``kind`` is record (a record's points under one rule), base (base points),
    redemption, or void (a redemption undone: its points come back)."""

    date: dt.date
    kind: str
    ref: str | None  # record_id or redemption_id
    item: str  # the rule's name, or the good's
    raw: Decimal | None
    points: Decimal  # awarded (+/-), or -cost for a redemption, +cost for a void
    reason: str
    balance: Decimal = ZERO

    def to_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "kind": self.kind, "ref": self.ref,
                "item": self.item, "raw": self.raw, "points": self.points,
                "reason": self.reason, "balance": self.balance}


@dataclass
class Passbook:
    village: str
    household: str
    head: str | None
    grid: str | None
    period: Period
    opening: Decimal
    lines: list[PassbookLine]
    ledger: list[dict[str, Any]]  # the ledger entries of the period, as the ledger holds them
    redemptions: list[dict[str, Any]]  # the redemptions of the period, as stored
    balance: Balance  # as of the passbook's day: what ``xiangyue balance`` says
    vetoed: bool = False
    carry_over: str = "keep"
    warnings: list[str] = field(default_factory=list)

    @property
    def earned(self) -> Decimal:
        return sum((ln.points for ln in self.lines if ln.kind in ("record", "base")), ZERO)

    @property
    def spent(self) -> Decimal:
        return -sum((ln.points for ln in self.lines if ln.kind in ("redemption", "void")), ZERO)

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening

    def to_json(self) -> dict[str, Any]:
        return {"village": self.village, "household": self.household, "head": self.head,
                "grid": self.grid, "period": self.period.key, "carry_over": self.carry_over,
                "opening": self.opening, "earned": self.earned, "spent": self.spent,
                "closing": self.closing, "vetoed": self.vetoed,
                "lines": [ln.to_json() for ln in self.lines],
                "records": self.ledger, "redemptions": self.redemptions,
                # what `xiangyue balance HOUSEHOLD --date D` says: available, and its parts
                "balance": self.balance.available, "as_of": self.balance.as_of.isoformat(),
                "balance_detail": self.balance.to_json()}


def _reason_text(entry, lang: str) -> str:
    from xiangyue.points.explain import rule_clause

    return rule_clause(entry, lang)


def passbooks(store: Store, ruleset, ev: Evaluation, households: list[str], *,
              day: dt.date, lang: str = "zh") -> list[Passbook]:
    """The passbooks of ``households`` for the evaluated period ``ev`` (with its ledger)."""
    from xiangyue.points.market import Earnings

    period = ev.period
    policy = ruleset.market.carry_over
    before = period.start - dt.timedelta(days=1)
    window = window_start(policy, period.start)
    same_window = window is None or window <= before  # the window began before the period
    earn = Earnings(store, ruleset)
    earned_before = earn.earned(before) if same_window else {}
    out = []
    for hh in households:
        res = [r for r in ev.results if r.household == hh]
        if not res:
            raise InputError(Diagnostic("E-EXPLAIN-HOUSEHOLD", args={"household": hh}))
        lines: list[tuple[dt.date, int, PassbookLine]] = []
        entries = [e for e in ev.ledger or [] if e.household == hh]
        for e in entries:
            kind = "base" if e.record_id is None else "record"
            lines.append((e.date, 0, PassbookLine(e.date, kind, e.record_id, e.rule_name, e.raw,
                                                  e.awarded, _reason_text(e, lang))))
        voids = {v["redemption_id"]: v for v in voided_redemptions(store, hh)}
        stored = [dict(r, voided=r["redemption_id"] in voids,
                       voided_at=(voids.get(r["redemption_id"]) or {}).get("voided_at"))
                  for r in list_redemptions(store, hh)]
        in_period = [r for r in stored if period.start.isoformat() <= str(r["date"])
                     <= period.end.isoformat()]
        for r in in_period:
            cost = Decimal(str(r["cost"]))
            day_ = dt.date.fromisoformat(str(r["date"]))
            what = f"{r.get('item_name') or r.get('item')} × {r.get('qty')}"
            lines.append((day_, 1, PassbookLine(day_, "redemption", r.get("redemption_id"), what,
                                                None, -cost, str(r.get("note") or ""))))
            if r["voided"]:  # a voided redemption spends nothing: its points come straight back
                v = voids[r["redemption_id"]]
                when = str(v.get("voided_at") or "")[:10]
                note = v.get("note") or ""
                lines.append((day_, 2, PassbookLine(
                    day_, "void", r.get("redemption_id"), what, None, cost,
                    (f"{when} 作废 {note}" if lang != "en" else f"voided {when} {note}").strip())))
        lines.sort(key=lambda t: (t[0], t[1]))
        opening = ZERO
        if same_window:
            start = window_start(policy, before)
            spent_before = sum((Decimal(str(r["cost"])) for r in stored
                                if not r["voided"] and str(r["date"]) < period.start.isoformat()
                                and (start is None or str(r["date"]) >= start.isoformat())), ZERO)
            opening = earned_before.get(hh, ZERO) - spent_before
        running = opening
        done = []
        for _, _, ln in lines:
            running += ln.points
            done.append(PassbookLine(ln.date, ln.kind, ln.ref, ln.item, ln.raw, ln.points,
                                     ln.reason, running))
        out.append(Passbook(
            village=ruleset.village, household=hh, head=res[0].head, grid=res[0].grid,
            period=period, opening=opening, lines=done,
            ledger=[e.to_json() for e in entries], redemptions=in_period,
            balance=balance_of(store, ruleset, hh, day), vetoed=any(r.vetoed for r in res),
            carry_over=policy))
    return out
