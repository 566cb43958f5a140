"""The expression parser: text -> :mod:`xiangyue.rules.nodes` tree, or an error with a caret.

A facade over Lark: the grammar (``grammar/expr.lark``) is built once, LALR with positions;
Lark's exceptions never leave this module — they become :class:`ExpressionError` carrying a
:class:`~xiangyue.errors.Diagnostic` whose line/column are relative to the expression text
(the rule-file loader moves them into the YAML file).

Limits keep every expression cheap to check and evaluate: at most ``MAX_LENGTH`` characters,
``MAX_DEPTH`` levels of nesting and ``MAX_NODES`` nodes.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation
from importlib import resources

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from xiangyue.rules import nodes as n
from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.i18n import Msg, register

MAX_LENGTH = 1000
MAX_DEPTH = 32
MAX_NODES = 400

# Characters an author types with a Chinese input method, and what they should have typed.
FULLWIDTH = {
    "（": "(",
    "）": ")",
    "，": ",",
    "：": ":",
    "；": ";",
    "［": "[",
    "］": "]",
    "｛": "{",
    "｝": "}",
    "＝": "=",
    "＞": ">",
    "＜": "<",
    "＋": "+",
    "－": "-",
    "＊": "*",
    "／": "/",
    "！": "!",
    "＂": '"',
    "＇": "'",
    "。": ".",
    "．": ".",
    "【": "[",
    "】": "]",
    "、": ",",
}

register(
    {
        "E-EXPR-SYNTAX": Msg(
            zh="表达式写法有误：在“{found}”处{expected_zh}",
            en="syntax error in expression at '{found}'{expected_en}",
            hint_zh="检查括号、引号和运算符是否成对、完整",
            hint_en="check that brackets, quotes and operators are complete and paired",
        ),
        "E-EXPR-END": Msg(
            zh="表达式不完整{expected_zh}",
            en="the expression ends too early{expected_en}",
            hint_zh="表达式结尾缺少内容，例如运算符后面的数或右括号",
            hint_en="something is missing at the end, e.g. a value after an operator or a closing bracket",
        ),
        "E-EXPR-CHAR": Msg(
            zh="表达式中不能出现字符“{char}”",
            en="the character '{char}' cannot appear in an expression",
            hint_zh="文字要加引号，例如 \"志愿服务\"",
            hint_en='put text in quotes, e.g. "volunteer"',
        ),
        "E-EXPR-FULLWIDTH": Msg(
            zh="表达式中有全角符号“{char}”",
            en="full-width character '{char}' in the expression",
            hint_zh="请改用半角符号“{ascii}”（切换到英文输入法）",
            hint_en="use the ASCII '{ascii}' instead (switch the input method to English)",
        ),
        "E-EXPR-EMPTY": Msg(
            zh="表达式为空",
            en="the expression is empty",
            hint_zh="写出条件或分值，例如 事项 == \"志愿服务\"",
            hint_en='write a condition or a formula, e.g. activity == "volunteer"',
        ),
        "E-EXPR-TOOLONG": Msg(
            zh="表达式太长（{length} 个字符，最多 {max} 个）",
            en="the expression is too long ({length} characters, at most {max})",
            hint_zh="把规则拆成几条更简单的规则",
            hint_en="split the rule into several simpler rules",
        ),
        "E-EXPR-TOODEEP": Msg(
            zh="表达式嵌套太深（超过 {max} 层）",
            en="the expression is nested too deeply (more than {max} levels)",
            hint_zh="减少括号嵌套，或拆成几条规则",
            hint_en="use fewer nested brackets, or split the rule",
        ),
        "E-EXPR-TOOBIG": Msg(
            zh="表达式太复杂（{count} 个部分，最多 {max} 个）",
            en="the expression is too complex ({count} parts, at most {max})",
            hint_zh="把规则拆成几条更简单的规则",
            hint_en="split the rule into several simpler rules",
        ),
        "E-EXPR-DATE": Msg(
            zh="日期“{text}”不存在",
            en="the date '{text}' does not exist",
            hint_zh="检查月份和日期，例如 2024 年 2 月只有 29 天",
            hint_en="check month and day, e.g. February 2024 has 29 days",
        ),
        "E-EXPR-ESCAPE": Msg(
            zh="文字“{text}”中的转义写法有误",
            en="bad escape in the text {text}",
            hint_zh="只能用 \\\\\" 、\\\\' 和 \\\\\\\\",
            hint_en="only \\\\\", \\\\' and \\\\\\\\ are allowed",
        ),
    }
)


class ExpressionError(XiangyueError):
    """An expression could not be parsed; positions are relative to the expression text."""

    def __init__(self, diagnostics):
        super().__init__(diagnostics, kind="errors")


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("xiangyue.rules.grammar").joinpath("expr.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False,
                cache=_cache_file() or False)


def _cache_file() -> str | None:
    """Where Lark keeps the analysed grammar (building it costs ~1 s, every command pays
    it): a file in the user's own private cache folder (:mod:`xiangyue.rules.cache`), since
    Lark's cache is a pickle. Lark checks the grammar's sha256 before using it. None (no
    cache) when there is no such folder."""
    import os
    import sys

    from xiangyue.rules.cache import private_folder

    folder = private_folder()
    if folder is None:
        return None
    return os.path.join(folder, "expr-grammar-py%d%d.lark-cache" % sys.version_info[:2])


def _span(meta_or_token) -> n.Span:
    line = getattr(meta_or_token, "line", None)
    if line is None:
        return n.Span()
    return n.Span(line, meta_or_token.column, getattr(meta_or_token, "end_column", meta_or_token.column + 1))


def _unquote(token: Token) -> str:
    text = str(token)
    opener = text[0]
    body = text[1:-1]
    if opener in "“‘":
        return body
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt in ("\\", '"', "'"):
                out.append(nxt)
                i += 2
                continue
            raise _error("E-EXPR-ESCAPE", token.line, token.column, text=text)
        out.append(ch)
        i += 1
    return "".join(out)


_OPS = {"=": "==", "≠": "!=", "≤": "<=", "≥": ">=", "×": "*", "÷": "/"}


@v_args(meta=True)
class _ToNodes(Transformer):
    """Lark tree -> nodes. Methods are named after the grammar's rules and aliases."""

    def number(self, meta, children):
        tok = children[0]
        return n.Number(Decimal(str(tok)), _span(tok))

    def string(self, meta, children):
        return n.Text(_unquote(children[0]), _span(children[0]))

    def date(self, meta, children):
        tok = children[0]
        try:
            value = dt.date.fromisoformat(str(tok))
        except ValueError:
            raise _error("E-EXPR-DATE", tok.line, tok.column, text=str(tok), span=len(tok)) from None
        return n.Date(value, _span(tok))

    def true(self, meta, children):
        return n.Bool(True, _span(meta))

    def false(self, meta, children):
        return n.Bool(False, _span(meta))

    def name(self, meta, children):
        return n.Name(str(children[0]), _span(children[0]))

    def call(self, meta, children):
        func = children[0]
        return n.Call(str(func), tuple(children[1:]), _span(func))

    def neg(self, meta, children):
        return n.Unary("-", children[1], _span(children[0]))

    def not_op(self, meta, children):
        return n.Unary("not", children[0], _span(meta))

    def arith(self, meta, children):
        left, op, right = children
        return n.Binary(_OPS.get(str(op), str(op)), left, right, _span(op))

    def compare(self, meta, children):
        left, op, right = children
        return n.Binary(_OPS.get(str(op), str(op)), left, right, _span(op))

    def and_op(self, meta, children):
        return n.Binary("and", children[0], children[1], _span(meta))

    def or_op(self, meta, children):
        return n.Binary("or", children[0], children[1], _span(meta))

    def list(self, meta, children):
        return tuple(children)

    def in_op(self, meta, children):
        return n.In(children[0], children[1], False, _span(meta))

    def not_in_op(self, meta, children):
        return n.In(children[0], children[1], True, _span(meta))

    def if_expr(self, meta, children):
        return n.Cond(children[0], children[1], children[2], _span(meta))

    def entry(self, meta, children):
        return ("entry", children[0], children[1])

    def default_entry(self, meta, children):
        return ("default", None, children[0])

    def lookup(self, meta, children):
        key, *entries = children
        table = tuple((k, v) for kind, k, v in entries if kind == "entry")
        defaults = [v for kind, _k, v in entries if kind == "default"]
        return n.Lookup(key, table, defaults[-1] if defaults else None, _span(meta))


def _error(code: str, line: int, column: int, span: int = 1, **args) -> ExpressionError:
    return ExpressionError(Diagnostic(code, line=line, column=column, args=args, span=span))


_EXPECTED_ZH = {
    "NAME": "字段名",
    "NUMBER": "数",
    "STRING": "文字",
    "DATE": "日期",
    "LPAR": "(",
    "RPAR": ")",
    "LSQB": "[",
    "RSQB": "]",
    "LBRACE": "{",
    "RBRACE": "}",
    "COMMA": ",",
    "COMP_OP": "比较符",
    "MINUS": "-",
    "PLUS": "+",
    "MUL_OP": "× 或 ÷",
}


def _expected_text(expected: set[str]) -> tuple[str, str]:
    items = sorted({_EXPECTED_ZH.get(e, e.strip("_").split("_")[0].lower()) for e in expected})
    if not items or len(items) > 6:
        return "", ""
    zh = "，这里应为：" + "、".join(items)
    en = "; expected: " + ", ".join(items)
    return zh, en


def _check_text(text: str) -> None:
    if not text.strip():
        raise _error("E-EXPR-EMPTY", 1, 1)
    if len(text) > MAX_LENGTH:
        raise _error("E-EXPR-TOOLONG", 1, 1, length=len(text), max=MAX_LENGTH)
    # Bracket depth is checked before Lark runs: the tree walk later must stay shallow.
    depth = 0
    line, col = 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _error("E-EXPR-TOODEEP", line, col, max=MAX_DEPTH)
        elif ch in ")]}":
            depth -= 1


def _position(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    line = before.count("\n") + 1
    return line, index - (before.rfind("\n") + 1) + 1


def _tree_depth_ok(tree: Tree) -> tuple[bool, int]:
    """Depth and size of a Lark tree, walked iteratively."""
    count = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH * 2:
            return False, count
        if isinstance(node, Tree):
            stack.extend((c, depth + 1) for c in node.children)
    return True, count


def parse_expression(text: str) -> n.Expr:
    """Parse one expression; raise :class:`ExpressionError` with a positioned diagnostic."""
    if not isinstance(text, str):
        text = str(text)
    _check_text(text)
    try:
        tree = _lark().parse(text)
    except UnexpectedCharacters as err:
        ch = text[err.pos_in_stream] if err.pos_in_stream is not None else "?"
        line, col = err.line, err.column
        if ch in FULLWIDTH:
            raise _error("E-EXPR-FULLWIDTH", line, col, char=ch, ascii=FULLWIDTH[ch]) from None
        if ch in "“”‘’":
            raise _error("E-EXPR-FULLWIDTH", line, col, char=ch, ascii='"') from None
        raise _error("E-EXPR-CHAR", line, col, char=ch) from None
    except UnexpectedEOF as err:
        zh, en = _expected_text(set(err.expected))
        line, col = _position(text, len(text.rstrip()))
        raise _error("E-EXPR-END", line, col, expected_zh=zh, expected_en=en) from None
    except UnexpectedToken as err:
        tok = err.token
        if tok.type == "$END":
            zh, en = _expected_text(set(err.expected))
            line, col = _position(text, len(text.rstrip()))
            raise _error("E-EXPR-END", line, col, expected_zh=zh, expected_en=en) from None
        zh, en = _expected_text(set(err.expected))
        raise _error(
            "E-EXPR-SYNTAX",
            tok.line,
            tok.column,
            span=max(1, len(str(tok))),
            found=str(tok),
            expected_zh=zh or "不应出现这个符号",
            expected_en=en,
        ) from None
    except UnexpectedInput as err:  # pragma: no cover - other Lark input errors
        raise _error("E-EXPR-SYNTAX", getattr(err, "line", 1), getattr(err, "column", 1), found="?", expected_zh="", expected_en="") from None
    ok, count = _tree_depth_ok(tree)
    if not ok:
        raise _error("E-EXPR-TOODEEP", 1, 1, max=MAX_DEPTH)
    if count > MAX_NODES * 3:
        raise _error("E-EXPR-TOOBIG", 1, 1, count=count // 3, max=MAX_NODES)
    try:
        return _ToNodes().transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, XiangyueError):
            raise err.orig_exc from None
        raise
    except (InvalidOperation, RecursionError):  # pragma: no cover - guarded by the limits above
        raise _error("E-EXPR-TOOBIG", 1, 1, count="?", max=MAX_NODES) from None
