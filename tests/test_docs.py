"""Documentation that must stay in step with the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from xiangyue.cli.main import main

ROOT = Path(__file__).parent.parent


def test_every_diagnostic_code_is_documented():
    generated = subprocess.run([sys.executable, str(ROOT / "docs" / "make_errors.py"), "--print"],
                               capture_output=True, text=True, check=True).stdout
    committed = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert committed == generated, "run: python docs/make_errors.py"


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    for name, command in sorted(main.commands.items()):
        subcommands = getattr(command, "commands", None)
        for sub in ([f"{name} {s}" for s in subcommands] if subcommands else [name]):
            result = runner.invoke(main, [*sub.split(), "--help", "--lang", "en"])
            assert result.exit_code == 0, sub
            body = result.output.split("Options:", 1)[0]
            assert "Example" in body and f"xiangyue {sub}" in body.split("Example", 1)[1], \
                f"{sub}: its help has no example"


def test_the_chinese_tutorial_file_validates_and_passes_its_examples(tmp_path):
    import re

    text = (ROOT / "docs" / "zh" / "tutorial.md").read_text(encoding="utf-8")
    assert "xiangyue init" in text.split("## 第 2 步", 1)[0]  # it starts from init
    full = text.split("## 完整的规则文件", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", full, re.S).group(1)
    rules = tmp_path / "青石村.yaml"
    rules.write_text(block, encoding="utf-8")
    from xiangyue.rules.pipeline import load_ruleset

    assert len(load_ruleset(rules).rules) == 10
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(rules)]).exit_code == 0
    tested = runner.invoke(main, ["test", str(rules)])
    assert tested.exit_code == 0, tested.output
    # every step's snippets are parts of the full file
    for snippet in re.findall(r"```yaml\n(.*?)```", text.split("## 完整的规则文件", 1)[0], re.S):
        first = snippet.strip().splitlines()[0]
        assert first in block, first
