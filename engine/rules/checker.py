"""Static checks of expressions, before any record is read.

Every name must be a declared field (with "did you mean"), every operator must get the types
it works on (no text compared with a number), every text compared with a field that lists its
allowed values must be one of them, functions exist and get the right arguments, a ``when``
is true/false and ``points`` is a number. Diagnostics are positioned relative to the
expression; the rule-file loader moves them into the YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from xiangyue.rules import nodes as n
from xiangyue.errors import Diagnostic
from xiangyue.rules.functions import (ANY, BOOLEAN, COUNT_RECENT, DATE, NUMBER, TEXT, Function, lookup,
                                      param_type)
from xiangyue.i18n import Msg, did_you_mean, register
from xiangyue.rules.model import FieldSpec

TYPE_NAMES = {
    NUMBER: ("数", "a number"),
    TEXT: ("文字", "text"),
    DATE: ("日期", "a date"),
    BOOLEAN: ("真假（条件）", "true/false"),
    ANY: ("任意值", "any value"),
}

FIELD_TYPE = {"decimal": NUMBER, "integer": NUMBER, "text": TEXT, "date": DATE, "boolean": BOOLEAN}

register(
    {
        "E-EXPR-NAME": Msg(
            zh="未知的字段“{name}”",
            en="unknown field '{name}'",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-EXPR-TYPE": Msg(
            zh="“{op}”不能用于{left_zh}和{right_zh}",
            en="'{op}' cannot be used with {left_en} and {right_en}",
            hint_zh="比较或运算的两边应是同一种值；文字要加引号，数不加引号",
            hint_en="both sides must be the same kind of value; quote text, do not quote numbers",
        ),
        "E-EXPR-OPERAND": Msg(
            zh="“{op}”需要{want_zh}，这里是{got_zh}",
            en="'{op}' needs {want_en}, got {got_en}",
            hint_zh=None,
            hint_en=None,
        ),
        "E-EXPR-VALUE": Msg(
            zh="字段“{field}”没有“{value}”这个值（可选值：{allowed}）",
            en="field '{field}' has no value '{value}' (allowed: {allowed})",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-EXPR-TABLE": Msg(
            zh="没有名为“{name}”的表",
            en="there is no table named '{name}'",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-EXPR-TABLE-KEY": Msg(
            zh="表 {table} 的键是{want_zh}，这里查的是{got_zh}",
            en="the keys of table {table} are {want_en}, this looks up {got_en}",
            hint_zh="用与表的键同类的值查表",
            hint_en="look the table up with a value of the type of its keys",
        ),
        "E-EXPR-TABLE-NO-KEY": Msg(
            zh="表 {table} 中没有键“{key}”",
            en="table {table} has no key '{key}'",
            hint_zh="在表中加上这个键，或给表写 default",
            hint_en="add the key to the table, or give the table a default",
        ),
        "E-EXPR-WINDOW": Msg(
            zh="近期次数（count_recent）：{detail_zh}",
            en="count_recent: {detail_en}",
            hint_zh='例如 近期次数(事项 == "垃圾混装", 30) == 0',
            hint_en='e.g. count_recent(activity == "mixed waste", 30) == 0',
        ),
        "E-EXPR-FUNC": Msg(
            zh="没有名为“{name}”的函数",
            en="there is no function named '{name}'",
            hint_zh="可用的函数：{available}",
            hint_en="available functions: {available}",
        ),
        "E-EXPR-ARITY": Msg(
            zh="函数“{name}”需要 {want} 个参数，这里给了 {got} 个",
            en="function '{name}' takes {want} argument(s), got {got}",
        ),
        "E-EXPR-RESULT": Msg(
            zh="{role_zh}应是{want_zh}，这里是{got_zh}",
            en="{role_en} must be {want_en}, this is {got_en}",
            hint_zh="{hint_zh2}",
            hint_en="{hint_en2}",
        ),
        "E-EXPR-LOOKUP-DUP": Msg(
            zh="查表中“{key}”出现了两次",
            en="the lookup table lists '{key}' twice",
            hint_zh="每个值只写一次",
            hint_en="list each value once",
        ),
        "W-EXPR-LOOKUP-PARTIAL": Msg(
            zh="查表没有列出“{field}”的这些值：{missing}；遇到时该记录无法计分",
            en="the lookup table does not list these values of '{field}': {missing}; such records cannot be scored",
            hint_zh="补上这些值，或加一项 否则 → 0",
            hint_en="add them, or add a default: else -> 0",
        ),
        "E-EXPR-DIV0": Msg(
            zh="除数为 0",
            en="division by zero",
        ),
    }
)


@dataclass(frozen=True)
class Binding:
    """What a name in an expression stands for: the record key it reads and its type."""

    key: str
    type: str
    values: tuple[str, ...] | None = None
    label: str = ""


@dataclass
class Scope:
    """The names and functions an expression may use."""

    bindings: dict[str, Binding]
    functions: dict[str, Function] = field(default_factory=dict)  # context-specific extras
    tables: dict[str, Any] = field(default_factory=dict)  # name -> model.Table (tables:)

    @classmethod
    def from_fields(cls, fields: Iterable[FieldSpec], tables: Iterable[Any] = ()) -> "Scope":
        bindings: dict[str, Binding] = {}
        for f in fields:
            # a type the schema refused is reported there; here it checks as "any value"
            b = Binding(f.id, FIELD_TYPE.get(f.type, ANY), f.values, f.label or f.id)
            for name in f.names():
                bindings[name] = b
        by_name = {name: t for t in tables for name in t.names()}
        return cls(bindings, tables=by_name)

    def table(self, node: n.Expr) -> Any:
        """The named table an argument names (a bare name or a text), or None."""
        if isinstance(node, (n.Name, n.Text)):
            key = node.name if isinstance(node, n.Name) else node.value
            return self.tables.get(key)
        return None

    def function(self, name: str) -> Function | None:
        return self.functions.get(name) or lookup(name)

    def known_names(self) -> list[str]:
        return sorted(self.bindings)


def _tn(t: str, lang: str) -> str:
    zh, en = TYPE_NAMES.get(t, (t, t))
    return en if lang == "en" else zh


def _diag(code: str, node, severity: str = "error", **args) -> Diagnostic:
    span = getattr(node, "span", None) or n.Span()
    width = max(1, span.end_column - span.column) if span.end_column > span.column else 1
    return Diagnostic(code, line=span.line, column=span.column, args=args, severity=severity, span=width)




class _Checker:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.diags: list[Diagnostic] = []

    def type_of(self, node: n.Expr) -> str:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    # literals
    def _number(self, node):
        return NUMBER

    def _text(self, node):
        return TEXT

    def _date(self, node):
        return DATE

    def _bool(self, node):
        return BOOLEAN

    def _name(self, node: n.Name):
        b = self.scope.bindings.get(node.name)
        if b is not None:
            return b.type
        zh, en = did_you_mean(node.name, self.scope.known_names())
        # A bare word that is an allowed value of some field was meant as text.
        for other in {id(x): x for x in self.scope.bindings.values()}.values():
            if other.values and node.name in other.values:
                zh = f"要表示文字“{node.name}”，请加引号：\"{node.name}\""
                en = f'to mean the text {node.name}, put it in quotes: "{node.name}"'
                break
        else:
            for kw in ("且", "或", "非", "属于"):
                if node.name.startswith(kw) or node.name.endswith(kw):
                    zh = f"关键字“{kw}”前后要加空格"
                    en = f"put spaces around the keyword '{kw}'"
            if not zh:
                fields = {b.key: b for b in self.scope.bindings.values()}.values()
                zh = "可用的字段：" + "、".join(b.label or b.key for b in fields)
                en = "known fields: " + ", ".join(b.key for b in fields)
        self.diags.append(_diag("E-EXPR-NAME", node, name=node.name, suggest_zh=zh, suggest_en=en))
        return ANY

    def _expect(self, node: n.Expr, got: str, want: str, op: str) -> None:
        if got not in (want, ANY):
            self.diags.append(_diag("E-EXPR-OPERAND", node, op=op, want_zh=_tn(want, "zh"),
                                    want_en=_tn(want, "en"), got_zh=_tn(got, "zh"), got_en=_tn(got, "en")))

    def _unary(self, node: n.Unary):
        t = self.type_of(node.operand)
        if node.op == "not":
            self._expect(node.operand, t, BOOLEAN, "非")
            return BOOLEAN
        self._expect(node.operand, t, NUMBER, "-")
        return NUMBER

    def _binary(self, node: n.Binary):
        op = node.op
        if op in ("==", "!=") and self._bare_word(node.left, node.right):
            return BOOLEAN
        lt, rt = self.type_of(node.left), self.type_of(node.right)
        if op in ("and", "or"):
            self._expect(node.left, lt, BOOLEAN, "且" if op == "and" else "或")
            self._expect(node.right, rt, BOOLEAN, "且" if op == "and" else "或")
            return BOOLEAN
        if op in ("+", "-", "*", "/"):
            if ANY not in (lt, rt) and (lt != NUMBER or rt != NUMBER):
                self._type_error(node, lt, rt)
            if op == "/" and isinstance(node.right, n.Number) and node.right.value == 0:
                self.diags.append(_diag("E-EXPR-DIV0", node.right))
            return NUMBER
        # comparison
        if ANY not in (lt, rt):
            if lt != rt:
                self._type_error(node, lt, rt)
            elif op not in ("==", "!=") and lt not in (NUMBER, DATE):
                self._type_error(node, lt, rt)
        self._check_values(node.left, [node.right])
        self._check_values(node.right, [node.left])
        return BOOLEAN

    def _bare_word(self, left: n.Expr, right: n.Expr) -> bool:
        """``事项 == 志愿服务``: an unknown word compared with a text field was meant as text."""
        for field_side, word in ((left, right), (right, left)):
            if (isinstance(word, n.Name) and word.name not in self.scope.bindings
                    and isinstance(field_side, n.Name)):
                b = self.scope.bindings.get(field_side.name)
                if b is not None and b.type == TEXT:
                    self.diags.append(_diag(
                        "E-EXPR-NAME", word, name=word.name,
                        suggest_zh=f"要表示文字“{word.name}”，请加引号：\"{word.name}\"",
                        suggest_en=f'to mean the text {word.name}, put it in quotes: "{word.name}"'))
                    self._check_values(field_side, [n.Text(word.name, word.span)])
                    return True
        return False

    def _type_error(self, node, lt, rt):
        self.diags.append(_diag("E-EXPR-TYPE", node, op=node.op, left_zh=_tn(lt, "zh"), right_zh=_tn(rt, "zh"),
                                left_en=_tn(lt, "en"), right_en=_tn(rt, "en")))

    def _check_values(self, maybe_field: n.Expr, others: Sequence[n.Expr]) -> None:
        if not isinstance(maybe_field, n.Name):
            return
        b = self.scope.bindings.get(maybe_field.name)
        if b is None or not b.values:
            return
        for other in others:
            if isinstance(other, n.Text) and other.value not in b.values:
                zh, en = did_you_mean(other.value, b.values)
                self.diags.append(_diag("E-EXPR-VALUE", other, field=maybe_field.name, value=other.value,
                                        allowed="、".join(b.values), suggest_zh=zh, suggest_en=en))

    def _in(self, node: n.In):
        t = self.type_of(node.operand)
        for opt in node.options:
            ot = self.type_of(opt)
            if ANY not in (t, ot) and ot != t:
                self._type_error(n.Binary("in", node.operand, opt, opt.span), t, ot)
        self._check_values(node.operand, node.options)
        return BOOLEAN

    def _cond(self, node: n.Cond):
        self._expect(node.test, self.type_of(node.test), BOOLEAN, "如果")
        a, b = self.type_of(node.then), self.type_of(node.otherwise)
        if ANY not in (a, b) and a != b:
            self._type_error(n.Binary("否则", node.then, node.otherwise, node.span), a, b)
        return a if a != ANY else b

    def _lookup(self, node: n.Lookup):
        kt = self.type_of(node.key)
        result = ANY
        seen: set = set()
        for k, v in node.table:
            t = self.type_of(k)
            if ANY not in (kt, t) and t != kt:
                self._type_error(n.Binary("→", node.key, k, k.span), kt, t)
            if isinstance(k, (n.Text, n.Number, n.Date, n.Bool)):
                if k.value in seen:
                    self.diags.append(_diag("E-EXPR-LOOKUP-DUP", k, key=k.value))
                seen.add(k.value)
            vt = self.type_of(v)
            if result == ANY:
                result = vt
            elif vt not in (ANY, result):
                self._type_error(n.Binary("→", node.table[0][1], v, v.span), result, vt)
        if node.default is not None:
            dt_ = self.type_of(node.default)
            if result == ANY:
                result = dt_
            elif dt_ not in (ANY, result):
                self._type_error(n.Binary("→", node.table[0][1] if node.table else node.key, node.default,
                                          node.default.span), result, dt_)
        self._check_values(node.key, [k for k, _ in node.table])
        if node.default is None and isinstance(node.key, n.Name):
            b = self.scope.bindings.get(node.key.name)
            if b and b.values:
                missing = [v for v in b.values if v not in seen]
                if missing:
                    self.diags.append(_diag("W-EXPR-LOOKUP-PARTIAL", node, severity="warning",
                                            field=node.key.name, missing="、".join(missing)))
        return result

    def _call(self, node: n.Call):
        f = self.scope.function(node.func)
        if f is not None and f.name in ("lookup", "count_recent") and len(node.args) != 2:
            self.diags.append(_diag("E-EXPR-ARITY", node, name=node.func, want="2", got=len(node.args)))
            return ANY
        if f is not None and f.name == "lookup":
            return self._table_lookup(node)
        if f is not None and f.name == "count_recent":
            return self._count_recent(node)
        arg_types = [self.type_of(a) for a in node.args]
        if f is None:
            names = sorted({fn.name for fn in _all_functions(self.scope)})
            self.diags.append(_diag("E-EXPR-FUNC", node, name=node.func, available=", ".join(names)))
            return ANY
        count = len(node.args)
        if count < f.min_args or (f.max_args is not None and count > f.max_args):
            want = str(f.min_args) if f.max_args == f.min_args else (
                f"{f.min_args}–{f.max_args}" if f.max_args is not None else f"≥{f.min_args}")
            self.diags.append(_diag("E-EXPR-ARITY", node, name=node.func, want=want, got=count))
        for i, (arg, t) in enumerate(zip(node.args, arg_types)):
            self._expect(arg, t, param_type(f, i), node.func)
        return f.result


    def _table_lookup(self, node: n.Call):
        """``查表(表名, 键)``: the table must exist, the key have the table's key type."""
        which, key = node.args
        table = self.scope.table(which)
        kt = self.type_of(key)
        if table is None:
            shown = which.name if isinstance(which, n.Name) else (
                which.value if isinstance(which, n.Text) else "?")
            names = sorted(self.scope.tables)
            zh, en = did_you_mean(shown, names, cutoff=0.4, otherwise=(
                ("可用的表：" + "、".join(names), "tables: " + ", ".join(names)) if names else
                ("在规则文件的 tables 中定义它", "define it under tables in the rule file")))
            self.diags.append(_diag("E-EXPR-TABLE", which, name=shown, suggest_zh=zh, suggest_en=en))
            return ANY
        if kt not in (ANY, table.key_type):
            self.diags.append(_diag("E-EXPR-TABLE-KEY", key, table=table.id, want_zh=_tn(table.key_type, "zh"),
                                    want_en=_tn(table.key_type, "en"), got_zh=_tn(kt, "zh"),
                                    got_en=_tn(kt, "en")))
        elif table.default is None:
            keys = {k for k, _ in table.entries}
            if isinstance(key, (n.Text, n.Number)) and key.value not in keys:
                self.diags.append(_diag("E-EXPR-TABLE-NO-KEY", key, table=table.id, key=key.value))
            elif isinstance(key, n.Name):
                b = self.scope.bindings.get(key.name)
                if b is not None and b.values:
                    missing = [v for v in b.values if v not in keys]
                    if missing:
                        self.diags.append(_diag("W-EXPR-LOOKUP-PARTIAL", node, severity="warning",
                                                field=key.name, missing="、".join(missing)))
        return table.value_type

    def _count_recent(self, node: n.Call):
        """``近期次数(条件, 天数)``: a record condition and a whole number of days (a literal)."""
        cond, days = node.args
        t = self.type_of(cond)
        self._expect(cond, t, BOOLEAN, node.func)
        if any(isinstance(x, n.Call) and (self.scope.function(x.func) or COUNT_RECENT).name == "count_recent"
               for x in n.walk(cond)):
            self.diags.append(_diag("E-EXPR-WINDOW", cond, detail_zh="条件中不能再用近期次数",
                                    detail_en="the condition may not use count_recent itself"))
        if not (isinstance(days, n.Number) and days.value == days.value.to_integral_value()
                and 1 <= days.value <= 3660):
            self.diags.append(_diag("E-EXPR-WINDOW", days, detail_zh="天数要写成 1 到 3660 的整数，例如 30",
                                    detail_en="the days must be a whole number from 1 to 3660, e.g. 30"))
        return NUMBER


def window_days(expr: n.Expr | None, scope: Scope) -> int:
    """The longest window of 近期次数 / count_recent in a checked expression (0: none)."""
    out = 0
    for x in n.walk(expr) if expr is not None else ():
        if isinstance(x, n.Call) and x.args and isinstance(x.args[-1], n.Number):
            f = scope.function(x.func)
            if f is not None and f.name == "count_recent":
                out = max(out, int(x.args[-1].value))
    return out


def _all_functions(scope: Scope):
    from xiangyue.rules.functions import FUNCTIONS

    return list(FUNCTIONS.values()) + list(scope.functions.values())


_ROLES = {
    "when": ("条件（when）", "a condition (when)", BOOLEAN,
             "条件要写成比较，例如 事项 == \"志愿服务\"", 'write a comparison, e.g. activity == "volunteer"'),
    "points": ("分值（points）", "a points formula", NUMBER,
               "分值要写成数或算式，例如 2 × 数量", "write a number or a formula, e.g. 2 * quantity"),
    "criterion": ("评选条件", "a selection criterion", BOOLEAN,
                  "评选条件要写成比较，例如 总分 >= 60", "write a comparison, e.g. total >= 60"),
}


def check_expression(expr: n.Expr, scope: Scope, role: str | None = None) -> tuple[str, list[Diagnostic]]:
    """Infer the expression's type and collect every problem (positions relative to the text).

    ``role`` ("when", "points", "criterion") also checks the result type.
    """
    checker = _Checker(scope)
    t = checker.type_of(expr)
    if role is not None and t != ANY:
        zh, en, want, hzh, hen = _ROLES[role]
        if t != want:
            checker.diags.append(_diag("E-EXPR-RESULT", expr, role_zh=zh, role_en=en, want_zh=_tn(want, "zh"),
                                       want_en=_tn(want, "en"), got_zh=_tn(t, "zh"), got_en=_tn(t, "en"),
                                       hint_zh2=hzh, hint_en2=hen))
    return t, checker.diags
