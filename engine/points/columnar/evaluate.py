"""The columnar evaluator: a rule file evaluated over whole columns of records (numpy), beside
the reference evaluator (:mod:`xiangyue.points.reference`) it must always agree with.

:func:`evaluate` gives the same :class:`~xiangyue.points.results.Evaluation` as
:func:`xiangyue.points.reference.evaluate` (results, vetoes, the records a report lists; the ledger
too with ``with_ledger=True``), computed so:

1. Read only the columns the rules use, from the village database through Arrow
   (``adbc-driver-sqlite``, two threads) or from record dicts, into compact arrays: texts as
   codes of one vocabulary, decimals as exact scaled ``int64`` (0.5 is 5 at scale 1); each
   batch becomes compact arrays as it arrives (its row ids ranked in (date, record_id)
   order at once: the order comes from a walk of the date index before the read).
2. Sort the records by (household, date, record_id): every limit is then a run of rows
   (positions as ``int32``).
3. Evaluate each rule's ``when`` over all records at once and its ``points`` over the rows
   it applies to (:mod:`xiangyue.points.columnar.expr`), with the compiler's empty-field and error
   semantics (an error in the points counts only where the rule applies).
4. Apply the limits in the reference order, each as a vectorised recurrence over the runs of
   (household, rule, period): escalation = occurrence number, ``once`` = first of the run,
   ``highest_only`` = differences of a running maximum, a cap on a running sum of positive
   points = differences of ``min(cumsum, max)`` (deduction caps likewise), then the category
   caps over the rules' awards merged in record order (one record may feed several rules).

Memory stays near the columns themselves (the benchmark's 10,000,000 records: ~810 MB peak,
interpreter included): no 64-bit copy of a whole column is kept, the points are computed on
each rule's own rows, and the C heap's freed pages are given back between phases (the reader threads'
batches would otherwise stay in their arenas and count to the peak).

Whatever it cannot compute exactly (a division of a field, a function it does not know,
values with more than nine decimal places, numbers beyond 64 bits) raises
:class:`~xiangyue.points.columnar.expr.Unsupported`; the evaluation door
(:func:`xiangyue.points.evaluate.evaluate`) then refuses (``engine="fast"``) or evaluates the
whole rule file with the reference evaluator and says why (``engine="auto"``).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

import numpy as np

from xiangyue.points.inputs import Inputs, NotAllowed, replay_window
from xiangyue.points.results import (BASE_RULE, ZERO, Evaluation, LazySumsResult, LedgerEntry,
                                     UnitResult, base_days, build_results, register_of)
from xiangyue.points import reference
from xiangyue.periods import overlapping_keys
from xiangyue.rules.checker import Scope
from xiangyue.rules.compiler import inline_tables
from xiangyue.points.columnar.expr import (INT_LIMIT, Evaluator, Table, Unsupported, Val, check_supported,
                            decimal_to_scaled, rescale, scaled_to_decimal)
from xiangyue.points.columnar.ledger import _period_key, decimal_list
from xiangyue.points.columnar.load import (EPOCH, Columns, load_records, load_store, not_allowed_mask,
                                           release_memory)
from xiangyue.rules.model import Ruleset
from xiangyue.rules.nodes import names
from xiangyue.periods import Period

__all__ = ["FastPlan", "Unsupported", "compile_plan", "evaluate"]

#: Seconds spent in each phase of the last fast evaluation (for the benchmark's profile).
LAST_PROFILE: dict[str, float] = {}


# ------------------------------------------------------------------------------------------
# The plan: what a rule file needs, checked once


class FastPlan:
    """A rule file checked for the fast path: every expression computable by columns."""

    def __init__(self, ruleset: Ruleset):
        self.ruleset = ruleset
        self.scope = Scope.from_fields(ruleset.fields, ruleset.tables)
        self.needed: set[str] = set()
        # the expressions evaluated, named tables (查表) written out as lookup tables
        self.when: list[Any] = []
        self.points: list[Any] = []
        for rule in ruleset.rules:
            self.when.append(self._prepare(rule.when_expr))
            self.points.append(self._prepare(rule.points_expr))
            if rule.points_expr is None and rule.escalation is None:
                raise Unsupported(f"rule {rule.id} has no points")
        self.counted_when = self._prepare(ruleset.counted_when_expr)
        cats = {c.id: c for c in ruleset.categories}
        for owner, what in [(r, f"rule {r.id}") for r in ruleset.rules] + [
                (c, f"category {c.id}") for c in ruleset.categories]:
            for lims in (owner.limit, owner.deduction_limit):
                if len(lims) > 1 and (what.startswith("category") or not _count_chain(lims)):
                    raise Unsupported(f"{what}: several limits (other than count limits over "
                                      f"nested periods)")
        for c in ruleset.categories:
            if any(lim.times is not None for lim in c.limit + c.deduction_limit):
                raise Unsupported(f"category {c.id}: a count limit (times)")
        for r in ruleset.rules:
            cat = cats.get(r.category) if r.category is not None else None
            if cat is None:
                continue
            for mine, theirs in ((r.limit, cat.limit), (r.deduction_limit, cat.deduction_limit)):
                if not (mine and theirs):
                    continue
                if any(lim.times is not None for lim in mine):
                    # a record the category cuts to 0 does not use up the rule's count
                    raise Unsupported(f"rule {r.id}: a count limit inside its category's limit")
                if not _nests(mine[0].per, theirs[0].per):
                    # the rule's room then depends on what the category cut in earlier periods
                    raise Unsupported(f"rule {r.id}: a limit per {mine[0].per} inside its "
                                      f"category's limit per {theirs[0].per}")
        self.person = ruleset.unit == "person"
        self.categories = {c.id: i for i, c in enumerate(ruleset.categories)}

    def _prepare(self, expr: Any) -> Any:
        return _prepared(self, expr)


_FINER = {"day": 0, "week": 1, "month": 2, "quarter": 3, "year": 4, "ever": 5}


def _prepared(plan: "FastPlan", expr: Any) -> Any:
    """An expression checked for the fast path (and the fields it reads noted), its named
    tables written out."""
    if expr is None:
        return None
    expr = inline_tables(expr, plan.scope)
    check_supported(expr, plan.scope)
    for name in names(expr):
        binding = plan.scope.bindings.get(name)
        if binding is None:
            raise Unsupported(f"name {name} is not a record field")
        plan.needed.add(binding.key)
    return expr


def _count_chain(lims: tuple) -> tuple | None:
    """Count limits only, finest period first, each period nested in the next (a day in a
    month, a month in a year): then the records each awards are the first ``times`` of what
    the finer ones kept. None otherwise."""
    if any(lim.times is None for lim in lims):
        return None
    chain = tuple(sorted(lims, key=lambda lim: _FINER.get(lim.per, 9)))
    if all(_nests(a.per, b.per) for a, b in zip(chain, chain[1:])):
        return chain
    return None


def _nests(inner: str, outer: str) -> bool:
    """Whether every period of kind ``inner`` lies inside one period of kind ``outer``."""
    order = ("month", "quarter", "year")
    if inner == outer or inner == "day" or outer == "ever":
        return True
    return inner in order and outer in order and order.index(inner) <= order.index(outer)


def compile_plan(ruleset: Ruleset) -> FastPlan:
    """The fast-path plan of a rule file; raises :class:`Unsupported` with the reason."""
    return FastPlan(ruleset)


# ------------------------------------------------------------------------------------------
# The entry point (reached through xiangyue.points.evaluate.evaluate)


def _is_store(source: Any) -> bool:
    return hasattr(source, "iter_records") and hasattr(source, "conn")


def evaluate(ruleset: Ruleset, inputs: Inputs, period: Period, *,
             with_ledger: bool = True) -> Evaluation:
    """Evaluate ``ruleset`` over ``inputs`` for ``period`` by columns: the same
    :class:`Evaluation` as :func:`xiangyue.points.reference.evaluate`. In database mode the
    records are read from the store through Arrow, not through ``inputs.records``. Raises
    :class:`Unsupported` naming what it cannot compute exactly."""
    plan = compile_plan(ruleset)
    source: Any = inputs.store
    if source is None:
        source = inputs.records
        if not isinstance(source, (list, tuple)) and not hasattr(source, "columns"):
            source = list(source)
    hh_list = list(inputs.households) if inputs.households is not None else None
    return _fast(plan, source, period, hh_list, with_ledger)


# ------------------------------------------------------------------------------------------
# Segmented (per run) operations on sorted arrays


def _starts(unit: np.ndarray, per: np.ndarray) -> np.ndarray:
    """True where a new (unit, period) run begins."""
    s = np.empty(len(unit), dtype=bool)
    if len(unit):
        s[0] = True
        np.not_equal(unit[1:], unit[:-1], out=s[1:])
        s[1:] |= per[1:] != per[:-1]
    return s


def _seg(starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(run number of each row, position of each run's first row)."""
    seg = np.cumsum(starts, dtype=np.intp)
    seg -= 1
    return seg, np.flatnonzero(starts)


def _seg_cumsum(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The running sum of ``x`` within each run (one full-size temporary: each run's base
    repeated over its rows)."""
    c = np.cumsum(x, dtype=np.int64)
    first = np.flatnonzero(starts)
    base = c[first] - x[first]
    c -= np.repeat(base, np.diff(np.append(first, len(x))))
    return c


def _seg_cummax(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if not len(x):
        return x
    seg, _ = _seg(starts)
    lo, hi = int(x.min()), int(x.max())
    width = hi - lo + 1
    if width * (int(seg[-1]) + 1) >= INT_LIMIT:
        raise Unsupported("too many runs for a running maximum")
    off = seg.astype(np.int64) * width
    return np.maximum.accumulate((x - lo) + off) - off + lo


def _bitten(lims: tuple, kept: np.ndarray, starts: Any) -> np.ndarray:
    """Per row, the index (in file order) of the first count limit that had already counted
    its ``times`` awarded records before the row: the one the ledger names."""
    which = np.full(len(kept), -1, dtype=np.int64)
    k = kept.astype(np.int64)
    for i in range(len(lims) - 1, -1, -1):
        before = _seg_cumsum(k, starts(lims[i].per)) - k
        which = np.where(before >= lims[i].times, i, which)
    return which


def _over_count(mask: np.ndarray, starts: np.ndarray, times: int) -> np.ndarray:
    """Rows of ``mask`` beyond the first ``times`` of their run: "at most ``times`` records per
    run" when every row of ``mask`` is awarded until then (no other limit cuts one to 0)."""
    return mask & (_seg_cumsum(mask.astype(np.int64), starts) > times)


def _clamp(amount: np.ndarray, starts: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Awards under "at most ``limit`` per run" for non-negative ``amount`` in run order:
    (awarded, used before each row). used after = min(cumsum, max) by induction."""
    m = max(limit, 0)
    c = _seg_cumsum(amount, starts)
    before = c - amount
    np.minimum(before, m, out=before)
    np.minimum(c, m, out=c)
    c -= before
    return c, before


# ------------------------------------------------------------------------------------------
# The evaluation


def _recount_reasons(rs: Ruleset, members: list, ledger_info: dict, cat_name: str, sign: int,
                     cat_limit: Any, unit: np.ndarray, periods: dict[str, np.ndarray],
                     scaled: Any) -> None:
    """The ledger's reasons of a rule limit inside a category limit, as the reference gives
    them: a rule's limit counts what the household finally got (after the category's cut), so
    its room and the amount the category then sees are worked out again from the final awards
    (the awards themselves are unchanged: the rule's period nests in the category's)."""
    rule_name = "cap" if sign > 0 else "deduction_cap"
    for rr in members:
        rule = rs.rules[rr.index]
        lims = rule.limit if sign > 0 else rule.deduction_limit
        if not lims:
            continue
        lim = lims[0]
        mask = rr.pos if sign > 0 else rr.neg
        final = np.where(mask, sign * rr.value, 0)
        pre = np.where(mask, sign * rr.pre, 0)
        s = _starts(unit[rr.idx], periods[lim.per][rr.idx])
        used = _seg_cumsum(final, s) - final
        room = np.maximum(scaled(lim.max) - used, 0)
        hit = mask & (pre > room)
        after = np.minimum(pre, room)
        info = ledger_info[rr.index]
        info[rule_name] = (hit, used)
        c_hit, c_used, c_lim = info[cat_name]
        c_room = np.maximum(scaled(cat_limit.max) - c_used, 0)
        info[cat_name] = (mask & (after > c_room), c_used, c_lim)


@dataclass
class _RuleRows:
    """The rows (records, in sorted order) one rule applies to, and what happens to them."""

    index: int
    idx: np.ndarray  # record positions
    raw: np.ndarray  # raw points (scaled)
    value: np.ndarray  # awarded (scaled), filled by the limits
    pos: np.ndarray  # value > 0 before the caps
    neg: np.ndarray  # value < 0 before the caps
    reasons: dict[str, Any] | None = None  # ledger: limit -> (mask, details)
    pre: np.ndarray | None = None  # points before the limits (after once, highest_only)


class _Periods(dict):
    """Period indexes per kind; day and ISO week indexes are made on first use."""

    def __init__(self, day: np.ndarray, base: dict[str, np.ndarray]):
        super().__init__(base)
        self.day = day

    def __missing__(self, kind: str) -> np.ndarray:
        if kind == "day":
            out = self.day
        elif kind == "week":  # weeks from the Monday 1969-12-29 (day -3)
            out = (self.day.astype(np.int64) + 3) // 7
        elif kind == "ever":  # one period: the whole history replayed
            out = np.zeros(len(self.day), dtype=np.int8)
        else:
            raise KeyError(kind)
        self[kind] = out
        return out


def _period_arrays(day: np.ndarray) -> dict[str, np.ndarray]:
    return _Periods(day, _month_arrays(day))


def _month_arrays(day: np.ndarray) -> dict[str, np.ndarray]:
    if len(day):  # each day's month from a table of the days spanned (no 64-bit copies)
        d0, d1 = int(day.min()), int(day.max())
        span = np.arange(d0, d1 + 1, dtype=np.int64)
        lut = span.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        small = np.int16 if (int(lut.min()) > -32000 and int(lut.max()) < 32000) else np.int32
        months = lut.astype(small)[day - d0]
    else:
        months = np.zeros(0, dtype=np.int16)
    return {"month": months, "quarter": months // 3, "year": months // 12}


def _sort_order(cols: Columns, unit: np.ndarray) -> np.ndarray:
    """Positions of the records in (unit, date, record_id) order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if cols.n == 0:
        return np.zeros(0, dtype=np.int64)
    if cols.rank is not None:
        # records laid out in (date, record_id) order, then a stable sort by unit
        small = np.int32 if cols.n < 2**31 - 1 else np.int64
        by_rank = np.empty(cols.n, dtype=small)
        by_rank[cols.rank] = np.arange(cols.n, dtype=small)
        if len(unit) and -1 <= int(unit.min()) and int(unit.max()) < 32767:
            # few units (codes from -1): placed by counts, a slice at a time (no 64-bit
            # index of every record)
            u = unit.astype(np.int16)[by_rank]
            u += 1
            a = _stable_order_small(u)
        else:
            u = unit[by_rank]
            a = np.argsort(u, kind="stable")
        del u
        return by_rank[a]
    d0 = int(cols.day.min())
    span = int(cols.day.max()) - d0 + 1

    def key(u: np.ndarray, d: np.ndarray) -> np.ndarray:  # (unit, date) as one integer
        return (u.astype(np.int64) + 1) * span + (d - d0)

    if span < 32767 and -1 <= int(unit.min()) and int(unit.max()) < 32766:
        # two stable passes over 16-bit keys (numpy sorts them by radix: linear time), days
        # then units; equal keys are put in order below whatever order they come in
        by_day = np.argsort((cols.day - d0).astype(np.int16), kind="stable")
        order = by_day[np.argsort((unit[by_day] + 1).astype(np.int16), kind="stable")]
        del by_day
    else:
        order = np.argsort(key(unit, cols.day))
    # rows of equal (unit, date), found from the sorted units and days (no 64-bit key of
    # every record)
    us, ds = unit[order], cols.day[order]
    same = us[1:] == us[:-1]
    same &= ds[1:] == ds[:-1]
    if same.any():
        tie = np.zeros(len(us), dtype=bool)
        tie[1:] |= same
        tie[:-1] |= same
        t = np.flatnonzero(tie)
        sub = order[t]
        # equal (unit, date): record_id as text, then the source's order (ids may repeat)
        sub_table = pa.table({"k": key(us[t], ds[t]), "r": cols.rid_take(sub), "p": sub})
        perm = pc.sort_indices(sub_table, sort_keys=[("k", "ascending"), ("r", "ascending"),
                                                     ("p", "ascending")])
        order[t] = sub[np.asarray(perm)]
    return order


#: rows ordered per slice by :func:`_stable_order_small` (a module constant for the tests)
ORDER_SLICE = 1 << 20


def _stable_order_small(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for small non-negative integer keys, as ``int32``
    positions (or ``int64`` beyond 2**31 rows): each key's rows start after the rows of the
    smaller keys (counted), and slice by slice each row goes after the rows of its key
    already placed, so only a slice's 64-bit sort indices are held at a time."""
    n = len(keys)
    k = int(keys.max()) + 1 if n else 0
    nxt = np.zeros(k, dtype=np.int64)  # where each key's next row goes
    np.cumsum(np.bincount(keys, minlength=k)[:-1], out=nxt[1:])
    out = np.empty(n, dtype=np.int32 if n < 2**31 - 1 else np.int64)
    for a in range(0, n, ORDER_SLICE):
        part = keys[a:a + ORDER_SLICE]
        o = np.argsort(part, kind="stable")
        sk = part[o]
        firsts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
        within = np.arange(len(sk)) - np.repeat(firsts, np.diff(np.r_[firsts, len(sk)]))
        out[nxt[sk] + within] = o + a
        nxt += np.bincount(part, minlength=k)
    return out


def _units(cols: Columns, person: bool) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """(unit code per record (-1 none), unit keys, household code per unit)."""
    words = cols.vocab.words
    if not person:  # the household's code in the vocabulary is the unit
        return cols.household, words, np.arange(len(words))
    pc_ = cols.person
    width = len(words) + 2
    pair = cols.household.astype(np.int64) * width + (pc_.astype(np.int64) + 1)
    ok = (cols.household >= 0) & (pc_ >= 0)
    empty = cols.vocab.find("")
    if empty >= 0:
        ok &= pc_ != empty
    uniq, inv = np.unique(pair[ok], return_inverse=True)
    unit = np.full(cols.n, -1, dtype=np.int64)
    unit[ok] = inv
    keys = [(words[int(p // width)], words[int(p % width) - 1]) for p in uniq.tolist()]
    return unit, keys, (uniq // width)


def _points(expr: Any, table: Table, scope: Any, rows: np.ndarray) -> Val:
    """``expr`` over the records at ``rows`` only (a constant stays a constant)."""
    keys = {scope.bindings[name].key for name in names(expr) if name in scope.bindings}
    if not keys:
        return Evaluator(table, scope)(expr)
    sub: dict[str, Val] = {}
    for key in keys:
        v = table.columns.get(key)
        if v is not None:
            sub[key] = Val(v.kind, v.data[rows], v.scale,
                           None if v.null is None else v.null[rows])
    return Evaluator(Table(len(rows), sub, table.vocab), scope)(expr)


def _rss_mb() -> float:
    """The process's resident set now, in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _fast(plan: FastPlan, source: Any, period: Period,
          households: list[Mapping[str, Any]] | None, with_ledger: bool) -> Evaluation:
    import gc

    # a ledger is millions of small objects: the cyclic collector would rescan them again
    # and again while they are built (none of them forms a cycle)
    was_enabled = gc.isenabled()
    if with_ledger:
        gc.disable()
    try:
        ev = _fast_run(plan, source, period, households, with_ledger)
    finally:
        if was_enabled:
            gc.enable()
    # the evaluation's arrays below glibc's mmap threshold are freed into the heap: given
    # back now, before the caller renders or stores (which would otherwise add to them)
    release_memory()
    return ev


def _fast_run(plan: FastPlan, source: Any, period: Period,
              households: list[Mapping[str, Any]] | None, with_ledger: bool) -> Evaluation:
    import time

    rs = plan.ruleset
    LAST_PROFILE.clear()
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        LAST_PROFILE[name] = LAST_PROFILE.get(name, 0.0) + now - clock[0]
        clock[0] = now
        if os.environ.get("XIANGYUE_PROFILE_MEMORY"):
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            LAST_PROFILE[name + " peak MB"] = peak
            print(f"xiangyue memory: {name}: peak {peak:.0f} MB, now {_rss_mb():.0f} MB, "
                  f"{LAST_PROFILE[name]:.2f} s", file=sys.stderr)

    # records after the period, up to the end of the last veto period overlapping it, count
    # for the veto only (see xiangyue.points.evaluate)
    year_start, horizon = replay_window(rs, period)
    if _is_store(source):
        # a value the rule file no longer allows (imported under an earlier version of it)
        # sets the record aside: the fields with allowed values are read too
        needed = plan.needed | {f.id for f in rs.fields if f.values}
        if with_ledger:  # ledger entries carry the whole record (ids and dates come anyway)
            needed = needed | ({f.id for f in rs.fields} - {"record_id", "household", "date",
                                                             "person"})
        cols = load_store(source, rs.fields, needed, plan.person, year_start, horizon,
                          with_ids=with_ledger)
        cols.invalid = not_allowed_mask(cols, rs.fields)
        release_memory()
    elif hasattr(source, "columns"):  # a clean CSV file read straight to columns (csvload)
        cols = source.columns(list(rs.fields), plan.needed, plan.person, year_start, horizon)
    else:
        cols = load_records(source, rs.fields, plan.needed, plan.person, year_start, horizon)

    lap("read")
    unit, unit_keys, unit_hh = _units(cols, plan.person)
    order = _sort_order(cols, unit)
    if not with_ledger:  # only the ledger reads the (date, record_id) places again
        cols.rank = None
    index = order.astype(np.intp, copy=False)
    if len(order) < 2**31 - 1:
        order = order.astype(np.int32, copy=False)
    # without a ledger the record ids are read again for a few rows only (vetoes)
    cols.permute(order, index, lazy_ids=not with_ledger)
    del index
    rank = cols.rank  # each record's place in (date, record_id) order (database), or None
    cols.rank = None
    # the household column is the unit when the unit is the household (no second copy)
    unit = cols.household if not plan.person else unit[order]
    release_memory()
    n = cols.n
    day = cols.day
    words = cols.vocab.words

    lap("sort")
    # -- which records count -----------------------------------------------------------
    late = day > (period.end - EPOCH).days
    in_p = (day >= (period.start - EPOCH).days) & ~late
    covered = np.ones(n, dtype=bool)
    if rs.effective_from:
        covered &= day >= (rs.effective_from - EPOCH).days
    if rs.effective_until:
        covered &= day <= (rs.effective_until - EPOCH).days
    register = register_of(households)
    hh = cols.household
    known = hh >= 0
    if register is not None:
        in_register = np.array([w in register for w in words] + [False], dtype=bool)
        known &= in_register[hh]
    usable = covered & known
    if cols.invalid is not None:  # listed as invalid by the reference evaluator (below)
        usable &= ~cols.invalid
    if plan.person:
        usable_unit = usable & (unit >= 0)
    else:
        usable_unit = usable

    # -- rules over all records --------------------------------------------------------
    table = Table(n, cols.fields, cols.vocab)
    ev = Evaluator(table, plan.scope)
    first_only = rs.matching == "first"
    rec_err = np.zeros(n, dtype=bool)
    if plan.counted_when is not None:
        # pending records (failing counted_when) are neither scored nor counted anywhere; one
        # whose condition cannot be computed is invalid (both listed by the reference below)
        w = ev(plan.counted_when)
        counted = table.truthy(w)
        if w.err is not None:
            rec_err |= w.err
            counted &= ~w.err
        usable_unit = usable_unit & counted
        del w, counted
    reached = np.ones(n, dtype=bool)
    any_match = np.zeros(n, dtype=bool)
    # per rule: the records it applies to (before invalid records are set aside) and their
    # points at the expression's own scale; the full columns are dropped rule by rule
    cands: list[tuple[np.ndarray, np.ndarray | int, int]] = []
    position = {r.id: i for i, r in enumerate(rs.rules)}
    has_late = bool(late.any())
    late_alive = usable_unit & late if has_late else None
    late_vetoes: list[tuple[int, np.ndarray]] = []
    for i_rule, rule in enumerate(rs.rules):
        w = ev(plan.when[i_rule])
        truth = table.truthy(w)
        err = w.err
        if late_alive is not None:
            # a late record: its rules' conditions in file order, until one fails to compute
            hit = late_alive & truth
            if err is not None:
                hit &= ~err
                late_alive &= ~err
            if rule.veto is not None:
                late_vetoes.append((position[rule.id], np.flatnonzero(hit)))
            if first_only:
                late_alive &= ~truth
        if err is not None:
            rec_err |= reached & err
        m = reached & truth
        any_match |= m
        cand = np.flatnonzero(m)
        if n < 2**31 - 1:
            cand = cand.astype(np.int32)
        del w, m, err
        pv: Val | None = None
        if rule.points_expr is not None:
            # the points only where the rule applies (a point's error or empty value counts
            # only there): the rule's own rows, not whole columns
            pv = _points(plan.points[i_rule], table, plan.scope, cand)
            if pv.kind != "num":
                raise Unsupported(f"rule {rule.id}: points that are not a number")
            perr = pv.null if pv.err is None else (pv.err if pv.null is None else pv.err | pv.null)
            if perr is not None and not pv.const:
                rec_err[cand[perr]] = True
        if pv is None:
            cands.append((cand, 0, 0))
        else:
            cands.append((cand, pv.data, pv.scale))
        del pv
        if first_only:
            reached &= ~truth
    ok = usable_unit & ~rec_err & ~late
    del rec_err, reached, usable, covered, known
    if not with_ledger:  # the rules' columns are no longer needed (memory stays bounded)
        table.columns = {}
        cols.fields = {}
    release_memory()
    lap("rules")

    # -- one scale for every amount -----------------------------------------------------
    scale = 0
    for rule, (_, _, s_) in zip(rs.rules, cands):
        if rule.points_expr is not None:
            scale = max(scale, s_)
        if rule.escalation is not None:
            for s in rule.escalation.steps:
                scale = max(scale, decimal_to_scaled(s)[1])
        for lim in rule.limit + rule.deduction_limit:
            if lim.max is not None:
                scale = max(scale, decimal_to_scaled(lim.max)[1])
    for cat in rs.categories:
        for lim in cat.limit + cat.deduction_limit:
            if lim.max is not None:
                scale = max(scale, decimal_to_scaled(lim.max)[1])

    def scaled(d: Decimal) -> int:
        v, s = decimal_to_scaled(d)
        return v * 10 ** (scale - s)

    periods = _period_arrays(day)
    rows: list[_RuleRows] = []
    total_bound = 0
    for i, (rule, (cand, raw_c, s_)) in enumerate(zip(rs.rules, cands)):
        keep = ok[cand]
        idx = cand[keep]
        if n < 2**31 - 1:
            idx = idx.astype(np.int32)
        if rule.escalation is not None:
            raw = np.zeros(len(idx), dtype=np.int64)
        else:
            full = rescale(Val("num", raw_c if np.isscalar(raw_c) else raw_c[keep], s_,
                               const=bool(np.isscalar(raw_c))), scale)
            raw = np.full(len(idx), full.data, dtype=np.int64) if full.const else full.data
        if len(raw):
            total_bound += int(np.abs(raw).max()) * len(raw)
        rows.append(_RuleRows(i, idx, raw, raw, raw > 0, raw < 0))
    del cands
    if total_bound >= INT_LIMIT:
        raise Unsupported("sums too large for exact 64-bit arithmetic")

    # -- limits of each rule ------------------------------------------------------------
    ledger_info: dict[int, dict[str, Any]] = {}
    for rule, rr in zip(rs.rules, rows):
        if not len(rr.idx):
            continue
        u = unit[rr.idx]
        info: dict[str, Any] = {} if with_ledger else {}
        per_cache: dict[str, np.ndarray] = {}

        def starts(kind: str) -> np.ndarray:
            s = per_cache.get(kind)
            if s is None:
                s = per_cache[kind] = _starts(u, periods[kind][rr.idx])
            return s

        v = rr.raw
        if rule.escalation is not None:
            esc = rule.escalation
            seg, first = _seg(starts(esc.per))
            occ = np.arange(len(v)) - first[seg]
            steps = np.array([scaled(s) for s in esc.steps], dtype=np.int64)
            v = steps[np.minimum(occ, len(steps) - 1)]
            rr.raw = v
            if with_ledger:
                info["step"] = occ
        if rule.once is not None:
            s = starts(rule.once)
            if with_ledger:
                seg, first = _seg(s)
                info["once"] = (~s, rr.idx[first[seg]])
            v = np.where(s, v, 0)
        if rule.highest_only is not None:
            s = starts(rule.highest_only)
            mx = _seg_cummax(v, s)
            prev = np.empty_like(mx)
            if len(mx):
                prev[0] = mx[0]
                prev[1:] = mx[:-1]
            award = np.where(s, v, mx - prev)
            if with_ledger:
                info["highest_only"] = (~s & (award != v), prev)
            v = award
        pos, neg = v > 0, v < 0
        rr.pre = v if with_ledger else None  # only the ledger's reasons read it again
        for lims, mask, sign, name in ((rule.limit, pos, 1, "cap"),
                                       (rule.deduction_limit, neg, -1, "deduction_cap")):
            if not lims:
                continue
            lim = lims[0]
            if lim.times is not None:
                kept = mask
                for one in _count_chain(lims) or ():
                    kept = kept & ~_over_count(kept, starts(one.per), one.times)
                hit = mask & ~kept
                if with_ledger:
                    info[name] = (hit, None, _bitten(lims, kept, starts))
                v = np.where(hit, 0, v)
                continue
            a = np.where(mask, sign * v, 0)
            got, used = _clamp(a, starts(lim.per), scaled(lim.max))
            if with_ledger:
                info[name] = (mask & (got < a), used)
            v = np.where(mask, sign * got, v)
        rr.value, rr.pos, rr.neg = v, pos, neg
        if not with_ledger:  # only the ledger reads the raw points again
            rr.raw = v
        if with_ledger:
            ledger_info[rr.index] = info
        # the last rule's temporaries would otherwise live on to the end of the evaluation
        del u, v, pos, neg, per_cache, info
    a = got = used = s = mx = prev = award = seg = first = occ = kept = hit = None  # noqa: F841

    release_memory()
    lap("rule limits")
    # -- category limits, over the rules' awards in record order ----------------------
    for cat in rs.categories:
        for limits, name, sign in ((cat.limit, "category_cap", 1),
                                   (cat.deduction_limit, "category_deduction_cap", -1)):
            if not limits:
                continue
            limit = limits[0]
            members = [rr for rule, rr in zip(rs.rules, rows)
                       if rule.category == cat.id and len(rr.idx)]
            if not members:
                continue
            # in (record, rule) order: the members come in rule order and each one's rows
            # in record order, so a stable sort by record is enough (no combined key)
            rec = np.concatenate([rr.idx for rr in members])
            o = np.argsort(rec, kind="stable")
            rec = rec[o]
            rix = np.concatenate([np.full(len(rr.idx), rr.index, dtype=np.int32)
                                  for rr in members])[o]
            where = np.concatenate([np.arange(len(rr.idx), dtype=np.int32) for rr in members])[o]
            amount = np.concatenate([
                np.where(rr.pos, rr.value, 0) if sign > 0 else np.where(rr.neg, -rr.value, 0)
                for rr in members])[o]
            del o
            s = _starts(unit[rec], periods[limit.per][rec])
            del rec
            got, used = _clamp(amount, s, scaled(limit.max))
            del s
            if not with_ledger:
                used = None
            for rr in members:
                sel = rix == rr.index
                w = where[sel]
                newv = rr.value.copy()
                newv[w] = np.where(amount[sel] > 0, sign * got[sel], rr.value[w])
                if with_ledger:
                    hit = np.zeros(len(rr.idx), dtype=bool)
                    hit[w] = got[sel] < amount[sel]
                    u_before = np.zeros(len(rr.idx), dtype=np.int64)
                    u_before[w] = used[sel]
                    ledger_info[rr.index][name] = (hit, u_before, limit)
                rr.value = newv
                if not with_ledger:
                    rr.raw = newv  # not the value before the category's cut (freed)
                del sel, w, newv
            del rix, where, amount, got, used
            if with_ledger:
                _recount_reasons(rs, members, ledger_info, name, sign, limit, unit, periods,
                                 scaled)

    # the signs and points before the caps are read by the category limits only (the
    # ledger's builder reads raw and value)
    for rr in rows:
        rr.pos = rr.neg = rr.pre = None  # type: ignore[assignment]
    release_memory()
    lap("category limits")
    # -- sums for the reported period ------------------------------------------------------
    dec_cache: dict[int, Decimal] = {}

    def dec(v: int) -> Decimal:
        d = dec_cache.get(v)
        if d is None:
            d = dec_cache[v] = scaled_to_decimal(v, scale)
        return d

    # (unit, rule, sum) for every rule a unit has entries of in the period
    parts_u, parts_k, parts_v, parts_p, parts_n = [], [], [], [], []
    for rr in rows:
        if not len(rr.idx):
            continue
        sel = in_p[rr.idx]
        if not sel.any():
            continue
        u = unit[rr.idx][sel]
        v = rr.value[sel]
        first = np.flatnonzero(_starts(u, u))
        parts_u.append(u[first])
        parts_v.append(np.add.reduceat(v, first))
        parts_p.append(np.add.reduceat(np.where(v > 0, v, 0), first))
        parts_n.append(np.add.reduceat(np.where(v < 0, v, 0), first))
        parts_k.append(np.full(len(first), rr.index, dtype=np.int64))
    sums_out: dict[Any, list] = {}
    lazy_sums: tuple | None = None
    if parts_u:
        U, K, V = np.concatenate(parts_u), np.concatenate(parts_k), np.concatenate(parts_v)
        P, N = np.concatenate(parts_p), np.concatenate(parts_n)
        o = np.argsort(U, kind="stable")  # by unit, then rule in file order
        U, K, V, P, N = U[o], K[o], V[o], P[o], N[o]
        cat_index = {c: i for i, c in enumerate(dict.fromkeys(r.category for r in rs.rules))}
        cat_names = np.array(list(cat_index), dtype=object)
        Kc = np.array([cat_index[r.category] for r in rs.rules], dtype=np.int64)[K]
        ckey = U * len(cat_names) + Kc
        co = np.argsort(ckey, kind="stable")
        cfirst = np.flatnonzero(_starts(ckey[co], ckey[co]))
        CU = U[co][cfirst]
        CC = Kc[co][cfirst]
        CV = np.add.reduceat(V[co], cfirst)
        ufirst = np.flatnonzero(_starts(U, U))
        TU = U[ufirst]
        TV = np.add.reduceat(V, ufirst)
        TP = np.add.reduceat(P, ufirst)
        TN = np.add.reduceat(N, ufirst)

        if not plan.person:  # household units: dicts built when a result is read
            lazy_sums = (TU, TV, K, V, CC, CV, np.append(ufirst, len(U)),
                         np.append(np.flatnonzero(_starts(CU, CU)), len(CU)), cat_names, TP, TN)
            parts_u = []  # skip the dicts below
    if parts_u:
        rule_names = np.array([r.id for r in rs.rules] + [None], dtype=object)[:-1]
        ids = rule_names[K].tolist()
        vals = decimal_list(V, dec)
        cids = cat_names[CC].tolist()
        cvals = decimal_list(CV, dec)
        tvals = decimal_list(TV, dec)
        pvals = decimal_list(TP, dec)
        nvals = decimal_list(TN, dec)
        ubounds = np.append(ufirst, len(U)).tolist()
        cstarts = np.flatnonzero(_starts(CU, CU))
        cbounds = np.append(cstarts, len(CU)).tolist()
        for j, uc in enumerate(TU.tolist()):
            a, b = ubounds[j], ubounds[j + 1]
            ca, cb = cbounds[j], cbounds[j + 1]
            sums_out[unit_keys[uc]] = [tvals[j], dict(zip(ids[a:b], vals[a:b])),
                                       {c: v for c, v in zip(cids[ca:cb], cvals[ca:cb])
                                        if c is not None}, pvals[j], nvals[j]]

    # the units with a scored record, in code order: the rules' kept rows are exactly the
    # scored records (no gather or sort of every record)
    seen = np.zeros(len(unit_keys), dtype=bool)
    for rr in rows:
        if len(rr.idx):
            seen[unit[rr.idx]] = True
    seen_units = dict.fromkeys(unit_keys[c] for c in np.flatnonzero(seen).tolist())

    # records of the period some rule applied to, and the last one's date, per unit
    # (rows are in (unit, date) order: a unit's last counted row has its last date)
    counted = in_p & ok & any_match
    cu = unit[counted]  # (codes as they are: no 64-bit copy of every record's)
    n_rec = np.bincount(cu, minlength=len(unit_keys)) if len(cu) else np.zeros(len(unit_keys), np.int64)
    last_day = np.full(len(unit_keys), -1, dtype=np.int64)
    if len(cu):
        ends = np.append(np.flatnonzero(cu[1:] != cu[:-1]), len(cu) - 1)
        last_day[cu[ends]] = day[counted][ends]
    dates: dict[int, dt.date] = {}
    stats = {}
    us = np.flatnonzero(n_rec)
    for u, c, d in zip(us.tolist(), n_rec[us].tolist(), last_day[us].tolist()):
        date = dates.get(d)
        if date is None:
            date = dates[d] = EPOCH + dt.timedelta(days=d)
        stats[unit_keys[u]] = (c, date)
    del counted, cu, n_rec, last_day, seen
    lap("sums")
    # -- vetoes ----------------------------------------------------------------------------
    vetoes: dict[Any, list[dict[str, Any]]] = {}
    veto_rows = [(rule, rr.idx) for rule, rr in zip(rs.rules, rows) if rule.veto and len(rr.idx)]
    veto_rows += [(rs.rules[k], idx) for k, idx in late_vetoes if len(idx)]
    if veto_rows:
        allrec = np.concatenate([idx for _, idx in veto_rows])
        allrule = np.concatenate([np.full(len(idx), position[rule.id]) for rule, idx in veto_rows])
        o = np.lexsort((allrule, allrec))
        recs_o = allrec[o]
        rids = cols.ids(recs_o)
        keys: dict[tuple[str, int], tuple[str, str]] = {}
        for rec_i, j, rid, d, uc in zip(recs_o.tolist(), allrule[o].tolist(), rids,
                                        day[recs_o].tolist(), unit[recs_o].tolist()):
            rule = rs.rules[j]
            k = keys.get((rule.veto, d))
            if k is None:
                iso = (EPOCH + dt.timedelta(days=d)).isoformat()
                k = keys[(rule.veto, d)] = (iso, _period_key(rule.veto,
                                                             int(periods[rule.veto][rec_i])))
            vetoes.setdefault(unit_keys[uc], []).append(
                {"rule": rule.id, "rule_name": rule.name, "record_id": rid,
                 "date": k[0], "per": rule.veto, "period": k[1]})

    lap("vetoes")
    # -- the records a report lists --------------------------------------------------------
    listed = in_p & ~(ok & any_match)
    issues = {"unmatched": [], "not_covered": [], "invalid": [], "unknown_households": [],
              "pending": []}
    if listed.any():
        at = np.flatnonzero(listed)
        recs = cols.fetch(at[np.argsort(order[at], kind="stable")])  # in the source's order
        if _is_store(source):  # marked as stored_records marks them
            mark = NotAllowed(rs)
            for rec in recs:
                mark(rec)
        # the register only says which households are known: its rows for these records'
        # households are enough (not a result for each of the village's households)
        own = None if register is None else [
            register[h] for h in dict.fromkeys(r.get("household") for r in recs)
            if h in register]
        side = reference.evaluate(rs, Inputs(recs, own), period, with_ledger=False)
        issues = {"unmatched": side.unmatched, "not_covered": side.not_covered,
                  "invalid": side.invalid, "unknown_households": side.unknown_households,
                  "pending": side.pending}

    lap("listed records")
    lazy = None
    if with_ledger:
        from xiangyue.points.columnar.ledger import build_ledger, materialize

        if _is_store(source):
            def records(idx: np.ndarray) -> list[dict[str, Any]]:
                return materialize(rs, cols, idx)
        else:
            records = cols.fetch
        lazy = build_ledger(rs, cols, unit, unit_keys, rows, ledger_info, in_p, periods,
                            dec, scale, plan.person, records, order, rank)
    lap("ledger")
    base_entries: list[LedgerEntry] | None = [] if with_ledger else None
    if plan.person:
        results = build_results(rs, period, register, seen_units, sums_out, vetoes,
                                base_entries, stats)
    else:
        results = _household_results(rs, period, register, seen_units, lazy_sums, vetoes,
                                     base_entries, unit_keys, dec, stats)
    ledger = lazy.with_base(base_entries) if lazy is not None and base_entries else lazy
    lap("results")
    return Evaluation(
        period=period,
        ruleset=rs,
        results=results,
        ledger=ledger,
        unmatched=issues["unmatched"],
        not_covered=issues["not_covered"],
        invalid=issues["invalid"],
        unknown_households=issues["unknown_households"],
        pending=issues["pending"],
        record_count=int(in_p.sum()),
        replayed=n,
    )


# ------------------------------------------------------------------------------------------
# Results per household, their sums by rule and category built when read


class _FastUnitResult(LazySumsResult):
    """A :class:`~xiangyue.points.results.UnitResult` whose ``by_rule`` and ``by_category``
    dicts are built from the fast path's arrays the first time they are read (equal to the
    reference's; a dict once built)."""

    __slots__ = ()

    def _build(self) -> None:
        src, self._src = self._src, None
        base, sums, j = src
        by_rule: dict[str, Decimal] = {}
        if base is not None:
            by_rule[BASE_RULE] = base
        by_cat: dict[str, Decimal] = {}
        if j is not None:
            lists = sums.lists()
            a, b = lists.ub[j], lists.ub[j + 1]
            by_rule.update(zip(lists.ids[a:b], lists.vals[a:b]))
            ca, cb = lists.cb[j], lists.cb[j + 1]
            by_cat.update(zip(lists.cids[ca:cb], lists.cvals[ca:cb]))
        self._rule_d, self._cat_d = by_rule, by_cat


class _Sums:
    """The period's sums by (unit, rule) and (unit, category) as arrays, and as Python lists
    made for all units at once the first time a result's dicts are read (a slice of each per
    unit then): by rule in file order, by category in the rule file's order of categories
    (others after, by name), no entry for rules without a category."""

    def __init__(self, rs: Ruleset, sums: tuple, dec: Any):
        self.rs, self.arrays, self.dec = rs, sums, dec
        self._lists: Any = None

    def lists(self) -> Any:
        if self._lists is None:
            self._lists = self._make()
        return self._lists

    def _make(self) -> Any:
        from types import SimpleNamespace

        TU, _, K, V, CC, CV, ub, cb, cat_names = self.arrays[:9]
        rs = self.rs
        rule_ids = np.array([r.id for r in rs.rules] + [None], dtype=object)[:-1]
        # categories ranked in the order a result lists them; no category: left out
        names = cat_names.tolist()
        order = {c.id: i for i, c in enumerate(rs.categories)}
        listed = sorted((n for n in names if n is not None),
                        key=lambda n: (order.get(n, len(order)), n))
        rank = np.array([listed.index(n) if n is not None else -1 for n in names] + [-1],
                        dtype=np.int64)[:-1]
        CU = np.repeat(np.arange(len(cb) - 1), np.diff(cb))  # each entry's unit (row of TU)
        r = rank[CC]
        o = np.lexsort((r, CU))
        o = o[r[o] >= 0]
        cu = CU[o]
        bounds = np.searchsorted(cu, np.arange(len(TU) + 1), side="left")
        return SimpleNamespace(ub=ub.tolist(), ids=rule_ids[K].tolist(),
                               vals=decimal_list(V, self.dec), cb=bounds.tolist(),
                               cids=cat_names[CC[o]].tolist(), cvals=decimal_list(CV[o], self.dec))


def _household_results(rs: Ruleset, period: Period,
                       register: dict[str, Mapping[str, Any]] | None, seen_units: dict[Any, None],
                       sums: tuple | None, vetoes: dict[Any, list[dict[str, Any]]],
                       base_entries: list[LedgerEntry] | None, unit_keys: list[Any],
                       dec: Any, stats: Mapping[Any, tuple[int, dt.date]]) -> list[UnitResult]:
    """What :func:`xiangyue.points.evaluate._results` gives for ``unit: household`` (base points,
    vetoes of the periods overlapping ``period``, register order), from the sums' arrays."""
    units = list(register) if register is not None else sorted(seen_units, key=str)
    overlap = overlapping_keys(period)
    base = rs.base
    base_starts = base_days(rs, period)
    grants = None
    if base is not None and base_starts:
        grants = base.points * len(base_starts)
    row_of: dict[Any, int] = {}
    totals: list[Decimal] = []
    shared: _Sums | None = None
    if sums is not None:
        TU, TV = sums[0], sums[1]
        earned = [dec(v) for v in sums[9].tolist()]
        deducted = [dec(v) for v in sums[10].tolist()]
        shared = _Sums(rs, sums, dec)
        row_of = {unit_keys[u]: j for j, u in enumerate(TU.tolist())}
        totals = [dec(v) for v in TV.tolist()]
    zero = ZERO
    new = object.__new__
    cls = _FastUnitResult
    out: list[UnitResult] = []
    for hh in units:
        info = register.get(hh, {}) if register is not None else {}
        res = new(cls)
        res.household, res.person = hh, None
        res.head, res.grid = info.get("head"), info.get("grid")
        j = row_of.get(hh)
        total = zero if j is None else totals[j]
        if grants is not None:
            total = grants + total
        res.total = total
        res.base = grants if grants is not None else zero
        res.earned = zero if j is None else earned[j]
        res.deducted = zero if j is None else deducted[j]
        res.records, res.last_date = stats.get(hh, (0, None))
        res._src = (grants, shared, j)
        res._rule_d = res._cat_d = None
        vs = []
        for v in vetoes.get(hh, ()):
            if v["period"] in overlap[v["per"]]:
                vs.append(v)
        res.vetoed = bool(vs)
        res.vetoes = vs
        out.append(res)
        if base_entries is not None and base is not None:
            pos = f"{base.pos.file}:{base.pos.line}" if base.pos.line else base.pos.file
            for day, _ in base_starts:
                base_entries.append(LedgerEntry(None, hh, day, BASE_RULE, "基础分", None,
                                                    base.points, base.points, (), pos, None,
                                                    None, None))
    if base_entries:
        base_entries.sort(key=lambda e: e.date)
    return out
