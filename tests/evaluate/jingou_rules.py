"""The reference village's 积分细则 (jingou.md) built directly as Rule objects with Python
callables, so the engine's limits can be tested independently of the rule-file loader."""

from __future__ import annotations

from decimal import Decimal

from xiangyue.rules.compiler import EvalError
from xiangyue.errors import Diagnostic
from xiangyue.rules.model import Category

from rule_builders import D, cap, rule, ruleset


def _lookup(field: str, table: dict[str, int]):
    def points(r):
        value = r.get(field)
        if value not in table:
            raise EvalError(Diagnostic("E-TEST-LOOKUP", args={
                "zh": f"{field}“{value}”在查表中没有对应的分值",
                "en": f"{field} '{value}' has no entry in the table"}))
        return Decimal(table[value])
    return points


def _is(activity):
    return lambda r: r.get("activity") == activity


RULES = (
    rule("volunteer", "志愿服务", lambda r: 2 * r["quantity"], name="志愿服务", category="乡风文明",
         limit=(cap(10),), line=60),
    rule("volunteer_long", when=lambda r: r.get("activity") == "志愿服务" and r["quantity"] >= 4,
         points=2, name="志愿服务满4小时加分", category="乡风文明", line=67),
    rule("labour", "义务劳动", lambda r: 3 * r["quantity"], name="义务投工投劳", category="人居环境",
         limit=(cap(12),), line=73),
    rule("meeting", "参加坝坝会", 1, name="参加坝坝会", category="乡风文明", limit=(cap(3),), line=80),
    rule("courtyard", "庭院检查", _lookup("grade", {"优": 5, "良": 2, "差": -3}), name="庭院检查",
         category="人居环境", once="month", line=87),
    rule("sorting", "垃圾分类", lambda r: D("0.5") * r["quantity"], name="垃圾分类",
         category="人居环境", limit=(cap(5),), line=94),
    rule("litter", "乱扔垃圾", -5, name="乱扔垃圾", category="人居环境", deduction_limit=(cap(20),),
         line=101),
    rule("straw", "焚烧秸秆", -10, name="焚烧秸秆", category="遵纪守法", line=108),
    rule("fishing", "违反禁渔", -20, name="违反长江禁渔", category="遵纪守法", veto="year", line=114),
    rule("honour", "获得表彰", _lookup("level", {"县级": 10, "市级": 15, "省级": 20, "国家级": 30}),
         name="获得表彰", category="荣誉", line=121),
    rule("filial", "孝老爱亲", 5, name="孝老爱亲", category="孝老爱亲", once="quarter", line=127),
    rule("frugal", "红白喜事简办", 10, name="红白喜事简办", category="移风易俗", once="year",
         line=134),
    rule("banquet", "大操大办", -10, name="大操大办", category="移风易俗", line=141),
)

CATEGORIES = (
    Category("乡风文明", "乡风文明", limit=(cap(12),)),
    Category("人居环境", "人居环境"),
    Category("遵纪守法", "遵纪守法"),
    Category("荣誉", "荣誉"),
    Category("孝老爱亲", "孝老爱亲"),
    Category("移风易俗", "移风易俗"),
)


def jingou(**kw):
    return ruleset(*RULES, categories=CATEGORIES, **kw)
