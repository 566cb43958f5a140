"""``xiangyue county …``: every village of a county at once, on Dask."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from xiangyue.county import jobs
from xiangyue.county.scaffold import init_county
from xiangyue.i18n import text
from xiangyue.report import county as render
from xiangyue.report.jsonout import dumps
from xiangyue.report.terminal import Progress

from .options import emit, handles_user_errors, lang_option, period_option, resolve_lang

CLUSTER_HELP = """\b
Each village is one task on Dask (pip install 'xiangyue[county]'): by default a local cluster
of one worker process per core, on 127.0.0.1 only; --scheduler tcp://HOST:PORT uses a cluster
started with `dask scheduler` and `dask worker` whose workers see the county folder at the same
path (docs/county.md). --workers 0 runs the villages one by one in this process, without Dask.
每个村是一个独立任务，默认在本机的 Dask 集群上运行。"""

EXIT_HELP = """\b
Exit codes / 退出码:
  0  every village done / 各村均已完成
  1  a village failed (its error is shown; the others are still right) / 有村处理失败
  2  the manifest or an option could not be used / 清单文件或参数有错误"""


def _cluster_options(f: Callable) -> Callable:
    f = click.option("--workers", type=click.IntRange(min=0), default=None,
                     help="Local cluster: this many worker processes (default: one per core; 0: no "
                     "Dask, one by one here). With --scheduler: wait for this many workers. 工作进程数。")(f)
    return click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="An existing Dask scheduler (dask scheduler). 已有 Dask 集群的调度器地址。")(f)


def _manifest(f: Callable) -> Callable:
    return click.argument("manifest", metavar="COUNTY.yaml", type=click.Path(dir_okay=False))(f)


def _progress(label: str) -> tuple[Progress, Callable[[Any], None]]:
    bar = Progress(None, label)
    return bar, lambda _outcome: bar.advance()


@click.group("county", help="县级：一个县（区）的所有村一起计算、审查、汇总。\n\n"
             "The county: every village of a county at once (a manifest county.yaml lists them).\n\n"
             "Examples / 示例:\n\n\b\n"
             "    xiangyue county init 江阳区\n"
             "    xiangyue county evaluate 江阳区/county.yaml --period 2024-Q1")
def county() -> None:
    pass


@county.command("init", help="""由村文件夹生成县级清单 county.yaml：每个村一个文件夹，放本村的规则文件和数据库。

Write DIR/county.yaml from a folder of village folders, each holding one rule file and one
database (*.db). The village's id is its folder's name, its name the rule file's `village:`.
The county template (the file every village extends) and the policy (*.policy.yaml) are found
when there is one, or named with --template and --policy.

\b
Example / 示例:
  xiangyue county init 江阳区 --county 江阳区

\b
Exit codes / 退出码:
  0  written / 已生成
  2  no village folder, a folder with several rule files or databases, or county.yaml exists
     / 没有村文件夹、文件夹内文件不唯一、或 county.yaml 已存在""")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--county", "name", default=None, help="The county's name. 县（区）名。")
@click.option("--template", default=None, type=click.Path(dir_okay=False),
              help="The county template (inside FOLDER). 县级模板。")
@click.option("--policy", default=None, type=click.Path(dir_okay=False),
              help="The county policy (inside FOLDER). 县级审查要点。")
@click.option("--force", is_flag=True, help="Replace an existing county.yaml. 覆盖已有的 county.yaml。")
@lang_option
@handles_user_errors
def init(folder: str, name: str | None, template: str | None, policy: str | None, force: bool,
         lang: str | None) -> None:
    lang = resolve_lang(lang)
    result = init_county(folder, name=name, template=template, policy=policy, force=force)
    c = result.county
    click.echo(text(f"已写入 {result.path}：{c.name}，{len(c.villages)} 个村",
                    f"wrote {result.path}: {c.name}, {len(c.villages)} villages", lang))
    for key, value in (("template", c.template), ("policy", c.policy)):
        if value:
            click.echo(f"  {key}: {value}")
    shown = result.skipped[:SKIPPED_SHOWN]
    for skipped in shown:
        click.echo(text(f"  跳过（没有数据库）：{skipped}", f"  skipped (no database): {skipped}", lang))
    if len(result.skipped) > len(shown):
        more = len(result.skipped) - len(shown)
        click.echo(text(f"  另有 {more} 个没有数据库的文件夹也已跳过",
                        f"  and {more} more folders without a database skipped", lang))


#: skipped folders named one by one by `county init` (a county share holds many other folders)
SKIPPED_SHOWN = 10


@county.command("evaluate", help=f"""计算全县每个村一个期间的积分（每个村的结果写入该村数据库，与 xiangyue evaluate 相同）。

Evaluate every village of the manifest for a period, each as `xiangyue evaluate RULES --db DB`
does (and its run stored in the village's database). Per village: households, total (the sum
of the household totals), mean (rounded to 2 decimals), median, vetoed households, unmatched
records; a village that fails is shown with its error and the others go on. --output-dir
writes each village's full evaluation (the JSON of `xiangyue evaluate --format json`) as
VILLAGE.json.

{CLUSTER_HELP}

\b
Examples / 示例:
  xiangyue county evaluate county.yaml --period 2024-Q1
  xiangyue county evaluate county.yaml --period 2024 --format json --output-dir 结果
  xiangyue county evaluate county.yaml --period 2024 --scheduler tcp://10.0.0.5:8786

{EXIT_HELP}""")
@_manifest
@period_option()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format. 输出格式。")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Write each village's full evaluation JSON here. 各村完整结果的输出文件夹。")
@click.option("--save/--no-save", default=True, show_default=True,
              help="Store each village's run in its database. 把结果写入各村台账。")
@click.option("--engine", type=click.Choice(["auto", "fast", "reference"]), default="auto",
              show_default=True, help="Evaluator, as for xiangyue evaluate. 计算引擎。")
@_cluster_options
@lang_option
@handles_user_errors
def evaluate(manifest: str, period: str, fmt: str, output_dir: str | None, save: bool, engine: str,
             scheduler: str | None, workers: int | None, lang: str | None) -> None:
    lang = resolve_lang(lang)
    bar, tick = _progress(text("村", "villages", lang))
    with bar:
        run = jobs.evaluate_county(manifest, period, output_dir=output_dir, save=save, engine=engine,
                                   scheduler=scheduler, workers=workers, lang=lang, on_done=tick)
    data = jobs.evaluation_json(run, lang)
    click.echo(dumps(data) if fmt == "json" else render.render_evaluation_table(data, lang), nl=fmt == "json")
    sys.exit(1 if run.failed else 0)


@county.command("lint", help=f"""按县级审查要点检查每个村的规则文件，一份报告。

Check every village's rule file against the county policy (the manifest's `policy:`, or
--policy), as `xiangyue lint --policy` does for one file; a rule file that cannot be loaded is
that village's error, the others are still checked.

\b
Example / 示例:
  xiangyue county lint county.yaml
  xiangyue county lint county.yaml --policy policies/new.policy.yaml --format json

\b
Exit codes / 退出码:
  0  every village meets the policy / 各村均符合审查要点
  1  findings, or a village's rule file could not be loaded / 有不符合之处或规则文件有错误
  2  the manifest or the policy could not be used / 清单或要点文件有错误

(Static: runs here; --scheduler/--workers N put it on Dask. 静态检查，默认在本进程运行。)""")
@_manifest
@click.option("--policy", default=None, type=click.Path(dir_okay=False),
              help="The county policy (default: the manifest's). 县级审查要点文件。")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format. 输出格式。")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", help="Run on this Dask scheduler. 在这个 Dask 调度器上运行。")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="0: here; N: a local Dask cluster of N workers. 工作进程数。")
@lang_option
@handles_user_errors
def lint(manifest: str, policy: str | None, fmt: str, scheduler: str | None, workers: int,
         lang: str | None) -> None:
    lang = resolve_lang(lang)
    run = jobs.lint_county(manifest, policy=policy, scheduler=scheduler, workers=workers)
    data = jobs.lint_json(run, lang)
    if fmt == "json":
        click.echo(dumps(data))
    else:
        found = {o.village: o.values.get("findings") or [] for o in run.outcomes}
        click.echo(render.render_lint_text(data, found, lang), nl=False)
    sys.exit(0 if data["summary"]["findings"] == 0 and not run.failed else 1)


@county.command("report", help=f"""全县看板：各村户数、平均分与分布、红黑榜人数、一票否决、未匹配记录比例、清单问题（按类型）、公示情况（是否公示、第几版、期末后几天）。

The district's dashboard for a period: per village households, mean, median and the
distribution of points (chart), red and black board sizes, vetoed households, the share of
unmatched records, checklist findings by kind (as of the period's end, or --as-of), and the
publication (published? which version? how many days after the period ended?). Nothing is
stored. HTML is one self-contained page (charts as inline SVG); XLSX needs --output.

{CLUSTER_HELP}

\b
Examples / 示例:
  xiangyue county report county.yaml --period 2024-Q1 --format html --output 看板.html
  xiangyue county report county.yaml --period 2024-Q1 --format xlsx --output 看板.xlsx

{EXIT_HELP}""")
@_manifest
@period_option()
@click.option("--format", "fmt", type=click.Choice(["table", "html", "xlsx", "json"]), default="table",
              show_default=True, help="Output format. 输出格式。")
@click.option("--output", default=None, type=click.Path(dir_okay=False),
              help="Write to this file instead of the screen. 输出到文件。")
@click.option("--as-of", "as_of", default=None, help="Checklist findings as of this date "
              "(default: the period's last day, or today). 清单检查日期。")
@_cluster_options
@lang_option
@handles_user_errors
def report(manifest: str, period: str, fmt: str, output: str | None, as_of: str | None,
           scheduler: str | None, workers: int | None, lang: str | None) -> None:
    from xiangyue.checklists.check import parse_as_of

    lang = resolve_lang(lang)
    day = parse_as_of(as_of) if as_of else None
    if fmt == "xlsx" and not output:
        emit(b"", fmt, None)  # the one message for a binary format without --output
    bar, tick = _progress(text("村", "villages", lang))
    with bar:
        run = jobs.report_county(manifest, period, as_of=day, scheduler=scheduler, workers=workers,
                                 on_done=tick)
    data = jobs.report_json(run, lang)
    if fmt == "json":
        emit(dumps(data) + "\n", fmt, output)
    elif fmt == "html":
        emit(render.render_report_html(data, lang), fmt, output)
    elif fmt == "xlsx":
        emit(render.render_report_xlsx(data, lang), fmt, output)
    else:
        emit(render.render_report_table(data, lang), fmt, output)
    sys.exit(1 if run.failed else 0)


@county.command("replay", help=f"""县级模板要改了：每个村的规则文件换用新模板重建，用本村记录按新旧两版计分；列出每个村加分、减分、进出红黑榜的户数和变化最大的户。

The county template is changing: every village's effective rule file is rebuilt with NEW.yaml
in place of the manifest's `template:` and both versions are evaluated on the village's
records (as `xiangyue diff OLD NEW --replay --db DB` does for one village). Per village: how
many households gain, lose, stay the same, enter or leave the red and black boards, and the
largest changes. A village whose rule file does not extend the template is marked (*).

{CLUSTER_HELP}

\b
Example / 示例:
  xiangyue county replay county.yaml --template templates/jiangyang-2025.yaml --period 2024

{EXIT_HELP}""")
@_manifest
@click.option("--template", "new_template", required=True, type=click.Path(dir_okay=False),
              help="The new county template. 新的县级模板。")
@period_option()
@click.option("--top", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many of the largest changes to list per village. 每村列出变化最大的户数。")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format. 输出格式。")
@_cluster_options
@lang_option
@handles_user_errors
def replay(manifest: str, new_template: str, period: str, top: int, fmt: str, scheduler: str | None,
           workers: int | None, lang: str | None) -> None:
    lang = resolve_lang(lang)
    bar, tick = _progress(text("村", "villages", lang))
    with bar:
        run = jobs.replay_county(manifest, new_template, period, top=top, scheduler=scheduler,
                                 workers=workers, on_done=tick)
    data = jobs.replay_json(run, lang)
    click.echo(dumps(data) if fmt == "json" else render.render_replay_table(data, lang), nl=fmt == "json")
    sys.exit(1 if run.failed else 0)


commands = [county]
