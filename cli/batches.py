"""``xiangyue imports`` (list, undo) and ``xiangyue backup``: nothing imported is lost."""

from __future__ import annotations

from typing import Any

import click

from xiangyue.data.batches import backup, list_imports, undo_import
from xiangyue.data.store import open_store
from xiangyue.i18n import text
from xiangyue.report.jsonout import dumps
from xiangyue.report.terminal import table

from .options import db_option, format_option, handles_user_errors, lang_option, resolve_lang

IMPORTS_HELP = """导入批次：列出每次导入（编号、类型、文件、行数、时间），或撤销其中一次。

Every `households|records|cases import` is a batch with an id. Without a subcommand, lists
them (--format json: [{"id", "kind", "file", "sha256", "rows", "imported_at", ...}]).

\b
Examples / 示例:
  xiangyue imports
  xiangyue imports --format json
  xiangyue imports undo 3

\b
Exit codes / 退出码:
  0  listed / 已列出
  2  the database could not be used / 数据库无法使用
"""

UNDO_HELP = """撤销一次导入：删除该批次导入的全部行（一个事务内完成），恢复它替换掉的行，并记录撤销。

Removes exactly the rows batch ID wrote, in one transaction, and puts back the rows it
replaced (--replace); the removed rows are archived in the database (table removed_rows), so
nothing is lost. Undoing a batch twice changes nothing. If a published board (xiangyue
publish) used its records, it is refused unless --force; the next publish of that period is
then a correction (a new version).

\b
Example / 示例:
  xiangyue imports undo 3 --note "导错了文件"

\b
Exit codes / 退出码:
  0  undone (or undone before) / 已撤销
  1  refused: a published board used these records (add --force) / 已发布的红黑榜用到了这些记录
  2  no such batch, or the database could not be used / 没有这个批次或数据库无法使用
"""

BACKUP_HELP = """备份数据库：写一份完整、一致的副本（其他命令正在写入时也可以）。

Writes a consistent copy of the village database to OUT (SQLite's online backup), then lists
the rows of each table copied. Refuses to overwrite an existing file unless --force.

\b
Example / 示例:
  xiangyue backup 备份/2024-04-01.db

\b
Exit codes / 退出码:
  0  written / 已备份
  2  the database could not be read, or OUT could not be written / 数据库无法读取或无法写入
"""

_KIND = {"households": ("户籍名册", "households"), "records": ("活动记录", "records"),
         "cases": ("事项步骤", "case steps")}


@click.group("imports", help=IMPORTS_HELP, invoke_without_command=True)
@db_option
@format_option("table", "json")
@lang_option
@click.pass_context
@handles_user_errors
def imports(ctx: click.Context, db_path: str, fmt: str, lang: str | None) -> None:
    if ctx.invoked_subcommand is not None:
        return
    lang = resolve_lang(lang)
    with open_store(db_path, create=False) as store:
        rows = list_imports(store)
    if fmt == "json":
        click.echo(dumps(rows))
        return
    en = lang == "en"
    head = (["id", "kind", "file", "rows", "added", "imported at", "undone"] if en else
            ["批次", "类型", "文件", "行数", "新增", "导入时间", "撤销"])
    body = [[str(r["id"]), _KIND.get(r["kind"], (r["kind"], r["kind"]))[1 if en else 0],
             r["file"], str(r["rows"]), str(r["added"]), r["imported_at"],
             (r["undone_at"] or "") + (f" {r['undo_note']}" if r.get("undo_note") else "")]
            for r in rows]
    if not body:
        click.echo(text("还没有导入过数据。", "nothing has been imported yet.", lang))
        return
    click.echo(table(head, body, right={0, 3, 4}))


@imports.command("undo", help=UNDO_HELP)
@click.argument("batch", type=int, metavar="ID")
@click.option("--force", is_flag=True,
              help="Undo even if a published board used the records. 即使已发布也撤销。")
@click.option("--note", default=None, help="Why (kept with the batch). 撤销原因。")
@db_option
@format_option("text", "json")
@lang_option
@handles_user_errors
def undo(batch: int, force: bool, note: str | None, db_path: str, fmt: str,
         lang: str | None) -> None:
    lang = resolve_lang(lang)
    with open_store(db_path, create=False) as store:
        result = undo_import(store, batch, force=force, note=note)
    if fmt == "json":
        click.echo(dumps(result.to_json()))
        return
    if result.status == "unchanged":
        click.echo(text(f"批次 {batch} 已撤销过，未做改动", f"batch {batch} was undone before; "
                        "nothing changed", lang))
        return
    zh = f"已撤销批次 {batch}（{result.file}）：删除 {result.removed} 行"
    en = f"undid batch {batch} ({result.file}): {result.removed} rows removed"
    if result.restored:
        zh += f"，恢复被替换的 {result.restored} 行"
        en += f", {result.restored} replaced rows put back"
    zh += "；删除的内容已留档（removed_rows）"
    en += "; the removed rows are archived (removed_rows)"
    click.echo(text(zh, en, lang))
    if result.publications:
        click.echo(text("已发布的红黑榜用到了这些记录：" + "；".join(result.publications)
                        + "。重新发布该期会生成更正版本。",
                        "published boards used these records: " + "; ".join(result.publications)
                        + ". Publishing the period again makes a correction.", lang), err=True)


@click.command("backup", help=BACKUP_HELP)
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite OUT. 覆盖已有文件。")
@db_option
@format_option("text", "json")
@lang_option
@handles_user_errors
def backup_cmd(out: str, force: bool, db_path: str, fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    result = backup(db_path, out, force=force)
    if fmt == "json":
        click.echo(dumps(result.to_json()))
        return
    main = {k: v for k, v in result.tables.items() if k in ("households", "records", "cases",
                                                             "redemptions", "publications")}
    counts = "，".join(f"{k} {v}" for k, v in main.items())
    click.echo(text(f"已备份到 {out}（{counts}）", f"backed up to {out} ({counts})", lang))


commands: list[Any] = [imports, backup_cmd]
