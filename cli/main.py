"""The ``xiangyue`` command group.

Each module in this package that defines ``commands`` (a list of click commands or groups)
contributes them; the group holds no logic of its own.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from xiangyue import __version__

from ._lang import install
from .options import EXIT_CODES_HELP

install()


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


def _register() -> None:
    import xiangyue.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name in {"main", "options"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"xiangyue.cli.{info.name}")
        for command in getattr(module, "commands", []):
            main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
