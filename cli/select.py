"""``xiangyue select``: who qualifies for a selection (评选, e.g. 美丽庭院), and why the others
do not."""

from __future__ import annotations

import click

from xiangyue.report.terminal import color_enabled
from xiangyue.points.selections import render_selection

from .board import _sources
from .options import (usage_error, emit,
    format_option,
    handles_user_errors,
    lang_option,
    open_village,
    period_option,
    progress_bar,
    resolve_lang,
    ruleset_option,
    split_ruleset,
)

HELP = """评选：列出符合评选条件的农户，以及其他农户不符合的原因（哪一条、实际是多少）。

Run a selection declared in the rule file (`selections:`, by id or name) for a period of its
kind (per: year → --period 2024): every household of the register is checked against every
criterion; the qualified are listed by total, the others with each failed criterion and the
actual value ("计数(事项 == "庭院检查" 且 等级 == "优") 为 8 次，需 ≥ 9"). With no_veto, a
household vetoed in the period does not qualify.

Records come from the village database (--db), or from a record file (--records, with
--households for the register).

\b
Examples / 示例:
  xiangyue select 美丽庭院 --period 2024
  xiangyue select jingou.yaml 美丽庭院 --period 2024
  xiangyue select jingou.yaml beautiful_courtyard --period 2024 --format json

\b
Exit codes / 退出码:
  0  listed / 已输出
  2  the input could not be used (rule file, selection name, period, records)
     / 输入无法使用（规则文件、评选名称、期间或记录有误）
"""


@click.command("select", help=HELP)
@click.argument("args", nargs=-1, required=True, metavar="[RULESET] NAME")
@ruleset_option
@_sources
@period_option()
@format_option("table", "json", "html", "pdf")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of the screen. 输出到文件。")
@lang_option
@handles_user_errors
def select(args: tuple[str, ...], ruleset_opt: str | None, db_path: str, records_path: str | None,
           households_path: str | None, period: str, fmt: str, output: str | None,
           lang: str | None) -> None:
    lang = resolve_lang(lang)
    ruleset, rest = split_ruleset(args, 1, ruleset_opt, db_path)
    if not rest:
        raise usage_error("name the selection, e.g. 美丽庭院 / 请给出评选名称")
    name = rest[0]
    result = open_village(ruleset, db_path, lang, records_path=records_path,
                          households_path=households_path).select(name, period,
                                                                  progress=progress_bar)
    if fmt in ("html", "pdf"):  # the selection notice to post: who qualified
        from xiangyue.report.printable import render_document, selection_document

        emit(render_document(selection_document(result, lang), fmt, lang), fmt, output)
        return
    emit(render_selection(result, fmt, lang, color=not output and color_enabled()), fmt, output)


commands = [select]
