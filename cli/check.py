"""``xiangyue check``: compliance of cases with the village's checklists (清单制)."""

from __future__ import annotations

import sys

import click

from xiangyue.checklists.check import check_case_file, check_store, parse_as_of
from xiangyue.checklists.duties import parse_from
from xiangyue.errors import RulesetError, format_diagnostic
from xiangyue.report.compliance import FORMATS, render, write_report

from .options import (emit,
    db_option,
    format_option,
    handles_user_errors,
    lang_option,
    resolve_lang,
    ruleset_option,
)

HELP = """检查每件事项是否按清单规定的程序办理（步骤齐全、顺序正确、按期公开、会议人数合规）。

Check each case (one use of a listed power, one service request) against its checklist
item's procedure, as of a date: skipped steps, steps out of order, late or overdue
publication, steps taken too early, meetings without quorum or majority, unknown items
and steps.

Recurring duties (村级事务清单, items with a schedule) are judged period by period from the
rule file's effective.from (or --from) to the as-of date: done on time, late, missed or
not yet due; a calendar grid (item × period) follows the case report.

Cases come from the village database (after `xiangyue cases import`), or straight from a
case file with --cases (CSV, XLSX or JSONL, one row per step).

\b
Examples / 示例:
  xiangyue check jingou.yaml --as-of 2024-06-30
  xiangyue check jingou.yaml --cases cases.csv --format html --output 合规检查.html

\b
Exit codes / 退出码:
  0  no case is in violation, no duty late or missed / 没有违规事项，定期事项均按期完成
  1  some case is in violation, or a duty was late or missed
     / 有违规事项，或定期事项逾期、漏办
  2  the input could not be used (rule file, case file, date)
     / 输入无法使用（规则文件、事项表、日期有误）
"""


@click.command("check", help=HELP)
@click.argument("ruleset", type=click.Path(dir_okay=False), required=False)
@ruleset_option
@db_option
@click.option("--cases", "cases_path", type=click.Path(dir_okay=False), default=None,
              help="Check this case file directly, without importing it. 直接检查事项表文件。")
@click.option("--as-of", "--date", "as_of", default=None, metavar="DATE",
              help="Check as of this date (YYYY-MM-DD; default today). 核对日期，默认今天。")
@click.option("--from", "from_", default=None, metavar="DATE|PERIOD",
              help="Judge recurring duties from this date or period on (default: the rule "
                   "file's effective.from). 定期事项从哪天（或哪一期）开始核对，默认规则生效日期。")
@format_option(*FORMATS)
@lang_option
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the report to this file instead of the screen. 输出到文件。")
@handles_user_errors
def check(ruleset: str | None, ruleset_opt: str | None, db_path: str, cases_path: str | None,
          as_of: str | None, from_: str | None, fmt: str, lang: str | None,
          output: str | None) -> None:
    from xiangyue.data.workspace import resolve_ruleset_path

    lang = resolve_lang(lang)
    ruleset = ruleset or resolve_ruleset_path(ruleset_opt, db_path)
    day = parse_as_of(as_of)
    start = parse_from(from_)
    from xiangyue.rules.pipeline import load_ruleset

    try:
        rs = load_ruleset(ruleset)
    except RulesetError as err:
        err.kind = "unusable"  # for `check`, a bad rule file means the input could not be used
        raise
    if cases_path is not None:
        report = check_case_file(rs, cases_path, day, start=start)
    else:
        report = check_store(rs, db_path, day, start=start)
    for d in report.warnings:
        click.echo(format_diagnostic(d, lang), err=True)
    text = render(report, fmt, lang)
    if output:
        write_report(text, output, fmt)
    elif isinstance(text, bytes):  # a PDF needs a file
        emit(text, fmt, None)
    else:
        click.echo(text, nl=False)
    sys.exit(1 if report.has_violations or report.has_failed_duties else 0)


commands = [check]
