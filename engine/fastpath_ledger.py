"""The ledger of the fast path: one :class:`~xiangyue.evaluate.LedgerEntry` per (record, rule)
in the reported period, in the reference order (date, record_id as text, rule in file order),
with the same reasons the straightforward evaluator gives (``once``, ``highest_only``,
``cap``, ``deduction_cap``, ``category_cap``, ``category_deduction_cap``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

import numpy as np

from .evaluate import LedgerEntry
from .fastpath_load import EPOCH, Columns
from .model import Ruleset


def _period_key(kind: str, idx: int) -> str:
    if kind == "month":
        return f"{1970 + idx // 12:04d}-{idx % 12 + 1:02d}"
    if kind == "quarter":
        return f"{1970 + idx // 4:04d}-Q{idx % 4 + 1}"
    return f"{1970 + idx:04d}"


def materialize(rs: Ruleset, cols: Columns, idx: np.ndarray) -> list[dict[str, Any]]:
    """Typed record dicts (every field of the rule file) built from the loaded columns."""
    from .fastpath_expr import scaled_to_decimal

    words = cols.vocab.words
    lists: list[list[Any]] = []
    keys: list[str] = []
    day_cache: dict[int, dt.date] = {}

    def day_of(d: int) -> dt.date:
        v = day_cache.get(d)
        if v is None:
            v = day_cache[d] = EPOCH + dt.timedelta(days=d)
        return v

    for f in rs.fields:
        keys.append(f.id)
        if f.id == "record_id":
            import pyarrow as pa

            lists.append(cols.record_id.take(pa.array(idx)).to_pylist())
            continue
        if f.id == "household":
            lists.append([words[c] if c >= 0 else None for c in cols.household[idx].tolist()])
            continue
        if f.id == "date":
            lists.append([day_of(d) for d in cols.day[idx].tolist()])
            continue
        col = cols.fields.get(f.id)
        if col is None:
            lists.append([f.default] * len(idx))
            continue
        data = col.data[idx].tolist()
        if col.kind == "text":
            vals = [words[c] if c >= 0 else None for c in data]
        elif col.kind == "num":
            if f.type == "integer":
                vals = data
            else:
                cache: dict[int, Decimal] = {}
                vals = []
                for v in data:
                    d = cache.get(v)
                    if d is None:
                        d = cache[v] = scaled_to_decimal(v, col.scale)
                    vals.append(d)
        elif col.kind == "date":
            vals = [day_of(d) for d in data]
        else:
            vals = [bool(v) for v in data]
        if col.null is not None:
            nulls = col.null[idx].tolist()
            vals = [None if z else v for v, z in zip(vals, nulls)]
        lists.append(vals)
    for meta, key in (("source_file", "_file"), ("source_row", "_row")):
        col = cols.fields.get(meta)
        if col is not None and meta not in keys:
            keys.append(key)
            data = col.data[idx].tolist()
            vals = [words[c] if c >= 0 else None for c in data] if col.kind == "text" else data
            if col.null is not None:
                vals = [None if z else v for v, z in zip(vals, col.null[idx].tolist())]
            lists.append(vals)
    return [dict(zip(keys, row)) for row in zip(*lists)]


def build_ledger(rs: Ruleset, cols: Columns, unit: np.ndarray, unit_keys: list[Any],
                 rows: list[Any], info: dict[int, dict[str, Any]], in_p: np.ndarray,
                 periods: dict[str, np.ndarray], dec: Callable[[int], Decimal], scale: int,
                 person: bool, records: Callable[[np.ndarray], list[dict[str, Any]]],
                 origin: np.ndarray) -> list[LedgerEntry]:
    import pyarrow as pa
    import pyarrow.compute as pc

    rules = rs.rules
    nrules = len(rules)
    parts_rec, parts_rule, parts_j, parts_raw, parts_val = [], [], [], [], []
    for rr in rows:
        if not len(rr.idx):
            continue
        sel = np.flatnonzero(in_p[rr.idx])
        parts_rec.append(rr.idx[sel])
        parts_rule.append(np.full(len(sel), rr.index, dtype=np.int64))
        parts_j.append(sel)
        parts_raw.append(rr.raw[sel])
        parts_val.append(rr.value[sel])
    if not parts_rec:
        return []
    rec = np.concatenate(parts_rec)
    rix = np.concatenate(parts_rule)
    jj = np.concatenate(parts_j)
    raw_all = np.concatenate(parts_raw)
    val_all = np.concatenate(parts_val)
    # records in (date, record_id) order
    ps = np.flatnonzero(in_p)
    grank = np.zeros(cols.n, dtype=np.int64)
    t = pa.table({"d": cols.day[ps], "r": cols.record_id.take(pa.array(ps)), "o": origin[ps]})
    so = np.asarray(pc.sort_indices(t, sort_keys=[("d", "ascending"), ("r", "ascending"),
                                                  ("o", "ascending")]))
    grank[ps[so]] = np.arange(len(ps))
    o = np.argsort(grank[rec] * nrules + rix, kind="stable")
    rec, rix, jj, raw_all, val_all = rec[o], rix[o], jj[o], raw_all[o], val_all[o]

    # one dict per record (each record once, in order), shared by its entries
    urec, first = np.unique(rec, return_index=True)
    order_recs = rec[np.sort(first)]
    dicts = records(order_recs)
    slot = np.zeros(cols.n, dtype=np.int64)
    slot[order_recs] = np.arange(len(order_recs))
    rec_slot = slot[rec].tolist()
    rec_ids = [d.get("record_id") for d in dicts]
    rec_days = [d["date"] for d in dicts]
    rec_files = [d.get("_file") for d in dicts]
    rec_rows = [d.get("_row") for d in dicts]

    scale_f = 10**scale
    positions = [f"{r.pos.file}:{r.pos.line}" if r.pos.line else r.pos.file for r in rules]

    # the reasons of the entries that have any, computed once per (rule, row)
    reasons_of: dict[tuple[int, int], tuple[dict[str, Any], ...]] = {}
    rid_arr = cols.record_id
    for rr in rows:
        inf = info.get(rr.index)
        if not inf:
            continue
        rule = rules[rr.index]
        flagged = np.zeros(len(rr.idx), dtype=bool)
        for key in inf:
            flagged |= inf[key][0]
        flagged &= in_p[rr.idx]
        for j in np.flatnonzero(flagged).tolist():
            r = int(rr.idx[j])
            out: list[dict[str, Any]] = []
            if "once" in inf and inf["once"][0][j]:
                f = int(inf["once"][1][j])
                out.append({"limit": "once", "per": rule.once,
                            "period": _period_key(rule.once, int(periods[rule.once][r])),
                            "first": rid_arr[f].as_py(),
                            "first_date": (EPOCH + dt.timedelta(days=int(cols.day[f]))).isoformat()})
            if "highest_only" in inf and inf["highest_only"][0][j]:
                out.append({"limit": "highest_only", "per": rule.highest_only,
                            "period": _period_key(rule.highest_only,
                                                  int(periods[rule.highest_only][r])),
                            "highest": dec(int(inf["highest_only"][1][j]))})
            for name, limit in (("cap", rule.cap), ("category_cap", None),
                                ("deduction_cap", rule.deduction_cap),
                                ("category_deduction_cap", None)):
                if name not in inf or not inf[name][0][j]:
                    continue
                if limit is None:
                    limit = inf[name][2]
                used = int(inf[name][1][j])
                mx = limit.max
                left = max(int(mx * scale_f) - used, 0)
                out.append({"limit": name, "per": limit.per,
                            "period": _period_key(limit.per, int(periods[limit.per][r])),
                            "max": mx, "used": dec(used), "left": dec(left)})
            if out:
                # the reference order: cap then category_cap for gains; deduction ones for losses
                reasons_of[(rr.index, j)] = tuple(out)

    entries: list[LedgerEntry] = []
    append = entries.append
    empty: tuple = ()
    ids = [r.id for r in rules]
    rnames = [r.name for r in rules]
    rcats = [r.category for r in rules]
    has_reasons = bool(reasons_of)
    def decimals(values: np.ndarray) -> list[Decimal]:
        uniq, inv = np.unique(values, return_inverse=True)
        objs = np.array([dec(x) for x in uniq.tolist()] + [None], dtype=object)[:-1]
        return objs[inv.ravel()].tolist()

    units = [unit_keys[u] for u in unit[rec].tolist()]
    for r, sl, uk, k, j, raw, val in zip(rec.tolist(), rec_slot, units, rix.tolist(),
                                         jj.tolist(), decimals(raw_all), decimals(val_all)):
        hh, pers = (uk if person else (uk, None))
        append(LedgerEntry(rec_ids[sl], hh, rec_days[sl], ids[k], rnames[k], rcats[k], raw, val,
                           reasons_of.get((k, j), empty) if has_reasons else empty,
                           positions[k], rec_files[sl], rec_rows[sl], pers, dicts[sl]))
    return entries
