"""The command group imports a command's module only when the command is used: the table of
commands (``xiangyue.cli.main.COMMANDS``) lists every command each module defines, every
module imports cleanly, and ``--help`` still lists every command in either language."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click
from click.testing import CliRunner

import xiangyue.cli as pkg
from xiangyue.cli.main import COMMANDS, main


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)
                  if m.name not in ("main", "options") and not m.name.startswith("_"))


def test_the_table_names_every_command_of_every_module_and_nothing_else():
    defined = {}
    for name in _modules():
        module = importlib.import_module(f"xiangyue.cli.{name}")  # imports cleanly
        for command in getattr(module, "commands", []):
            assert isinstance(command, click.Command), (name, command)
            defined[command.name] = name
    assert defined == COMMANDS


def test_every_command_is_found_by_name_and_listed():
    assert sorted(main.commands) == sorted(COMMANDS)
    for name, module in COMMANDS.items():
        command = main.commands[name]
        assert command.name == name and command.callback.__module__ == f"xiangyue.cli.{module}"
    assert "no-such-command" not in main.commands


def test_help_lists_every_command_with_its_short_help_in_both_languages():
    for lang, env in (("zh", {"XIANGYUE_LANG": "zh"}), ("en", {"XIANGYUE_LANG": "en"})):
        out = CliRunner().invoke(main, ["--help"], env=env).output
        listed = out.split("命令:" if lang == "zh" else "Commands:", 1)[1]
        for name in COMMANDS:
            line = next((line for line in listed.splitlines()
                         if line.strip().split(" ", 1)[0] == name), None)
            assert line is not None and len(line.split()) > 1, (lang, name)
    assert "红黑榜" in CliRunner().invoke(main, ["--help"], env={"XIANGYUE_LANG": "zh"}).output
    en = CliRunner().invoke(main, ["--lang", "en", "--help"]).output
    assert "red" in en.lower() and "红黑榜" not in en.split("Commands:", 1)[1]


def _imported(*args: str) -> set[str]:
    """The modules a fresh process has imported after importing the group and running
    ``xiangyue ARGS`` (the help of a command: nothing is computed)."""
    code = ("import sys\nfrom xiangyue.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    return set(done.stderr.split())


def test_a_command_imports_its_own_module_and_no_heavy_library_it_does_not_use():
    heavy = {"numpy", "pyarrow", "sqlite_utils", "openpyxl", "fpdf", "jsonschema", "dask",
             "lark", "yaml"}
    loaded = _imported("explain", "--help")
    assert "xiangyue.cli.evaluate" in loaded
    assert not {"xiangyue.cli.county", "xiangyue.cli.check", "xiangyue.cli.data"} & loaded
    assert not heavy & loaded, heavy & loaded
    # --help imports every command's module, none of the libraries a command's work needs
    assert not (heavy - {"yaml"}) & _imported("--help")
    for command in ("board", "publish", "explain", "evaluate"):
        assert not {"numpy", "pyarrow", "sqlite_utils", "openpyxl", "fpdf", "dask"} & \
            _imported(command, "--help"), command
