"""The README shows what a user really sees."""

from __future__ import annotations

import os
import re
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main

ROOT = Path(__file__).parent.parent


def test_readme_validation_example_is_real_output(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```console\n\$ xiangyue validate village.yaml\n(.*?)```", readme, re.S)
    assert block, "README lost its validation example"
    (tmp_path / "village.yaml").write_bytes((Path(__file__).parent / "rulesets" / "village.yaml").read_bytes())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--lang", "zh", "village.yaml"])
    assert result.exit_code == 1
    assert result.output == block.group(1)


def test_readme_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, re.S)
    assert len(commands) == 2
    assert commands[0].endswith("xiangyue demo")
    assert commands[1].endswith(".venv/bin/pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
