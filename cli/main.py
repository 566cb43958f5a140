"""The ``xiangyue`` command group.

Each module in this package that defines ``commands`` (a list of click commands or groups)
contributes them; the group holds no logic of its own. A command's module is imported only
when the command is used (or listed by ``--help``): :data:`COMMANDS` names the module of
each command, so ``xiangyue explain ...`` does not import what ``county`` or ``check`` need
(``tests/cli/test_lazy_commands.py`` keeps the table in step with the modules).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

import click

from xiangyue import __version__

from ._lang import install
from .options import EXIT_CODES_HELP

install()

#: command name -> the module of this package that defines it (in its ``commands``)
COMMANDS = {
    "backup": "batches", "imports": "batches",
    "board": "board", "stars": "board",
    "check": "check",
    "county": "county",
    "cases": "data", "households": "data", "records": "data",
    "diff": "diff", "show-effective": "diff",
    "demo": "evaluate", "evaluate": "evaluate", "explain": "evaluate",
    "init": "init",
    "lint": "lint",
    "balance": "market", "redeem": "market",
    "passbook": "printables", "rules-notice": "printables",
    "publish": "publish",
    "test": "ruletest",
    "select": "select",
    "template": "template",
    "validate": "validate",
}


class LazyCommands(MutableMapping):
    """The group's commands by name, each module imported the first time one of its
    commands is looked up (its help shown in the language of the run, as :func:`use` does
    for the commands already loaded)."""

    def __init__(self, modules: dict[str, str]):
        self._modules = dict(modules)
        self._loaded: dict[str, click.Command] = {}

    def _load(self, name: str) -> None:
        from ._lang import current, use

        module = importlib.import_module(f"xiangyue.cli.{self._modules[name]}")
        for command in getattr(module, "commands", []):
            if command.name in self._modules and command.name not in self._loaded:
                use(command, current())
                self._loaded[command.name] = command
        if name not in self._loaded:  # pragma: no cover - COMMANDS names a wrong module
            raise LookupError(f"xiangyue.cli.{self._modules[name]} defines no {name!r}")

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._modules:
                raise KeyError(name)
            self._load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._modules[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def loaded(self) -> list[click.Command]:
        """The commands imported so far (nothing is imported)."""
        return list(self._loaded.values())


class _Group(click.Group):
    """The command group; while a command runs, stdout and stderr are guarded
    (:class:`xiangyue.report.terminal.VisibleStream`): control characters from rule files or
    data are shown, never sent raw to the terminal."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        import sys

        from xiangyue.report.terminal import VisibleStream

        from xiangyue.i18n import default_lang

        from ._lang import language_of_args, use

        argv = kwargs.get("args", args[0] if args else None)
        use(self, language_of_args(list(argv) if argv is not None else sys.argv[1:])
            or default_lang())
        saved = sys.stdout, sys.stderr
        sys.stdout = VisibleStream(sys.stdout)  # type: ignore[assignment]
        sys.stderr = VisibleStream(sys.stderr)  # type: ignore[assignment]
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = saved


@click.group(
    cls=_Group,
    help="乡约 xiangyue：村规民约积分制、清单制规则引擎：校验规则、导入数据、计分、讲清每一分、红黑榜、公示、"
    "清单合规检查、规则对比。新村先运行 xiangyue init --village 村名。\n\n"
    "Village points rules and checklists: validate, import, evaluate, explain, board, publish, "
    "check, diff. A new village starts with xiangyue init --village NAME.\n\n"
    + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="xiangyue")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, expose_value=False,
              help="Language of the help and messages (default: the locale, else Chinese). "
              "帮助和提示的语言。")
def main() -> None:
    pass


main.commands = LazyCommands(COMMANDS)

if __name__ == "__main__":  # pragma: no cover
    main()
