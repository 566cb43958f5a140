"""``xiangyue evaluate``, ``explain`` and ``demo``: the JSON shape and exit codes."""

from __future__ import annotations

import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.data.ingest import import_households, import_records
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.store import open_store

FIXTURES = Path(__file__).parent.parent / "evaluate"
JINGOU = str(Path(__file__).parent.parent.parent / "rulesets" / "examples" / "jingou.yaml")
RECORDS = str(FIXTURES / "records.csv")
HOUSEHOLDS = str(FIXTURES / "households.csv")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def files(*extra: str):
    return run("evaluate", JINGOU, "--records", RECORDS, "--households", HOUSEHOLDS, *extra)


def test_json_shape_from_files():
    result = files("--period", "2024-Q1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output, parse_float=Decimal)
    assert data["period"] == "2024-Q1"
    assert data["ruleset"]["name"] == "金钩村积分制管理细则"
    assert data["ruleset"]["version"] == "2024.1" and len(data["ruleset"]["sha256"]) == 64
    hh = {h["household"]: h for h in data["households"]}
    assert list(hh) == ["JG001", "JG002", "JG003", "JG004"]  # every household of the register
    assert hh["JG001"]["total"] == 22 and hh["JG001"]["vetoed"] is False
    assert hh["JG001"]["by_rule"] == {"volunteer": 9, "volunteer_long": 0, "meeting": 3,
                                      "honour": 10}
    assert hh["JG002"]["by_rule"]["sorting"] == 5
    assert hh["JG003"]["total"] == -15 and hh["JG003"]["vetoed"] is True
    assert hh["JG004"]["total"] == 0 and hh["JG004"]["by_rule"] == {}
    assert data["unmatched"] == [{"record_id": "R12", "household": "JG003", "date": "2024-03-15",
                                  "activity": "志原服务", "file": RECORDS, "row": 13,
                                  "suggestions": ["志愿服务"]}]
    assert data["not_covered"] == [] and data["invalid"] == []


def test_decimal_totals_are_exact_json_numbers():
    result = files("--period", "2024-03", "--format", "json")
    assert '"total": 10' in result.output
    data = json.loads(result.output, parse_float=Decimal)
    assert data["households"][1]["by_rule"]["sorting"] == Decimal("5")
    assert '"sorting": 5' in result.output


def test_invalid_records_in_json():
    result = run("evaluate", str(FIXTURES / "lookup.yaml"), "--records",
                 str(FIXTURES / "lookup_records.csv"), "--period", "2024-03", "--format", "json",
                 "--lang", "en")
    assert result.exit_code == 0, result.output
    (bad,) = json.loads(result.output)["invalid"]
    assert (bad["record_id"], bad["row"], bad["rule"], bad["code"]) == (
        "C1", 2, "courtyard", "E-EVAL-LOOKUP")
    assert "特优" in bad["message"]


def test_table_and_csv():
    table = files("--period", "2024-Q1")
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[2].split() == ["户号", "户主", "网格", "总分", "一票否决", "得分", "扣分", "乡风文明",
                                "人居环境", "遵纪守法", "荣誉", "孝老爱亲"]
    assert lines[3].split() == ["JG001", "张大山", "第1网格", "22", "22", "0", "12", "10"]
    assert "未匹配任何规则的记录（请核对事项名称）：1 条" in table.output
    csv_out = files("--period", "2024-Q1", "--format", "csv", "--lang", "en")
    assert csv_out.output.splitlines()[0].startswith("household,head,grid,total,vetoed,volunteer,")
    assert csv_out.output.splitlines()[3].startswith("JG003,王建国,第2网格,-15,1,")
    assert csv_out.output.splitlines()[0].endswith(",earned,deducted")
    assert csv_out.output.splitlines()[3].endswith(",5,-20")  # 孝老爱亲 5; 禁渔 -20


def test_database_mode_stores_the_run(tmp_path):
    db = tmp_path / "v.db"
    rs = load_ruleset(JINGOU)
    with open_store(db) as store:
        import_households(store, HOUSEHOLDS, rs)
        import_records(store, RECORDS, rs)
    result = run("evaluate", JINGOU, "--db", str(db), "--period", "2024-Q1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [h["total"] for h in data["households"]] == [22, 10, -15, 0]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT period, record_count FROM runs").fetchall() == [("2024-Q1", 12)]
        assert conn.execute("SELECT sum(entries) FROM ledger_blocks").fetchone()[0] > 0
    again = run("evaluate", JINGOU, "--db", str(db), "--period", "2024-Q1", "--no-save")
    assert again.exit_code == 0
    explained = run("explain", JINGOU, "JG003", "--db", str(db), "--period", "2024-Q1")
    assert explained.exit_code == 0, explained.output
    assert "因违反长江禁渔（2月10日，记录 R09），2024年度一票否决" in explained.output
    assert explained.output.splitlines()[-1] == "2024年第一季度合计：-15 分（一票否决）"


def test_explain_json_and_english():
    result = run("explain", JINGOU, "JG002", "--records", RECORDS, "--households", HOUSEHOLDS,
                 "--period", "2024-03", "--format", "json", "--lang", "en")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output, parse_float=Decimal)
    assert data["total"] == 10 and data["household"] == "JG002"
    assert data["records"][1]["text"] == (
        "6 Mar 垃圾分类 ×2: by rule '垃圾分类' 1 points; this month 垃圾分类 has already given "
        "4.5, at most 5; awarded 0.5")


def test_exit_2_for_unusable_input(tmp_path):
    bad_period = files("--period", "2024-13")
    assert bad_period.exit_code == 2 and "E-PERIOD" in bad_period.output
    missing = run("evaluate", JINGOU, "--records", str(tmp_path / "nope.csv"), "--period", "2024")
    assert missing.exit_code == 2 and "E-TABLE-FILE-MISSING" in missing.output
    no_db = run("evaluate", JINGOU, "--db", str(tmp_path / "none.db"), "--period", "2024")
    assert no_db.exit_code == 2 and "E-STORE-MISSING" in no_db.output
    broken_rules = tmp_path / "broken.yaml"
    broken_rules.write_text("xiangyue: 1\nrules: 3\n", encoding="utf-8")
    assert files_with(broken_rules).exit_code == 2
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_text("记录编号,户号,日期,事项\nR1,JG001,2024-02-30,志愿服务\n", encoding="utf-8")
    bad = run("evaluate", JINGOU, "--records", str(bad_rows), "--period", "2024-Q1")
    assert bad.exit_code == 2 and "bad.csv:2" in bad.output
    unknown = run("explain", JINGOU, "JG999", "--records", RECORDS, "--households", HOUSEHOLDS,
                  "--period", "2024-Q1")
    assert unknown.exit_code == 2 and "E-EXPLAIN-HOUSEHOLD" in unknown.output
    assert "Traceback" not in bad.output + unknown.output + missing.output


def files_with(rules: Path):
    return run("evaluate", str(rules), "--records", RECORDS, "--period", "2024")


def test_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("demo")
    assert result.exit_code == 0, result.output
    # 40 steps of cases, 5 one-row cases of the recurring duties (村级事务清单)
    assert result.output.splitlines()[0] == "已将 60 户、1719 条记录、45 条清单办理记录导入 xiangyue-demo.db。"
    assert "JG060" in result.output and (tmp_path / "xiangyue-demo.db").exists()
    # the checklist report next to the points, and the boards
    assert "红榜" in result.output and "黑榜" in result.output
    assert "金钩村 清单合规检查（截至 2024-06-30）" in result.output
    # the recurring duties: Q1's 财务公开 5 days late, March's 村务公开 missed, the rest on
    # time or (Q2, June) not yet due on 2024-06-30
    grid = result.output.split("定期事项（2024-06-30 为止各期办理情况）")[1]
    assert "定期事项共 8 期：按期 4，逾期 1，漏办 1，未到期限 2" in grid
    assert re.search(r"村级事务清单  财务公开  2024  迟5 +…\n", grid)
    assert re.search(r"村级事务清单  村务公开  2024  ✓ +✓ +✗ +✓ +✓ +…\n", grid)
    assert "村务公开 2024-03：应于 2024-04-08 前完成，截至 2024-06-30 没有办理记录" in grid
    # the demo database remembers its rule file: explain needs no rule file argument
    told = run("explain", "JG001", "--period", "2024-Q1", "--db", "xiangyue-demo.db")
    assert told.exit_code == 0 and "合计" in told.output
    assert run("demo", "--period", "2024-Q2", "--lang", "en").exit_code == 0  # replaced
    with sqlite3.connect(tmp_path / "xiangyue-demo.db") as conn:
        assert conn.execute("SELECT period FROM runs").fetchall() == [("2024-Q2",)]
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1719


def test_demo_never_replaces_another_database(tmp_path):
    precious = tmp_path / "village.db"
    with open_store(precious) as store:
        import_households(store, HOUSEHOLDS, load_ruleset(JINGOU))
    result = run("demo", "--db", str(precious))
    assert result.exit_code == 2 and "E-DEMO-NOT-DEMO" in result.output
    with sqlite3.connect(precious) as conn:
        assert conn.execute("SELECT count(*) FROM households").fetchone()[0] == 4


def test_explain_without_a_rule_file_uses_the_one_the_database_remembers(tmp_path):
    from xiangyue.cli.main import main as cli_main

    runner = CliRunner()
    db = str(tmp_path / "v.db")
    root = Path(__file__).parent.parent.parent
    rules = str(root / "rulesets" / "examples" / "jingou.yaml")
    demo = root / "rulesets" / "demo"
    assert runner.invoke(cli_main, ["households", "import", str(demo / "households.csv"), "--db", db]).exit_code == 0
    assert runner.invoke(cli_main, ["records", "import", str(demo / "records.csv"), "--db", db]).exit_code == 0
    # before any evaluation the database knows no rule file
    r = runner.invoke(cli_main, ["explain", "JG001", "--period", "2024-Q1", "--db", db],
                      env={"XIANGYUE_RULESET": ""})
    assert r.exit_code == 2 and "E-RULESET-NONE" in r.output
    assert runner.invoke(cli_main, ["evaluate", rules, "--period", "2024-Q1", "--db", db]).exit_code == 0
    named = runner.invoke(cli_main, ["explain", rules, "JG001", "--period", "2024-Q1", "--db", db])
    remembered = runner.invoke(cli_main, ["explain", "JG001", "--period", "2024-Q1", "--db", db],
                               env={"XIANGYUE_RULESET": ""})
    assert remembered.exit_code == 0 and remembered.output == named.output
    assert "2024年第一季度合计" in remembered.output


def test_a_value_outside_the_allowed_values_makes_the_record_invalid_not_the_run(tmp_path):
    records = tmp_path / "r.csv"
    records.write_text("记录编号,户号,日期,事项,等级\nR1,H1,2024-03-01,庭院检查,特优\n"
                       "R2,H1,2024-03-02,志愿服务,\n", encoding="utf-8")
    register = tmp_path / "h.csv"
    register.write_text("户号,户主,网格\nH1,张三,第1网格\n", encoding="utf-8")
    root = Path(__file__).parent.parent.parent
    result = run("evaluate", str(root / "rulesets" / "examples" / "jingou.yaml"), "--records", str(records),
                 "--households", str(register), "--period", "2024-03", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(h["household"], h["total"]) for h in data["households"]] == [("H1", 2)]
    (bad,) = data["invalid"]
    assert (bad["record_id"], bad["row"], bad["code"]) == ("R1", 2, "E-EVAL-NOT-ALLOWED")
    assert bad["message"] == "“等级”的值“特优”不是规则文件允许的值（优、良、差），这条记录不计分"


def test_csv_written_to_a_file_has_a_bom_for_excel(tmp_path):
    out = tmp_path / "总分.csv"
    result = run("evaluate", JINGOU, "--records", RECORDS, "--period", "2024", "--format", "csv",
                 "--output", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "户号".encode() in data


# -- the engines agree, and say when they cannot ---------------------------------------------


def _invalid_value_files(tmp_path):
    records = tmp_path / "that.csv"
    records.write_text("record_id,household,date,activity,quantity,grade\n"
                       "V1,JG001,2024-03-02,志愿服务,2,特优\n"
                       "V2,JG001,2024-03-03,志愿服务,2,\n", encoding="utf-8")
    households = tmp_path / "hh.csv"
    households.write_text("户号,户主,网格\nJG001,张三,第1网格\n", encoding="utf-8")
    return str(records), str(households)


def test_a_value_outside_the_allowed_ones_is_invalid_under_every_engine(tmp_path):
    """The repro of the architecture issue: V1's grade 特优 is not one of 优/良/差, so V1 is
    listed as invalid and awards nothing; V2 gives 2 × 2 = 4 — whichever engine runs."""
    records, households = _invalid_value_files(tmp_path)
    seen = {}
    for engine in ("reference", "fast", "auto"):
        result = run("evaluate", JINGOU, "--records", records, "--households", households,
                     "--period", "2024-03", "--format", "json", "--engine", engine)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout, parse_float=Decimal)
        seen[engine] = data
        assert [h["total"] for h in data["households"]] == [4]
        assert [r["record_id"] for r in data["invalid"]] == ["V1"]
        assert data["invalid"][0]["code"] == "E-EVAL-NOT-ALLOWED"
    assert seen["reference"] == seen["fast"] == seen["auto"]


def test_fast_on_a_rule_file_it_cannot_compute_exits_2_and_auto_says_it_fell_back(tmp_path):
    rules = tmp_path / "half.yaml"
    rules.write_text(Path(JINGOU).read_text(encoding="utf-8").replace(
        "points: 2 × 数量", "points: 数量 ÷ 2"), encoding="utf-8")
    fast = run("evaluate", str(rules), "--records", RECORDS, "--households", HOUSEHOLDS,
               "--period", "2024-Q1", "--engine", "fast", "--lang", "en")
    assert fast.exit_code == 2
    assert "E-ENGINE-UNSUPPORTED" in fast.stderr and "division" in fast.stderr
    assert "Traceback" not in fast.output
    auto = run("evaluate", str(rules), "--records", RECORDS, "--households", HOUSEHOLDS,
               "--period", "2024-Q1", "--engine", "auto", "--lang", "en", "--format", "json")
    assert auto.exit_code == 0
    assert "reference engine was used" in auto.stderr
    ref = run("evaluate", str(rules), "--records", RECORDS, "--households", HOUSEHOLDS,
              "--period", "2024-Q1", "--engine", "reference", "--format", "json")
    assert json.loads(auto.stdout) == json.loads(ref.stdout)
