"""``xiangyue test FILE...``: run the examples kept in rule files and ``*.test.yaml`` files."""

from __future__ import annotations

import sys

import click

from xiangyue.report.jsonout import dumps
from xiangyue.review.ruletest import render_text, run_tests

from .options import handles_user_errors, lang_option, resolve_lang

HELP = """运行规则文件中的算例（examples）和旁边 *.test.yaml 文件中的算例，证明规则确实按村民会议
的决定计分；列出每个失败算例的期望值、实际值和解释差别的积分明细，并报告哪些规则、哪些上限
没有算例覆盖。

Run the examples kept in rule files (the examples: section) and in *.test.yaml files beside
them: given records (or cases), the expected points per household, vetoes, unmatched records,
boards or compliance findings. Each failing example shows expected and actual values and the
ledger lines that explain the difference; then rule coverage (rules no example exercises,
limits no example shows binding). Test file format: docs/review.md.

\b
Examples / 示例:
  xiangyue test rulesets/examples/jingou.yaml
  xiangyue test rulesets/examples/jingou.yaml --require-coverage --format json

\b
Exit codes / 退出码:
  0  every example passes (and, with --require-coverage, every rule and limit is covered)
     / 全部通过（加 --require-coverage 时，每条规则和上限都有算例覆盖）
  1  an example fails (or coverage is incomplete with --require-coverage) / 有算例未通过（或加 --require-coverage 时覆盖不全）
  2  a rule file, test file or example is invalid / 文件或算例有错误
"""


@click.command("test", help=HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format. 输出格式。")
@click.option("--require-coverage", is_flag=True,
              help="Fail (exit 1) unless every rule and limit is covered. 要求规则和上限全部有算例覆盖。")
@lang_option
@handles_user_errors
def test(files: tuple[str, ...], fmt: str, require_coverage: bool, lang: str | None) -> None:
    lang = resolve_lang(lang)
    report = run_tests(files, lang)
    if fmt == "json":
        click.echo(dumps(report.to_json()))
    else:
        click.echo(render_text(report, lang), nl=False)
    ok = report.ok and (not require_coverage or all(c.full for c in report.coverage.values()))
    sys.exit(0 if ok else 1)


commands = [test]
