"""``xiangyue test``: exit codes 0/1/2, text and JSON, coverage."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main

ROOT = Path(__file__).parent.parent.parent
JINGOU = str(ROOT / "rulesets" / "examples" / "jingou.yaml")
FENGLONG = str(ROOT / "rulesets" / "examples" / "fenglong.yaml")


def run(*args: str):
    return CliRunner().invoke(main, ["test", *args])


def test_reference_file_passes_with_full_coverage():
    result = run(JINGOU, "--require-coverage")
    assert result.exit_code == 0, result.output
    assert f"{JINGOU} 覆盖情况：规则 13/13，上限起作用 9/9\n" in result.stdout
    assert "个未通过" in result.stdout and "0 个未通过" in result.stdout


def test_incomplete_coverage_fails_only_when_required():
    assert run(FENGLONG).exit_code == 0
    result = run(FENGLONG, "--require-coverage", "--lang", "en")
    assert result.exit_code == 1
    assert "rules no example exercises: labour, courtyard, litter, straw, fishing, frugal" in result.stdout


def test_failing_example_exit_1(tmp_path):
    text = Path(JINGOU).read_text(encoding="utf-8").replace("totals: {H1: 10, H2: 15, H3: 20, H4: 30}",
                                                            "totals: {H1: 10, H2: 16, H3: 20, H4: 30}")
    path = tmp_path / "jingou.yaml"
    path.write_text(text, encoding="utf-8")
    result = run(str(path), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    [failed] = [e for e in data["examples"] if not e["passed"]]
    assert failed["name"] == "获得表彰按级别计分"
    assert failed["failures"][0]["check"] == "totals.H2"
    assert (failed["failures"][0]["expected"], failed["failures"][0]["actual"]) == (16, 15)
    assert data["summary"]["failed"] == 1


def test_invalid_example_exit_2(tmp_path):
    path = tmp_path / "x.test.yaml"
    path.write_text(f"ruleset: {JINGOU}\nexamples:\n  - name: 坏\n    records: [{{户号: H1, 日期: 2024-3-1}}]\n"
                    "    expect: {}\n", encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 2
    assert f"{path}:4:" in result.stderr and "E-TEST-CELL" in result.stderr


def test_help_has_an_example_and_the_exit_codes():
    text = run("--help", "--lang", "en").output
    assert "Example" in text and "Exit codes" in text
    assert "退出码" in run("--help", "--lang", "zh").output
