"""``xiangyue publish``: freeze a period's boards in the database and write the notice."""

from __future__ import annotations

import click

from xiangyue.data.workspace import resolve_ruleset_path

from xiangyue.errors import Diagnostic, InputError, format_diagnostic
from xiangyue.i18n import text
from xiangyue.points.publish import (
    NOTICE_FORMATS,
    complete_pending,
    get_publication,
    list_publications,
    write_notice_files,
)
from xiangyue.report.boards import render_table
from xiangyue.report.jsonout import dumps
from xiangyue.report.terminal import color_enabled, table
from xiangyue.data.store import open_store

from .options import (
    db_option,
    format_option,
    handles_user_errors,
    lang_option,
    open_village,
    progress_bar,
    resolve_lang,
    ruleset_option,
)

HELP = """公示红黑榜：把某期的红榜、黑榜和网格排名存档（版本化），并生成可打印的 A4 公示和乡镇报表。

从村数据库计算这一期，把榜单（连同每户总分、规则文件的 sha256、台账的哈希）存为第 1 版，并在
--output-dir 里写出 A4 公示（网页；加 --format pdf 另出一页 A4 的 PDF）和乡镇报表（Excel：红榜、
黑榜、网格排名、明细）。公示上的日期用 --date 指定（默认今天）；公示期、落款单位、地点和电话在
规则文件的 notice: 一节。榜单没有变化时再次公示不写任何内容并说明；有变化（更正）时发布第 2 版，
旧版留档。--list 列出各期各版，--show 期间 显示某一版（加 --output-dir 重新写出公示）。

文件先写到临时文件名再改名，不会留下半截文件；如果上次公示在存档后、文件写完前被中断，下一次
publish（或 --show）会补写缺少的文件并说明。

Publish a period's boards: evaluate the period from the village database, store the boards
(with every household's total, the rule file's sha256 and the run's ledger hash) as version 1
of the period, and write the printable A4 notice (HTML, Chinese, with signature lines) and the
township workbook (XLSX: 红榜, 黑榜, 网格排名, 明细) into --output-dir.

A published board never changes silently: publishing again when nothing changed writes
nothing and says so; when the boards changed (a correction) it publishes version 2, and every
version stays on record. --list shows the publications; --show PERIOD shows one (the latest,
or --version N), and with --output-dir writes its notice again. --date sets the date printed
on the notice (default today); the rule file's notice: section gives the objection period,
signatories, place and phone. --format pdf also writes the notice as a PDF (one A4 page).

Files are written whole (a temporary name, then renamed). If a publish was stopped after the
database had its new version but before every file was written, the next publish (or
--show) writes the missing files and says so.

\b
Examples / 示例:
  xiangyue publish --period 2024-Q1
  xiangyue publish jingou.yaml --period 2024-Q1 --by 张文书 --output-dir 公示
  xiangyue publish --period 2024-Q1 --date 2024-04-03 --format pdf --output-dir 公示
  xiangyue publish --list
  xiangyue publish --show 2024-Q1 --version 1 --output-dir 公示

\b
Exit codes / 退出码:
  0  published, unchanged, or shown / 已发布、无变化或已显示
  2  the input could not be used (rule file, database, period) / 输入无法使用
"""


@click.command("publish", help=HELP)
@click.argument("ruleset", type=click.Path(dir_okay=False), required=False)
@ruleset_option
@click.option("--period", default=None, help="Period to publish, e.g. 2024-Q1. 期间。")
@click.option("--by", "by", default=None, help="Who publishes (name). 发布人。")
@click.option("--output-dir", "output_dir", type=click.Path(file_okay=False), default=None,
              help="Write the notice (.html) and workbook (.xlsx) here. 公示文件输出目录。")
@click.option("--list", "list_", is_flag=True, help="List publications. 列出已发布的版本。")
@click.option("--show", "show", default=None, metavar="PERIOD",
              help="Show a published period. 显示某期已发布的榜单。")
@click.option("--version", "version", type=int, default=None,
              help="With --show: this version (default the latest). 版本号。")
@click.option("--date", "notice_date", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="DATE",
              help="Date printed on the notice, e.g. 2024-04-03 (default today). 公示日期。")
@db_option
@format_option("text", "json", "pdf")
@lang_option
@handles_user_errors
def publish_cmd(ruleset: str | None, ruleset_opt: str | None, period: str | None, by: str | None, output_dir: str | None,
                list_: bool, show: str | None, version: int | None, notice_date, db_path: str,
                fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    formats = NOTICE_FORMATS + (("pdf",) if fmt == "pdf" else ())
    if fmt == "pdf":  # the PDF is a file; the terminal gets the text summary
        fmt, output_dir = "text", output_dir or "."
    if list_:
        with open_store(db_path, create=False) as store:
            pubs = list_publications(store, period)
        if fmt == "json":
            click.echo(dumps([p.to_json(with_boards=False) for p in pubs]))
            return
        head = (["period", "version", "published at", "by", "rule file", "red", "black"]
                if lang == "en" else ["期间", "版本", "发布时间", "发布人", "规则文件版本", "红榜", "黑榜"])
        click.echo(table(head, [[p.period, str(p.version), p.published_at, p.published_by or "",
                                 p.ruleset_version or "", str(len(p.boards.get("red") or [])),
                                 str(len(p.boards.get("black") or []))] for p in pubs],
                         right={1, 5, 6}, color=color_enabled()))
        return
    if show is not None:
        with open_store(db_path, create=False) as store:
            completed = complete_pending(store)
            pub = get_publication(store, show, version)
        files = write_notice_files(pub, output_dir, lang=lang, formats=formats) if output_dir else []
        if fmt == "json":
            click.echo(dumps({**pub.to_json(), "files": files,
                              "completed": [c.to_json() for c in completed]}))
            return
        _say_completed(completed, lang)
        click.echo(text(f"第 {pub.version} 版，{pub.published_at} 由 {pub.published_by or '（未署名）'} 发布",
                        f"version {pub.version}, published {pub.published_at} by "
                        f"{pub.published_by or '(unnamed)'}", lang))
        click.echo(render_table(pub.boards, lang, color=color_enabled()), nl=False)
        for f in files:
            click.echo(text(f"已写入 {f}", f"wrote {f}", lang))
        return
    if period is None:
        raise InputError(Diagnostic("E-PUBLISH-ARGS", file="publish"))
    if ruleset is None:
        ruleset = resolve_ruleset_path(ruleset_opt, db_path)
    result = open_village(ruleset, db_path, lang).publish(
        period, by=by, output_dir=output_dir, lang=lang,
        notice_date=notice_date.date() if notice_date else None, formats=formats,
        progress=progress_bar)
    pub = result.publication
    for d in result.warnings:
        click.echo(format_diagnostic(d, lang), err=True)
    if fmt == "json":
        click.echo(dumps(result.to_json(lang)))
        return
    _say_completed(result.completed, lang)
    if result.status == "unchanged":
        if "pdf" in formats:  # the PDF asked for: that of the version already published
            files = write_notice_files(pub, output_dir, lang=lang, formats=("pdf",))
            click.echo(text(
                f"{pub.period} 的榜单与已发布的第 {pub.version} 版相同，未发布新版本；"
                f"已写入第 {pub.version} 版的 PDF：{files[0]}",
                f"the {pub.period} boards equal published version {pub.version}; nothing new was "
                f"published; wrote the PDF of version {pub.version}: {files[0]}", lang))
            return
        click.echo(text(
            f"{pub.period} 的榜单与已发布的第 {pub.version} 版相同，未发布新版本，未写入任何内容",
            f"the {pub.period} boards equal published version {pub.version}; nothing new was "
            "published or written", lang))
        return
    if result.previous is not None:
        click.echo(text(f"{pub.period} 的榜单有变化：已发布第 {pub.version} 版（更正），"
                        f"第 {result.previous.version} 版仍存档",
                        f"the {pub.period} boards changed: published version {pub.version} "
                        f"(correction); version {result.previous.version} stays on record", lang))
    else:
        click.echo(text(f"已发布 {pub.period} 红黑榜第 1 版", f"published the {pub.period} boards, "
                        "version 1", lang))
    click.echo(render_table(pub.boards, lang, color=color_enabled()), nl=False)
    for f in result.files:
        click.echo(text(f"已写入 {f}", f"wrote {f}", lang))



def _say_completed(completed, lang: str) -> None:
    for c in completed:
        click.echo(text(f"上次发布 {c.period} 第 {c.version} 版时公示文件未写完，现已补写：",
                        f"the files of {c.period} version {c.version} were not all written last "
                        "time; written now:", lang))
        for f in c.files:
            click.echo(f"  {f}")


commands = [publish_cmd]
