"""``xiangyue households|records|cases import``: messages, exit codes, JSON, help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.data.store import open_store

DATA = Path(__file__).parent.parent / "data"
RULES = str(DATA / "jingou.yaml")


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "v.db")


def test_records_import_summary_in_chinese_and_english(db):
    r = run("records", "import", str(DATA / "records_zh.csv"), "-r", RULES, "--db", db)
    assert r.exit_code == 0, r.output
    assert r.stdout == "已导入 4 条记录（新增 4，未变 0）\n"
    r = run("records", "import", str(DATA / "records_zh.csv"), "--ruleset", RULES, "--db", db,
            "--lang", "en")
    assert r.exit_code == 0
    assert r.stdout == "imported 4 records (0 added, 4 unchanged)\n"


def test_households_and_cases_import(db):
    r = run("households", "import", str(DATA / "households.csv"), "-r", RULES, "--db", db)
    assert (r.exit_code, r.stdout) == (0, "已导入 3 户（新增 3，未变 0）\n")
    r = run("cases", "import", str(DATA / "cases.csv"), "-r", RULES, "--db", db, "--lang", "en")
    assert (r.exit_code, r.stdout) == (0, "imported 4 case steps (4 added, 0 unchanged)\n")


def test_rule_file_from_the_environment(db):
    r = run("records", "import", str(DATA / "records.jsonl"), "--db", db,
            env={"XIANGYUE_RULESET": RULES})
    assert r.exit_code == 0, r.output
    assert "新增 2" in r.stdout


def test_without_a_rule_file_the_reference_village_columns_are_checked(db, tmp_path):
    r = run("records", "import", str(DATA / "records_zh.csv"), "--db", db, env={"XIANGYUE_RULESET": ""})
    assert r.exit_code == 0, r.output
    assert "按参考村（金钩村）规则文件的列检查" in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("记录编号,户号,日期,事项,颜色\nR1,JG001,2024-03-01,志愿服务,红\n", encoding="utf-8")
    r = run("records", "import", str(bad), "--db", db, "--strict-columns",
            env={"XIANGYUE_RULESET": ""})
    assert r.exit_code == 2 and "E-TABLE-UNKNOWN-COLUMN" in r.stderr


def test_the_database_remembers_the_rule_file(db, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text((DATA / "jingou.yaml").read_text(encoding="utf-8").replace(
        "values: [优, 良, 差]", "values: [优, 良, 差, 特优]"), encoding="utf-8")
    r = run("records", "import", str(DATA / "records_zh.csv"), "--db", db, "-r", str(rules))
    assert r.exit_code == 0, r.output
    good = tmp_path / "good.csv"
    good.write_text("记录编号,户号,日期,事项,等级\nR900,JG001,2024-03-01,庭院检查,特优\n", encoding="utf-8")
    r = run("records", "import", str(good), "--db", db, env={"XIANGYUE_RULESET": ""})
    assert r.exit_code == 0, r.output  # 特优 is allowed by the remembered rule file only
    assert "参考村" not in r.stderr


def test_errors_are_listed_with_file_row_column_and_nothing_is_written(db, tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("记录编号,户号,日期,事项,数量\nR1,001,2024/2/30,志愿服务,2\nR2,001,2024-03-01,志愿服务,两\n",
                 encoding="utf-8")
    r = run("records", "import", str(p), "-r", RULES, "--db", db)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr == (
        f"{p}:2:日期: E-TABLE-DATE-DAY: 日期“2024/2/30”不存在\n"
        "    提示: 检查月份和日期（写成 YYYY-MM-DD）\n"
        f"{p}:3:数量: E-TABLE-DECIMAL: “两”不是数字\n"
        "    提示: 写成数字，如 2、1.5 或 1,200（不带单位）\n"
    )
    with open_store(db) as s:
        assert s.count("records") == 0


def test_conflict_then_replace(db, tmp_path):
    run("records", "import", str(DATA / "records_zh.csv"), "-r", RULES, "--db", db)
    p = tmp_path / "fix.csv"
    p.write_text("记录编号,户号,日期,事项,数量,记录人,备注\nR001,001,2024-03-01,志愿服务,4,王网格,清扫村道\n",
                 encoding="utf-8")
    r = run("records", "import", str(p), "-r", RULES, "--db", db, "--lang", "en")
    assert r.exit_code == 2
    assert f"{p}:2:记录编号: E-IMPORT-CONFLICT: 记录编号 R001 already exists" in r.stderr
    r = run("records", "import", str(p), "-r", RULES, "--db", db, "--replace")
    assert (r.exit_code, r.stdout) == (0, "已导入 1 条记录（新增 0，未变 0，替换 1）\n")


def test_json_output_and_warnings(db, tmp_path):
    run("households", "import", str(DATA / "households.csv"), "-r", RULES, "--db", db)
    p = tmp_path / "r.csv"
    p.write_text("记录编号,户号,日期,事项\nR1,099,2024-03-01,志愿服务\n", encoding="utf-8")
    r = run("records", "import", str(p), "-r", RULES, "--db", db, "--format", "json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)["imported"]
    assert (out["kind"], out["rows"], out["added"], out["unchanged"], out["replaced"]) == (
        "records", 1, 1, 0, 0)
    assert [w["code"] for w in out["warnings"]] == ["W-IMPORT-UNKNOWN-HOUSEHOLD"]
    r = run("records", "import", str(p), "-r", RULES, "--db", db)
    assert "W-IMPORT-UNKNOWN-HOUSEHOLD: 警告: 户号 099 不在户籍名册中" in r.stderr


def test_json_errors(db, tmp_path):
    r = run("records", "import", str(tmp_path / "missing.csv"), "-r", RULES, "--db", db,
            "--format", "json", "--lang", "en")
    assert r.exit_code == 2
    errors = json.loads(r.stdout)["errors"]
    assert [(e["code"], e["message"]) for e in errors] == [
        ("E-TABLE-FILE-MISSING", f"file {tmp_path / 'missing.csv'} not found")]


def test_a_database_that_is_not_one_is_refused_untouched(tmp_path):
    db = tmp_path / "v.db"
    db.write_text("这不是数据库\n" * 20, encoding="utf-8")
    r = run("records", "import", str(DATA / "records_zh.csv"), "-r", RULES, "--db", str(db))
    assert r.exit_code == 2
    assert "E-STORE-NOT-DB" in r.stderr and "Traceback" not in r.output
    assert db.read_text(encoding="utf-8") == "这不是数据库\n" * 20


def test_a_bad_rule_file_exits_2(db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("xiangyue: 1\nvillage: [\n", encoding="utf-8")
    r = run("records", "import", str(DATA / "records_zh.csv"), "-r", str(bad), "--db", db)
    assert r.exit_code == 2
    assert "Traceback" not in r.output


def test_gbk_file_with_forced_encoding(db, tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes("记录编号,户号,日期,事项\nR1,001,2024-03-01,焚烧秸秆\n".encode("gbk"))
    r = run("records", "import", str(p), "-r", RULES, "--db", db, "--encoding", "gbk")
    assert r.exit_code == 0, r.output
    with open_store(db) as s:
        assert s.conn.execute("SELECT activity FROM records").fetchone() == ("焚烧秸秆",)


@pytest.mark.parametrize("group", ["households", "records", "cases"])
def test_every_command_has_help_with_an_example(group):
    for args in ([group, "--help"], [group, "import", "--help"]):
        r = run(*args, env={"XIANGYUE_LANG": "zh"})
        assert r.exit_code == 0
        assert "示例:" in r.output
        assert "Example:" in run(*args, env={"XIANGYUE_LANG": "en"}).output
        assert f"xiangyue {group} import" in r.output


def test_a_failed_import_into_a_new_database_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("记录编号,户号,日期,事项\nR1,JG001,2024-02-30,志愿服务\n", encoding="utf-8")
    db = tmp_path / "new.db"
    r = run("records", "import", str(bad), "--db", str(db))
    assert r.exit_code == 2 and "E-TABLE-DATE" in r.stderr
    assert not db.exists() and not (tmp_path / "new.db-wal").exists()
