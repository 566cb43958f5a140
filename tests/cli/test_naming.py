"""One way to name things: the rule file optional first argument (remembered by the database),
--date and --as-of both accepted where a command reads "as of a day"."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main

ROOT = Path(__file__).parent.parent.parent
JINGOU = str(ROOT / "rulesets" / "examples" / "jingou.yaml")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_rule_file_remembered_and_dates_named_alike(tmp_path):
    db = str(tmp_path / "demo.db")
    assert run("demo", "--db", db).exit_code == 0  # remembers jingou.yaml
    with_file = run("evaluate", JINGOU, "--period", "2024-Q1", "--db", db, "--format", "json")
    without = run("evaluate", "--period", "2024-Q1", "--db", db, "--format", "json")
    assert without.exit_code == 0 and without.stdout == with_file.stdout
    a = run("check", "--db", db, "--as-of", "2024-06-30", "--format", "json")
    b = run("check", JINGOU, "--db", db, "--date", "2024-06-30", "--format", "json")
    assert a.exit_code == b.exit_code and a.stdout == b.stdout
    c = run("balance", "JG001", "--db", db, "--as-of", "2024-03-31", "--format", "json")
    d = run("balance", "JG001", "--db", db, "--date", "2024-03-31", "--format", "json")
    assert c.exit_code == 0 and c.stdout == d.stdout
