"""``xiangyue lint``: exit codes 0/1/2, text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main

ROOT = Path(__file__).parent.parent.parent
POLICY = str(ROOT / "rulesets" / "policies" / "jiangyang-county.policy.yaml")
JINGOU = str(ROOT / "rulesets" / "examples" / "jingou.yaml")
FENGLONG = str(ROOT / "rulesets" / "examples" / "fenglong.yaml")


def run(*args: str):
    return CliRunner().invoke(main, ["lint", *args])


def test_findings_exit_1_with_rule_and_policy_lines():
    result = run("--policy", POLICY, JINGOU)
    assert result.exit_code == 1
    line = next(x for x in result.stdout.splitlines() if "L-MAX-POINTS" in x)
    assert line.startswith(f"{JINGOU}:119:5: L-MAX-POINTS: 规则 honour（获得表彰）")
    assert line.endswith(f"（违反县级规定 {POLICY}:7 max_points: 20）")
    assert f"{JINGOU}：6 处不符合审查要点" in result.stdout


def test_clean_file_exit_0(tmp_path):
    policy = tmp_path / "p.policy.yaml"
    policy.write_text("xiangyue_policy: 1\nmax_points: 30\nforbidden: [上访]\n", encoding="utf-8")
    result = run("--policy", str(policy), JINGOU, "--lang", "en")
    assert result.exit_code == 0
    assert result.stdout == f"{JINGOU}: meets the policy\n"


def test_json():
    result = run("--policy", POLICY, JINGOU, FENGLONG, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["findings"] == 7
    fenglong = data["files"][1]
    assert fenglong["file"] == FENGLONG
    [finding] = fenglong["findings"]
    assert finding["code"] == "L-MONTHLY-DEDUCTION"
    assert finding["policy"] == f"{POLICY}:17 max_monthly_deduction: 60"


def test_invalid_policy_exit_2(tmp_path):
    policy = tmp_path / "p.policy.yaml"
    policy.write_text("xiangyue_policy: 2\nmax_points: 二十\n", encoding="utf-8")
    result = run("--policy", str(policy), JINGOU)
    assert result.exit_code == 2
    assert f"{policy}:1:" in result.stderr and f"{policy}:2:" in result.stderr
    assert result.stdout == ""


def test_help_has_an_example_and_the_exit_codes():
    text = run("--help", "--lang", "en").output
    assert "Example" in text and "Exit codes" in text
    assert "退出码" in run("--help", "--lang", "zh").output
