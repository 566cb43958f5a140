"""``xiangyue households|records|cases import``: bring the village's tables into its database."""

from __future__ import annotations

import contextlib
import os

from typing import Any, Callable

import click

from xiangyue.errors import RulesetError, format_diagnostic
from xiangyue.i18n import text
from xiangyue.data.ingest import ImportResult, import_cases, import_households, import_records
from xiangyue.data.workspace import columns_ruleset, remember_ruleset
from xiangyue.data.store import open_store

from .options import (db_option, format_option, handles_user_errors, lang_option, print_json,
                      resolve_lang, say_columns_ruleset)

_EXIT = """\b
Exit codes / 退出码:
  0  imported / 已导入
  2  the file (or rule file, or database) could not be used; nothing was written
     / 文件（或规则文件、数据库）无法使用，未写入任何内容"""

_COMMON = """Reads .csv (UTF-8, UTF-8 with BOM, or GBK as saved by Excel on Chinese Windows),
.xlsx (the sheet whose header fits, or --sheet) and .jsonl. The sheet as it is: the header is
found in the first 20 rows (or --header-row), title rows above it and 合计/制表人 rows below
the data are skipped with a note, columns the rule file does not know are kept with each row
(--strict-columns refuses them), dates may be written 2024-03-05, 2024/3/5 or 2024年3月5日.
All or nothing: any error and nothing is written, every error is listed as file:row:column.
Importing the same file again adds nothing; a changed row under an existing {key} is an error
unless --replace is given (the replaced rows are kept in the database's archive). Every import
is a batch: list them with `xiangyue imports`, take one back with `xiangyue imports undo ID`.

读取 CSV（UTF-8 或 Excel 另存的 GBK）、XLSX、JSONL；表头可写中文或英文，在前 20 行中自动查找
（标题行、合计行自动跳过）；规则文件中没有的列随记录保存。任何一处错误都不写入，并列出全部错误
（文件:行:列）。重复导入同一文件不会重复添加；已有{key_zh}的内容不同时报错，加 --replace 则替换
（被替换的内容留档）。每次导入可用 xiangyue imports undo 撤销。"""

# what is imported, for the summary line: (zh unit, en noun)
_UNITS = {"households": ("户", "households"), "records": ("条记录", "records"),
          "cases": ("条事项步骤", "case steps")}


def _summary(result: ImportResult, lang: str) -> str:
    zh_unit, en_unit = _UNITS[result.kind]
    parts_zh = [f"新增 {result.added}", f"未变 {result.unchanged}"]
    parts_en = [f"{result.added} added", f"{result.unchanged} unchanged"]
    if result.replaced:
        parts_zh.append(f"替换 {result.replaced}")
        parts_en.append(f"{result.replaced} replaced")
    return text(
        f"已导入 {result.rows} {zh_unit}（{'，'.join(parts_zh)}）",
        f"imported {result.rows} {en_unit} ({', '.join(parts_en)})",
        lang,
    )


def _import_command(kind: str, importer: Callable[..., ImportResult], help_text: str) -> click.Command:
    @click.command("import", help=help_text)
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--ruleset", "-r", "ruleset", default=None, type=click.Path(dir_okay=False),
                  help="The village's rule file (declares the columns). Default: XIANGYUE_RULESET, "
                  "else the rule file this database was last used with, else the reference village's "
                  "columns. 规则文件（声明各列）；默认用数据库记住的规则文件，否则按参考村的列。")
    @db_option
    @click.option("--encoding", default=None, metavar="ENC",
                  help="CSV encoding, e.g. gbk (default: detect UTF-8 / GBK). CSV 编码，默认自动识别。")
    @click.option("--sheet", default=None, metavar="NAME",
                  help="XLSX sheet to read (default: the one whose header fits). 工作表名称。")
    @click.option("--header-row", "header_row", type=click.IntRange(min=1), default=None,
                  metavar="N", help="The header is row N (default: found in the first 20 rows). "
                  "表头所在的行。")
    @click.option("--strict-columns", is_flag=True,
                  help="Refuse columns the rule file does not know (default: keep them with each "
                  "row). 拒绝规则文件中没有的列。")
    @click.option("--replace", is_flag=True,
                  help="Replace stored rows that differ from the file. 用文件内容替换已有的不同行。")
    @format_option("text", "json")
    @lang_option
    @handles_user_errors
    def command(file: str, ruleset: str, db_path: str, encoding: str | None, sheet: str | None,
                header_row: int | None, strict_columns: bool, replace: bool, fmt: str,
                lang: str | None) -> None:
        lang = resolve_lang(lang)
        with columns_ruleset(ruleset, db_path) as (path, how):
            say_columns_ruleset(path, how, lang, "的列检查", "checking the columns of")
            from xiangyue.rules.pipeline import load_ruleset

            try:
                rs = load_ruleset(path)
            except RulesetError as err:
                err.kind = "unusable"  # for an import, a bad rule file means the input cannot be used
                raise
        existed = os.path.exists(db_path)
        try:
            with open_store(db_path) as store:
                result = importer(store, file, rs, replace=replace, encoding=encoding, sheet=sheet,
                                  header_row=header_row, strict_columns=strict_columns)
                if ruleset or how == "folder":  # later commands here find it through the database
                    with store.transaction():
                        remember_ruleset(store.conn, ruleset or path)
        except BaseException:
            if not existed:  # a failed import leaves no new, empty database behind
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(OSError):
                        os.remove(db_path + suffix)
            raise
        if fmt == "json":
            print_json({"imported": result.to_json(lang)})
            return
        for d in result.warnings:
            click.echo(format_diagnostic(d, lang), err=True)
        click.echo(_summary(result, lang))

    return command


def _help(title: str, what: str, key: str, key_zh: str, example: str) -> str:
    return (f"{title}\n\n{what}\n\n" + _COMMON.format(key=key, key_zh=key_zh)
            + f"\n\n\b\nExample / 示例:\n  {example}\n\n" + _EXIT)


@click.group(help="户籍名册（户号、户主、网格）。The household register.\n\n"
             "\b\nExample / 示例:\n  xiangyue households import 户籍名册.xlsx -r jingou.yaml")
def households() -> None:
    pass


@click.group(help="活动记录（积分依据）。Activity records, the points' evidence.\n\n"
             "\b\nExample / 示例:\n  xiangyue records import 三月记录.csv -r jingou.yaml")
def records() -> None:
    pass


@click.group(help="清单事项办理记录（每个步骤一行）。Checklist cases, one row per step.\n\n"
             "\b\nExample / 示例:\n  xiangyue cases import 事项.csv -r jingou.yaml")
def cases() -> None:
    pass


households.add_command(_import_command("households", import_households, _help(
    "导入户籍名册。Import the household register.",
    "Columns: 户号 household, 户主 head, 网格 grid, plus the household fields the rule file "
    "declares.",
    "household id", "户号",
    "xiangyue households import 户籍名册.xlsx -r jingou.yaml --db xiangyue.db")))
records.add_command(_import_command("records", import_records, _help(
    "导入活动记录。Import activity records.",
    "Columns: 记录编号 record_id, 户号 household, 日期 date (YYYY-MM-DD), plus the fields the "
    "rule file declares (e.g. 事项, 数量).",
    "record_id", "记录编号",
    "xiangyue records import 三月记录.csv -r jingou.yaml --encoding gbk")))
cases.add_command(_import_command("cases", import_cases, _help(
    "导入清单事项办理记录。Import checklist cases.",
    "Columns: 事项编号 case_id, 清单事项 item (id or Chinese name), 标题 title, 金额 amount, "
    "步骤 step, 日期 date, 到会人数 attended, 应到人数 eligible, 赞成人数 approved, "
    "期间 period (the period a recurring duty's case fulfils, e.g. 2024-Q1). A recurring "
    "duty (村级事务清单) is one row with a date; its step may be empty.",
    "case id + step", "事项编号和步骤",
    "xiangyue cases import 事项.xlsx -r jingou.yaml")))

commands: list[Any] = [households, records, cases]
