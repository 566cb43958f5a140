"""``xiangyue template``: the import workbook a clerk should fill, made from the rule file."""

from __future__ import annotations

from typing import Any

import click

from xiangyue.data.workspace import columns_ruleset
from xiangyue.errors import RulesetError
from xiangyue.i18n import text
from xiangyue.report.import_templates import KINDS, import_template
from xiangyue.report.output import write_output

from .options import (db_option, handles_user_errors, lang_option, resolve_lang, ruleset_option,
                      say_columns_ruleset, usage_error)

HELP = """生成导入模板：按规则文件的字段生成一个 Excel 工作簿，供文书填写后导入。

Write the workbook a clerk should fill for an import (records, households, cases,
redemptions): the rule file's Chinese headers (required ones in bold), a drop-down for every
column with allowed values (a field's values, the activity names the rules know, checklist
items and steps, the supermarket's goods, 是/否), date columns formatted as dates, id columns
as text, a frozen header, one example row (grey: overwrite it) and a 说明 sheet explaining each
column. Filled in, it imports with `xiangyue KIND import FILE` and no message but the row count.

The rule file may be left out: then --ruleset, XIANGYUE_RULESET, the rule file the database was
last used with, the one rule file of the current folder (a folder made by `xiangyue init`),
else the reference village's (金钩村) is used.

\b
Examples / 示例:
  xiangyue template records jingou.yaml --output 活动记录模板.xlsx
  xiangyue template households --output 户籍名册模板.xlsx

\b
Exit codes / 退出码:
  0  written / 已生成
  2  the rule file could not be used, or the file could not be written / 规则文件无法使用或无法写入
"""


@click.command("template", help=HELP)
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("ruleset", required=False, type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False),
              help="The workbook to write (.xlsx). 输出的工作簿。")
@ruleset_option
@db_option
@lang_option
@handles_user_errors
def template(kind: str, ruleset: str | None, output: str, ruleset_opt: str | None,
             db_path: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    if not output.lower().endswith((".xlsx", ".xlsm")):
        raise usage_error("--output must be an .xlsx file / 输出文件应是 .xlsx")
    with columns_ruleset(ruleset or ruleset_opt, db_path) as (path, how):
        say_columns_ruleset(path, how, lang, "生成", "writing the form of")
        from xiangyue.rules.pipeline import load_ruleset

        try:
            rs = load_ruleset(path)
        except RulesetError as err:
            err.kind = "unusable"  # a bad rule file: the input cannot be used
            raise
    write_output(import_template(rs, kind), output)
    click.echo(text(f"已生成模板 {output}", f"template written to {output}", lang))


commands: list[Any] = [template]
