"""``xiangyue passbook`` (积分存折) and ``xiangyue rules-notice`` (积分细则 public table)."""

from __future__ import annotations

import datetime as dt

import click

from xiangyue.report.jsonout import dumps
from xiangyue.report.printable import (
    passbook_document,
    passbook_table,
    render_document,
    rules_document,
)

from .options import (usage_error, emit,
    db_option,
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

PASSBOOK_HELP = """积分存折：一户在某期的每条积分记录（日期、事项、应得和实得分、原因）、基础分、积分超市的兑换
和作废，以及余额；--all 打印全村每户一页。余额与 xiangyue balance 一致。

按村数据库计算这一期并存入台账（台账里已有按当前数据算出的结果时直接使用），所以 JSON 里的
records 就是台账中的各条记录，redemptions 是这一期存档的兑换记录；每行后面是滚动余额，最后是截至 --date（默认今天）的余额。

A household's points passbook for a period: every ledger entry (date, item, points raw and
awarded, the reason in plain words), base points, redemptions and voids in the points
supermarket, with a running balance; then the balance as of --date (default today), the same
figure `xiangyue balance HOUSEHOLD --date D` shows. --all: every household of the register,
one page each (html, pdf).

The period is evaluated from the village database and its run saved in the ledger (or the
stored run reused when it is current), so the JSON "records" are exactly the ledger's entries
and "redemptions" the stored redemptions of the period.

\b
Examples / 示例:
  xiangyue passbook JG001 --period 2024
  xiangyue passbook JG001 --period 2024-Q1 --format json
  xiangyue passbook --all --period 2024 --format pdf --output 积分存折.pdf

\b
Exit codes / 退出码:
  0  printed / 已输出
  2  the input could not be used (household, period, database) / 输入无法使用
"""


@click.command("passbook", help=PASSBOOK_HELP)
@click.argument("args", nargs=-1, metavar="[RULESET] [HOUSEHOLD]")
@ruleset_option
@period_option()
@click.option("--all", "all_", is_flag=True, help="Every household, one page each. 全村每户一页。")
@click.option("--date", "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="DATE",
              help="Balance as of this date (default today). 余额截至日期。")
@db_option
@format_option("table", "json", "html", "pdf")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of the screen. 输出到文件。")
@lang_option
@handles_user_errors
def passbook_cmd(args: tuple[str, ...], ruleset_opt: str | None, period: str, all_: bool,
                 as_of: dt.datetime | None, db_path: str, fmt: str, output: str | None,
                 lang: str | None) -> None:
    lang = resolve_lang(lang)
    ruleset, rest = split_ruleset(args, 0 if all_ else 1, ruleset_opt, db_path)
    if not all_ and not rest:
        raise usage_error("name the household, or use --all / 请给出户号，或用 --all")
    books = open_village(ruleset, db_path, lang).passbook(
        None if all_ else rest[0], period, day=as_of.date() if as_of else None, lang=lang,
        progress=progress_bar)
    if fmt == "json":
        data = [b.to_json() for b in books]
        emit(dumps(data if all_ else data[0]) + "\n", fmt, output)
    elif fmt == "table":
        emit("\n".join(passbook_table(b, lang) for b in books), fmt, output)
    else:
        emit(render_document(passbook_document(books, lang), fmt, lang), fmt, output)


RULES_HELP = """积分细则公示表：由规则文件生成（类别、事项、分值、上限、一票否决），村民会议通过后张贴。

按类别列出每一项的分值、用文字写明的上限（每月最多得 10 分、每年只计一次）和一票否决，以及
类别上限和通过的会议。

The rule file as the public 积分细则 table for the village's board: by category, every item with
its points, its limits in words (每月最多得 10 分, 每年只计一次) and its veto, the category limits,
and the meeting that adopted it.

\b
Examples / 示例:
  xiangyue rules-notice jingou.yaml --format pdf --output 积分细则.pdf
  xiangyue rules-notice --format html --output 积分细则.html

\b
Exit codes / 退出码:
  0  written / 已输出
  1  the rule file has errors / 规则文件有错误
  2  the input could not be used / 输入无法使用
"""


@click.command("rules-notice", help=RULES_HELP)
@click.argument("ruleset", type=click.Path(dir_okay=False), required=False)
@ruleset_option
@db_option
@format_option("html", "pdf")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of the screen. 输出到文件。")
@lang_option
@handles_user_errors
def rules_notice(ruleset: str | None, ruleset_opt: str | None, db_path: str, fmt: str,
                 output: str | None, lang: str | None) -> None:
    from xiangyue.rules.pipeline import load_ruleset

    lang = resolve_lang(lang)
    path, _ = split_ruleset((ruleset,) if ruleset else (), 0, ruleset_opt, db_path)
    emit(render_document(rules_document(load_ruleset(path), lang), fmt, lang), fmt, output)


commands = [passbook_cmd, rules_notice]
