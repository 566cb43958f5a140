"""Chinese-first command line: click's own texts (Usage, Options, Error: Missing option ...) and
every command's and option's help in the language of ``--lang`` or the locale.

* **click's texts**: click marks them for gettext (``_("Usage:")``); :func:`install` points
  each click module's ``_`` and ``ngettext`` at :func:`translate`, which looks them up in
  :data:`CLICK_ZH` when the language is Chinese.
* **help texts** are written in both languages, the way the commands always had them: a
  paragraph in Chinese, paragraphs in English, lines ``English / 中文`` and option helps
  ``English sentence. 中文。``. :func:`pick` keeps the side of the language asked for (a
  paragraph without a translation is kept as it is, so nothing is lost).

The language is chosen once per run, before click parses anything (``--lang`` anywhere on
the command line, else ``XIANGYUE_LANG``/the locale, else Chinese): :func:`use`.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

import click

__all__ = ["CLICK_ZH", "install", "use", "pick", "translate", "language_of_args"]

_LANG = ["zh"]

#: click's own messages in Chinese (msgid → text); a test checks every msgid click has is here
CLICK_ZH = {
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "(Did you mean one of: {possibilities}?)": "（是不是：{possibilities}？）",
    "(dynamic)": "（动态）",
    "Aborted!": "已中止！",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.":
        "参数只能有一个声明，这里有 {length} 个：{decls}。",
    "Boolean option {decl!r} cannot use the same flag for true/false.":
        "开关选项 {decl!r} 的真、假不能用同一个写法。",
    "Choice({choices})": "可选（{choices}）",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Commands": "命令",
    "Confirm the action without prompting.": "不提示，直接确认。",
    "Could not determine name for option with declarations {decls!r}": "无法确定选项 {decls!r} 的名称",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "Couldn't detect Bash version, shell completion is not supported.":
        "无法识别 Bash 版本，不支持命令补全。",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}":
        "提示：命令 {name!r} 已不再推荐使用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}":
        "提示：{param_type} {name!r} 已不再推荐使用。{extra_message}",
    "Did you mean {possibility}?": "是不是 {possibility}？",
    "Do you want to continue?": "要继续吗？",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Error: {message}": "错误：{message}",
    "Got unexpected extra argument ({args})": "多了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多了参数（{args}）",
    "Invalid start character for option ({option})": "选项开头的字符不对（{option}）",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对：{message}",
    "Invalid value: {message}": "值不对：{message}",
    "Missing argument": "缺少参数",
    "Missing command.": "缺少命令。",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing {param_type}": "缺少{param_type}",
    "Name '{name}' defined twice": "名称 '{name}' 定义了两次",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument "
    "instead? Did you mean to pass '--{name}'?":
        "没有定义选项却给了名称（{name}）。是要声明参数，还是要写 '--{name}'？",
    "No such command {name!r}.": "没有 {name!r} 这个命令。",
    "No such option {name!r}.": "没有 {name!r} 这个选项。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 后面要跟一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 后面要跟 {nargs} 个值。",
    "Options": "选项",
    "Positional arguments": "位置参数",
    "Press any key to continue...": "按任意键继续……",
    "Repeat for confirmation": "再输入一次确认",
    "Shell completion is not supported for Bash versions older than 4.4.":
        "Bash 4.4 以前的版本不支持命令补全。",
    "Show the version and exit.": "显示版本号后退出。",
    "Show this message and exit.": "显示本帮助后退出。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Unknown color {colour!r}": "未知颜色 {colour!r}",
    "Unknown standard stream '{name}'": "未知标准流 '{name}'",
    "Usage:": "用法:",
    "Value must be an iterable.": "值必须是一组。",
    "Windows error: {error}": "Windows 错误：{error}",
    "d": "d",
    "default: {default}": "默认：{default}",
    "deprecated": "不推荐",
    "env var: {var}": "环境变量：{var}",
    "unknown error": "未知错误",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "{len_type} values are required, but {len_value} was given.":
        "需要 {len_type} 个值，只给了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.":
        "需要 {len_type} 个值，给了 {len_value} 个。",
    "{name} {filename!r} does not exist.": "{filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{filename!r} 是文件夹，不是文件。",
    "{name} {filename!r} is a file.": "{filename!r} 是文件，不是文件夹。",
    "{name} {filename!r} is not executable.": "{filename!r} 不能执行。",
    "{name} {filename!r} is not readable.": "{filename!r} 没有读取权限。",
    "{name} {filename!r} is not writable.": "{filename!r} 没有写入权限。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{value!r} is not a valid boolean. Recognized values: {states}":
        "{value!r} 不是是/否值。可以写：{states}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值 {choices} 之中。",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
}


_MSGID_OF = {**{zh: en for en, zh in CLICK_ZH.items()}, **{en: en for en in CLICK_ZH}}


def current() -> str:
    """The language chosen for this run (``--lang`` anywhere, else the locale)."""
    return _LANG[0]


def translate(message: str) -> str:
    if _LANG[0] == "en":
        return message
    return CLICK_ZH.get(message, message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return translate(singular if n == 1 else plural)


_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "shell_completion",
                  "termui", "types", "utils", "_termui_impl")


def install() -> None:
    """Point click's message lookups at :func:`translate`."""
    import importlib

    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - a click without that module
            continue
        if hasattr(module, "_"):
            module._ = translate  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = translate_plural  # type: ignore[attr-defined]


_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def _has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def _chinese(text: str) -> bool:
    """Mostly Chinese (an English paragraph may name a few Chinese words: 红榜, 黑榜)."""
    cjk = len(_CJK.findall(text))
    return cjk > 0 and cjk * 3 >= len(re.findall(r"[A-Za-z]", text))


def _split_line(line: str, lang: str) -> str:
    """``English / 中文`` → one side (a line with only one language is kept)."""
    bare = line.strip()
    if bare.startswith("(") and bare.endswith(")") and " / " in bare:  # "(English / 中文)"
        indent = line[:len(line) - len(line.lstrip())]
        inner = _split_line(bare[1:-1], lang)
        if inner != bare[1:-1]:
            return f"{indent}({inner})" if lang == "en" else f"{indent}（{inner}）"
    if " / " in line and _has_cjk(line):
        en, _, zh = line.rpartition(" / ")
        lead = re.match(r"\s*(?:\d+\s+)?", en)
        prefix = lead.group() if lead else ""
        if _has_cjk(zh) and not _has_cjk(en[len(prefix):]):
            if zh.rstrip().endswith((":", "：")) and not en.endswith(":"):
                en += ":"
            return en if lang == "en" else prefix + zh.strip()
    return line


def _join_continued(block: str) -> list[str]:
    """The lines of a help block, a line ``     / 中文`` (the Chinese of a long English line,
    wrapped) joined to the line above so that :func:`_split_line` sees the pair."""
    lines: list[str] = []
    for line in block.splitlines():
        if lines and line.lstrip().startswith("/ ") and _has_cjk(line) \
                and not _has_cjk(lines[-1]):
            lines[-1] = lines[-1].rstrip() + " " + line.strip()
        else:
            lines.append(line)
    return lines


def _split_sentence_pair(text: str, lang: str) -> str:
    """``English sentence. 中文。`` (an option's help) → one side."""
    m = re.search(r"[\u3400-\u9fff（]", text)
    if not m:
        return text
    en, zh = text[:m.start()].strip(), text[m.start():].strip()
    if not en or _has_cjk(en):
        return text
    return en if lang == "en" else zh


def pick(help_text: str | None, lang: str, *, option: bool = False) -> str | None:
    """The part of a bilingual help text for ``lang``."""
    if not help_text:
        return help_text
    if option:
        return _split_sentence_pair(help_text, lang)
    paragraphs = re.split(r"\n\s*\n", help_text.strip("\n"))
    out: list[str] = []
    has_zh = any(_chinese(p) and not p.lstrip().startswith("\b") for p in paragraphs)
    has_en = any(not _chinese(p) and not p.lstrip().startswith("\b") for p in paragraphs)
    for p in paragraphs:
        block = p.lstrip().startswith("\b")
        if block:  # examples, exit codes: line by line
            out.append("\n".join(_split_line(line, lang) for line in _join_continued(p)))
            continue
        if all(line.startswith((" ", "\t")) for line in p.splitlines() if line.strip()):
            out.append(p)  # an indented example: the same in both languages
            continue
        if "\n" not in p.strip() and " / " in p and _has_cjk(p):
            out.append(_split_line(p, lang))  # "Example / 示例:" or "Exit codes / 退出码: ..."
            continue
        cjk = _chinese(p)
        if lang == "en" and cjk and has_en:
            continue
        if lang != "en" and not cjk and has_zh:
            continue
        if cjk:  # a line break inside Chinese text is no space
            p = re.sub(r"(?<=[^\x00-\x7f])\n(?=[^\x00-\x7f])", "", p)
        out.append(p)
    return "\n\n".join(out)


def _walk(command: click.Command) -> Iterable[click.Command]:
    """``command`` and its subcommands; of a lazy group (``xiangyue.cli.main``), only those
    already imported (the others get their language when they are)."""
    yield command
    subs = getattr(command, "commands", {})
    for sub in subs.loaded() if hasattr(subs, "loaded") else subs.values():
        yield from _walk(sub)


def use(root: click.Command, lang: str) -> None:
    """Show every help text of ``root`` and its subcommands, and click's texts, in ``lang``."""
    _LANG[0] = lang
    for cmd in _walk(root):
        if not hasattr(cmd, "_help_both"):
            cmd._help_both = (cmd.help, cmd.short_help, cmd.epilog)  # type: ignore[attr-defined]
        both, short, epilog = cmd._help_both  # type: ignore[attr-defined]
        cmd.help = pick(both, lang)
        cmd.epilog = pick(epilog, lang)
        cmd.short_help = pick(short, lang, option=True) if short else _short(cmd.help, lang)
        if getattr(cmd, "_help_option", None) is not None:
            cmd._help_option = None  # click caches --help with its text in one language
        for param in cmd.params:
            if isinstance(param, click.Option):
                if not hasattr(param, "_help_both"):
                    param._help_both = param.help  # type: ignore[attr-defined]
                both = param._help_both  # type: ignore[attr-defined]
                if both in _MSGID_OF:  # a text of click's own (--version): its msgid
                    param.help = translate(_MSGID_OF[both])
                else:
                    param.help = pick(both, lang, option=True)


def _short(help_text: str | None, lang: str) -> str | None:
    """The first sentence of a help text, for the command list."""
    if not help_text:
        return None
    first = re.split(r"\n\s*\n", help_text.strip())[0].replace("\n", " ")
    end = first.find("。") if lang != "en" else first.find(". ")
    text = first[:end + 1] if end >= 0 else first
    return text if len(text) <= 70 else text[:68] + "…"


def language_of_args(args: Sequence[str]) -> str | None:
    """The ``--lang`` given anywhere on the command line, if any."""
    for i, a in enumerate(args):
        if a == "--lang" and i + 1 < len(args) and args[i + 1] in ("zh", "en"):
            return args[i + 1]
        if a.startswith("--lang=") and a[7:] in ("zh", "en"):
            return a[7:]
    return None
