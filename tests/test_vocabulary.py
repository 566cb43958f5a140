"""Activity names checked against the rules: the names a rule file knows, and the closest
ones to a typo (on import, and in evaluate's unmatched list)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.rules.vocabulary import closest_names, vocabulary

DATA = Path(__file__).parent / "data"
RULES = str(DATA / "jingou.yaml")


def test_the_names_the_reference_rules_compare_the_activity_with():
    v = vocabulary(load_ruleset(RULES))
    assert v is not None and v.closed and v.field.id == "activity"
    assert v.names[:3] == ("志愿服务", "义务劳动", "参加坝坝会")
    assert len(v.names) == 12 and v.unknown("志原服务") and not v.unknown("志愿服务")


@pytest.mark.parametrize("typo, expected", [
    ("志原服务", ["志愿服务"]),        # same sound, other characters (a pinyin input method)
    ("乱仍垃圾", ["乱扔垃圾"]),        # one character off
    ("垃圾分内", ["垃圾分类"]),
    ("参加村民大会", ["参加坝坝会"]),  # the meeting the rules know
    ("志愿服务", []),                  # known: nothing to suggest
    ("买菜", []),                      # nothing close
])
def test_closest_names(typo, expected):
    v = vocabulary(load_ruleset(RULES))
    assert v.suggest(typo)[:1] == expected


def test_closest_names_prefers_sound_when_no_character_is_shared():
    # 志原服务 shares 3 characters with both; only 志愿服务 sounds the same
    assert closest_names("志原服务", ["维修服务", "志愿服务"])[0] == "志愿服务"
    assert closest_names("知愿", ["志愿", "知识"])[0] == "志愿"


def test_a_rule_that_ignores_the_activity_keeps_the_vocabulary_open(tmp_path):
    text = Path(RULES).read_text(encoding="utf-8").replace(
        'when: 事项 == "垃圾分类"', 'when: 数量 > 100', 1)
    p = tmp_path / "open.yaml"
    p.write_text(text, encoding="utf-8")
    v = vocabulary(load_ruleset(p))
    assert v is not None and not v.closed and not v.unknown("随便什么")


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_import_warns_once_per_unknown_activity_with_a_suggestion(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("记录编号,户号,日期,事项\nR1,001,2024/3/5,志原服务\nR2,001,2024/3/5,志原服务\n"
                 "R3,002,2024/3/6,志愿服务\n", encoding="utf-8")
    db = str(tmp_path / "v.db")
    r = run("records", "import", str(p), "-r", RULES, "--db", db)
    assert r.exit_code == 0 and r.stdout == "已导入 3 条记录（新增 3，未变 0）\n"
    assert r.stderr == (
        f"{p}:2:事项: W-IMPORT-ACTIVITY: 警告: 事项“志原服务”没有一条规则能匹配（2 条记录，第一条在第 2 行）\n"
        "    提示: 是不是“志愿服务”？\n")
    r = run("records", "import", str(p), "-r", RULES, "--db", db, "--format", "json")
    (w,) = json.loads(r.stdout)["imported"]["warnings"]
    assert w["code"] == "W-IMPORT-ACTIVITY"

    r = run("evaluate", RULES, "--db", db, "--period", "2024-Q1")
    assert "志原服务  是不是“志愿服务”？" in r.stdout
    r = run("evaluate", RULES, "--db", db, "--period", "2024-Q1", "--format", "json")
    unmatched = json.loads(r.stdout)["unmatched"]
    assert [(u["record_id"], u["suggestions"]) for u in unmatched] == [
        ("R1", ["志愿服务"]), ("R2", ["志愿服务"])]
