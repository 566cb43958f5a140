"""Checked expression trees -> Python callables, without eval or exec.

Each node becomes a small closure; calling the root with a record (a dict from field id to
typed value) computes the value. Constant sub-trees are folded once. A value the rules cannot
use (an empty field in arithmetic, a grade the lookup table does not list, a division by zero)
raises :class:`EvalError`, which the evaluator reports with the record's row — never a crash.
"""

from __future__ import annotations

import datetime as dt
import operator
from contextvars import ContextVar
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any, Callable

from xiangyue.rules import nodes as n
from xiangyue.rules.checker import Scope
from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.rules.functions import Function
from xiangyue.i18n import Msg, register

register(
    {
        "E-EVAL-EMPTY": Msg(
            zh="字段“{field}”为空，无法计算",
            en="field '{field}' is empty and cannot be used",
            hint_zh="在表格中填上“{field}”",
            hint_en="fill in '{field}' in the table",
        ),
        "E-EVAL-LOOKUP": Msg(
            zh="“{field}”的值“{value}”不在规则的查表中（{allowed}）",
            en="the value '{value}' of '{field}' is not in the rule's table ({allowed})",
            hint_zh="改正表格中的值，或在规则文件的查表中加上它",
            hint_en="correct the value in the table, or add it to the rule's lookup table",
        ),
        "E-EVAL-DIV0": Msg(
            zh="计算时除数为 0",
            en="division by zero while computing the points",
        ),
        "E-EVAL-VALUE": Msg(
            zh="无法计算：{detail}",
            en="cannot compute: {detail}",
        ),
    }
)

Fn = Callable[[dict[str, Any]], Any]


class EvalError(XiangyueError):
    """A record's value cannot be used by a rule (reported per record, not fatal)."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic, kind="unusable")
        self.diagnostic = diagnostic


def _fail(code: str, **args) -> EvalError:
    return EvalError(Diagnostic(code, args=args))


class _Const:
    """Marks a folded constant so parents can fold too."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def _label(node: n.Expr, scope: Scope) -> str:
    if isinstance(node, n.Name):
        return node.name
    from xiangyue.rules.printer import to_source

    return to_source(node)


class _Compiler:
    def __init__(self, scope: Scope):
        self.scope = scope

    def build(self, node: n.Expr) -> Fn | _Const:
        return getattr(self, "_" + type(node).__name__.lower())(node)

    def fn(self, node: n.Expr) -> Fn:
        built = self.build(node)
        if isinstance(built, _Const):
            value = built.value
            return lambda record: value
        return built

    def _number(self, node):
        return _Const(node.value)

    _text = _date = _bool = _number

    def _name(self, node: n.Name):
        binding = self.scope.bindings[node.name]
        key = binding.key
        return lambda record: record.get(key)

    def _unary(self, node: n.Unary):
        inner = self.build(node.operand)
        label = _label(node.operand, self.scope)
        if node.op == "not":
            if isinstance(inner, _Const):
                return _Const(not inner.value)
            return lambda record: not inner(record)
        if isinstance(inner, _Const):
            return _Const(-inner.value)

        def neg(record):
            v = inner(record)
            if v is None:
                raise _fail("E-EVAL-EMPTY", field=label)
            return -v

        return neg

    def _binary(self, node: n.Binary):
        op = node.op
        left, right = self.build(node.left), self.build(node.right)
        if op in ("and", "or"):
            lf, rf = self._as_fn(left), self._as_fn(right)
            if op == "and":
                return lambda record: bool(lf(record)) and bool(rf(record))
            return lambda record: bool(lf(record)) or bool(rf(record))
        if isinstance(left, _Const) and isinstance(right, _Const):
            return self._fold(lambda: self._apply(op, left.value, right.value, node))
        lf, rf = self._as_fn(left), self._as_fn(right)
        if op in _CMP:
            cmp = _CMP[op]
            if op in ("==", "!="):
                if isinstance(right, _Const):
                    const = right.value
                    return (lambda r: lf(r) == const) if op == "==" else (lambda r: lf(r) != const)
                return lambda record: cmp(lf(record), rf(record))

            def ordered(record):
                a, b = lf(record), rf(record)
                if a is None or b is None:
                    return False  # an empty field is never greater or smaller than anything
                return cmp(a, b)

            return ordered
        llabel, rlabel = _label(node.left, self.scope), _label(node.right, self.scope)

        def arith(record):
            a, b = lf(record), rf(record)
            if a is None:
                raise _fail("E-EVAL-EMPTY", field=llabel)
            if b is None:
                raise _fail("E-EVAL-EMPTY", field=rlabel)
            return self._apply(op, a, b, node)

        return arith

    @staticmethod
    def _apply(op: str, a, b, node):
        if op in _CMP:
            return _CMP[op](a, b)
        if op == "/":
            if b == 0:
                raise _fail("E-EVAL-DIV0")
            try:
                return Decimal(a) / Decimal(b)
            except (InvalidOperation, DivisionByZero) as err:
                raise _fail("E-EVAL-VALUE", detail=str(err)) from None
        return _ARITH[op](a, b)

    @staticmethod
    def _fold(compute: Callable[[], Any]) -> Fn | _Const:
        """Fold a constant; one that cannot be computed fails when (if ever) it is used."""
        try:
            return _Const(compute())
        except EvalError as err:
            failure = err
        except (InvalidOperation, ValueError, TypeError, OverflowError) as err:
            failure = _fail("E-EVAL-VALUE", detail=str(err))

        def fail(record):
            raise failure

        return fail

    @staticmethod
    def _as_fn(built) -> Fn:
        if isinstance(built, _Const):
            value = built.value
            return lambda record: value
        return built

    def _in(self, node: n.In):
        operand = self._as_fn(self.build(node.operand))
        built = [self.build(o) for o in node.options]
        if all(isinstance(b, _Const) for b in built):
            options = frozenset(b.value for b in built)
            if node.negated:
                return lambda record: operand(record) not in options
            return lambda record: operand(record) in options
        fns = [self._as_fn(b) for b in built]
        if node.negated:
            return lambda record: all(operand(record) != f(record) for f in fns)
        return lambda record: any(operand(record) == f(record) for f in fns)

    def _cond(self, node: n.Cond):
        test = self._as_fn(self.build(node.test))
        then = self._as_fn(self.build(node.then))
        otherwise = self._as_fn(self.build(node.otherwise))
        return lambda record: then(record) if test(record) else otherwise(record)

    def _lookup(self, node: n.Lookup):
        key = self._as_fn(self.build(node.key))
        label = _label(node.key, self.scope)
        built = [(self.build(k), self._as_fn(self.build(v))) for k, v in node.table]
        default = self._as_fn(self.build(node.default)) if node.default is not None else None
        if all(isinstance(k, _Const) for k, _ in built):
            table = {}
            for k, v in built:
                table.setdefault(k.value, v)  # first entry wins, like reading top to bottom
            allowed = "、".join(str(k.value) for k, _ in built)

            def lookup(record):
                value = key(record)
                hit = table.get(value)
                if hit is not None:
                    return hit(record)
                if default is not None:
                    return default(record)
                if value is None:
                    raise _fail("E-EVAL-EMPTY", field=label)
                raise _fail("E-EVAL-LOOKUP", field=label, value=value, allowed=allowed)

            return lookup
        pairs = [(self._as_fn(k), v) for k, v in built]

        def lookup_dynamic(record):
            value = key(record)
            for kf, vf in pairs:
                if kf(record) == value:
                    return vf(record)
            if default is not None:
                return default(record)
            raise _fail("E-EVAL-LOOKUP", field=label, value=value, allowed="")

        return lookup_dynamic

    def _call(self, node: n.Call):
        f: Function = self.scope.function(node.func)  # checked: exists
        if f.name == "lookup":
            return self._table_lookup(node)
        if f.name == "count_recent":
            return self._count_recent(node)
        args = [self.build(a) for a in node.args]
        labels = [_label(a, self.scope) for a in node.args]
        impl = f.impl
        if all(isinstance(a, _Const) for a in args):
            return self._fold(lambda: impl(*(a.value for a in args)))
        fns = [self._as_fn(a) for a in args]

        def call(record):
            values = [fn(record) for fn in fns]
            for v, lab in zip(values, labels):
                if v is None:
                    raise _fail("E-EVAL-EMPTY", field=lab)
            try:
                return impl(*values)
            except (InvalidOperation, ValueError, TypeError) as err:
                raise _fail("E-EVAL-VALUE", detail=f"{node.func}: {err}") from None

        return call


    def _table_lookup(self, node: n.Call):
        return self._lookup(table_lookup_node(node, self.scope))

    def _count_recent(self, node: n.Call):
        cond = self._as_fn(self.build(node.args[0]))
        days = int(node.args[1].value)
        span = dt.timedelta(days=days)
        history_var = WINDOW_HISTORY

        def recent(record):
            history = history_var.get()
            if not history:
                return Decimal(0)
            day = record["date"]
            first = day - span
            count = 0
            for i in range(len(history) - 1, -1, -1):  # newest first, in date order
                hday, other = history[i]
                if hday >= day:
                    continue
                if hday < first:
                    break
                try:
                    if cond(other):
                        count += 1
                except XiangyueError:
                    pass  # a condition that cannot be read on that record does not count it
            return Decimal(count)

        return recent


def table_lookup_node(node: n.Call, scope: Scope) -> n.Lookup:
    """``查表(表名, 键)`` as the lookup table it stands for (``按 键 {k → v, …, 否则 → d}``):
    one meaning for both evaluators."""
    table = scope.table(node.args[0])

    def lit(v: Any) -> n.Expr:
        return n.Number(v) if isinstance(v, Decimal) else n.Text(str(v))

    return n.Lookup(node.args[1], tuple((lit(k), lit(v)) for k, v in table.entries),
                    lit(table.default) if table.default is not None else None, node.span)


def inline_tables(expr: n.Expr, scope: Scope) -> n.Expr:
    """``expr`` with every ``查表`` replaced by its lookup table (see :func:`table_lookup_node`)."""
    def swap(node: n.Expr) -> n.Expr:
        if isinstance(node, n.Call):
            f = scope.function(node.func)
            if f is not None and f.name == "lookup":
                return table_lookup_node(node, scope)
        return node

    return n.transform(expr, swap)


#: The same unit's counted records so far, ``[(date, record), ...]`` in date order, set by the
#: reference evaluator for the record being scored; read by 近期次数 / count_recent.
WINDOW_HISTORY: ContextVar[list | None] = ContextVar("xiangyue_window_history", default=None)


def compile_expression(expr: n.Expr, scope: Scope) -> Fn:
    """A callable computing ``expr`` for a record. ``expr`` must have passed the checker."""
    return _Compiler(scope).fn(expr)


def compile_condition(expr: n.Expr, scope: Scope) -> Callable[[dict[str, Any]], bool]:
    """Like :func:`compile_expression`, but an empty result counts as false."""
    fn = compile_expression(expr, scope)
    return lambda record: bool(fn(record))


def constant_value(expr: n.Expr) -> Any | None:
    """The value of an expression that reads no field (folded), else None."""
    if n.names(expr):
        return None
    try:
        built = _Compiler(Scope({})).build(expr)
    except XiangyueError:
        return None
    return built.value if isinstance(built, _Const) else None
