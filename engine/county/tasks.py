"""What is done for one village: the tasks the county runs, one per village, on any worker.

Each task is a plain function of a :class:`~xiangyue.county.manifest.VillageEntry` and
returns an :class:`Outcome` (picklable: it travels from a Dask worker to the client). A task
never raises for a village's problem: an invalid rule file, a missing or foreign database, or
anything else that goes wrong is the village's ``errors``, and the other villages go on.

The evaluation of one village is :func:`evaluate_one`, the same library call as
``xiangyue evaluate RULES --db DB --period P`` (so the totals, and the run stored in the
village's database, are those of that command).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable

from xiangyue.county.manifest import VillageEntry
from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.i18n import Msg, register

__all__ = ["Outcome", "evaluate_one", "evaluate_task", "report_task", "replay_task", "lint_task",
           "summarize", "distribution"]

ZERO = Decimal(0)

register(
    {
        "E-COUNTY-VILLAGE-FAILED": Msg(
            zh="村“{village}”处理失败：{detail}",
            en="village '{village}' failed: {detail}",
            hint_zh="这是程序的问题，不是数据的问题；请把这条信息报告给维护者",
            hint_en="this is a fault of the program, not of the data; please report it",
        ),
    }
)


@dataclass
class Outcome:
    """One village's result: ``values`` (the command's numbers) or ``errors``; ``document``
    is the village's full evaluation JSON when asked for."""

    village: str
    name: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: tuple[Diagnostic, ...] = ()
    document: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _guarded(task: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Run ``task``; a village's problem (or a fault) becomes its ``errors``."""
    import functools

    @functools.wraps(task)
    def run(village: VillageEntry, *args: Any, **kwargs: Any) -> Outcome:
        try:
            return task(village, *args, **kwargs)
        except XiangyueError as err:
            return Outcome(village.id, village.name, errors=tuple(err.diagnostics))
        except Exception as exc:  # noqa: BLE001 — one village's fault must not stop the county
            return Outcome(village.id, village.name, errors=(Diagnostic(
                "E-COUNTY-VILLAGE-FAILED", file=village.rules,
                args={"village": village.id, "detail": f"{type(exc).__name__}: {exc}"}),))

    return run


# --------------------------------------------------------------------------------------------
# One village's evaluation, and the numbers the county compares


def evaluate_one(village: VillageEntry, period: str, *, save: bool = True, engine: str = "auto"):
    """The village's evaluation for ``period`` exactly as ``xiangyue evaluate RULES --db DB``
    makes it, through the same door (:meth:`xiangyue.Village.evaluate`; with ``save``, stored
    in the village's ledger)."""
    from xiangyue.village import Village

    return Village(village.db, village.rules, engine=engine).evaluate(period, save=save,
                                                                     with_ledger=False)


def _exact(value: Fraction) -> Decimal:
    """A fraction whose denominator divides a power of ten (halves, quarters) as a Decimal."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def distribution(totals: list[Decimal]) -> dict[str, Decimal] | None:
    """min, quartiles (linear interpolation between the closest ranks: exact), max."""
    if not totals:
        return None
    xs = sorted(totals)

    def q(p: Fraction) -> Decimal:
        at = (len(xs) - 1) * p
        lo = int(at)
        frac = at - lo
        if frac == 0:
            return xs[lo]
        return xs[lo] + _exact(frac * Fraction(xs[lo + 1] - xs[lo]))

    return {"min": xs[0], "q1": q(Fraction(1, 4)), "median": q(Fraction(1, 2)),
            "q3": q(Fraction(3, 4)), "max": xs[-1]}


def summarize(ev: Any) -> dict[str, Any]:
    """households (members summed with ``unit: person``), total (the sum of the household
    totals), mean (rounded half-up to 2 decimals), median, vetoed households, unmatched records,
    records in the period, units (the results listed: households, or persons)."""
    from xiangyue.points.boards import household_totals, round_half_up

    totals = household_totals(ev)
    values = [t.total for t in totals]
    total = sum(values, ZERO)
    dist = distribution(values)
    return {
        "households": len(totals),
        "total": total,
        "mean": round_half_up(Fraction(total) / len(totals)) if totals else None,
        "median": dist["median"] if dist else None,
        "vetoed": sum(1 for t in totals if t.vetoed),
        "unmatched": len(ev.unmatched),
        "records": ev.record_count,
        "units": len(ev.results),  # the entries `xiangyue evaluate` lists: persons with `unit: person`
    }


@_guarded
def evaluate_task(village: VillageEntry, period: str, *, save: bool = True, engine: str = "auto",
                  document: bool = False, lang: str = "zh") -> Outcome:
    """``county evaluate``: the village's evaluation, summarized (and its full JSON)."""
    ev = evaluate_one(village, period, save=save, engine=engine)
    text = None
    if document:
        from xiangyue.report.points import render_json

        text = render_json(ev, lang) + "\n"
    return Outcome(village.id, village.name, summarize(ev), document=text)


# --------------------------------------------------------------------------------------------
# The district's dashboard


@_guarded
def report_task(village: VillageEntry, period: str, *, as_of: dt.date | None = None,
                today: dt.date | None = None) -> Outcome:
    """``county report``: the village's numbers for the dashboard (nothing is stored)."""
    from xiangyue.checklists.check import check_store
    from xiangyue.data.store import open_store
    from xiangyue.periods import parse_period
    from xiangyue.points.boards import compute_boards, household_totals
    from xiangyue.points.publish import list_publications

    p = parse_period(period)
    ev = evaluate_one(village, period, save=False)
    values = summarize(ev)
    totals = [t.total for t in household_totals(ev)]
    values["distribution"] = distribution(totals)
    values["totals"] = sorted(totals)
    boards = compute_boards(ev, ev.ruleset.boards)
    values["red"] = len(boards.red)
    values["black"] = len(boards.black)
    values["unmatched_share"] = (_share(values["unmatched"], values["records"]))
    values["ruleset"] = {"name": ev.ruleset.name, "version": ev.ruleset.version,
                         "sha256": ev.ruleset.sha256}
    day = as_of or min(p.end, today or dt.date.today())
    compliance = check_store(ev.ruleset, village.db, day)
    summary = compliance.summary()
    values["checklists"] = {"as_of": day.isoformat(), "cases": len(compliance.cases),
                            "by_status": summary["by_status"], "by_kind": summary["by_kind"]}
    with open_store(village.db, create=False) as store:
        pubs = list_publications(store, p.key)
    if pubs:
        first, last = pubs[0], pubs[-1]
        values["publication"] = {
            "published": True, "version": last.version, "versions": len(pubs),
            "first_published_at": first.published_at, "published_at": last.published_at,
            "days_after_period": (first.date - p.end).days,
            "current": last.ruleset_sha256 == ev.ruleset.sha256}
    else:
        values["publication"] = {"published": False, "version": None, "versions": 0,
                                 "first_published_at": None, "published_at": None,
                                 "days_after_period": None, "current": None}
    return Outcome(village.id, village.name, values)


def _share(part: int, whole: int) -> Decimal | None:
    """``part / whole`` rounded half-up to 4 decimals (None when ``whole`` is 0)."""
    from xiangyue.points.boards import round_half_up

    return round_half_up(Fraction(part, whole), 4) if whole else None


# --------------------------------------------------------------------------------------------
# A new county template, replayed on every village


@_guarded
def replay_task(village: VillageEntry, period: str, template: str, new_template: str, *,
                top: int = 5) -> Outcome:
    """``county replay``: the village's rule file as it is, and rebuilt on ``new_template``
    in place of ``template``, both evaluated on the village's records
    (:meth:`xiangyue.Village.replay`, as ``xiangyue diff OLD NEW --replay`` does)."""
    from xiangyue.review.diff import diff_rulesets
    from xiangyue.rules.pipeline import load_ruleset
    from xiangyue.village import Village

    old = load_ruleset(village.rules, examples=False)
    real = os.path.realpath(template)
    uses = any(os.path.realpath(e) == real for e in old.extends)
    new = load_ruleset(village.rules, examples=False, substitute={template: new_template})
    impact = Village(village.db, new).replay(old, new, period)
    summary = impact.summary()
    boards = impact.boards or {}
    changed = sorted(impact.changed, key=lambda h: (-abs(h.delta), h.household))
    values = {
        "uses_template": uses,
        "equivalent": diff_rulesets(old, new).equivalent,
        "households": summary["households"], "gain": summary["gain"], "lose": summary["lose"],
        "same": summary["same"], "sum_delta": summary["sum_delta"],
        "old_total": summary["old_total"], "new_total": summary["new_total"],
        "largest_gain": summary["largest_gain"], "largest_loss": summary["largest_loss"],
        "boards": {b: {"entered": list(boards.get(b, {}).get("entered", [])),
                       "left": list(boards.get(b, {}).get("left", []))} for b in ("red", "black")},
        "largest": [h.to_json() for h in changed[:top]],
    }
    return Outcome(village.id, village.name, values)


# --------------------------------------------------------------------------------------------
# The county guardrails


@_guarded
def lint_task(village: VillageEntry, policy: Any) -> Outcome:
    """``county lint``: the village's rule file against the county policy
    (:func:`xiangyue.review.lint.lint_ruleset`); findings are values, not errors."""
    from xiangyue.review.lint import lint_ruleset
    from xiangyue.rules.pipeline import load_ruleset

    rs = load_ruleset(village.rules)
    return Outcome(village.id, village.name, {"file": rs.file, "findings": lint_ruleset(rs, policy)})
