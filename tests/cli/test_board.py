"""``xiangyue board``, ``stars``, ``select`` and ``publish``: output, files, exit codes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.report.jsonout import loads

TESTS = Path(__file__).parent.parent
RULES = str(TESTS.parent / "rulesets" / "examples" / "jingou.yaml")
SOURCES = ["--records", str(TESTS / "boards" / "records.csv"),
           "--households", str(TESTS / "boards" / "households.csv")]


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def test_board_table():
    r = run("board", RULES, *SOURCES, "--period", "2024-Q1")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "金钩村 2024年第一季度"
    assert "     5  A06   孙六  第2网格     8" in r.stdout
    assert "     —  A07   周七    第3网格    10  一票否决" in r.stdout
    assert "     1  第1网格     16.67     3    50" in r.stdout
    assert "\x1b[" not in r.stdout  # not a terminal: no colour


def test_board_json_exact():
    r = run("board", RULES, *SOURCES, "--period", "2024-Q1", "--format", "json")
    assert r.exit_code == 0
    data = loads(r.stdout)
    assert data["period"] == "2024-Q1"
    assert [(e["rank"], e["household"]) for e in data["black"]][-2:] == [(None, "A19"), (None, "A07")]
    assert data["grids"][1] == {"rank": 2, "grid": "第2网格", "average": Decimal("7.75"),
                                "households": 4, "total": 31}


def test_board_xlsx_needs_output(tmp_path):
    r = run("board", RULES, *SOURCES, "--period", "2024-Q1", "--format", "xlsx")
    assert r.exit_code == 2
    assert "E-OUTPUT-NEEDED" in r.stderr and "--output" in r.stderr
    out = tmp_path / "b.xlsx"
    r = run("board", RULES, *SOURCES, "--period", "2024-Q1", "--format", "xlsx", "--output", str(out))
    assert r.exit_code == 0 and out.read_bytes()[:2] == b"PK"


def test_board_html_file(tmp_path):
    out = tmp_path / "n.html"
    r = run("board", RULES, *SOURCES, "--period", "2024-Q1", "--format", "html", "--output", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert "积分红黑榜" in out.read_text(encoding="utf-8")


def test_board_errors_without_traceback(tmp_path):
    r = run("board", RULES, *SOURCES, "--period", "2024-Q5")
    assert r.exit_code == 2
    assert "--period: E-PERIOD: 期间“2024-Q5”无法识别" in r.stderr
    r = run("board", RULES, *SOURCES, "--period", "2024-Q5", "--lang", "en")
    assert "period '2024-Q5' is not understood" in r.stderr
    r = run("board", RULES, "--db", str(tmp_path / "none.db"), "--period", "2024-Q1")
    assert r.exit_code == 2 and "E-STORE-MISSING" in r.stderr


def test_stars_command():
    r = run("stars", RULES, *SOURCES, "--period", "2024-Q1", "--format", "csv")
    assert r.exit_code == 0
    assert "A01,张一,第1网格,20,1,一星文明户" in r.stdout.splitlines()
    assert "A07,周七,第3网格,10,0,一票否决" in r.stdout.splitlines()


def test_select_command():
    r = run("select", RULES, "美丽庭院", *SOURCES, "--period", "2024")
    assert r.exit_code == 0
    assert "符合条件：0 户" in r.stdout
    assert '计数(事项 == "庭院检查" 且 等级 == "优") 为 1 次，需 ≥ 9；总分 为 15，需 ≥ 60' in r.stdout
    r = run("select", RULES, "美丽", *SOURCES, "--period", "2024")
    assert r.exit_code == 2 and "是不是：美丽庭院？" in r.stderr


def test_publish_list_show(tmp_path):
    db = str(tmp_path / "v.db")
    assert run("households", "import", str(TESTS / "boards" / "households.csv"), "-r", RULES,
               "--db", db).exit_code == 0
    assert run("records", "import", str(TESTS / "boards" / "records.csv"), "-r", RULES,
               "--db", db).exit_code == 0
    r = run("publish", RULES, "--period", "2024-Q1", "--db", db, "--by", "张文书",
            "--output-dir", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("已发布 2024-Q1 红黑榜第 1 版")
    # no --date: dated today, long after the quarter ended: the clerk is told (not in stdout)
    assert "2024-Q1 已于 2024-03-31 结束" in r.stderr and "--date" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "金钩村-2024-Q1-红黑榜-v1.html", "金钩村-2024-Q1-红黑榜-v1.xlsx"]
    r = run("publish", RULES, "--period", "2024-Q1", "--db", db)
    assert r.exit_code == 0
    assert r.stdout == "2024-Q1 的榜单与已发布的第 1 版相同，未发布新版本，未写入任何内容\n"
    r = run("publish", "--list", "--db", db, "--format", "json")
    assert [(p["period"], p["version"], p["published_by"]) for p in loads(r.stdout)] == [
        ("2024-Q1", 1, "张文书")]
    r = run("publish", "--show", "2024-Q1", "--db", db)
    assert r.exit_code == 0 and r.stdout.startswith("第 1 版，")
    r = run("publish", "--show", "2024-Q2", "--db", db)
    assert r.exit_code == 2 and "E-PUBLISH-NONE" in r.stderr
    r = run("publish", "--db", db)
    assert r.exit_code == 2 and "发布需要规则文件和 --period" in r.stderr


@pytest.mark.parametrize("command", ["board", "stars", "select", "publish", "redeem", "balance"])
def test_help_has_example(command):
    r = run(command, "--help", "--lang", "zh")
    assert r.exit_code == 0 and "示例" in r.stdout and "退出码" in r.stdout
    r = run(command, "--help", "--lang", "en")
    assert r.exit_code == 0 and "Example" in r.stdout and "Exit codes" in r.stdout


def test_publish_with_a_date_or_for_a_recent_period_says_nothing_of_dates(tmp_path):
    import datetime as dt

    from xiangyue.periods import period_key

    db = str(tmp_path / "v.db")
    for what in ("households", "records"):
        assert run(what, "import", str(TESTS / "boards" / f"{what}.csv"), "-r", RULES,
                   "--db", db).exit_code == 0
    r = run("publish", RULES, "--period", "2024-Q1", "--db", db, "--date", "2024-04-03")
    assert r.exit_code == 0 and "--date" not in r.stderr
    assert loads(run("publish", RULES, "--period", "2024-Q1", "--db", db, "--format",
                     "json").stdout)["warnings"] == []  # unchanged: nothing new dated
    this_month = period_key(dt.date.today(), "month")
    r = run("publish", RULES, "--period", this_month, "--db", db, "--lang", "en")
    assert r.exit_code == 0, r.output
    assert "dated today" not in r.stderr


def test_publish_json_carries_the_date_warning(tmp_path):
    db = str(tmp_path / "v.db")
    for what in ("households", "records"):
        assert run(what, "import", str(TESTS / "boards" / f"{what}.csv"), "-r", RULES,
                   "--db", db).exit_code == 0
    r = run("publish", RULES, "--period", "2024-Q1", "--db", db, "--format", "json",
            "--lang", "en")
    assert r.exit_code == 0, r.output
    [w] = loads(r.stdout)["warnings"]
    assert w["code"] == "W-PUBLISH-DATED-TODAY" and "ended on 2024-03-31" in w["message"]
