"""The ledger of the fast path: one :class:`~xiangyue.points.evaluate.LedgerEntry` per (record, rule)
in the reported period, in the reference order (date, record_id as text, rule in file order),
with the same reasons the straightforward evaluator gives (``once``, ``highest_only``,
``cap``, ``deduction_cap``, ``category_cap``, ``category_deduction_cap``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from collections.abc import Sequence
from typing import Any, Callable, Iterator

import numpy as np

from xiangyue.points.results import LedgerEntry
from xiangyue.points.columnar.load import EPOCH, Columns, release_memory
from xiangyue.rules.model import Ruleset


def _period_key(kind: str, idx: int) -> str:
    """The canonical key (:func:`xiangyue.periods.period_key`) of a period index of the
    columnar evaluator: months, quarters and years since 1970; days since 1970-01-01; ISO weeks
    counted from the Monday 1969-12-29."""
    if kind == "month":
        return f"{1970 + idx // 12:04d}-{idx % 12 + 1:02d}"
    if kind == "quarter":
        return f"{1970 + idx // 4:04d}-Q{idx % 4 + 1}"
    if kind == "day":
        return (EPOCH + dt.timedelta(days=idx)).isoformat()
    if kind == "week":
        iso = (EPOCH + dt.timedelta(days=7 * idx - 3)).isocalendar()
        return f"{iso[0]:04d}-W{iso[1]:02d}"
    if kind == "ever":
        return "ever"
    return f"{1970 + idx:04d}"


def decimal_list(values: np.ndarray, dec: Any) -> list[Decimal]:
    """Each scaled value as a Decimal (``dec``), one conversion per distinct value."""
    uniq, inv = np.unique(values, return_inverse=True)
    objs = np.array([dec(x) for x in uniq.tolist()] + [None], dtype=object)[:-1]
    return objs[inv.ravel()].tolist()


def materialize(rs: Ruleset, cols: Columns, idx: np.ndarray) -> list[dict[str, Any]]:
    """Typed record dicts (every field of the rule file) built from the loaded columns."""
    from xiangyue.points.columnar.expr import scaled_to_decimal

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
                 origin: np.ndarray, rank: np.ndarray | None = None) -> "LazyLedger":
    """The ledger as columns (record, rule, raw, awarded), in the reference order; entries are
    built when asked for (see :class:`LazyLedger`). ``rank``: each (sorted) record's place
    in (date, record_id) order when the source knows it (the database's date index)."""
    # each rule's entries: the rows of the period (in record order)
    sels = []
    for rr in rows:
        sel = np.flatnonzero(in_p[rr.idx]) if len(rr.idx) else ()
        if len(sel):
            sels.append((rr, sel.astype(np.int32) if len(sel) < 2**31 - 1 else sel))
    if not sels:
        return LazyLedger(None, [])
    # records in (date, record_id) order
    if rank is not None:
        grank = rank
    else:
        import pyarrow as pa
        import pyarrow.compute as pc

        ps = np.flatnonzero(in_p)
        grank = np.zeros(cols.n, dtype=np.int64)
        t = pa.table({"d": cols.day[ps], "r": cols.record_id.take(pa.array(ps)),
                      "o": origin[ps]})
        so = np.asarray(pc.sort_indices(t, sort_keys=[("d", "ascending"), ("r", "ascending"),
                                                      ("o", "ascending")]))
        grank[ps[so]] = np.arange(len(ps))
        del ps, t, so
    # The entries in (record's place, rule) order without a sort of the entries: each
    # record's first entry goes after the entries of the records before it (counted in
    # place order), and the rules, taken in file order, fill each record's entries in turn.
    total = sum(len(sel) for _, sel in sels)
    small = np.int32 if total < 2**31 - 1 and cols.n < 2**31 - 1 else np.int64
    count = np.zeros(cols.n, dtype=small)
    for rr, sel in sels:
        count[rr.idx[sel]] += 1  # a rule's rows are distinct records
    has = np.flatnonzero(count)
    at_place = np.full(cols.n, -1, dtype=small)  # the record at each place (-1: none)
    at_place[grank[has]] = has
    del has
    placed = at_place[at_place >= 0]  # records with entries, in place order
    del at_place
    c = count[placed]
    first = np.cumsum(c, dtype=small)
    first -= c
    del c
    nxt = count  # each record's next entry position (the count array, reused)
    nxt[placed] = first
    del placed, first
    rec = np.empty(total, dtype=np.result_type(*(rr.idx.dtype for rr, _ in sels)))
    rix = np.empty(total, dtype=np.int32)
    jj = np.empty(total, dtype=np.int32)
    raw_all = np.empty(total, dtype=np.result_type(*(rr.raw.dtype for rr, _ in sels)))
    val_all = np.empty(total, dtype=np.result_type(*(rr.value.dtype for rr, _ in sels)))
    for rr, sel in sels:
        r = rr.idx[sel]
        dest = nxt[r]
        nxt[r] += 1
        rec[dest] = r
        rix[dest] = rr.index
        jj[dest] = sel
        raw_all[dest] = rr.raw[sel]
        val_all[dest] = rr.value[sel]
        del r, dest
    del nxt, sels
    cols_ = _LedgerColumns(rec, rix, jj, raw_all, val_all)
    del rec, rix, jj, raw_all, val_all
    release_memory()
    return LazyLedger(_LedgerEntryBuilder(rs, cols, unit, unit_keys, rows, info, periods, dec, scale,
                               person, records, cols_), [])


def _distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, axis=0, return_index=True, return_inverse=True)[1:]`` (an integer
    matrix): each column's values replaced by their rank, the ranks combined into one integer
    per row while they fit (a sort of one integer column, not of rows)."""
    combined = np.zeros(len(keys), dtype=np.int64)
    span = 1
    for c in range(keys.shape[1]):
        uniq, rank = np.unique(keys[:, c], return_inverse=True)
        span *= len(uniq)
        if span >= 2**62:
            _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            return first, inv.ravel()
        combined = combined * len(uniq) + rank.ravel()
    _, first, inv = np.unique(combined, return_index=True, return_inverse=True)
    return first, inv.ravel()


class _LedgerColumns:
    __slots__ = ("rec", "rix", "jj", "raw", "val")

    def __init__(self, rec, rix, jj, raw, val):
        self.rec, self.rix, self.jj, self.raw, self.val = rec, rix, jj, raw, val


class _LedgerEntryBuilder:
    """Builds :class:`LedgerEntry` objects of a range of the ledger's columns."""

    def __init__(self, rs: Ruleset, cols: Columns, unit: np.ndarray, unit_keys: list[Any],
                 rows: list[Any], info: dict[int, dict[str, Any]],
                 periods: dict[str, np.ndarray], dec: Callable[[int], Decimal], scale: int,
                 person: bool, records: Callable[[np.ndarray], list[dict[str, Any]]],
                 lc: _LedgerColumns):
        self.rs, self.cols, self.unit, self.unit_keys = rs, cols, unit, unit_keys
        self.info, self.periods, self.dec, self.scale = info, periods, dec, scale
        self.person, self.records, self.lc = person, records, lc
        #: record ids by row, fetched together ahead of :meth:`_reasons` (or None)
        self.id_of: dict[int, str] | None = None
        self.n = len(lc.rec)
        self.ridx = {rr.index: rr.idx for rr in rows}
        rules = rs.rules
        self.positions = [f"{r.pos.file}:{r.pos.line}" if r.pos.line else r.pos.file
                          for r in rules]
        # per rule: the rows (of the rule's own) that have any reason, or None
        self.flagged: list[np.ndarray | None] = [None] * len(rules)
        for k, inf in info.items():
            if not inf:
                continue
            f = np.zeros(len(self.ridx[k]), dtype=bool)
            for key in (k_ for k_ in inf if k_ != "step"):
                f |= inf[key][0]
            self.flagged[k] = f

    def _reasons(self, k: int, j: int, r: int) -> tuple[dict[str, Any], ...]:
        rule = self.rs.rules[k]
        inf = self.info[k]
        periods, cols, dec = self.periods, self.cols, self.dec
        out: list[dict[str, Any]] = []
        if "once" in inf and inf["once"][0][j]:
            f = int(inf["once"][1][j])
            first = self.id_of.get(f) if self.id_of is not None else None
            out.append({"limit": "once", "per": rule.once,
                        "period": _period_key(rule.once, int(periods[rule.once][r])),
                        "first": first if first is not None else cols.ids(np.array([f]))[0],
                        "first_date": (EPOCH + dt.timedelta(days=int(cols.day[f]))).isoformat()})
        if "highest_only" in inf and inf["highest_only"][0][j]:
            out.append({"limit": "highest_only", "per": rule.highest_only,
                        "period": _period_key(rule.highest_only,
                                              int(periods[rule.highest_only][r])),
                        "highest": dec(int(inf["highest_only"][1][j]))})
        scale_f = 10**self.scale
        for name, limit in (("cap", rule.limit[0] if rule.limit else None), ("category_cap", None),
                            ("deduction_cap", rule.deduction_limit[0] if rule.deduction_limit else None),
                            ("category_deduction_cap", None)):
            if name not in inf or not inf[name][0][j]:
                continue
            if limit is None:
                limit = inf[name][2]
            elif len(inf[name]) > 2:  # a rule's count limits: the one that bit
                lims = rule.limit if name == "cap" else rule.deduction_limit
                limit = lims[int(inf[name][2][j])]
            if limit.times is not None:  # a count limit bites only once it has counted `times`
                out.append({"limit": name, "per": limit.per,
                            "period": _period_key(limit.per, int(periods[limit.per][r])),
                            "times": limit.times, "used": limit.times})
                continue
            used = int(inf[name][1][j])
            mx = limit.max
            left = max(int(mx * scale_f) - used, 0)
            out.append({"limit": name, "per": limit.per,
                        "period": _period_key(limit.per, int(periods[limit.per][r])),
                        "max": mx, "used": dec(used), "left": dec(left)})
        return tuple(out)

    def _step(self, k: int, j: int, r: int) -> dict[str, Any]:
        """Which occurrence an escalation counted (as the reference's ``step``)."""
        esc = self.rs.rules[k].escalation
        return {"per": esc.per, "period": _period_key(esc.per, int(self.periods[esc.per][r])),
                "n": int(self.info[k]["step"][j]) + 1}

    def bounds(self, a: int, b: int) -> int:
        """``b`` moved back to a record boundary (a record's entries are built together)."""
        rec = self.lc.rec
        if b >= self.n or b <= a:
            return min(b, self.n)
        last = rec[b - 1]
        while b > a + 1 and rec[b - 1] == last and rec[b] == last:
            b -= 1
        return b

    def build(self, a: int, b: int) -> list[LedgerEntry]:
        lc = self.lc
        rec = lc.rec[a:b]
        if not len(rec):
            return []
        starts = np.empty(len(rec), dtype=bool)
        starts[0] = True
        np.not_equal(rec[1:], rec[:-1], out=starts[1:])
        order_recs = rec[starts]
        dicts = self.records(order_recs)
        rec_slot = (np.cumsum(starts) - 1).tolist()
        rec_ids = [d.get("record_id") for d in dicts]
        rec_days = [d["date"] for d in dicts]
        rec_files = [d.get("_file") for d in dicts]
        rec_rows = [d.get("_row") for d in dicts]
        rules = self.rs.rules
        ids = [r.id for r in rules]
        rnames = [r.name for r in rules]
        rcats = [r.category for r in rules]
        positions = self.positions
        flagged = self.flagged
        reasons = self._reasons
        steps = [self.info.get(k, {}).get("step") for k in range(len(rules))]
        dec = self.dec
        empty: tuple = ()

        def decimals(values: np.ndarray) -> list[Decimal]:
            return decimal_list(values, dec)

        unit_keys = self.unit_keys
        units = [unit_keys[u] for u in self.unit[rec].tolist()]
        person = self.person
        out: list[LedgerEntry] = []
        append = out.append
        for r, sl, uk, k, j, raw, val in zip(rec.tolist(), rec_slot, units, lc.rix[a:b].tolist(),
                                             lc.jj[a:b].tolist(), decimals(lc.raw[a:b]),
                                             decimals(lc.val[a:b])):
            hh, pers = (uk if person else (uk, None))
            fl = flagged[k]
            st = steps[k]
            append(LedgerEntry(rec_ids[sl], hh, rec_days[sl], ids[k], rnames[k], rcats[k], raw,
                               val, reasons(k, j, r) if fl is not None and fl[j] else empty,
                               positions[k], rec_files[sl], rec_rows[sl], pers, dicts[sl],
                               None if st is None else self._step(k, j, r)))
        return out


class LazyLedger(Sequence):
    """The fast path's ledger: a read-only sequence of :class:`LedgerEntry` in the reference
    order, held as columns; entries (and their records) are built when asked for, a chunk at
    a time, and not kept (iterating twice builds them twice; equal entries each time).

    ``base``: the base-points entries, each before the records of its day."""

    CHUNK = 16384

    def __init__(self, builder: "_LedgerEntryBuilder | None", base: list[LedgerEntry]):
        self._b = builder
        n_rec = builder.n if builder is not None else 0
        self._base = list(base)
        # position of each base entry in the whole sequence
        if self._base and n_rec:
            days = self._record_days()
            bdays = np.array([(e.date - EPOCH).days for e in self._base], dtype=np.int64)
            ins = np.searchsorted(days, bdays, side="left")
            self._base_at = (ins + np.arange(len(self._base))).tolist()
        else:
            self._base_at = list(range(len(self._base)))
        self._n = n_rec + len(self._base)
        self._cache: tuple[int, int, list[LedgerEntry]] | None = None

    def _record_days(self) -> np.ndarray:
        b = self._b
        return b.cols.day[b.lc.rec].astype(np.int64)

    def with_base(self, base: list[LedgerEntry]) -> "LazyLedger":
        return LazyLedger(self._b, base)

    def __len__(self) -> int:
        return self._n

    def _split(self, i: int) -> tuple[bool, int]:
        """(is a base entry, its index among base entries or records)."""
        import bisect

        at = self._base_at
        k = bisect.bisect_left(at, i)
        if k < len(at) and at[k] == i:
            return True, k
        return False, i - k

    def _record_entry(self, r: int) -> LedgerEntry:
        c = self._cache
        if c is None or not (c[0] <= r < c[1]):
            b = self._b
            rec = b.lc.rec
            a = r - r % self.CHUNK
            while a > 0 and rec[a - 1] == rec[a]:  # start at a record's first entry
                a -= 1
            end = b.bounds(a, a + self.CHUNK)
            if end <= r:  # the chunk ends inside r's record: take the record whole
                end = r + 1
                while end < b.n and rec[end] == rec[r]:
                    end += 1
            c = self._cache = (a, end, b.build(a, end))
        return c[2][r - c[0]]

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("ledger index out of range")
        is_base, k = self._split(i)
        return self._base[k] if is_base else self._record_entry(k)

    def __iter__(self) -> Iterator[LedgerEntry]:
        b = self._b
        base, at = self._base, self._base_at
        nb = 0
        pos = 0  # position in the whole sequence
        r = 0
        n_rec = b.n if b is not None else 0
        while r < n_rec or nb < len(base):
            while nb < len(base) and at[nb] == pos:
                yield base[nb]
                nb += 1
                pos += 1
            if r >= n_rec:
                continue
            # records up to the next base entry
            limit = n_rec if nb >= len(base) else r + (at[nb] - pos)
            end = b.bounds(r, min(r + self.CHUNK, limit))
            if end <= r:
                end = min(r + self.CHUNK, limit)
            for e in b.build(r, end):
                yield e
            pos += end - r
            r = end

    def __reversed__(self) -> Iterator[LedgerEntry]:
        return reversed(list(self))

    def arrow_blocks(self, size: int) -> Iterator[Any]:
        """The ledger as stored (:mod:`xiangyue.data.ledger_blocks`): Arrow tables of up to
        about ``size`` entries each, in order, built straight from the columns: each record
        entry takes its record id, household, date and source from the record's loaded
        columns, its rule's words from the rule file and its numbers from the columns; reasons
        are built only for the entries that have some. No :class:`LedgerEntry` is built (but
        for base points); the rows are the ones :func:`xiangyue.points.ledger.entry_row`
        gives for each entry. One block's arrays are held at a time."""
        import pyarrow as pa

        from xiangyue.data import ledger_blocks as blocks
        from xiangyue.points.ledger import entry_row
        from xiangyue.report.jsonout import decimal_text, dumps_records

        b = self._b
        src = b.cols.fields if b is not None else {}
        sf, sr = src.get("source_file"), src.get("source_row")
        if (b is None or b.cols.store is None or b.cols.record_id is None
                or (sf is not None and sf.kind != "text")
                or (sr is not None and (sr.kind != "num" or sr.scale))):
            # records not read from the database (or an unusual source column): the entries
            yield from blocks.from_rows((entry_row("", seq, e)[1:] for seq, e in enumerate(self)),
                                        size)
            return
        lc, cols = b.lc, b.cols
        rules = b.rs.rules
        rule_words = [pa.array(v, pa.string()) for v in (
            [r.id for r in rules], [r.name for r in rules], [r.category for r in rules],
            b.positions)]
        words = pa.array(cols.vocab.words, pa.string())
        people = pa.array([k[1] for k in b.unit_keys], pa.string()) if b.person else None
        flagged = np.zeros(b.n, dtype=bool)
        for k, f in enumerate(b.flagged):
            if f is not None:
                m = lc.rix == k
                flagged[m] = f[lc.jj[m]]
        # the record entries before each base entry: a record entry's seq is its place among
        # them plus the base entries before it; a base entry goes in the block of the record
        # entry after it
        base_rec = np.array(self._base_at, dtype=np.int64) - np.arange(len(self._base_at))
        rid = cols.record_id

        def texts(values: np.ndarray) -> Any:
            uniq, inv = np.unique(values, return_inverse=True)
            return pa.DictionaryArray.from_arrays(
                pa.array(inv.ravel().astype(np.int32)),
                pa.array([decimal_text(b.dec(x)) for x in uniq.tolist()], pa.string()))

        def coded(val: Any, rec: np.ndarray) -> Any:
            """A text column of the records (vocabulary codes) as texts; None when empty."""
            if val is None:
                return pa.nulls(len(rec), pa.string())
            codes = val.data[rec]
            empty = codes < 0
            if val.null is not None:
                empty |= val.null[rec]
            return words.take(pa.array(codes, mask=empty))

        # Many entries share their reasons (a limit reached: the same period, max, used and
        # left for every later entry of a household): the reasons of a rule's entry are a
        # function of the rule's limit columns at the entry and the record's periods, so the
        # entries with the same such values (found with numpy) share one text, made once.
        texts_made: list[str] = ["[]"]
        text_code: dict[str, int] = {"[]": 0}

        def key_columns(k: int, js: np.ndarray, rs_: np.ndarray) -> np.ndarray | None:
            """What :meth:`_LedgerEntryBuilder._reasons` reads for these entries of rule
            ``k``, one row each (None when some of it is not an integer column)."""
            rule = rules[k]
            parts = []
            # the periods its reasons name: its own limits' and its categories'
            pers = {p for p in (rule.once, rule.highest_only) if p}
            pers |= {lim.per for lim in (*(rule.limit or ()), *(rule.deduction_limit or ()))}
            for name, v in b.info[k].items():
                if name == "step":
                    continue
                for col in v[:3]:
                    if isinstance(col, np.ndarray):
                        if col.dtype.kind not in "biu":
                            return None
                        parts.append(col[js].astype(np.int64))
                    elif hasattr(col, "per"):  # a category's limit
                        pers.add(col.per)
            for per in sorted(pers):
                arr = b.periods.get(per)
                if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biu":
                    return None
                parts.append(arr[rs_].astype(np.int64))
            return np.stack(parts, axis=1)

        def reasons_codes(ks: np.ndarray, rec: np.ndarray, a: int, z: int) -> np.ndarray:
            """Each entry's reasons as a code into ``texts_made`` (0: none)."""
            codes = np.zeros(z - a, dtype=np.int32)
            at = np.flatnonzero(flagged[a:z])
            if not len(at):
                return codes
            k_at = ks[at]
            for k in np.unique(k_at).tolist():
                sel = at[k_at == k]
                js, rs_ = lc.jj[a + sel], rec[sel]
                keys = key_columns(k, js, rs_)
                if keys is None:
                    first, inv = np.arange(len(sel)), np.arange(len(sel))
                else:
                    first, inv = _distinct_rows(keys)
                once = b.info[k].get("once")
                if once is not None:  # the first records' ids, fetched together
                    f = once[1][js[first]][once[0][js[first]]]
                    b.id_of = dict(zip(f.tolist(), cols.ids(f)))
                made = []
                for i in first.tolist():
                    text = dumps_records(b._reasons(k, int(js[i]), int(rs_[i])))
                    c = text_code.get(text)
                    if c is None:
                        c = text_code[text] = len(texts_made)
                        texts_made.append(text)
                    made.append(c)
                codes[sel] = np.array(made, dtype=np.int32)[inv.ravel()]
            return codes

        def reasons_column(codes: np.ndarray) -> Any:
            used, idx = np.unique(codes, return_inverse=True)
            return pa.DictionaryArray.from_arrays(
                pa.array(idx.ravel().astype(np.int32)),
                pa.array([texts_made[c] for c in used.tolist()], pa.string()))

        nb = 0  # base entries written
        for a in range(0, b.n, size):
            z = min(a + size, b.n)
            rec = lc.rec[a:z]
            ks = lc.rix[a:z]
            reasons = reasons_column(reasons_codes(ks, rec, a, z))
            take = pa.array(rec.astype(np.int64, copy=False))
            kix = pa.array(ks.astype(np.int32, copy=False))
            if sr is None:
                rows_col = pa.nulls(z - a, pa.int64())
            else:
                rows_col = pa.array(sr.data[rec].astype(np.int64, copy=False),
                                    mask=None if sr.null is None else sr.null[rec])
            part = blocks.table_of([
                pa.array(np.arange(a, z) + np.searchsorted(base_rec, np.arange(a, z),
                                                           side="right")),
                rid.take(take).combine_chunks() if isinstance(rid, pa.ChunkedArray)
                else rid.take(take),
                words.take(pa.array(cols.household[rec], mask=cols.household[rec] < 0)),
                people.take(pa.array(b.unit[rec])) if people is not None
                else pa.nulls(z - a, pa.string()),
                pa.array(cols.day[rec].astype(np.int32, copy=False), pa.date32()),
                *(pa.DictionaryArray.from_arrays(kix, w) for w in rule_words[:3]),
                texts(lc.raw[a:z]), texts(lc.val[a:z]),
                reasons,
                pa.DictionaryArray.from_arrays(kix, rule_words[3]),
                coded(sf, rec).dictionary_encode(),
                rows_col,
            ])
            # the base entries before the next block's first record entry (all, in the last)
            mb = len(base_rec) if z >= b.n else int(np.searchsorted(base_rec, z, side="left"))
            if mb > nb:
                import pyarrow.compute as pc

                extra = blocks.table_of(list(zip(*(
                    entry_row("", self._base_at[i], self._base[i])[1:] for i in range(nb, mb)))))
                part = pa.concat_tables([part, extra.cast(part.schema)])
                part = part.take(pc.sort_indices(part.column("seq")))
                nb = mb
            yield part
            del part
            release_memory()  # the block's arrays, freed: the next one reuses the pages
        b.id_of = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, LazyLedger)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<ledger of {self._n} entries>"
