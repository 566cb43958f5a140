"""``xiangyue lint --policy POLICY FILE...``: check rule files against county guardrails."""

from __future__ import annotations

import sys

import click

from xiangyue.errors import format_diagnostic
from xiangyue.review.lint import lint_files
from xiangyue.report.jsonout import dumps

from .options import handles_user_errors, lang_option, resolve_lang

HELP = """按县级审查要点检查村规则文件：单项最多加分、扣分，不得计分的事项，必须设置的类别，加分项
的每月上限，每户每月最多扣分。每条问题给出规则所在的行和违反的要点（要点文件的行）。

Check rule files against a county policy file: the most one item may give or take, activities no
village may score, required categories, monthly limits on points items, the largest monthly
deduction. Each finding gives the rule's file:line and the policy clause (policy file:line) it
breaks. The policy format is in docs/review.md (schema: schemas/policy.schema.json).

\b
Example / 示例:
  xiangyue lint --policy rulesets/policies/jiangyang-county.policy.yaml \\
      rulesets/examples/jingou.yaml rulesets/examples/fenglong.yaml

\b
Exit codes / 退出码:
  0  no finding / 符合审查要点
  1  findings / 有不符合之处
  2  the policy or a rule file is invalid or missing / 要点文件或规则文件有错误
"""


@click.command("lint", help=HELP)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False),
              help="The county policy file. 县级审查要点文件。")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format. 输出格式。")
@lang_option
@handles_user_errors
def lint(files: tuple[str, ...], policy_path: str, fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    report = lint_files(policy_path, files)
    if fmt == "json":
        click.echo(dumps(report.to_json(lang)))
    else:
        for file, findings in report.files.items():
            for d in findings:
                click.echo(format_diagnostic(d, lang))
            if findings:
                click.echo(f"{file}：{len(findings)} 处不符合审查要点" if lang != "en"
                           else f"{file}: {len(findings)} finding(s)")
            else:
                click.echo(f"{file}：符合审查要点" if lang != "en" else f"{file}: meets the policy")
    sys.exit(0 if report.ok else 1)


commands = [lint]
