"""Chinese first, English available: every message, help text and click's own texts."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from xiangyue.cli._lang import CLICK_ZH, pick
from xiangyue.cli.main import main
from xiangyue.i18n import codes

CJK = re.compile(r"[\u3400-\u9fff]")


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*prefix, name))


def test_every_catalogue_message_has_both_languages():
    for code, msg in codes().items():
        assert msg.zh and CJK.search(msg.zh), code
        assert msg.en and msg.en != msg.zh and re.search(r"[A-Za-z]{3}", msg.en), code
        assert (msg.hint_zh is None) == (msg.hint_en is None), f"{code}: a hint in one language"


def test_every_click_text_has_chinese():
    import click as pkg

    msgids = set()
    for f in Path(pkg.__file__).parent.glob("*.py"):
        for m in re.finditer(r'\b(?:_|ngettext)\(\s*((?:"[^"]*"\s*)+)(?:,\s*((?:"[^"]*"\s*)+))?',
                             f.read_text(encoding="utf-8")):
            for group in m.groups():
                if group:
                    msgids.add("".join(re.findall(r'"([^"]*)"', group))
                               .encode().decode("unicode_escape"))
    missing = sorted(i for i in msgids if i not in CLICK_ZH and i not in ("file", "directory",
                                                                         "path", "d"))
    assert not missing, missing


@pytest.mark.parametrize("path, cmd", list(commands()), ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else "")
def test_every_help_text_has_both_languages(path, cmd):
    help_both = getattr(cmd, "_help_both", (cmd.help,))[0] or ""
    zh, en = pick(help_both, "zh"), pick(help_both, "en")
    assert zh and CJK.search(zh), f"{path}: no Chinese help"
    assert en and re.search(r"[A-Za-z]{4}", en), f"{path}: no English help"
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.hidden and p.name not in ("help", "version"):
            both = getattr(p, "_help_both", p.help) or ""
            assert CJK.search(pick(both, "zh", option=True) or ""), f"{path} {p.opts}: no Chinese"
            assert not CJK.search(pick(both, "en", option=True) or "中"), f"{path} {p.opts}: no English"


def test_help_reads_in_chinese_under_a_chinese_locale():
    env = {"XIANGYUE_LANG": "", "LC_ALL": "", "LC_MESSAGES": "", "LANG": "zh_CN.UTF-8"}
    for path, _ in [((), None), *commands()]:
        r = run(*path, "--help", env=env)
        assert r.exit_code == 0, path
        assert "Usage" not in r.output and "Options" not in r.output and "Show this" not in r.output
        assert "用法" in r.output and "选项" in r.output


def test_english_when_asked():
    r = run("publish", "--help", "--lang", "en")
    assert "Usage:" in r.output and "Options:" in r.output and "用法" not in r.output
    r = run("--help", env={"XIANGYUE_LANG": "en"})
    assert "Usage:" in r.output and "Commands:" in r.output


def test_click_errors_in_chinese():
    r = run("publish", "--format", "bad", env={"XIANGYUE_LANG": "zh"})
    assert r.exit_code == 2 and "错误：" in r.output and "不在可选值" in r.output
    r = run("passbook", "JG001", env={"XIANGYUE_LANG": "zh"})
    assert "缺少选项" in r.output and "--period" in r.output
    r = run("passbook", "JG001", "--lang", "en")
    assert "Missing option" in r.output


@pytest.mark.parametrize("path, cmd", list(commands()), ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else "")
def test_exit_codes_read_in_one_language(path, cmd):
    """Every exit-code line shows in Chinese under zh and in English under en, also a long
    English line whose Chinese is wrapped onto the next line (``     / 中文``)."""
    help_both = getattr(cmd, "_help_both", (cmd.help,))[0] or ""
    for lang, other in (("zh", re.compile(r"\b(?:the|and|is|are|or|no)\b")), ("en", CJK)):
        text = pick(help_both, lang) or ""
        codes_part = re.split(r"退出码|Exit codes", text)[1:]
        for line in "".join(codes_part).splitlines():
            assert not other.search(line), f"{path} ({lang}): {line!r}"
            assert not line.strip().startswith("/ "), f"{path} ({lang}): {line!r}"


def test_a_wrapped_pair_and_a_parenthesised_pair_are_split():
    text = ("Do it.\n\n做。\n\n\b\nExit codes / 退出码:\n  2  a long English line\n"
            "     / 很长的中文\n  (always 0 in git / 在 git 里总是 0)\n")
    assert pick(text, "zh").splitlines()[-2:] == ["  2  很长的中文", "  （在 git 里总是 0）"]
    assert pick(text, "en").splitlines()[-2:] == ["  2  a long English line",
                                                   "  (always 0 in git)"]


def test_usage_mistakes_in_one_language():
    r = run("diff", "a.yaml", env={"XIANGYUE_LANG": "zh"})
    assert r.exit_code == 2 and "请给出两个规则文件" in r.output and "give two" not in r.output
    r = run("diff", "a.yaml", "--lang", "en")
    assert r.exit_code == 2 and "give two rule files" in r.output and "请给出" not in r.output
    r = run("template", "records", "--output", "x.csv", env={"XIANGYUE_LANG": "zh"})
    assert r.exit_code == 2 and "输出文件应是 .xlsx" in r.output and "must be" not in r.output
