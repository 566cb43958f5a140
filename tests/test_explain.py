"""A household's story: the exact sentences a villager reads, in Chinese and English."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "evaluate"))  # rule builders for tests

from jingou_rules import jingou  # noqa: E402
from rule_builders import D, rec  # noqa: E402
from xiangyue.errors import InputError
from xiangyue.points.inputs import read_households_file, read_records_file
from xiangyue.points.explain import explain, story_text
from xiangyue.rules.model import BasePoints
from xiangyue.periods import parse_period
from xiangyue.report.jsonout import dumps, loads
from xiangyue.rules.pipeline import load_ruleset

FIXTURES = Path(__file__).parent / "evaluate"
JINGOU = Path(__file__).parent.parent / "rulesets" / "examples" / "jingou.yaml"
REGISTER = [{"household": "JG001", "head": "张大山", "grid": "第1网格"}]


def story(records, period="2024-03", rs=None, household="JG001", households=REGISTER):
    return explain(rs or jingou(), records, households, parse_period(period), household)


def test_cap_sentence():
    s = story([rec("V1", "JG001", "2024-03-02", "志愿服务", 4),
               rec("V2", "JG001", "2024-03-05", "志愿服务", 4)])
    assert story_text(s).splitlines() == [
        "JG001 张大山 户 2024年3月积分明细",
        "3月2日 志愿服务 ×4：按“志愿服务”得 8 分；按“志愿服务满4小时加分”得 2 分",
        "3月5日 志愿服务 ×4：按“志愿服务”应得 8 分；本月志愿服务已得 8 分，封顶 10 分，实得 2 分；"
        "按“志愿服务满4小时加分”应得 2 分；本月乡风文明类已得 12 分，封顶 12 分，实得 0 分",
        "基础分 0 分，得分 12 分，扣分 0 分",
        "2024年3月合计：12 分",  # 8 + 2 + 2 + 0
    ]


def test_once_veto_deduction_and_unmatched_sentences():
    s = story([rec("F1", "JG001", "2024-01-03", "孝老爱亲"),
               rec("F2", "JG001", "2024-03-03", "孝老爱亲"),
               rec("X1", "JG001", "2024-02-01", "违反禁渔"),
               rec("T1", "JG001", "2024-02-05", "志原服务")], period="2024-Q1")
    assert story_text(s).splitlines() == [
        "JG001 张大山 户 2024年第一季度积分明细",
        "1月3日 孝老爱亲：按“孝老爱亲”得 5 分",
        "2月1日 违反禁渔：按“违反长江禁渔”扣 20 分",
        "2月5日 志原服务（记录 T1）：没有适用的规则，不计分（请核对事项名称）",
        "3月3日 孝老爱亲：按“孝老爱亲”应得 5 分；本季度只计一次，已在1月3日（记录 F1）计过，实得 0 分",
        "因违反长江禁渔（2月1日，记录 X1），2024年度一票否决",
        "基础分 0 分，得分 5 分，扣分 20 分",
        "2024年第一季度合计：-15 分（一票否决）",
    ]
    assert story_text(s, "en").splitlines() == [
        "Household JG001 张大山, quarter 2024-Q1",
        "3 Jan 孝老爱亲: by rule '孝老爱亲' 5 points",
        "1 Feb 违反禁渔: by rule '违反长江禁渔' -20 points",
        "5 Feb 志原服务 (record T1): no rule applies, nothing awarded (check the activity's name)",
        "3 Mar 孝老爱亲: by rule '孝老爱亲' 5 points; counts once this quarter; it already counted "
        "on 3 Jan (record F1); awarded 0",
        "Because of '违反长江禁渔' (1 Feb, record X1), vetoed (一票否决) for the year 2024",
        "Base 0, earned 5, deducted -20",
        "Total for 2024-Q1: -15 points (vetoed)",
    ]


def test_deduction_cap_sentence():
    s = story([rec(f"L{i}", "JG001", f"2024-03-0{i}", "乱扔垃圾") for i in range(1, 6)])
    assert story_text(s).splitlines()[-3] == (
        "3月5日 乱扔垃圾：按“乱扔垃圾”应扣 5 分；本月乱扔垃圾已扣 20 分，最多扣 20 分，实扣 0 分")


def test_base_points_and_other_households_are_left_out():
    rs = jingou(base=BasePoints(D(100), "year"))
    s = story([rec("S1", "JG001", "2024-02-01", "垃圾分类", 3),
               rec("S2", "JG002", "2024-02-01", "垃圾分类", 3)], period="2024-Q1", rs=rs,
              households=REGISTER + [{"household": "JG002"}])
    lines = story_text(s).splitlines()
    assert lines[1] == "1月1日 基础分：100 分"
    assert lines[2] == "2月1日 垃圾分类 ×3：按“垃圾分类”得 1.5 分"
    assert lines[-2:] == ["基础分 100 分，得分 1.5 分，扣分 0 分", "2024年第一季度合计：101.5 分"]


def test_json_form_has_exact_numbers():
    s = story([rec("S1", "JG001", "2024-03-01", "垃圾分类", 3)])
    data = loads(dumps(s.to_json()))
    assert data["total"] == D("1.5")
    assert data["records"][0]["rules"][0]["awarded"] == D("1.5")
    assert data["records"][0]["text"] == "3月1日 垃圾分类 ×3：按“垃圾分类”得 1.5 分"
    assert data["text"][-1] == "2024年3月合计：1.5 分"


def test_unknown_household_is_a_user_error():
    with pytest.raises(InputError) as err:
        story([], household="JG999")
    assert err.value.diagnostics[0].code == "E-EXPLAIN-HOUSEHOLD"


def test_story_from_the_reference_rule_file():
    rs = load_ruleset(JINGOU)
    recs = read_records_file(rs, str(FIXTURES / "records.csv"))
    hhs = read_households_file(rs, str(FIXTURES / "households.csv"))
    s = explain(rs, recs, hhs, parse_period("2024-03"), "JG002")
    assert story_text(s).splitlines() == [
        "JG002 李秀英 户 2024年3月积分明细",
        "3月4日 垃圾分类 ×9：按“垃圾分类”得 4.5 分",
        "3月6日 垃圾分类 ×2：按“垃圾分类”应得 1 分；本月垃圾分类已得 4.5 分，封顶 5 分，实得 0.5 分",
        "3月9日 庭院检查 等级 优：按“庭院检查”得 5 分",
        "3月28日 庭院检查 等级 差：按“庭院检查”应扣 3 分；本月只计一次，已在3月9日（记录 R07）计过，实扣 0 分",
        "基础分 0 分，得分 10 分，扣分 0 分",
        "2024年3月合计：10 分",
    ]
