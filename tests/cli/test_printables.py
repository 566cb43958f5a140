"""Printables: 积分存折 (passbook), 积分细则 public table, star and selection notices, receipts."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.report.jsonout import loads
from xiangyue.data.store import open_store
from xiangyue.points.ledger import read_ledger

ROOT = Path(__file__).parent.parent.parent
JINGOU = str(ROOT / "rulesets" / "examples" / "jingou.yaml")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("printables") / "demo.db")
    assert run("demo", "--db", path).exit_code == 0
    r = run("redeem", JINGOU, "JG001", "肥皂", "--qty", "2", "--date", "2024-03-25", "--db", path,
            "--id", "D1")
    assert r.exit_code == 0, r.output
    run("redeem", JINGOU, "JG001", "肥皂", "--date", "2024-04-02", "--db", path, "--id", "D2")
    return path


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_passbook_json_is_the_ledger_and_the_redemptions(db):
    r = run("passbook", "JG001", "--period", "2024-Q1", "--format", "json", "--db", db,
            "--date", "2024-06-30")
    assert r.exit_code == 0, r.output
    book = loads(r.stdout)
    conn = sqlite3.connect(db)
    run_id = conn.execute("SELECT run_id FROM runs WHERE period = '2024-Q1'").fetchone()[0]
    with open_store(db) as store:
        held = [(e["record_id"], e["rule"], e["awarded"])
                for e in read_ledger(store, run_id, household="JG001")]
    assert [(e["record_id"], e["rule"], Decimal(str(e["awarded"]))) for e in book["records"]] == [
        (rid, rule, Decimal(a)) for rid, rule, a in held]
    # redemptions of the period only: D1 (March), not D2 (April)
    assert [x["redemption_id"] for x in book["redemptions"]] == ["D1"]
    lines = book["lines"]
    assert [ln["kind"] for ln in lines].count("redemption") == 1
    assert lines[-1]["balance"] == book["closing"] == book["opening"] + book["earned"] - book["spent"]
    assert book["spent"] == 10
    # the balance is the balance command's
    bal = loads(run("balance", "JG001", "--date", "2024-06-30", "--format", "json", "--db",
                    db).stdout)["balances"][0]
    assert book["balance_detail"] == bal and book["balance"] == bal["available"]
    plain = loads(run("balance", "JG001", "--format", "json", "--db", db).stdout)["balances"][0]
    today = loads(run("passbook", "JG001", "--period", "2024-Q1", "--format", "json", "--db",
                      db).stdout)
    assert today["balance"] == plain["available"]  # both as of today by default


def test_passbook_running_balance_and_reasons(db):
    r = run("passbook", "JG001", "--period", "2024-Q1", "--db", db)
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("金钩村 积分存折 2024年第一季度\n")
    assert "封顶 10 分，实得 6 分" in r.stdout  # the capped record, in plain words
    assert "肥皂 × 2" in r.stdout


def test_passbook_all_is_one_page_per_household_or_more(db, tmp_path):
    out = tmp_path / "all.pdf"
    r = run("passbook", "--all", "--period", "2024-Q1", "--format", "pdf", "--output", str(out),
            "--db", db)
    assert r.exit_code == 0, r.output
    assert pages(out.read_bytes()) >= 60  # 60 households, each from a new page
    html = run("passbook", "--all", "--period", "2024-Q1", "--format", "html", "--db", db).stdout
    assert html.count('<section class="page">') == 60


def test_passbook_unknown_household(db):
    r = run("passbook", "JG999", "--period", "2024-Q1", "--db", db)
    assert r.exit_code == 2 and "JG999" in r.stderr


def test_rules_notice_lists_every_rule_with_limits_in_words(tmp_path):
    r = run("rules-notice", JINGOU, "--format", "html")
    assert r.exit_code == 0, r.output
    html = r.stdout
    assert "金钩村 积分细则" in html and "每月最多得 10 分" in html
    assert "一票否决（当年）" in html and "焚烧秸秆" in html
    assert html.count("<tr>") >= 15
    out = tmp_path / "rules.pdf"
    assert run("rules-notice", JINGOU, "--format", "pdf", "--output", str(out)).exit_code == 0
    assert pages(out.read_bytes()) == 1


def test_stars_and_select_notices(db, tmp_path):
    out = tmp_path / "stars.pdf"
    r = run("stars", JINGOU, "--period", "2024", "--db", db, "--format", "pdf", "--output", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:5] == b"%PDF-"
    html = run("stars", JINGOU, "--period", "2024", "--db", db, "--format", "html").stdout
    assert "星级文明户评定公示" in html and "★" in html
    sel = run("select", JINGOU, "美丽庭院", "--period", "2024", "--db", db, "--format", "html")
    assert sel.exit_code == 0, sel.output
    assert "美丽庭院评选结果公示" in sel.stdout and "评选条件" in sel.stdout
    r = run("select", JINGOU, "美丽庭院", "--period", "2024", "--db", db, "--format", "pdf")
    assert r.exit_code == 2 and "--output" in r.stderr  # a PDF goes to a file


def test_redeem_receipt(db, tmp_path):
    out = tmp_path / "凭证.html"
    r = run("redeem", JINGOU, "JG002", "肥皂", "--date", "2024-03-30", "--db", db, "--id", "R9",
            "--receipt", str(out))
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "积分超市兑换凭证" in html and "R9" in html and "肥皂" in html and "兑换后余额" in html
    pdf = tmp_path / "凭证.pdf"
    r = run("redeem", JINGOU, "JG002", "肥皂", "--date", "2024-03-30", "--db", db, "--id", "R10",
            "--receipt", str(pdf))
    assert r.exit_code == 0 and pages(pdf.read_bytes()) == 1


def test_compliance_report_as_pdf(db, tmp_path):
    out = tmp_path / "清单.pdf"
    r = run("check", "--db", db, "--as-of", "2024-06-30", "--format", "pdf", "--output", str(out))
    assert r.exit_code == 1, r.output  # the demo has violations
    pdf = out.read_bytes()
    assert pdf[:5] == b"%PDF-" and pages(pdf) >= 1 and b"FontFile" in pdf


def test_a_voided_redemption_shows_and_gives_its_points_back(tmp_path):
    db = str(tmp_path / "v.db")
    assert run("demo", "--db", db).exit_code == 0
    run("redeem", JINGOU, "JG003", "肥皂", "--date", "2024-03-20", "--db", db, "--id", "V1")
    r = run("redeem", "--void", "V1", "--note", "录错了", "--db", db)
    assert r.exit_code == 0, r.output
    book = loads(run("passbook", "JG003", "--period", "2024-Q1", "--format", "json", "--db",
                     db, "--date", "2024-06-30").stdout)
    kinds = [(ln["kind"], ln["points"]) for ln in book["lines"] if ln["ref"] == "V1"]
    assert kinds == [("redemption", -5), ("void", 5)]
    assert book["spent"] == 0 and book["redemptions"][0]["voided"] is True
    bal = loads(run("balance", "JG003", "--date", "2024-06-30", "--format", "json", "--db",
                    db).stdout)["balances"][0]
    assert book["balance"] == bal["available"] and bal["spent"] == 0


def test_passbook_names_the_year_of_the_veto(db):
    # the balance line above it is "as of today"; the veto belongs to the period's year
    vetoed = [h["household"] for h in loads(run("evaluate", JINGOU, "--period", "2024-Q1",
                                                "--format", "json", "--db", db).stdout)["households"]
              if h["vetoed"]]
    assert vetoed
    r = run("passbook", vetoed[0], "--period", "2024-Q1", "--db", db)
    assert "2024年度被一票否决" in r.stdout and "本年度" not in r.stdout
    r = run("passbook", vetoed[0], "--period", "2024-Q1", "--db", db, "--lang", "en")
    assert "vetoed (一票否决) for the year 2024" in r.stdout
