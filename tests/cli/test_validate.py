"""``xiangyue validate``: exit codes, text and JSON output."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main

HERE = Path(__file__).parent.parent
JINGOU = str(HERE / "rulesets" / "jingou.yaml")

BAD = """\
xiangyue: 1
fields:
  - {id: activity, label: 事项, type: text}
categories:
  - id: 乡风文明
rules:
  - id: a
    category: 乡风文明
    when: 事项 == 志愿服务
    points: 2 × 数目
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_valid_file_exits_0():
    result = run("validate", JINGOU)
    assert result.exit_code == 0
    assert result.output.strip().endswith("校验通过")


def test_errors_exit_1_with_positions_carets_and_hints(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("validate", str(bad))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{bad}:9:17: E-EXPR-NAME: 未知的字段“志愿服务”"
    assert lines[1] == "        when: 事项 == 志愿服务"
    assert lines[2] == "                      ^^^^^^^^"
    assert lines[4] == f"{bad}:10:17: E-EXPR-NAME: 未知的字段“数目”"
    assert lines[-1] == "共发现 2 个错误"


def test_english_and_json(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("validate", "--lang", "en", "--format", "json", str(bad))
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [(e["file"], e["line"], e["column"], e["code"]) for e in payload] == [
        (str(bad), 9, 17, "E-EXPR-NAME"), (str(bad), 10, 17, "E-EXPR-NAME")]
    assert payload[0]["message"] == "unknown field '志愿服务'"


def test_missing_file_exits_2(tmp_path):
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "E-FILE-NOTFOUND" in result.output


def test_several_files_report_each(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result = run("validate", JINGOU, str(bad))
    assert result.exit_code == 1
    assert "jingou.yaml：校验通过" in result.output


def test_help_has_an_example():
    result = run("validate", "--help")
    assert result.exit_code == 0 and "xiangyue validate rulesets/examples/jingou.yaml" in result.output


def test_a_value_not_allowed_lists_the_choices_in_the_language_asked(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("xiangyue: 1\nrules:\n  - id: a\n    when: 事项 == \"志愿服务\"\n    points: 1\n"
                   "    limit: {max: 3, per: mnth}\n", encoding="utf-8")
    en = run("validate", str(bad), "--lang", "en").output
    assert "must be one of: day, week, month, quarter, year, ever (or 日, 天, 周, 月" in en
    assert "、" not in en.split("must be one of", 1)[1].splitlines()[0]
    zh = run("validate", str(bad), "--lang", "zh").output
    assert "只能是：day、week、month、quarter、year、ever（或 日、天、周、月" in zh
