"""``xiangyue board``: the red and black boards (红黑榜) and the grid ranking of a period;
``xiangyue stars``: each household's star rating (星级文明户)."""

from __future__ import annotations

import click

from xiangyue.errors import Diagnostic, InputError
from xiangyue.report.boards import BINARY_FORMATS, FORMATS, render
from xiangyue.report.terminal import color_enabled
from xiangyue.data.workspace import resolve_ruleset_path

from .options import (emit,
    db_option,
    format_option,
    handles_user_errors,
    lang_option,
    open_village,
    period_option,
    progress_bar,
    resolve_lang,
    ruleset_option,
)

_SOURCES = """Records come from the village database (--db), or straight from a record file with
--records (and the register from --households; without a register the households in the
records are ranked)."""

_SOURCES_ZH = """记录取自村数据库（--db），或直接读积分记录文件（--records，户籍名册用 --households；没有名册时按记录里出现的农户排名）。"""

BOARD_HELP = f"""红黑榜：某一期间的红榜、黑榜（一票否决户标注）和网格排名。

红榜按本期积分从高到低，黑榜列出本期积分为负的农户（从低到高）和当年被一票否决的农户；网格排名按网格内全部农户的户均积分。名次并列时按竞争排名（1、2、2、4），最后一名并列的全部列出；榜单名额见规则文件的 boards:。--format html 生成的是预览页（标有“预览·未公示”），正式公示请用 xiangyue publish。

{_SOURCES_ZH}

The red board (highest positive totals), the black board (negative totals, lowest first, and
every household vetoed this year, marked 一票否决) and the grid ranking (average over every
household of the grid) for any period. Ties share a rank (1, 2, 2, 4) and all households tied
at the last place of a board are listed; board sizes come from the rule file's `boards:`.

{_SOURCES}

\b
Examples / 示例:
  xiangyue board jingou.yaml --period 2024-Q1
  xiangyue board jingou.yaml --period 2024-Q1 --format json
  xiangyue board jingou.yaml --records 记录.csv --households 名册.csv --period 2024-Q1 \\
      --format xlsx --output 红黑榜.xlsx

\b
Exit codes / 退出码:
  0  boards shown / 已输出
  2  the input could not be used (rule file, records, database, period)
     / 输入无法使用（规则文件、记录、数据库或期间有误）
"""


def _sources(f):
    f = click.option("--households", "households_path", type=click.Path(dir_okay=False),
                     default=None, help="Household register file (CSV/XLSX/JSONL). 户籍名册文件。")(f)
    f = click.option("--records", "records_path", type=click.Path(dir_okay=False), default=None,
                     help="Read records from this file instead of the database. 直接读取记录表。")(f)
    return db_option(f)


@click.command("board", help=BOARD_HELP)
@click.argument("ruleset", type=click.Path(dir_okay=False), required=False)
@ruleset_option
@_sources
@period_option()
@format_option(*FORMATS)
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of the screen. 输出到文件。")
@lang_option
@handles_user_errors
def board(ruleset: str | None, ruleset_opt: str | None, db_path: str, records_path: str | None, households_path: str | None,
          period: str, fmt: str, output: str | None, lang: str | None) -> None:
    lang = resolve_lang(lang)
    ruleset = ruleset or resolve_ruleset_path(ruleset_opt, db_path)
    if fmt in BINARY_FORMATS and not output:
        raise InputError(Diagnostic("E-OUTPUT-NEEDED", file="--format", args={"fmt": fmt}))
    boards = open_village(ruleset, db_path, lang, records_path=records_path,
                          households_path=households_path).boards(period, progress=progress_bar)
    data = boards.to_json(details=fmt in ("json", "xlsx"))
    emit(render(data, fmt, lang, color=not output and color_enabled()), fmt, output)


STARS_HELP = f"""星级评定：按本期积分给每户评定星级（规则文件 stars: 中的门槛）。

每户得到本期总分达到的最高星级；本期被一票否决的农户不评星。--format html 或 pdf 生成可张贴的星级评定公示。

{_SOURCES_ZH}

Star ratings: each household gets the highest star level whose minimum its total for the period
reaches (`stars: [{{stars: 1, min: 20, name: 一星文明户}}, ...]` in the rule file). A household
vetoed (一票否决) in the period gets no stars.

{_SOURCES}

\b
Example / 示例:
  xiangyue stars jingou.yaml --period 2024

\b
Exit codes / 退出码:
  0  ratings shown / 已输出
  2  the input could not be used, or the rule file declares no stars
     / 输入无法使用，或规则文件没有星级评定（stars）
"""


@click.command("stars", help=STARS_HELP)
@click.argument("ruleset", type=click.Path(dir_okay=False), required=False)
@ruleset_option
@_sources
@period_option()
@format_option("table", "json", "csv", "html", "pdf")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of the screen. 输出到文件。")
@lang_option
@handles_user_errors
def stars(ruleset: str | None, ruleset_opt: str | None, db_path: str, records_path: str | None, households_path: str | None,
          period: str, fmt: str, output: str | None, lang: str | None) -> None:
    lang = resolve_lang(lang)
    ruleset = ruleset or resolve_ruleset_path(ruleset_opt, db_path)
    result = open_village(ruleset, db_path, lang, records_path=records_path,
                          households_path=households_path).stars(period, progress=progress_bar)
    if fmt in ("html", "pdf"):  # the star-rating notice to post
        from xiangyue.report.printable import render_document, stars_document

        emit(render_document(stars_document(result, lang), fmt, lang), fmt, output)
        return
    from xiangyue.points.selections import render_stars

    emit(render_stars(result, fmt, lang, color=not output and color_enabled()), fmt, output)


commands = [board, stars]
