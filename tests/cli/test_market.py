"""``xiangyue redeem`` and ``xiangyue balance``: messages, exit codes 0/1/2, JSON; and the shared
terminal helpers (width, colour rules, progress bar)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.report.jsonout import loads
from xiangyue.report.terminal import Progress, color_enabled, pad, style, table, text_width

TESTS = Path(__file__).parent.parent
RULES = str(TESTS.parent / "rulesets" / "examples" / "jingou.yaml")


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "v.db")
    for kind, name in (("households", "households.csv"), ("records", "records.csv")):
        assert run(kind, "import", str(TESTS / "boards" / name), "-r", RULES, "--db", path
                   ).exit_code == 0
    return path


def test_redeem_then_refuse(db):
    r = run("redeem", RULES, "A01", "肥皂", "--qty", "2", "--date", "2024-04-03", "--id", "X1",
            "--db", db)
    assert r.exit_code == 0, r.output
    assert r.stdout == ("已兑换：A01 肥皂 × 2，共 10 分（2024-04-03，编号 X1）；余额 20 → 10 分\n")
    r = run("redeem", RULES, "A01", "水桶", "--date", "2024-04-03", "--db", db)
    assert r.exit_code == 1
    assert "E-MARKET-BALANCE: 余额不足：可用 10 分，需要 20 分" in r.stderr
    assert "提示: 户 A01：已得 20 分，已兑换 10 分（累计）" in r.stderr
    r = run("redeem", RULES, "A01", "bucket", "--date", "2024-04-03", "--db", db, "--lang", "en")
    assert "balance too low: 10 points available, 20 needed" in r.stderr
    r = run("redeem", RULES, "A01", "肥皂", "--qty", "2", "--date", "2024-04-03", "--id", "X1",
            "--db", db)
    assert r.exit_code == 0 and "已记录过，未重复记录" in r.stdout


def test_redeem_refusals_and_input_errors(db):
    r = run("redeem", RULES, "A07", "肥皂", "--date", "2024-04-03", "--db", db)
    assert r.exit_code == 1 and "E-MARKET-VETOED" in r.stderr
    r = run("redeem", RULES, "A08", "肥皂", "--date", "2024-04-03", "--db", db)
    assert r.exit_code == 1 and "低于兑换门槛 0 分" in r.stderr
    r = run("redeem", RULES, "A011", "肥皂", "--db", db)
    assert r.exit_code == 2 and "户号“A011”不在户籍名册中" in r.stderr and "A01" in r.stderr
    r = run("redeem", RULES, "A01", "香皂", "--db", db)
    assert r.exit_code == 2 and "积分超市没有商品“香皂”" in r.stderr
    r = run("redeem", RULES, "A01", "肥皂", "--date", "2024-02-30", "--db", db)
    assert r.exit_code == 2 and "E-MARKET-DATE" in r.stderr
    r = run("redeem", RULES, "A01", "--db", db)
    assert r.exit_code == 2 and "需要户号和商品" in r.stderr
    assert "Traceback" not in r.output


def test_redeem_file_and_balance(db, tmp_path):
    f = tmp_path / "兑换.csv"
    f.write_text("兑换编号,户号,商品,数量,日期\nB1,A01,肥皂,1,2024-04-03\nB2,A02,水桶,1,2024-04-05\n",
                 encoding="utf-8")
    r = run("redeem", RULES, "--file", str(f), "--db", db)
    assert r.exit_code == 0 and r.stdout == "已导入 2 条兑换记录（新增 2，未变 0）\n"
    r = run("redeem", RULES, "--file", str(f), "--db", db)
    assert r.stdout == "已导入 2 条兑换记录（新增 0，未变 2）\n"
    r = run("balance", RULES, "A02", "--date", "2024-04-30", "--db", db, "--format", "json")
    data = loads(r.stdout)
    assert data["balances"] == [{"household": "A02", "head": "王二", "earned": 35, "spent": 20,
                                 "available": 15, "as_of": "2024-04-30", "carry_over": "keep",
                                 "may_redeem": True}]
    r = run("balance", RULES, "--date", "2024-04-30", "--db", db)
    assert r.exit_code == 0
    assert "金钩村 积分余额（截至 2024-04-30，累计不清零）" in r.stdout
    assert "A01   张一      20       5    15  可" in r.stdout
    r = run("balance", RULES, "Z9", "--db", db)
    assert r.exit_code == 2 and "E-MARKET-HOUSEHOLD" in r.stderr


# -- terminal helpers -------------------------------------------------------------------------

def test_width_and_alignment():
    assert text_width("A01") == 3 and text_width("张一") == 4 and text_width("ｘ") == 2
    assert pad("张", 4) == "张  " and pad("5", 3, right=True) == "  5"
    out = table(["户号", "积分"], [["A1", "5"], ["张一家", "-13.5"]], right={1})
    assert out.splitlines() == ["户号     积分", "──────  ─────", "A1          5", "张一家  -13.5"]


def test_colour_rules(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert color_enabled(Tty()) is True
    assert color_enabled(io.StringIO()) is False  # piped
    monkeypatch.setenv("NO_COLOR", "1")
    assert color_enabled(Tty()) is False
    assert style("x", "red", enabled=False) == "x"
    assert style("x", "red", "bold") == "\x1b[31;1mx\x1b[0m"
    # colour codes never change the alignment
    plain = table(["a"], [["张"]])
    coloured = table(["a"], [["张"]], row_styles=[("red",)], color=True)
    assert coloured.replace("\x1b[31m", "").replace("\x1b[1m", "").replace("\x1b[0m", "") == plain


def test_progress_only_after_a_second_on_a_terminal(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("XIANGYUE_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    now = [0.0]
    tty = Tty()
    with Progress(10, "计算", stream=tty, clock=lambda: now[0]) as bar:
        bar.advance(3)
        assert tty.getvalue() == ""  # under a second: nothing drawn
        now[0] = 1.5
        bar.advance(2)
        assert "计算" in tty.getvalue() and "5/10" in tty.getvalue()
    assert tty.getvalue().endswith("\r")  # cleared when done
    piped = io.StringIO()
    now[0] = 0.0
    with Progress(10, "计算", stream=piped, clock=lambda: now[0]) as bar:
        now[0] = 5.0
        bar.advance(10)
    assert piped.getvalue() == ""
