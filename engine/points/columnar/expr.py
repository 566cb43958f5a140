"""Columnar evaluation of expression trees: a whole column of records at once, with numpy.

The fast path (:mod:`xiangyue.points.columnar.evaluate`) evaluates each rule's ``when`` and ``points`` over
every record in one go instead of record by record. Numbers are exact: a decimal is held as a
scaled ``int64`` (``value × 10**scale``), so 0.5 × 3 is 5 × 3 at scale 1, i.e. exactly 1.5.
Text columns share one vocabulary and are held as ``int32`` codes (-1 for empty).

The semantics are those of :mod:`xiangyue.rules.compiler`, value for value, including what it does
with empty fields (an ordered comparison with an empty field is false, ``==`` compares with
None, arithmetic on an empty field is an error) and where it raises :class:`EvalError`: each
value carries an ``err`` mask of the records for which the Python callable would raise, with
the same short-circuits (``and``/``or``, ``if``, lookup branches).

Anything this module cannot compute exactly raises :class:`Unsupported`; the caller then
falls back to the straightforward evaluator for the whole rule file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from xiangyue.rules import nodes as n

INT_LIMIT = 1 << 62  # every scaled value and every sum of them stays below this
MAX_SCALE = 9


class Unsupported(Exception):
    """The columnar path cannot compute this exactly; use the straightforward evaluator."""


# ------------------------------------------------------------------------------------------
# Columns and values


@dataclass
class Vocab:
    """One vocabulary for every text column: equal texts have equal codes."""

    words: list[str]
    index: dict[str, int]

    @classmethod
    def empty(cls) -> "Vocab":
        return cls([], {})

    def code(self, word: str) -> int:
        c = self.index.get(word)
        if c is None:
            c = self.index[word] = len(self.words)
            self.words.append(word)
        return c

    def find(self, word: str) -> int:
        """The code of ``word``, or -2 (matches nothing, not even empty) if no record has it."""
        return self.index.get(word, -2)


@dataclass
class Val:
    """A column of values (or a constant when ``const``).

    kind: "num" (``data`` int64 scaled by ``10**scale``), "bool", "text" (``data`` codes into
    the shared vocabulary, -1 empty), "date" (``data`` days since 1970-01-01).
    ``null``: records where the value is empty (None); ``err``: records where computing it
    raises. Either may be None (no record).
    """

    kind: str
    data: Any
    scale: int = 0
    null: np.ndarray | None = None
    err: np.ndarray | None = None
    const: bool = False


def _or(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _and_not(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """a & ~b"""
    if a is None or b is None:
        return a
    return a & ~b


def _bound(v: Val) -> int:
    if v.const:
        return abs(int(v.data))
    if len(v.data) == 0:
        return 0
    return int(max(abs(int(v.data.max())), abs(int(v.data.min()))))


def _check(bound: int) -> None:
    if bound >= INT_LIMIT:
        raise Unsupported("numbers too large for exact 64-bit arithmetic")


def rescale(v: Val, scale: int) -> Val:
    """The same numbers at a larger scale (exact)."""
    if scale == v.scale:
        return v
    if scale < v.scale:
        raise ValueError("rescale down")
    if scale > MAX_SCALE:
        raise Unsupported(f"more than {MAX_SCALE} decimal places")
    f = 10 ** (scale - v.scale)
    _check(_bound(v) * f)
    return Val("num", v.data * f, scale, v.null, v.err, v.const)


def _align(a: Val, b: Val) -> tuple[Val, Val]:
    s = max(a.scale, b.scale)
    return rescale(a, s), rescale(b, s)


def decimal_to_scaled(d: Decimal) -> tuple[int, int]:
    """(integer, scale) with d == integer / 10**scale exactly."""
    if not d.is_finite():
        raise Unsupported("not a finite number")
    sign, digits, exp = d.as_tuple()
    value = int("".join(map(str, digits)) or "0")
    if sign:
        value = -value
    if exp >= 0:
        return value * 10**exp, 0
    if -exp > MAX_SCALE:
        d2 = d.normalize()
        if d2.as_tuple().exponent >= -MAX_SCALE:
            return decimal_to_scaled(d2)
        raise Unsupported(f"the number {d} has more than {MAX_SCALE} decimal places")
    return value, -exp


def scaled_to_decimal(value: int, scale: int) -> Decimal:
    """The exact Decimal, without trailing zeros after the point (3.00 -> 3, 1.50 -> 1.5)."""
    if scale == 0:
        return Decimal(value)
    f = 10**scale
    q, r = divmod(value, f)
    if r == 0:
        return Decimal(q)
    return Decimal(value).scaleb(-scale).normalize()


# ------------------------------------------------------------------------------------------
# The table the expressions read


class Table:
    """The records as columns: field id -> Val (no ``err``; ``null`` for empty cells)."""

    def __init__(self, n_rows: int, columns: dict[str, Val], vocab: Vocab):
        self.n = n_rows
        self.columns = columns
        self.vocab = vocab

    def truthy(self, v: Val) -> np.ndarray:
        """``bool(value)`` per record, as Python would compute it (None -> False)."""
        out = self._truthy(v)
        if v.const:
            return np.full(self.n, bool(out))
        return out

    def _truthy(self, v: Val):
        if v.kind == "bool":
            out = v.data
        elif v.kind == "num":
            out = v.data != 0
        elif v.kind == "text":
            empty = self.vocab.find("")
            out = v.data >= 0
            if empty >= 0:
                out = out & (v.data != empty)
        elif v.kind == "date":
            out = True if v.const else np.ones(self.n, dtype=bool)
        else:
            raise Unsupported(v.kind)
        if v.null is not None:
            out = out & ~v.null
        return out


# ------------------------------------------------------------------------------------------
# Static check: which trees this module can compute


_SUPPORTED_CALLS = {"min", "max", "abs", "round", "floor", "ceil", "year", "quarter", "month",
                    "day", "weekday", "days_between"}


def check_supported(expr: n.Expr, scope: Any) -> None:
    """Raise :class:`Unsupported` for a tree with a node this module never computes."""
    from xiangyue.rules.compiler import constant_value

    for node in n.walk(expr):
        if isinstance(node, n.Binary) and node.op == "/":
            if n.names(node) or constant_value(node) is None:
                raise Unsupported("division of a field's value (not exact in a fixed scale)")
        elif isinstance(node, n.Call):
            f = scope.function(node.func)
            if f is not None and f.name == "count_recent":
                raise Unsupported("a window condition (近期次数/count_recent)")
            if f is None or f.name not in _SUPPORTED_CALLS:
                raise Unsupported(f"function {node.func}")
        elif isinstance(node, n.Lookup):
            for k, _v in node.table:
                if n.names(k):
                    raise Unsupported("a lookup table key that reads a field")
        elif isinstance(node, n.In):
            for o in node.options:
                if n.names(o):
                    raise Unsupported("an `in` list that reads a field")


# ------------------------------------------------------------------------------------------
# Evaluation


class Evaluator:
    """Evaluates checked trees over a :class:`Table` (``scope`` maps names to field ids)."""

    def __init__(self, table: Table, scope: Any):
        self.t = table
        self.scope = scope

    def __call__(self, node: n.Expr) -> Val:
        if not n.names(node):
            return self._constant(node)
        return getattr(self, "_" + type(node).__name__.lower())(node)

    # -- leaves

    def _constant(self, node: n.Expr) -> Val:
        from xiangyue.rules.compiler import constant_value

        value = constant_value(node)
        if value is None:
            raise Unsupported("a constant expression that cannot be folded")
        return self.const(value)

    def const(self, value: Any) -> Val:
        if isinstance(value, bool):
            return Val("bool", value, const=True)
        if isinstance(value, (Decimal, int)):
            v, s = decimal_to_scaled(Decimal(value))
            _check(abs(v))
            return Val("num", v, s, const=True)
        if isinstance(value, str):
            return Val("text", self.t.vocab.find(value), const=True)
        import datetime as dt

        if isinstance(value, dt.date):
            return Val("date", (value - dt.date(1970, 1, 1)).days, const=True)
        raise Unsupported(f"constant {value!r}")

    def _name(self, node: n.Name) -> Val:
        key = self.scope.bindings[node.name].key
        col = self.t.columns.get(key)
        if col is None:
            raise Unsupported(f"field {key} not loaded")
        return col

    # -- helpers

    def _full(self, v: Val) -> Val:
        """A constant as a column."""
        if not v.const:
            return v
        dtype = {"num": np.int64, "bool": bool, "text": np.int32, "date": np.int32}[v.kind]
        return Val(v.kind, np.full(self.t.n, v.data, dtype=dtype), v.scale, None, None, False)

    def _no_null(self, v: Val, err: np.ndarray | None) -> np.ndarray | None:
        """Arithmetic on an empty value raises: add the nulls to the error mask."""
        return _or(err, v.null)

    # -- operators

    def _unary(self, node: n.Unary) -> Val:
        v = self(node.operand)
        if node.op == "not":
            return Val("bool", ~self.t.truthy(v), err=v.err)
        if v.kind != "num":
            raise Unsupported("negation of a non-number")
        return Val("num", -v.data, v.scale, None, self._no_null(v, v.err), v.const)

    def _binary(self, node: n.Binary) -> Val:
        op = node.op
        if op in ("and", "or"):
            a, b = self(node.left), self(node.right)
            ta, tb = self.t.truthy(a), self.t.truthy(b)
            if op == "and":
                # b is evaluated only when a is true
                err = _or(a.err, None if b.err is None else (b.err & ta))
                return Val("bool", ta & tb, err=err)
            err = _or(a.err, None if b.err is None else (b.err & ~ta))
            return Val("bool", ta | tb, err=err)
        a, b = self(node.left), self(node.right)
        err = _or(a.err, b.err)
        if op in ("==", "!="):
            return self._equal(a, b, op, err)
        if op in ("<", "<=", ">", ">="):
            return self._ordered(a, b, op, err)
        if op in ("+", "-", "*"):
            return self._arith(a, b, op, err)
        raise Unsupported(f"operator {op}")

    def _equal(self, a: Val, b: Val, op: str, err) -> Val:
        if a.kind != b.kind:
            # Python: a Decimal never equals a str; None == None only when both empty
            both_null = None
            if a.null is not None and b.null is not None:
                both_null = a.null & b.null
            eq = both_null if both_null is not None else np.zeros(self.t.n, dtype=bool)
        else:
            if a.kind == "num":
                a, b = _align(a, b)
            eq = a.data == b.data
            if isinstance(eq, (bool, np.bool_)):
                eq = np.full(self.t.n, bool(eq))
            an, bn = a.null, b.null
            if an is not None or bn is not None:
                an = an if an is not None else np.zeros(self.t.n, dtype=bool)
                bn = bn if bn is not None else np.zeros(self.t.n, dtype=bool)
                eq = (eq & ~an & ~bn) | (an & bn)
        if op == "!=":
            eq = ~eq
        return Val("bool", eq, err=err)

    def _ordered(self, a: Val, b: Val, op: str, err) -> Val:
        if a.kind != b.kind or a.kind not in ("num", "date", "text"):
            raise Unsupported("ordered comparison of these types")
        if a.kind == "text":
            raise Unsupported("ordered comparison of texts")
        if a.kind == "num":
            a, b = _align(a, b)
        x, y = a.data, b.data
        res = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op](x, y)
        if isinstance(res, (bool, np.bool_)):
            res = np.full(self.t.n, bool(res))
        null = _or(a.null, b.null)
        if null is not None:
            res = res & ~null
        return Val("bool", res, err=err)

    def _arith(self, a: Val, b: Val, op: str, err) -> Val:
        if a.kind != "num" or b.kind != "num":
            raise Unsupported("arithmetic on non-numbers")
        err = _or(_or(err, a.null), b.null)
        if op == "*":
            scale = a.scale + b.scale
            if scale > MAX_SCALE:
                raise Unsupported(f"more than {MAX_SCALE} decimal places")
            _check(_bound(a) * _bound(b))
            data = a.data * b.data
        else:
            a, b = _align(a, b)
            _check(_bound(a) + _bound(b))
            data = a.data + b.data if op == "+" else a.data - b.data
            scale = a.scale
        return Val("num", data, scale, None, err, a.const and b.const)

    def _in(self, node: n.In) -> Val:
        v = self(node.operand)
        opts = [self(o) for o in node.options]
        hit = np.zeros(self.t.n, dtype=bool)
        for o in opts:
            if o.kind != v.kind:
                continue
            a, b = (_align(v, o) if v.kind == "num" else (v, o))
            h = a.data == b.data
            hit = hit | h
        if v.null is not None:
            hit = hit & ~v.null
        if node.negated:
            hit = ~hit
        return Val("bool", hit, err=v.err)

    def _cond(self, node: n.Cond) -> Val:
        t = self(node.test)
        a, b = self(node.then), self(node.otherwise)
        take = self.t.truthy(t)
        return self._select(take, a, b, t.err)

    def _select(self, take: np.ndarray, a: Val, b: Val, err) -> Val:
        """where(take, a, b) with each side's nulls and errors."""
        if a.kind != b.kind:
            raise Unsupported("branches of different types")
        if a.kind == "num":
            a, b = _align(a, b)
        a, b = self._full(a), self._full(b)
        data = np.where(take, a.data, b.data)
        null = _select_mask(take, a.null, b.null)
        err = _or(err, _select_mask(take, a.err, b.err))
        return Val(a.kind, data, a.scale, null, err)

    def _lookup(self, node: n.Lookup) -> Val:
        key = self(node.key)
        if key.kind not in ("num", "text"):
            raise Unsupported("lookup on this type")
        seen: list[Any] = []
        entries: list[tuple[np.ndarray, Val]] = []
        for k, v in node.table:
            kv = self(k)
            if kv.kind != key.kind:
                continue  # Python: never equal
            if key.kind == "num":
                ka, kb = _align(key, kv)
                hit = ka.data == kb.data
                mark = ("num", Decimal(int(kv.data)).scaleb(-kv.scale))
            else:
                hit = key.data == kv.data
                mark = ("text", kv.data)
            if mark in seen:
                continue  # first entry wins
            seen.append(mark)
            if key.null is not None:
                hit = hit & ~key.null
            entries.append((hit, self(v)))
        found = np.zeros(self.t.n, dtype=bool)
        for hit, _ in entries:
            found |= hit
        if node.default is not None:
            out = self(node.default)
            missing_err = None
        else:
            out = None
            missing_err = ~found
        for hit, v in reversed(entries):
            if out is None:
                out = v
                continue
            out = self._select(hit, v, out, None)
        if out is None:  # no entry can match and no default: every record fails
            return Val("num", np.zeros(self.t.n, dtype=np.int64), 0, None,
                       _or(key.err, np.ones(self.t.n, dtype=bool)))
        err = _or(_or(key.err, missing_err), _mask_where(found if node.default is None else None,
                                                         out.err))
        return Val(out.kind, self._full(out).data, out.scale, out.null, err)

    def _call(self, node: n.Call) -> Val:
        f = self.scope.function(node.func)
        name = f.name
        args = [self(a) for a in node.args]
        err = None
        for a in args:
            err = _or(_or(err, a.err), a.null)
        if name in ("min", "max"):
            if any(a.kind != "num" for a in args):
                raise Unsupported("min/max of non-numbers")
            s = max(a.scale for a in args)
            vals = [self._full(rescale(a, s)).data for a in args]
            red = np.minimum if name == "min" else np.maximum
            data = vals[0]
            for v in vals[1:]:
                data = red(data, v)
            return Val("num", data, s, None, err)
        if name == "abs":
            a = args[0]
            return Val("num", np.abs(self._full(a).data), a.scale, None, err)
        if name in ("floor", "ceil", "round"):
            a = args[0]
            if a.kind != "num":
                raise Unsupported(name)
            places = 0
            if name == "round" and len(args) > 1:
                p = args[1]
                if not p.const or p.kind != "num" or p.data % (10**p.scale):
                    raise Unsupported("round to a number of places read from a field")
                places = int(p.data) // 10**p.scale
                if places < 0:
                    raise Unsupported("round to tens or more")
            if places >= a.scale:
                return Val("num", a.data, a.scale, None, err)
            q = 10 ** (a.scale - places)
            x = self._full(a).data
            if name == "floor":
                data = np.floor_divide(x, q)
            elif name == "ceil":
                data = -np.floor_divide(-x, q)
            else:  # half up, away from zero
                data = np.sign(x) * ((np.abs(x) + q // 2) // q)
            return Val("num", data, places, None, err)
        if name == "days_between":
            a, b = args
            return Val("num", self._full(b).data.astype(np.int64) - self._full(a).data, 0, None, err)
        a = args[0]
        if a.kind != "date":
            raise Unsupported(name)
        days = self._full(a).data.astype("datetime64[D]")
        months = days.astype("datetime64[M]").astype(np.int64)
        if name == "year":
            data = months // 12 + 1970
        elif name == "month":
            data = months % 12 + 1
        elif name == "quarter":
            data = (months % 12) // 3 + 1
        elif name == "day":
            data = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
        elif name == "weekday":
            data = (self._full(a).data.astype(np.int64) + 3) % 7 + 1
        else:
            raise Unsupported(name)
        return Val("num", data.astype(np.int64), 0, None, err)


def _select_mask(take: np.ndarray, a: np.ndarray | None, b: np.ndarray | None):
    if a is None and b is None:
        return None
    if a is None:
        return b & ~take
    if b is None:
        return a & take
    return np.where(take, a, b)


def _mask_where(where: np.ndarray | None, mask: np.ndarray | None):
    if mask is None:
        return None
    if where is None:
        return mask
    return mask & where
