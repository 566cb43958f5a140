"""The command forms the issues spell out, exactly as written there (users' scripts rely on them).

After one ``evaluate RULESET --db`` the database remembers its rule file, so the commands the
issues show without a rule file work as written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main

ROOT = Path(__file__).parent.parent.parent
RULES = str(ROOT / "rulesets" / "examples" / "jingou.yaml")
DEMO = ROOT / "rulesets" / "demo"


@pytest.fixture()
def village(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XIANGYUE_RULESET", raising=False)
    runner = CliRunner()

    def run(*args: str, code: int | None = 0):
        result = runner.invoke(main, list(args))
        if code is not None:
            assert result.exit_code == code, (args, result.output)
        return result

    run("households", "import", str(DEMO / "households.csv"))
    run("records", "import", str(DEMO / "records.csv"))
    run("cases", "import", str(DEMO / "cases.csv"))
    run("evaluate", RULES, "--period", "2024-Q1")
    return run


def test_explain_household(village):
    assert "合计" in village("explain", "JG001", "--period", "2024-Q1").output


def test_board_json_shape(village):
    data = json.loads(village("board", RULES, "--period", "2024-Q1", "--format", "json").output)
    assert data["period"] == "2024-Q1"
    assert {"rank", "household", "total"} <= set(data["red"][0])
    assert all(isinstance(e["total"], (int, float)) for e in data["red"] + data["black"])
    assert {"rank", "grid", "average", "households"} <= set(data["grids"][0])


def test_publish_select_balance_redeem_without_a_rule_file(village):
    village("publish", "--period", "2024-Q1")
    assert "美丽庭院" in village("select", "美丽庭院", "--period", "2024").output
    before = json.loads(village("balance", "JG001", "--format", "json").output)
    available = before["balances"][0]["available"]
    village("redeem", "JG001", "soap", "--qty", "2")
    after = json.loads(village("balance", "JG001", "--format", "json").output)
    assert after["balances"][0]["available"] == available - 10
    refused = village("redeem", "JG001", "水桶", "--qty", "1000", code=1)
    assert "余额不足" in refused.output


def test_check_exit_code_says_whether_a_case_is_in_violation(village):
    result = village("check", RULES, "--as-of", "2024-06-30", "--format", "json", code=None)
    data = json.loads(result.output)
    violations = [c for c in data["cases"] if c["status"] == "violation"]
    failed = [d for d in data["duties"] if d["status"] in ("late", "missed")]
    assert result.exit_code == (1 if violations or failed else 0)
    assert set(data) >= {"as_of", "cases", "duties", "summary"}
    # the reference village's recurring duties (村级事务清单), as of 2024-06-30
    assert {"item", "name", "list", "period", "due", "status", "date", "days_late"} <= set(data["duties"][0])
    got = {(d["name"], d["period"]): (d["status"], d["days_late"]) for d in data["duties"]}
    assert got[("财务公开", "2024-Q1")] == ("late", 5) and got[("村务公开", "2024-03")] == ("missed", None)
    assert data["summary"]["duties"]["late"] == 1 and data["summary"]["duties"]["missed"] == 1
