"""The ``xiangyue`` command group.

Each module in this package that defines ``commands`` (a list of click commands or groups)
contributes them; the group holds no logic of its own.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from xiangyue import __version__

from .options import EXIT_CODES_HELP


class _Group(click.Group):
    """The command group; while a command runs, stdout and stderr are guarded
    (:class:`xiangyue.report.terminal.VisibleStream`): control characters from rule files or
    data are shown, never sent raw to the terminal."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        import sys

        from xiangyue.report.terminal import VisibleStream

        saved = sys.stdout, sys.stderr
        sys.stdout = VisibleStream(sys.stdout)  # type: ignore[assignment]
        sys.stderr = VisibleStream(sys.stderr)  # type: ignore[assignment]
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = saved


@click.group(
    cls=_Group,
    help="乡约 xiangyue：村规民约积分制、清单制规则引擎。\n\n"
    "Village points rules and checklists: validate, import, evaluate, explain, board, check, diff.\n\n"
    + EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="xiangyue")
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
