"""``xiangyue check``: exit codes 0/1/2, the JSON shape, files, the database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main

CASES = Path(__file__).parent.parent / "cases" / "checklists"
RULES = str(CASES / "jingou-lists.yaml")


def run(*args: str):
    return CliRunner().invoke(main, ["check", *args], catch_exceptions=False)


def test_clean_cases_exit_0():
    result = run(RULES, "--cases", str(CASES / "clean_cases.csv"), "--as-of", "2024-06-29")
    assert result.exit_code == 0, result.output
    assert "[合规] C01  村级重大事项决策  四议两公开  修建村道  80000元" in result.output
    assert "[进行中] C06  证明开具" in result.output


def test_violations_exit_1_with_the_json_shape():
    result = run(RULES, "--cases", str(CASES / "jingou_cases.csv"), "--as-of", "2024-06-29",
                 "--format", "json")
    assert result.exit_code == 1
    out = json.loads(result.output, parse_float=Decimal)
    assert out["as_of"] == "2024-06-29"
    statuses = {c["case_id"]: c["status"] for c in out["cases"]}
    assert statuses == {"C01": "compliant", "C02": "violation", "C03": "compliant",
                        "C04": "violation", "C05": "violation", "C06": "pending",
                        "C07": "violation", "C08": "violation", "C09": "violation"}
    c02 = out["cases"][1]
    assert (c02["item"], c02["procedure"], c02["procedure_name"]) == (
        "major_decision", "four_two", "四议两公开")
    assert [(f["kind"], f["step"]) for f in c02["findings"]] == [
        ("late", "决议公开"), ("overdue", "结果公开")]
    assert c02["findings"][0]["message"] == (
        "决议公开应在决议后7日内完成（最迟 2024-05-22），实际 2024-05-23 完成，晚了1日")
    assert out["cases"][2]["amount"] == Decimal("49999.99")
    assert out["cases"][2]["procedure"] == "simple"
    assert out["summary"]["by_status"] == {"violation": 6, "pending": 1, "compliant": 2}
    assert out["summary"]["by_item"]["certificate"]["total"] == 2


def test_as_of_decides_pending_or_overdue():
    # C06 applied 2024-06-28; 出具 is due 2024-06-29.
    on_time = run(RULES, "--cases", str(CASES / "clean_cases.csv"), "--as-of", "2024-06-29")
    late = run(RULES, "--cases", str(CASES / "clean_cases.csv"), "--as-of", "2024-06-30")
    assert (on_time.exit_code, late.exit_code) == (0, 1)
    assert "已逾期1日" in late.output


def test_english():
    result = run(RULES, "--cases", str(CASES / "jingou_cases.csv"), "--as-of", "2024-06-29",
                 "--lang", "en")
    assert result.exit_code == 1
    assert "[violation] C07  修路" in result.output
    assert "- unknown item: the lists have no item “修路”" in result.output


def test_bad_case_file_exit_2_with_positions():
    result = run(RULES, "--cases", str(CASES / "disagree_cases.csv"), "--as-of", "2024-06-29")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    heads = [line for line in lines if not line.startswith(" ")]
    name = str(CASES / "disagree_cases.csv")
    assert heads == [
        f"{name}:3:金额: E-CASE-DISAGREE: 事项 C01 的金额前后不一致：第 2 行是“80000”，这一行是“85000”",
        f"{name}:4:步骤: E-CASE-STEP-TWICE: 事项 C01 的步骤“商议”记录了两次（第一次在第 3 行）",
        f"{name}:5:日期: E-TABLE-DATE-DAY: 日期“2024-13-01”不存在",
    ]
    assert "Traceback" not in result.output


def test_bad_date_exit_2():
    result = run(RULES, "--cases", str(CASES / "clean_cases.csv"), "--as-of", "2024-02-30")
    assert result.exit_code == 2
    assert "--as-of: E-AS-OF-DAY: 核对日期“2024-02-30”不存在" in result.output


def test_bad_rule_file_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("xiangyue: 1\nvillage: 金钩村\nchecklists: 5\n", encoding="utf-8")
    result = run(str(bad), "--cases", str(CASES / "clean_cases.csv"), "--as-of", "2024-06-29")
    assert result.exit_code == 2
    assert str(bad) in result.output


def test_missing_database_exit_2(tmp_path):
    result = run(RULES, "--db", str(tmp_path / "none.db"), "--as-of", "2024-06-29")
    assert result.exit_code == 2
    assert "E-STORE-MISSING" in result.output
    assert not (tmp_path / "none.db").exists()


def test_cases_from_the_database(tmp_path):
    from xiangyue.data.ingest import import_cases
    from xiangyue.rules.pipeline import load_ruleset
    from xiangyue.data.store import open_store

    db = tmp_path / "village.db"
    store = open_store(db)
    try:
        import_cases(store, CASES / "jingou_cases.csv", load_ruleset(RULES))
    finally:
        store.close()
    result = run(RULES, "--db", str(db), "--as-of", "2024-06-29", "--format", "json")
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["summary"]["by_status"] == {"violation": 6, "pending": 1, "compliant": 2}


@pytest.mark.parametrize(("fmt", "start"), [("html", "<!DOCTYPE html>"), ("csv", "事项编号,")])
def test_output_file(tmp_path, fmt, start):
    target = tmp_path / f"report.{fmt}"
    result = run(RULES, "--cases", str(CASES / "jingou_cases.csv"), "--as-of", "2024-06-29",
                 "--format", fmt, "--output", str(target))
    assert result.exit_code == 1
    assert result.output == ""
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (fmt == "csv")  # BOM so Excel reads UTF-8
    text = raw.decode("utf-8-sig")
    assert text.startswith(start)
    assert "修建村道" in text


def test_unwritable_output_exit_2(tmp_path):
    result = run(RULES, "--cases", str(CASES / "clean_cases.csv"), "--as-of", "2024-06-29",
                 "--output", str(tmp_path / "no" / "such" / "dir.txt"))
    assert result.exit_code == 2
    assert "E-OUTPUT-WRITE" in result.output


def test_help_has_an_example_and_the_exit_codes():
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    assert "xiangyue check jingou.yaml --cases cases.csv" in result.output
    assert "2  输入无法使用" in result.output and "the input" not in result.output
    english = CliRunner().invoke(main, ["check", "--help", "--lang", "en"])
    assert "2  the input could not be used" in english.output


def test_working_day_deadline_across_national_day():
    # 审批 Fri 2024-09-27: working days after it are Sun 09-29 (调休), Mon 09-30, then after
    # the 10-01..10-07 holiday Tue 10-08, Wed 10-09, Thu 10-10 -> due 2024-10-10.
    # P3: 审批 Tue 10-08 -> 10-09, 10-10, 10-11, Sat 10-12 (调休), Mon 10-14 -> due 10-14.
    rules = str(CASES / "working-days.yaml")
    cases = str(CASES / "working_cases.csv")
    result = run(rules, "--cases", cases, "--as-of", "2024-10-14", "--format", "json")
    assert result.exit_code == 1
    out = json.loads(result.output)
    got = {c["case_id"]: (c["status"], [(f["kind"], f.get("deadline")) for f in c["findings"]])
           for c in out["cases"]}
    assert got == {"P1": ("compliant", []), "P2": ("violation", [("late", "2024-10-10")]),
                   "P3": ("pending", [])}
    after = json.loads(run(rules, "--cases", cases, "--as-of", "2024-10-15", "--format",
                           "json").output)
    assert after["cases"][2]["findings"][0]["kind"] == "overdue"
    assert "5个工作日内" in after["cases"][2]["findings"][0]["message"]


def test_working_days_beyond_the_calendar_exit_2():
    result = run(str(CASES / "working-days.yaml"), "--cases", str(CASES / "working_cases_2099.csv"),
                 "--as-of", "2099-12-31")
    assert result.exit_code == 2
    assert "E-WORKDAY-RANGE: 工作日历没有 2099 年的节假日安排" in result.stderr
    assert "working_cases_2099.csv:2" in result.stderr
    assert "P9" in result.stderr
