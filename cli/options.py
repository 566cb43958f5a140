"""Options shared by several commands, and the one place user errors become exit codes."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import click

from xiangyue.errors import XiangyueError, format_diagnostic

#: The one table from an error's kind to the exit code (see xiangyue.errors.XiangyueError).
EXIT_CODES = {"errors": 1, "refused": 1, "unusable": 2}

EXIT_CODES_HELP = ("退出码：0 正常，1 发现问题（错误、违规、差异），2 输入无法使用。\n\n"
                   "Exit codes: 0 ok, 1 problems found (errors, violations, differences), "
                   "2 input could not be used.")


def lang_option(f: Callable) -> Callable:
    return click.option(
        "--lang",
        type=click.Choice(["zh", "en"]),
        default=None,
        help="Message language (default: from the locale, else Chinese). 输出语言。",
    )(f)


def db_option(f: Callable) -> Callable:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False),
        default="xiangyue.db",
        show_default=True,
        envvar="XIANGYUE_DB",
        help="The village database file. 村数据库文件。",
    )(f)


def period_option(required: bool = True) -> Callable:
    return click.option(
        "--period",
        required=required,
        help="Period: 2024-03 (month), 2024-Q1 (quarter) or 2024 (year). "
        "期间：2024-03、2024-Q1、2024，也可写 2024年3月、2024年第一季度、2024年度。",
    )


def format_option(*choices: str, default: str | None = None) -> Callable:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default or choices[0],
        show_default=True,
        help="Output format. 输出格式。",
    )


def usage_error(both: str) -> click.UsageError:
    """A usage mistake written ``English / 中文``, shown in the language of this run only."""
    en, sep, zh = both.rpartition(" / ")
    if not sep:
        return click.UsageError(both)
    from ._lang import current
    return click.UsageError(en if current() == "en" else zh)


def resolve_lang(lang: str | None) -> str:
    """The command's --lang, else the language chosen for the run (``xiangyue --lang en ...``
    or the locale)."""
    from ._lang import current

    return lang or current()


def print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def report_errors(err: XiangyueError, lang: str, fmt: str = "text") -> None:
    """Print a user error's diagnostics (to stderr as text, or to stdout as JSON)."""
    if fmt == "json":
        print_json({"errors": [d.to_json(lang) for d in err.diagnostics]})
        return
    for d in err.diagnostics:
        click.echo(format_diagnostic(d, lang), err=True)


def handles_user_errors(f: Callable) -> Callable:
    """Turn :class:`XiangyueError` into its diagnostics and exit code; never a traceback.

    The wrapped command must take ``lang`` (and may take ``fmt``) keyword arguments.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        lang = resolve_lang(kwargs.get("lang"))
        try:
            return f(*args, **kwargs)
        except XiangyueError as err:
            fmt = kwargs.get("fmt") or "text"
            report_errors(err, lang, "json" if fmt == "json" else "text")
            sys.exit(EXIT_CODES[err.kind])

    return wrapper


def ruleset_option(f: Callable) -> Callable:
    return click.option(
        "--ruleset",
        "-r",
        "ruleset_opt",
        type=click.Path(dir_okay=False),
        default=None,
        help="The rule file, when not given as the first argument (default: XIANGYUE_RULESET, "
        "else the rule file the database was last used with). 规则文件；默认用数据库记住的规则文件。",
    )(f)


def split_ruleset(args: tuple[str, ...], max_rest: int, ruleset_opt: str | None,
                  db_path: str | None) -> tuple[str, list[str]]:
    """``[RULESET] REST...``: the rule file named first (a ``.yaml`` file, or one argument more
    than the command otherwise takes), else the one from ``--ruleset``, the environment or the
    database (:func:`xiangyue.data.workspace.resolve_ruleset_path`)."""
    from xiangyue.data.workspace import resolve_ruleset_path

    if args and (len(args) > max_rest or args[0].lower().endswith((".yaml", ".yml"))):
        if len(args) > max_rest + 1:
            raise usage_error(f"too many arguments: {' '.join(args)} / 参数太多：{' '.join(args)}")
        return args[0], list(args[1:])
    return resolve_ruleset_path(ruleset_opt, db_path), list(args)


def emit(data: str | bytes, fmt: str, output: str | None) -> None:
    """Write a rendered report to ``output``, or print it (a binary format needs ``output``)."""
    from xiangyue.report.output import check_printable, write_output

    if output:
        write_output(data, output, fmt)
        return
    check_printable(data, fmt)
    click.echo(data, nl=False)


def waiting_note(lang: str | None) -> Callable[[], None]:
    """What a command says (stderr) when storing its result waits for another program
    writing to the database (an import): it waits, it does not fail."""

    def note() -> None:
        from xiangyue.i18n import text

        click.echo(text("数据库正被另一个程序写入（例如导入），等它完成后保存本次结果……",
                        "the database is being written by another program (an import?); "
                        "waiting for it to finish to store this result ...",
                        resolve_lang(lang)), err=True)

    return note


def open_village(ruleset: str | None, db_path: str | None, lang: str | None, *,
                 records_path: str | None = None, households_path: str | None = None,
                 engine: str = "auto") -> Any:
    """The :class:`xiangyue.Village` a command works on (the one door of every job)."""
    from xiangyue.village import Village

    return Village(db_path, ruleset, records=records_path, households=households_path,
                   engine=engine, on_wait=waiting_note(lang))


def progress_bar(records: Any) -> Any:
    """A bar on a terminal (stderr) while records are read one by one, if that takes long."""
    from xiangyue.report.terminal import progress

    return progress(records, label="读取记录 records")


def say_columns_ruleset(path: str, how: str, lang: str, doing_zh: str, doing_en: str) -> None:
    """Tell the user (stderr) which rule file an import or an import form follows when none
    was named (:func:`xiangyue.data.workspace.columns_ruleset`)."""
    import os

    from xiangyue.i18n import text

    if how == "folder":
        name = os.path.basename(path)
        click.echo(text(f"未指定规则文件，按当前文件夹的规则文件 {name} {doing_zh}。",
                        f"No rule file given: {doing_en} this folder's rule file {name}.", lang),
                   err=True)
    elif how == "reference":
        click.echo(text(f"未指定规则文件，按参考村（金钩村）规则文件{doing_zh}。",
                        f"No rule file given: {doing_en} the reference village (金钩村).", lang),
                   err=True)
