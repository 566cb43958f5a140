"""``xiangyue init``: a working folder for a village."""

from __future__ import annotations

import click

from xiangyue.data.folder import init_folder
from xiangyue.i18n import text
from xiangyue.report.jsonout import dumps

from .options import format_option, handles_user_errors, lang_option, resolve_lang

HELP = """新建一个村的工作文件夹：可修改的规则文件（按金钩村示例或县里的模板）、示例数据、导入模板和使用说明。

规则文件按金钩村示例改好村名；用 --template 时，是一个继承县模板副本的短文件。示例数据/ 是金钩村的
样例数据，导入模板/ 是按规则文件生成的 Excel 导入表（同 xiangyue template），使用说明.md 是每月的操作步骤。新规则文件在 init
结束前已经通过校验和算例核对；已有的文件不会被覆盖。

Make a working folder for a village: a rule file to edit (the reference village's rules
renamed for the village, or with --template a short file extending a copy of the county's
template), the example data (示例数据/), empty import tables with the headers the rule file
expects (导入模板/, the workbooks of `xiangyue template`) and a short guide (使用说明.md). The new rule file is validated and its
examples run before init finishes. Existing files are never overwritten.

\b
Examples / 示例:
  xiangyue init 丰隆村 --village 丰隆村
  xiangyue init --village 丰隆村 --template 江阳区模板.yaml --town 江北镇 --county 江阳区

\b
Exit codes / 退出码:
  0  created / 已创建
  1  the template has errors / 模板有错误
  2  a file exists already, or the input could not be used / 文件已存在或输入无法使用
"""


@click.command("init", help=HELP)
@click.argument("folder", type=click.Path(file_okay=False), default=".", required=False)
@click.option("--village", required=True, help="The village's name, e.g. 丰隆村. 村名。")
@click.option("--template", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A county template to extend. 县级模板规则文件。")
@click.option("--town", default=None, help="Town (镇/乡). 乡镇。")
@click.option("--county", default=None, help="County (县/区). 县（区）。")
@format_option("text", "json")
@lang_option
@handles_user_errors
def init(folder: str, village: str, template: str | None, town: str | None, county: str | None,
         fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    result = init_folder(folder, village, template=template, town=town, county=county)
    if fmt == "json":
        click.echo(dumps(result.to_json()))
        return
    click.echo(text(f"已为 {village} 建好工作文件夹 {result.folder}：", f"made a working folder for "
                    f"{village} in {result.folder}:", lang))
    for f in result.files:
        click.echo(f"  {f}")
    click.echo(text(f"规则文件 {result.ruleset} 校验通过，{result.examples} 个算例全部通过。"
                    "下一步：阅读 使用说明.md，按本村细则修改规则文件。",
                    f"the rule file {result.ruleset} is valid and its {result.examples} examples "
                    "pass. Next: read 使用说明.md and edit the rule file.", lang))


commands = [init]
