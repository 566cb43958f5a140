"""``xiangyue evaluate``, ``xiangyue explain``, ``xiangyue demo``: points for a period."""

from __future__ import annotations

import click

from xiangyue.demo import DEFAULT_DEMO_DB, run_demo
from xiangyue.points.explain import story_text
from xiangyue.i18n import text
from xiangyue.report.jsonout import dumps
from xiangyue.data.workspace import resolve_ruleset_path
from xiangyue.report.points import render_csv, render_json, render_table

from .options import (usage_error, emit,
    EXIT_CODES_HELP,
    db_option,
    format_option,
    handles_user_errors,
    lang_option,
    open_village,
    period_option,
    resolve_lang,
    ruleset_option,
)


def _source_options(f):
    f = click.option("--households", "households_path", type=click.Path(dir_okay=False),
                     help="Household register file (CSV/XLSX/JSONL) instead of the database. "
                     "农户名册文件（不读数据库）。")(f)
    f = click.option("--records", "records_path", type=click.Path(dir_okay=False),
                     help="Records file (CSV/XLSX/JSONL) to evaluate directly, without an import. "
                     "直接计算的记录文件（无需先导入）。")(f)
    return db_option(f)


@click.command(
    help="计算一个期间的积分：每户总分、一票否决、各规则得分，并列出未匹配、不在有效期、无法计分的记录。\n\n"
    "Score every household for a period (limits counted in their own months, quarters and "
    "years) and store the run in the database's ledger.\n\n"
    "Examples / 示例:\n\n"
    "\b\n"
    "    xiangyue evaluate rulesets/examples/jingou.yaml --period 2024-Q1\n"
    "    xiangyue evaluate jingou.yaml --records records.csv \\\n"
    "        --households households.csv --period 2024-03 --format json",
    epilog=EXIT_CODES_HELP,
)
@click.argument("ruleset", type=click.Path(dir_okay=False), required=False)
@ruleset_option
@_source_options
@period_option()
@format_option("table", "json", "csv")
@lang_option
@click.option("--save/--no-save", default=True, show_default=True,
              help="Store the run in the database's ledger (database mode). 把结果写入台账。")
@click.option("--engine", type=click.Choice(["auto", "fast", "reference"]), default="auto",
              show_default=True,
              help="Evaluator: auto (the columnar one when it can compute the rule file exactly, "
              "else the reference one, and says so), fast (columnar only), reference (record by "
              "record, for cross-checks). 计算引擎。")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of the screen (CSV with a BOM for Excel). 输出到文件。")
@handles_user_errors
def evaluate(ruleset: str | None, ruleset_opt: str | None, db_path: str,
             records_path: str | None, households_path: str | None, period: str, fmt: str,
             lang: str | None, save: bool, engine: str, output: str | None) -> None:
    lang = resolve_lang(lang)
    village = open_village(ruleset or ruleset_opt, db_path, lang, records_path=records_path,
                           households_path=households_path, engine=engine)
    ev = village.evaluate(period, save=save, with_ledger=False)
    if ev.engine is not None and ev.engine.reason:  # auto fell back: say so, on stderr
        click.echo(text(f"说明：快速引擎不能精确计算这份规则文件（{ev.engine.reason}），已改用参考引擎。",
                        f"note: the fast engine cannot compute this rule file exactly "
                        f"({ev.engine.reason}); the reference engine was used.", lang), err=True)
    if fmt == "json":
        emit(render_json(ev, lang) + "\n", fmt, output)
    elif fmt == "csv":
        emit(render_csv(ev, lang), fmt, output)
    else:
        emit(render_table(ev, lang), fmt, output)


@click.command(
    help="讲清一户在一个期间的每一分：逐条记录、适用规则、应得与实得、封顶、一票否决、合计。\n\n"
    "Explain one household's points for a period, record by record. The rule file may be left "
    "out: then the one named by --ruleset, XIANGYUE_RULESET or remembered by the database is used.\n\n"
    "Examples / 示例:\n\n    xiangyue explain JG001 --period 2024-Q1\n\n"
    "    xiangyue explain rulesets/examples/jingou.yaml JG001 --period 2024-Q1 --lang en",
    epilog=EXIT_CODES_HELP,
)
@click.argument("args", nargs=-1, required=True, metavar="[RULESET] HOUSEHOLD")
@click.option("--ruleset", "-r", "ruleset_opt", type=click.Path(dir_okay=False), default=None,
              help="The rule file (instead of the first argument). 规则文件。")
@_source_options
@period_option()
@format_option("text", "json")
@lang_option
@handles_user_errors
def explain(args: tuple[str, ...], ruleset_opt: str | None, db_path: str, records_path: str | None,
            households_path: str | None, period: str, fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    if len(args) > 2:
        raise usage_error("give at most a rule file and a household / 最多给出规则文件和户号")
    household = args[-1]
    ruleset = args[0] if len(args) == 2 else resolve_ruleset_path(ruleset_opt, db_path)
    story = open_village(ruleset, db_path, lang, records_path=records_path,
                         households_path=households_path).explain(household, period).story
    if fmt == "json":
        click.echo(dumps(story.to_json(lang)))
    else:
        click.echo(story_text(story, lang))


@click.command(
    help="演示：把内置的金钩村演示数据（农户名册、积分记录、清单办理记录）导入一个新数据库，计算一个季度，打印总分表、红黑榜和清单合规检查。\n\n"
    "Demo: import the bundled 金钩村 data into a fresh database (replaced each run), "
    "evaluate a quarter and print the totals, the red and black boards and the checklist "
    "compliance report (as of 2024-06-30).\n\n"
    "Example / 示例:\n\n    xiangyue demo --period 2024-Q2",
    epilog=EXIT_CODES_HELP,
)
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=DEFAULT_DEMO_DB,
              show_default=True, help="The demo database file (replaced). 演示数据库文件（每次重建）。")
@click.option("--period", default="2024-Q1", show_default=True,
              help="Period to evaluate. 计算的期间。")
@lang_option
@handles_user_errors
def demo(db_path: str, period: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    from xiangyue.report.boards import render_table as render_boards
    from xiangyue.report.compliance import render as render_compliance

    run = run_demo(db_path, period)
    households, records, cases = (i.rows for i in run.imports)
    if lang == "en":
        click.echo(f"Imported {households} households, {records} records and {cases} case steps "
                   f"into {db_path}.")
    else:
        click.echo(f"已将 {households} 户、{records} 条记录、{cases} 条清单办理记录导入 {db_path}。")
    click.echo(render_table(run.evaluation, lang), nl=False)
    click.echo("\n" + render_boards(run.extra["boards"].to_json(), lang), nl=False)
    click.echo("\n" + render_compliance(run.extra["compliance"], "table", lang), nl=False)
    click.echo("\n" + text(f"下一步：xiangyue explain JG001 --period {period} --db {db_path}",
                           f"next: xiangyue explain JG001 --period {period} --db {db_path} --lang en",
                           lang))


commands = [evaluate, explain, demo]
