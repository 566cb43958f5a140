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
