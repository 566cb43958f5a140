"""``xiangyue validate FILE...``: check rule files and report every problem at once."""

from __future__ import annotations

import sys

import click

from xiangyue.errors import format_diagnostic
from xiangyue.i18n import label

from .options import lang_option, print_json, resolve_lang


@click.command(
    help="校验规则文件：结构、表达式和静态规则，一次列出全部错误。\n\n"
    "Check rule files: structure, expressions and static rules; every error at once, as "
    "file:line:column: code: message.\n\n"
    "\b\nExample / 示例:\n  xiangyue validate rulesets/examples/jingou.yaml\n\n"
    "\b\nExit codes / 退出码:\n  0  valid / 校验通过\n  1  a file has errors / 文件有错误\n"
    "  2  a file could not be checked (missing, unreadable) / 文件无法检查（不存在、无法读取）",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format. 输出格式。")
@click.option("--strict", is_flag=True, help="Treat warnings as errors. 警告也算错误。")
@lang_option
def validate(files: tuple[str, ...], fmt: str, strict: bool, lang: str | None) -> None:
    from xiangyue.rules.pipeline import validate_files

    lang = resolve_lang(lang)
    results = validate_files(files)
    exit_code = 0
    as_json = []
    for path, diags in results.items():
        errors = [d for d in diags if d.severity == "error" or strict]
        unusable = any(d.code.startswith("E-FILE") for d in diags)
        if unusable:
            exit_code = 2
        elif errors:
            exit_code = max(exit_code, 1)
        if fmt == "json":
            as_json.extend(d.to_json(lang) for d in diags)
            continue
        for d in diags:
            click.echo(format_diagnostic(d, lang), err=bool(errors))
        if not errors:
            click.echo(label("valid", lang, file=path))
        else:
            click.echo(label("errors_found", lang, n=len(errors)), err=True)
    if fmt == "json":
        print_json(as_json)
    sys.exit(exit_code)


commands = [validate]
