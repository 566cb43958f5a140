"""Expression trees back to text, with the fewest brackets that keep the meaning.

``parse_expression(to_source(tree)) == tree`` for every tree the parser builds (a property
test checks it). ``lang="zh"`` prints the Chinese keywords and typographic operators
(且 或 非 × ÷ →), ``lang="en"`` the ASCII ones.
"""

from __future__ import annotations

from decimal import Decimal

from xiangyue.rules import nodes as n

_LEVEL = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}
_CMP = {"==", "!=", "<", "<=", ">", ">="}

_WORDS = {
    "zh": {"and": "且", "or": "或", "not": "非", "in": "属于", "not in": "不属于", "if": "如果",
           "then": "则", "else": "否则", "case": "按", "true": "真", "false": "假", "*": "×",
           "/": "÷", "->": "→", "<=": "≤", ">=": "≥", "!=": "≠"},
    "en": {},
}


def _level(node: n.Expr) -> int:
    if isinstance(node, n.Cond):
        return 0
    if isinstance(node, n.Binary):
        return _LEVEL["cmp"] if node.op in _CMP else _LEVEL[node.op]
    if isinstance(node, n.In):
        return _LEVEL["cmp"]
    if isinstance(node, n.Unary):
        return _LEVEL["not"] if node.op == "not" else _LEVEL["neg"]
    return 8


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return text


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_source(node: n.Expr, lang: str = "zh") -> str:
    words = _WORDS.get(lang, {})

    def w(key: str) -> str:
        return words.get(key, key)

    def emit(node: n.Expr, need: int) -> str:
        text = body(node)
        return f"({text})" if _level(node) < need else text

    def body(node: n.Expr) -> str:
        if isinstance(node, n.Number):
            return _number(node.value)
        if isinstance(node, n.Text):
            return _string(node.value)
        if isinstance(node, n.Date):
            return node.value.isoformat()
        if isinstance(node, n.Bool):
            return w("true") if node.value else w("false")
        if isinstance(node, n.Name):
            return node.name
        if isinstance(node, n.Unary):
            if node.op == "not":
                return f"{w('not')} {emit(node.operand, _LEVEL['not'])}"
            operand = emit(node.operand, _LEVEL["neg"])
            # "- -x" must not become "--x" (still fine for Lark, but unreadable)
            return f"-{operand}" if not operand.startswith("-") else f"-({operand})"
        if isinstance(node, n.Binary):
            if node.op in _CMP:
                lvl = _LEVEL["cmp"]
                return f"{emit(node.left, lvl + 1)} {w(node.op)} {emit(node.right, lvl + 1)}"
            lvl = _LEVEL[node.op]
            return f"{emit(node.left, lvl)} {w(node.op)} {emit(node.right, lvl + 1)}"
        if isinstance(node, n.In):
            opts = ", ".join(emit(o, 0) for o in node.options)
            kw = w("not in") if node.negated else w("in")
            return f"{emit(node.operand, _LEVEL['cmp'] + 1)} {kw} [{opts}]"
        if isinstance(node, n.Cond):
            return (f"{w('if')} {emit(node.test, 0)} {w('then')} {emit(node.then, 0)} "
                    f"{w('else')} {emit(node.otherwise, 0)}")
        if isinstance(node, n.Lookup):
            arrow = w("->")
            entries = [f"{emit(k, 0)} {arrow} {emit(v, 0)}" for k, v in node.table]
            if node.default is not None:
                entries.append(f"{w('else')} {arrow} {emit(node.default, 0)}")
            return f"{w('case')} {emit(node.key, _LEVEL['+'])} {{{', '.join(entries)}}}"
        if isinstance(node, n.Call):
            return f"{node.func}({', '.join(emit(a, 0) for a in node.args)})"
        raise TypeError(f"not an expression node: {node!r}")

    return emit(node, 0)
