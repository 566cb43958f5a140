"""The expression language: parsing, printing, checking, compiling (tests read like the spec)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xiangyue.rules import nodes as n
from xiangyue.rules.checker import Scope, check_expression
from xiangyue.rules.compiler import EvalError, compile_condition, compile_expression, constant_value
from xiangyue.errors import XiangyueError
from xiangyue.rules.model import FieldSpec
from xiangyue.rules.parser import MAX_DEPTH, MAX_LENGTH, ExpressionError, parse_expression
from xiangyue.rules.printer import to_source

FIELDS = (
    FieldSpec("record_id", "text", "记录编号"),
    FieldSpec("date", "date", "日期"),
    FieldSpec("activity", "text", "事项"),
    FieldSpec("quantity", "decimal", "数量", default=Decimal(1)),
    FieldSpec("grade", "text", "等级", values=("优", "良", "差")),
    FieldSpec("count", "integer", "次数"),
    FieldSpec("member", "boolean", "党员"),
)
SCOPE = Scope.from_fields(FIELDS)


def value(text: str, **record):
    expr = parse_expression(text)
    _, diags = check_expression(expr, SCOPE)
    assert [d for d in diags if d.severity == "error"] == []
    return compile_expression(expr, SCOPE)(record)


def problems(text: str, role: str | None = None) -> list[tuple[str, int]]:
    _, diags = check_expression(parse_expression(text), SCOPE, role)
    return [(d.code, d.column) for d in diags]


def parse_error(text: str):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    d = info.value.diagnostics[0]
    return d.code, d.line, d.column


# ---- values -------------------------------------------------------------------------------

def test_decimals_are_exact():
    assert value("0.5 × 数量", quantity=Decimal(3)) == Decimal("1.5")
    assert value("0.1 + 0.2") == Decimal("0.3")
    assert value("2 * quantity", quantity=Decimal("4.25")) == Decimal("8.50")


def test_chinese_and_ascii_names_are_the_same_field():
    assert value('事项 == "志愿服务" 且 数量 >= 4', activity="志愿服务", quantity=Decimal(4)) is True
    assert value('activity == "志愿服务" and quantity >= 4', activity="志愿服务", quantity=Decimal(3)) is False


def test_keywords_without_spaces_after_quotes_and_numbers():
    assert value('事项=="志愿服务"且数量>=4', activity="志愿服务", quantity=Decimal(5)) is True
    assert value('数量>5或事项=="x"', activity="x", quantity=Decimal(1)) is True


def test_typographic_operators():
    assert value("数量 ≥ 4", quantity=Decimal(4)) is True
    assert value("数量 ≠ 4", quantity=Decimal(4)) is False
    assert value("6 ÷ 4") == Decimal("1.5")
    assert value("数量 = 4", quantity=Decimal(4)) is True  # = is equality: there is no assignment


def test_lookup_table():
    points = '按 等级 {"优" → 5, "良" → 2, "差" → -3}'
    assert [value(points, grade=g) for g in ("优", "良", "差")] == [5, 2, -3]
    assert value('case grade {"优" -> 5, else -> 0}', grade="良") == 0


def test_lookup_of_a_value_not_in_the_table_is_an_eval_error_not_a_crash():
    expr = parse_expression('按 等级 {"优" → 5, "良" → 2, "差" → -3}')
    fn = compile_expression(expr, SCOPE)
    with pytest.raises(EvalError) as info:
        fn({"grade": "特优"})
    assert info.value.diagnostic.code == "E-EVAL-LOOKUP"
    assert "特优" in info.value.diagnostic.message("zh")


def test_conditional_in_and_functions():
    assert value("如果 数量 >= 16 则 10 否则 6", quantity=Decimal(16)) == 10
    assert value('事项 属于 ["志愿服务", "义务劳动"]', activity="义务劳动") is True
    assert value('事项 not in ["志愿服务"]', activity="义务劳动") is True
    assert value("min(数量, 10) + max(1, 2, 3)", quantity=Decimal(12)) == 13
    assert value("四舍五入(2.345, 2)") == Decimal("2.35")
    assert value("round(2.5)") == 3  # 四舍五入, not banker's rounding
    assert value("季度(日期)", date=dt.date(2024, 5, 1)) == 2
    assert value("月份(日期) == 3 且 年份(日期) == 2024", date=dt.date(2024, 3, 9)) is True
    assert value("日期 >= 2024-03-01", date=dt.date(2024, 3, 1)) is True


def test_empty_field_in_arithmetic_is_reported():
    fn = compile_expression(parse_expression("2 × 数量"), SCOPE)
    with pytest.raises(EvalError) as info:
        fn({"quantity": None})
    assert info.value.diagnostic.message("zh") == "字段“数量”为空，无法计算"


def test_empty_field_in_a_condition_is_false():
    cond = compile_condition(parse_expression('等级 == "优"'), SCOPE)
    assert cond({"grade": None}) is False


def test_constant_folding():
    assert constant_value(parse_expression("-5")) == -5
    assert constant_value(parse_expression("2 × 3 + 1")) == 7
    assert constant_value(parse_expression("2 × 数量")) is None


# ---- static checks ------------------------------------------------------------------------

def test_unknown_field_with_did_you_mean():
    _, diags = check_expression(parse_expression("数目 > 1"), SCOPE)
    assert diags[0].code == "E-EXPR-NAME"
    assert diags[0].message("zh") == "未知的字段“数目”"


def test_bare_word_compared_with_text_field_is_told_to_quote():
    _, diags = check_expression(parse_expression("事项 == 志愿服务"), SCOPE)
    assert diags[0].code == "E-EXPR-NAME"
    assert diags[0].hint("zh") == '要表示文字“志愿服务”，请加引号："志愿服务"'
    assert diags[0].column == 7


def test_text_compared_with_number_is_a_type_error():
    assert problems('数量 > "4"') == [("E-EXPR-TYPE", 4)]
    assert problems('数量 + "a"') == [("E-EXPR-TYPE", 4)]


def test_value_outside_allowed_values():
    assert problems('等级 == "特优"') == [("E-EXPR-VALUE", 7)]
    assert problems('等级 属于 ["优", "好"]') == [("E-EXPR-VALUE", 13)]


def test_partial_lookup_is_a_warning():
    _, diags = check_expression(parse_expression('按 等级 {"优" → 5}'), SCOPE)
    assert [(d.code, d.severity) for d in diags] == [("W-EXPR-LOOKUP-PARTIAL", "warning")]


def test_role_checks():
    assert problems("2 × 数量", "when") == [("E-EXPR-RESULT", 3)]
    assert problems('事项 == "x"', "points") == [("E-EXPR-RESULT", 4)]


def test_unknown_function_and_arity():
    assert problems("sqrt(4)")[0][0] == "E-EXPR-FUNC"
    assert problems("round(1, 2, 3)")[0][0] == "E-EXPR-ARITY"
    assert problems("month(数量)")[0][0] == "E-EXPR-OPERAND"


def test_division_by_constant_zero():
    assert problems("数量 / 0") == [("E-EXPR-DIV0", 6)]


# ---- syntax errors ------------------------------------------------------------------------

def test_syntax_errors_have_positions():
    assert parse_error("数量 >=") == ("E-EXPR-END", 1, 6)
    assert parse_error("(数量 + 1") == ("E-EXPR-END", 1, 8)
    assert parse_error("数量 + * 2") == ("E-EXPR-SYNTAX", 1, 6)


def test_full_width_punctuation_gets_a_hint():
    with pytest.raises(ExpressionError) as info:
        parse_expression("最小（数量, 10）")
    d = info.value.diagnostics[0]
    assert (d.code, d.column) == ("E-EXPR-FULLWIDTH", 3)
    assert d.hint("zh") == "请改用半角符号“(”（切换到英文输入法）"
    assert parse_error("数量 ＞ 1")[0] == "E-EXPR-FULLWIDTH"


def test_chinese_quotes_are_accepted_as_text():
    assert value("事项 == “志愿服务”", activity="志愿服务") is True


def test_impossible_date_literal():
    assert parse_error("日期 > 2024-02-30") == ("E-EXPR-DATE", 1, 6)


def test_limits_on_length_and_depth():
    assert parse_error("1 + " * (MAX_LENGTH // 4 + 1) + "1")[0] == "E-EXPR-TOOLONG"
    assert parse_error("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))[0] == "E-EXPR-TOODEEP"
    assert parse_error("-" * 200 + "1")[0] in ("E-EXPR-TOODEEP", "E-EXPR-TOOBIG")
    assert parse_error("")[0] == "E-EXPR-EMPTY"


def test_injection_attempts_are_just_text_or_errors():
    """Expressions are data: nothing in them is ever executed as Python."""
    for text in ('__import__("os").system("echo pwned")', "().__class__.__bases__[0]",
                 'eval("1")', "exec('import os')", "lambda: 1", "数量; import os"):
        with pytest.raises(XiangyueError):
            expr = parse_expression(text)
            _, diags = check_expression(expr, SCOPE)
            if any(d.severity == "error" for d in diags):
                raise XiangyueError(diags)
    # text literals with code in them stay text
    assert value('事项 == "__import__(\'os\')"', activity="__import__('os')") is True


# ---- printing: parse ∘ print = identity ---------------------------------------------------

NAMES = st.sampled_from(["数量", "quantity", "事项", "等级", "日期", "非法", "notx", "in_out"])
NUMBERS = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)
TEXTS = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
LEAVES = st.one_of(
    NUMBERS.map(n.Number), TEXTS.map(n.Text), DATES.map(n.Date), st.booleans().map(n.Bool), NAMES.map(n.Name)
)


def _extend(children):
    ops = st.sampled_from(["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or"])
    return st.one_of(
        st.builds(n.Binary, ops, children, children),
        st.builds(n.Unary, st.sampled_from(["-", "not"]), children),
        st.builds(n.In, children, st.lists(children, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(n.Cond, children, children, children),
        st.builds(n.Lookup, children, st.lists(st.tuples(children, children), min_size=1, max_size=3).map(tuple),
                  st.one_of(st.none(), children)),
        st.builds(n.Call, st.sampled_from(["min", "max", "round", "月份"]),
                  st.lists(children, max_size=3).map(tuple)),
    )


TREES = st.recursive(LEAVES, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(TREES, st.sampled_from(["zh", "en"]))
def test_print_then_parse_gives_the_same_tree(tree, lang):
    text = to_source(tree, lang)
    assert parse_expression(text) == tree


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_junk_raises_only_our_error(text):
    try:
        expr = parse_expression(text)
    except XiangyueError:
        return
    check_expression(expr, SCOPE)
    assert parse_expression(to_source(expr)) == expr
