"""``xiangyue diff OLD NEW``: semantic diff of two rule files (and their replay);
``xiangyue show-effective FILE``: the effective file as canonical text (git textconv)."""

from __future__ import annotations

import os
import re
import sys

import click

from xiangyue.review.diff import canonical_text, diff_rulesets, load_one, load_pair
from xiangyue.errors import XiangyueError, format_diagnostic
from xiangyue.report.diff import FORMATS, render

from .options import (handles_user_errors, lang_option, open_village, period_option, resolve_lang,
                      usage_error)

_HEX = re.compile(r"(?:[0-9a-f]{7,64}|\.)")
_MODE = re.compile(r"(?:[0-7]{6}|\.)")


def _git_tail(args: list[str]) -> int:
    """How many trailing arguments are git's (7, 9 for a rename), 0 if they do not look like
    git's: ``path old-file old-hex old-mode new-file new-hex new-mode [new-path info]``."""
    for n in (9, 7):
        tail = args[-n:]
        if len(tail) == n and _HEX.fullmatch(tail[2]) and _MODE.fullmatch(tail[3]) \
                and _HEX.fullmatch(tail[5]) and _MODE.fullmatch(tail[6]):
            return n
    return 0


class _GitDriverCommand(click.Command):
    """``diff --git-driver``: git appends its arguments, and a rule file may be called
    ``--help.yaml``; everything git passed is taken as a path, never as an option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--git-driver" in args and "--" not in args and (n := _git_tail(args)):
            args = args[:-n] + ["--"] + args[-n:]
        return super().parse_args(ctx, args)


class _TextconvCommand(click.Command):
    """``show-effective --git FILE``: git passes FILE last; it is a path even if it looks like
    an option (``--help.yaml``)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--git" in args[:-1] and "--" not in args and args[-1].startswith("-"):
            args = args[:-1] + ["--", args[-1]]
        return super().parse_args(ctx, args)


HELP = """对比两个版本的规则文件（模板合并后的实际规则）：规则、类别、上限、清单事项和步骤按编号
对应，识别改编号，忽略不影响结果的顺序调整；每处变化用一句话说明。加 --replay 时，用同一批
记录按新旧两版分别计分，列出每户的变化和红黑榜的进出。

Semantic diff of two rule files (their effective form, templates applied): rules, categories,
limits, checklist items and steps matched by id, renames detected, order ignored unless it
changes a result (rule order under `matching: first`, step order always). Each change is one
sentence; metadata (version, dates, adoption) is listed apart. With --replay, both versions are
evaluated on the same records and the change per household and on the boards is shown.

\b
Examples / 示例:
  xiangyue diff old/jingou.yaml jingou.yaml
  xiangyue diff old.yaml new.yaml --format markdown > 审查意见.md
  xiangyue diff old.yaml new.yaml --replay --records records.csv \\
      --households households.csv --period 2024-Q1

\b
As a git diff driver / 作为 git 的 diff 驱动 (docs/review.md):
  echo '*.yaml diff=xiangyue' >> .gitattributes
  git config diff.xiangyue.command 'xiangyue diff --git-driver'

\b
Exit codes / 退出码:
  0  the two files are equivalent / 两个版本等价
  1  they differ / 有变化
  2  a file is invalid or an input could not be used (errors as file:line:column)
     / 文件有错误或输入无法使用
  (--git-driver always exits 0 so git goes on / 作为 git 驱动时总是返回 0)
"""


@click.command("diff", cls=_GitDriverCommand, help=HELP)
@click.argument("files", nargs=-1, required=True)  # plain text: git passes "." for a new file's mode
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="text", show_default=True,
              help="Output format (markdown: the review memo). 输出格式。")
@click.option("--replay", "do_replay", is_flag=True,
              help="Evaluate both versions on the same records. 用实际记录按新旧两版计分对比。")
@click.option("--records", "records_path", type=click.Path(dir_okay=False), default=None,
              help="Records table (CSV/XLSX/JSONL) for --replay. 活动记录表。")
@click.option("--households", "households_path", type=click.Path(dir_okay=False), default=None,
              help="Household register for --replay. 户籍表。")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None, envvar="XIANGYUE_DB",
              help="Village database for --replay (instead of --records). 村数据库。")
@period_option(required=False)
@click.option("--git-driver", "git_driver", is_flag=True,
              help="Take git's 7 arguments (path old-file old-hex old-mode new-file new-hex new-mode); "
              "always exit 0. 作为 git diff 驱动。")
@lang_option
@handles_user_errors
def diff(files: tuple[str, ...], fmt: str, do_replay: bool, records_path: str | None,
         households_path: str | None, db_path: str | None, period: str | None, git_driver: bool,
         lang: str | None) -> None:
    lang = resolve_lang(lang)
    if git_driver:
        _git_driver(files, fmt, lang)
        sys.exit(0)
    if len(files) != 2:
        raise usage_error("give two rule files: OLD NEW / 请给出两个规则文件：旧版 新版")
    if do_replay and not period:
        raise usage_error("--replay needs --period / --replay 需要 --period")
    if do_replay and not records_path and not db_path and os.path.isfile("xiangyue.db"):
        db_path = "xiangyue.db"  # the village database in this folder, as every other command
    if do_replay and not records_path and not db_path:
        raise usage_error("--replay needs --records or --db / --replay 需要 --records 或 --db")
    old, new = load_pair(files[0], files[1])
    d = diff_rulesets(old, new)
    impact = None
    if do_replay:
        impact = open_village(new, db_path, lang, records_path=records_path,
                              households_path=households_path).replay(old, new, period)
    click.echo(render(d, fmt, impact, lang), nl=False)
    sys.exit(0 if d.equivalent else 1)


def _git_driver(args: tuple[str, ...], fmt: str, lang: str) -> None:
    """git runs ``command path old-file old-hex old-mode new-file new-hex new-mode`` (and two
    more for a rename) from the top of the work tree; a non-zero exit would stop ``git diff``,
    so every problem is printed, never returned."""
    if len(args) not in (7, 9):  # not called by git: a usage mistake
        raise usage_error(f"--git-driver takes git's 7 (or 9) arguments, got {len(args)} / "
                               f"--git-driver 需要 git 传入的 7 个（或 9 个）参数，这里是 {len(args)} 个")
    path, old_file, new_file = args[0], args[1], args[4]
    new_path = args[7] if len(args) == 9 else path
    click.echo(f"xiangyue diff a/{path} b/{new_path}")
    if old_file == os.devnull or new_file == os.devnull:
        side = new_file if old_file == os.devnull else old_file
        shown = new_path if old_file == os.devnull else path
        what = ("新文件", "new file") if old_file == os.devnull else ("已删除", "deleted")
        click.echo(f"{what[1] if lang == 'en' else what[0]}: {shown}")
        try:
            rs = load_one(side, shown, os.path.dirname(shown) or ".")
            click.echo(canonical_text(rs, lang), nl=False)
        except XiangyueError as err:
            for d in err.diagnostics:
                click.echo(format_diagnostic(d, lang))
        return
    try:
        old, new = load_pair(old_file, new_file, old_name=f"a/{path}", new_name=f"b/{new_path}",
                             base_dir=os.path.dirname(path) or ".")
    except XiangyueError as err:
        click.echo("规则文件有错误，无法对比：" if lang != "en" else "a rule file is invalid; no diff:")
        for d in err.diagnostics:
            click.echo(format_diagnostic(d, lang))
        return
    click.echo(render(diff_rulesets(old, new), fmt, None, lang), nl=False)


SHOW_HELP = """打印模板合并后的实际规则，规范格式（按编号排序、表达式统一写法），便于比较；可作为 git
的 textconv。

Print the effective rule file (templates applied) in a canonical form: items sorted by id where
order does not matter, expressions normalized. Two files `xiangyue diff` finds equivalent print
the same text, so it serves as a git textconv.

\b
Examples / 示例:
  xiangyue show-effective rulesets/examples/fenglong.yaml
  git config diff.xiangyue.textconv 'xiangyue show-effective --git'

\b
Exit codes / 退出码:
  0  printed / 已打印
  2  the file is invalid (with --git: its text is printed after the errors, exit 0)
     / 文件有错误（加 --git 时打印错误和原文，返回 0）
"""


@click.command("show-effective", cls=_TextconvCommand, help=SHOW_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--git", "git_mode", is_flag=True,
              help="textconv mode: never fail; an invalid file prints its errors as comments, then "
              "its text. 作为 git textconv 使用。")
@lang_option
@handles_user_errors
def show_effective(file: str, git_mode: bool, lang: str | None) -> None:
    from xiangyue.rules.pipeline import load_ruleset

    lang = resolve_lang(lang)
    try:
        rs = load_ruleset(file)
    except XiangyueError as err:
        if not git_mode:
            raise XiangyueError(err.diagnostics, kind="unusable") from None
        for d in err.diagnostics:
            click.echo("# " + format_diagnostic(d, lang, caret=False).replace("\n", "\n# "))
        try:
            with open(file, encoding="utf-8", errors="replace") as fh:
                click.echo(fh.read(), nl=False)
        except OSError:
            pass
        sys.exit(0)
    click.echo(canonical_text(rs, lang), nl=False)


commands = [diff, show_effective]
