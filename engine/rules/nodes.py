"""Expression trees: frozen dataclasses with positions.

The parser (:mod:`xiangyue.rules.parser`) builds them, the printer (:mod:`xiangyue.rules.printer`) turns
them back into text, the checker infers their types, the compiler turns them into Python
callables. Positions are relative to the expression text (1-based line/column) until the rule
file loader moves them into the YAML file. Equality ignores positions, so a tree parsed from
printed text equals the original.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Union


@dataclass(frozen=True)
class Span:
    line: int = 1
    column: int = 1
    end_column: int = 1


def _span() -> Span:
    return field(default_factory=Span, compare=False, repr=False)  # type: ignore[return-value]


@dataclass(frozen=True)
class Number:
    value: Decimal
    span: Span = _span()


@dataclass(frozen=True)
class Text:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Date:
    value: dt.date
    span: Span = _span()


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    """A field (or, in selections, an aggregate) referred to by its Chinese or ASCII name."""

    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # "-" | "not"
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /), comparison (== != < <= > >=) or logic (and, or)."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class In:
    """``x in [a, b]`` (``negated``: ``x not in [...]``)."""

    operand: "Expr"
    options: tuple["Expr", ...]
    negated: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Cond:
    """``if c then a else b`` / ``如果 c 则 a 否则 b``."""

    test: "Expr"
    then: "Expr"
    otherwise: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Lookup:
    """``按 等级 {"优" → 5, "良" → 2}`` (``case x {...}``); ``default`` from ``否则 → v``."""

    key: "Expr"
    table: tuple[tuple["Expr", "Expr"], ...]
    default: "Expr | None" = None
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """A built-in function: min, max, round, abs, floor, ceil, month, quarter, year, day, ..."""

    func: str  # canonical (ASCII) name
    args: tuple["Expr", ...]
    span: Span = _span()


Expr = Union[Number, Text, Date, Bool, Name, Unary, Binary, In, Cond, Lookup, Call]


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node, in source order."""
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.options)
    if isinstance(node, Cond):
        return (node.test, node.then, node.otherwise)
    if isinstance(node, Lookup):
        out: list[Expr] = [node.key]
        for k, v in node.table:
            out.extend((k, v))
        if node.default is not None:
            out.append(node.default)
        return tuple(out)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Expr):
    """Every node of the tree, parents before children (iterative: trees may be deep)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def transform(node: Expr, fn) -> Expr:
    """The tree with ``fn`` applied to every node, children first (``fn`` returns the node
    itself or its replacement). Trees are bounded in depth by the parser, so this recursion is
    too."""
    from dataclasses import replace

    if isinstance(node, Unary):
        node = replace(node, operand=transform(node.operand, fn))
    elif isinstance(node, Binary):
        node = replace(node, left=transform(node.left, fn), right=transform(node.right, fn))
    elif isinstance(node, In):
        node = replace(node, operand=transform(node.operand, fn),
                       options=tuple(transform(o, fn) for o in node.options))
    elif isinstance(node, Cond):
        node = replace(node, test=transform(node.test, fn), then=transform(node.then, fn),
                       otherwise=transform(node.otherwise, fn))
    elif isinstance(node, Lookup):
        node = replace(node, key=transform(node.key, fn),
                       table=tuple((transform(k, fn), transform(v, fn)) for k, v in node.table),
                       default=transform(node.default, fn) if node.default is not None else None)
    elif isinstance(node, Call):
        node = replace(node, args=tuple(transform(a, fn) for a in node.args))
    return fn(node)


def names(node: Expr) -> set[str]:
    """The field names an expression refers to."""
    return {n.name for n in walk(node) if isinstance(n, Name)}
