"""Safe YAML loading with positions.

Rule files are hand-written YAML. This module reads them through PyYAML's *event stream* only
(never its constructors) and builds the tree itself, iteratively, so that:

- nothing but plain data comes out: ``dict`` (keys always ``str``), ``list``, ``str``, ``int``,
  ``decimal.Decimal``, ``bool``, ``None``;
- scalars keep the text the author wrote (``no``, ``010``, ``12:30``, ``2024-01-05`` stay text;
  ``0.5`` is ``Decimal("0.5")``);
- every value and key keeps its 1-based line and column, so later stages can point at it;
- anchors, aliases, tags, duplicate keys, deep nesting, several documents, bad encodings and the
  usual full-width-punctuation slips are reported as :class:`~xiangyue.errors.Diagnostic` values
  with a message and a hint in Chinese and English.

Every problem found is collected and raised together in one :class:`RulesetError`.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

import yaml
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from xiangyue.errors import Diagnostic, Pos, RulesetError
from xiangyue.i18n import Msg, register

__all__ = ["YamlDoc", "load_yaml", "load_yaml_text", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH"]

DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_MAX_DEPTH = 64
MAX_DIAGNOSTICS = 100  # stop collecting after this many: the first ones are what the author needs

# The C parser (libyaml) is ~20x faster; the pure-Python one gives the same events and marks.
# Tests swap this to run the corpus through both.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

register(
    {
        "E-FILE-NOTFOUND": Msg(
            zh="找不到文件“{path}”",
            en="file not found: '{path}'",
            hint_zh="检查文件名和所在目录是否写对",
            hint_en="check the file name and its directory",
        ),
        "E-FILE-READ": Msg(
            zh="无法读取文件“{path}”：{detail_zh}",
            en="cannot read file '{path}': {detail_en}",
            hint_zh="确认这是一个规则文件（不是文件夹），并且有读取权限",
            hint_en="make sure it is a rule file (not a folder) and that you may read it",
        ),
        "E-YAML-TOOBIG": Msg(
            zh="文件太大（{size} 字节），规则文件最多 {max_bytes} 字节",
            en="file too large ({size} bytes); a rule file may have at most {max_bytes} bytes",
            hint_zh="检查是否选错了文件；规则文件通常只有几千字节",
            hint_en="check that this is the right file; rule files are usually a few kilobytes",
        ),
        "E-YAML-ENCODING": Msg(
            zh="文件不是 UTF-8 编码：{detail_zh}",
            en="the file is not UTF-8 encoded: {detail_en}",
            hint_zh="用记事本或 WPS 把文件“另存为”UTF-8 编码（带不带 BOM 都可以）",
            hint_en="save the file as UTF-8 (with or without BOM), e.g. with Notepad's 'Save as'",
        ),
        "E-YAML-CHAR": Msg(
            zh="文件中有不可见的控制字符 {codepoint}",
            en="the file contains the control character {codepoint}",
            hint_zh="删除这个字符（它常常来自从别的软件复制粘贴）",
            hint_en="delete the character (it often comes from copy and paste)",
        ),
        "E-YAML-SYNTAX": Msg(
            zh="YAML 格式错误：{problem_zh}",
            en="YAML syntax error: {problem}",
            hint_zh="检查这一行和上一行：缩进要对齐，键后面是半角冒号加空格，引号和括号要成对",
            hint_en=(
                "check this line and the one before: aligned indentation, ': ' after each key, "
                "quotes and brackets in pairs"
            ),
        ),
        "E-YAML-TAB": Msg(
            zh="第 {column} 列是制表符（Tab），YAML 只允许用空格缩进",
            en="TAB character at column {column}; YAML indentation must use spaces",
            hint_zh="把 Tab 换成空格（每层缩进 2 个空格）；编辑器里可设置“Tab 转空格”",
            hint_en="replace the TAB with spaces (2 per level); editors can convert tabs to spaces",
        ),
        "E-YAML-FULLWIDTH": Msg(
            zh="第 {column} 列是{name_zh}“{char}”，YAML 只认半角的“{ascii}”{after_zh}",
            en=(
                "full-width character '{char}' ({name_en}) at column {column}; "
                "YAML only understands the ASCII '{ascii}'{after_en}"
            ),
            hint_zh="{fix_zh}",
            hint_en="{fix_en}",
        ),
        "E-YAML-ALIAS": Msg(
            zh="不允许使用 YAML 锚点或别名（{name}）",
            en="YAML anchors and aliases are not allowed ({name})",
            hint_zh="删除 & 或 * 标记，把内容直接写出来",
            hint_en="remove the & or * mark and write the content out in full",
        ),
        "E-YAML-TAG": Msg(
            zh="不允许使用 YAML 标签“{tag}”",
            en="YAML tags are not allowed ('{tag}')",
            hint_zh="删除“{tag}”；如果这是值的一部分，给整个值加上引号",
            hint_en="remove '{tag}'; if it is part of the value, put the whole value in quotes",
        ),
        "E-YAML-DUPKEY": Msg(
            zh="键“{key}”重复（第一次出现在第 {first_line} 行）",
            en="duplicate key '{key}' (first at line {first_line})",
            hint_zh="删除或合并重复的键",
            hint_en="remove or merge the duplicate key",
        ),
        "E-YAML-KEY": Msg(
            zh="键必须是一段文字，这里却是{kind_zh}",
            en="a key must be plain text, but this is {kind_en}",
            hint_zh="写成“键: 值”的形式，键是一个词（如 name、名称）",
            hint_en="write 'key: value' where the key is one word (e.g. name)",
        ),
        "E-YAML-DEPTH": Msg(
            zh="嵌套太深（超过 {max_depth} 层）",
            en="nesting too deep (more than {max_depth} levels)",
            hint_zh="检查括号是否成对、缩进是否正确；规则文件不需要这么多层",
            hint_en=(
                "check that brackets are closed and indentation is right; "
                "rule files never need this many levels"
            ),
        ),
        "E-YAML-MULTIDOC": Msg(
            zh="一个文件只能有一份内容，这里出现了第二份（由“---”或“...”分隔）",
            en="a file may hold one document only; a second one starts here ('---' or '...')",
            hint_zh="删除多余的“---”，或把第二部分放到另一个文件",
            hint_en="remove the extra '---' or move the second part to its own file",
        ),
        "E-YAML-EMPTY": Msg(
            zh="文件是空的（没有内容，或只有注释）",
            en="the file is empty (no content, or only comments)",
            hint_zh="从示例规则文件开始写，例如 rulesets/examples/jingou.yaml",
            hint_en="start from an example rule file such as rulesets/examples/jingou.yaml",
        ),
        "E-YAML-TOOMANY": Msg(
            zh="错误太多，只列出前 {n} 个",
            en="too many errors; only the first {n} are listed",
            hint_zh="先改正前面的错误再重新检查",
            hint_en="fix the errors above and check again",
        ),
    }
)

# ---------------------------------------------------------------------------------------------
# The document


@dataclass
class YamlDoc:
    """A loaded YAML file: plain data plus where each piece of it was written.

    Paths are tuples of mapping keys (str) and sequence indexes (int); ``()`` is the root.
    ``raw`` holds each scalar's source text exactly as written (quotes included for quoted
    scalars, indicator and indentation included for block scalars).
    """

    file: str
    text: str
    data: Any
    positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    raw: dict[tuple, str] = field(default_factory=dict)
    _lines: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def pos(self, path: tuple) -> Pos:
        """Position of the value at ``path``, or of its nearest known ancestor (root: 1:1)."""
        p = tuple(path)
        while True:
            found = self.positions.get(p)
            if found is not None:
                return Pos(self.file, found[0], found[1])
            if not p:
                return Pos(self.file, 1, 1)
            p = p[:-1]

    def key_pos(self, path: tuple) -> Pos:
        """Position of the key of the mapping entry at ``path``, falling back to :meth:`pos`."""
        found = self.key_positions.get(tuple(path))
        if found is not None:
            return Pos(self.file, found[0], found[1])
        return self.pos(path)

    def source_line(self, line: int) -> str:
        """The text of line ``line`` (1-based) without its line break; '' if out of range."""
        if self._lines is None:
            self._lines = _BREAK_RE.split(self.text)
        if 1 <= line <= len(self._lines):
            return self._lines[line - 1]
        return ""


# ---------------------------------------------------------------------------------------------
# Public entry points


def load_yaml(
    path: str | os.PathLike,
    *,
    display_name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> YamlDoc:
    """Read and load the YAML file at ``path``; raise :class:`RulesetError` on any problem.

    A missing or unreadable file (or a directory) raises with ``kind`` ``unusable``.
    """
    name = display_name if display_name is not None else os.fsdecode(path)
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a directory")
        if not _regular(path):  # a FIFO would block, a device would never end
            raise _read_error(name, "不是普通文件（设备或管道）", "not a regular file (a device or pipe)")
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise RulesetError(_toobig(name, size, max_bytes))
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        err = RulesetError(Diagnostic("E-FILE-NOTFOUND", file=name, args={"path": name}))
        err.kind = "unusable"
        raise err from None
    except IsADirectoryError:
        raise _read_error(name, "这是一个文件夹，不是文件", "it is a directory") from None
    except PermissionError:
        raise _read_error(name, "没有读取权限", "permission denied") from None
    except (OSError, ValueError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise _read_error(name, detail, detail) from None
    if len(data) > max_bytes:
        raise RulesetError(_toobig(name, f">{max_bytes}", max_bytes))
    return load_yaml_text(data, name, max_bytes=max_bytes, max_depth=max_depth)


def _regular(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (a missing one counts as regular: open() says so)."""
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def load_yaml_text(
    text: str | bytes,
    file: str = "<string>",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> YamlDoc:
    """Load YAML from a string (or undecoded bytes); raise :class:`RulesetError` on any problem."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > max_bytes:
            raise RulesetError(_toobig(file, len(data), max_bytes))
        text = _decode(data, file)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            # lone surrogates: only possible from a str built in Python, never from a file
            raise RulesetError(_bad_char(text, exc.start, file)) from None
        if size > max_bytes:
            raise RulesetError(_toobig(file, size, max_bytes))
    if text.startswith("\ufeff"):
        text = text[1:]
    bad = _NONPRINTABLE_RE.search(text)
    if bad:
        diags = [_bad_char(text, m.start(), file) for m in _take(_NONPRINTABLE_RE.finditer(text))]
        raise RulesetError(diags)
    builder = _YamlDocBuilder(text, file, max_depth)
    builder.run()
    if builder.retry_pure:
        builder = _YamlDocBuilder(text, file, max_depth)
        builder.run(yaml.SafeLoader)
    if builder.diags:
        raise RulesetError(builder.diags)
    return YamlDoc(
        file=file,
        text=text,
        data=builder.root,
        positions=builder.positions,
        key_positions=builder.key_positions,
        raw=builder.raw,
    )


# ---------------------------------------------------------------------------------------------
# Text helpers

# What YAML (and PyYAML's marks) count as a line break.
_BREAK_RE = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# Characters YAML does not allow in a stream (YAML 1.1 "printable", as PyYAML's reader checks).
_NONPRINTABLE_RE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _take(it: Iterator, n: int = MAX_DIAGNOSTICS) -> Iterator:
    for i, item in enumerate(it):
        if i >= n:
            return
        yield item


class _Lines:
    """Line starts of a text, to turn character offsets into (line, column)."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        self.starts.extend(m.end() for m in _BREAK_RE.finditer(text))
        self._lines: list[str] | None = None

    def at(self, index: int) -> tuple[int, int]:
        line = bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1

    def line(self, n: int) -> str:
        if self._lines is None:
            self._lines = _BREAK_RE.split(self.text)
        if 1 <= n <= len(self._lines):
            return self._lines[n - 1]
        return ""


def _toobig(file: str, size: int | str, max_bytes: int) -> Diagnostic:
    return Diagnostic("E-YAML-TOOBIG", file=file, args={"size": size, "max_bytes": max_bytes})


def _read_error(name: str, detail_zh: str, detail_en: str) -> RulesetError:
    err = RulesetError(
        Diagnostic(
            "E-FILE-READ",
            file=name,
            args={"path": name, "detail_zh": detail_zh, "detail_en": detail_en},
        )
    )
    err.kind = "unusable"
    return err


def _bad_char(text: str, index: int, file: str) -> Diagnostic:
    lines = _Lines(text)
    line, col = lines.at(index)
    code = f"U+{ord(text[index]):04X}"
    return Diagnostic(
        "E-YAML-CHAR",
        file=file,
        line=line,
        column=col,
        args={"codepoint": code},
        source_line=lines.line(line),
    )


_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 LE"),
    (b"\xfe\xff", "UTF-16 BE"),
    (b"\xff\xfe", "UTF-16 LE"),
)


def _decode(data: bytes, file: str) -> str:
    """UTF-8 (a BOM is fine) or a diagnostic saying where the first bad byte is."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise RulesetError(
                Diagnostic(
                    "E-YAML-ENCODING",
                    file=file,
                    line=1,
                    column=1,
                    args={
                        "encoding": name,
                        "detail_zh": f"文件是 {name} 编码（文件开头有 {name} 的 BOM 标记）",
                        "detail_en": f"it is {name} (it starts with a {name} byte order mark)",
                    },
                )
            )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
    head = data[:start].decode("utf-8")
    lines = _Lines(head)
    line, col = lines.at(len(head))
    line_start = lines.starts[line - 1]
    rest = data[start:]
    end = re.search(b"[\r\n]", rest)
    tail = rest[: end.start()] if end else rest
    source = head[line_start:] + tail.decode("utf-8", errors="replace")
    byte = data[start]
    args: dict[str, Any] = {
        "byte": f"0x{byte:02X}",
        "detail_zh": f"第 {line} 行第 {col} 列的字节 0x{byte:02X} 不是有效的 UTF-8",
        "detail_en": f"byte 0x{byte:02X} at line {line}, column {col} is not valid UTF-8",
    }
    if _looks_like_gbk(data):
        # show the line as the author sees it; the prefix is the same bytes, so the column holds
        source = head[line_start:] + tail.decode("gb18030", errors="replace")
        args["hint_zh"] = "这个文件看起来是 GBK/GB18030 编码（记事本的“ANSI”）"
        args["hint_en"] = "the file looks like GBK/GB18030 (Notepad's 'ANSI')"
    raise RulesetError(
        Diagnostic(
            "E-YAML-ENCODING", file=file, line=line, column=col, args=args, source_line=source
        )
    )


def _looks_like_gbk(data: bytes) -> bool:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Scalars

# ASCII digits only: [0-9], never \d (which also matches full-width and other digits)
_NUMBER_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(\.[0-9]+)?")
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


_MAYBE_NOT_TEXT = frozenset("0123456789+-tTfFnN~")


def _resolve_plain(value: str) -> Any:
    """The value of a plain scalar: only these few shapes are not text."""
    if value and value[0] not in _MAYBE_NOT_TEXT:
        return value
    if value in _NULLS:
        return None
    b = _BOOLS.get(value)
    if b is not None:
        return b
    m = _NUMBER_RE.fullmatch(value)
    if m is None:
        return value
    if m.group(1):
        return Decimal(value)
    try:
        return int(value)
    except ValueError:  # beyond Python's int-from-text digit limit: keep the text
        return value


# ---------------------------------------------------------------------------------------------
# Full-width punctuation

# char -> (ascii, name_zh, name_en, fix_zh, fix_en)
_FULLWIDTH: dict[str, tuple[str, str, str, str, str]] = {
    "：": (":", "全角冒号", "full-width colon", "用半角冒号 ':' 并在其后加空格",
           "use the ASCII colon ':' followed by a space"),
    "，": (",", "全角逗号", "full-width comma", "用半角逗号 ','", "use the ASCII comma ','"),
    "（": ("(", "全角括号", "full-width parenthesis", "用半角括号 '('", "use the ASCII '('"),
    "）": (")", "全角括号", "full-width parenthesis", "用半角括号 ')'", "use the ASCII ')'"),
    "［": ("[", "全角方括号", "full-width bracket", "用半角方括号 '['", "use the ASCII '['"),
    "］": ("]", "全角方括号", "full-width bracket", "用半角方括号 ']'", "use the ASCII ']'"),
    "｛": ("{", "全角花括号", "full-width brace", "用半角花括号 '{'", "use the ASCII '{'"),
    "｝": ("}", "全角花括号", "full-width brace", "用半角花括号 '}'", "use the ASCII '}'"),
    "＂": ('"', "全角引号", "full-width quote", "用半角双引号 '\"'", "use the ASCII double quote '\"'"),
    "“": ('"', "中文引号", "Chinese quote", "用半角双引号 '\"'", "use the ASCII double quote '\"'"),
    "”": ('"', "中文引号", "Chinese quote", "用半角双引号 '\"'", "use the ASCII double quote '\"'"),
    "‘": ("'", "中文引号", "Chinese quote", "用半角单引号 \"'\"", "use the ASCII single quote \"'\""),
    "’": ("'", "中文引号", "Chinese quote", "用半角单引号 \"'\"", "use the ASCII single quote \"'\""),
    "\u3000": (" ", "全角空格", "full-width space", "把全角空格换成普通（半角）空格",
               "replace the full-width space with a normal space"),
}


def _fullwidth_args(char: str, column: int, problem: tuple[str, str] | None = None) -> dict:
    ascii_, name_zh, name_en, fix_zh, fix_en = _FULLWIDTH[char]
    return {
        "char": char,
        "column": column,
        "ascii": ascii_,
        "name_zh": name_zh,
        "name_en": name_en,
        "fix_zh": fix_zh,
        "fix_en": fix_en,
        "after_zh": f"（{problem[0]}）" if problem else "",
        "after_en": f" ({problem[1]})" if problem else "",
    }


def _fullwidth_candidates(line: str) -> list[tuple[int, str]]:
    """Full-width characters on a line that may be standing in for YAML punctuation.

    Skips quoted strings, comments, and a '：' in the value part after an ASCII ``key:``
    (``note: 注意：xxx`` is fine).
    """
    out: list[tuple[int, str]] = []
    quote = ""
    in_value = False
    prev = " "
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if quote:
            if ch == quote:
                if quote == "'" and i + 1 < n and line[i + 1] == "'":
                    i += 2
                    continue
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"" and prev in " \t[{,:-?":
            quote = ch
        elif ch == "#" and prev in " \t":
            break
        elif ch == ":" and (i + 1 == n or line[i + 1] in " \t"):
            in_value = True
        elif ch in _FULLWIDTH and not (ch == "：" and in_value):
            out.append((i + 1, ch))
        prev = ch
        i += 1
    return out


# ---------------------------------------------------------------------------------------------
# Syntax errors

# PyYAML / libyaml problem texts -> a Chinese gloss (prefix match)
_GLOSSES = (
    ("could not find expected ':'", "找不到应有的冒号，键后面要写半角冒号和空格"),
    ("mapping values are not allowed", "这里不能出现“键: 值”，冒号的位置不对；若值里含有“: ”，请给值加引号"),
    ("expected <block end>", "缩进没有对齐，或出现了不属于任何键的内容"),
    ("did not find expected key", "缩进没有对齐，或出现了不属于任何键的内容"),
    ("did not find expected '-' indicator", "列表缩进没有对齐，每项以“- ”开头"),
    ("found character", "这里出现了不能作为内容开头的字符"),
    ("found unexpected end of stream", "文件意外结束，引号或括号没有闭合"),
    ("found unknown escape character", "双引号里有无法识别的反斜杠转义，请改用单引号，或写成两个反斜杠"),
    ("expected ',' or ']'", "方括号里缺少逗号，或方括号没有闭合"),
    ("did not find expected ',' or ']'", "方括号里缺少逗号，或方括号没有闭合"),
    ("expected ',' or '}'", "花括号里缺少逗号，或花括号没有闭合"),
    ("did not find expected ',' or '}'", "花括号里缺少逗号，或花括号没有闭合"),
    ("expected a comment or a line break", "这里应当是行尾或注释"),
    ("did not find expected comment or line break", "这里应当是行尾或注释"),
    ("found unexpected ':'", "冒号的位置不对"),
    ("expected the node content", "这里缺少内容"),
    ("did not find expected node content", "这里缺少内容"),
    ("while scanning a quoted scalar", "引号没有闭合"),
    ("found undefined tag handle", "未定义的标签"),
)


def _gloss(problem: str) -> str | None:
    for prefix, zh in _GLOSSES:
        if problem.startswith(prefix):
            return zh
    return None


class _Stop(Exception):
    """Internal: stop reading the event stream (depth, second document, too many errors)."""


# ---------------------------------------------------------------------------------------------
# The tree builder


_TAG_RE = re.compile(r"![^\s,\[\]{}]*")
_NO_KEY = object()  # a mapping waiting for its next key
_BAD_KEY = object()  # a mapping whose pending key was rejected: drop the value that follows

_MAP, _SEQ, _SKIP = 0, 1, 2


class _Frame:
    __slots__ = ("kind", "obj", "path", "key", "seen", "flow", "key_mark")

    def __init__(self, kind: int, obj: Any, path: tuple, flow: bool):
        self.kind = kind
        self.obj = obj
        self.path = path
        self.key: Any = _NO_KEY
        self.seen: dict[str, int] = {}
        self.flow = flow
        self.key_mark: tuple[int, int] = (0, 0)


class _YamlDocBuilder:
    """Builds a :class:`YamlDoc` (plain values and each node's line and column) from the YAML
    parser's events, collecting every problem as a diagnostic."""

    def __init__(self, text: str, file: str, max_depth: int):
        self.text = text
        self.file = file
        self.max_depth = max_depth
        self.lines = _Lines(text)
        self.diags: list[Diagnostic] = []
        self.reported: set[tuple] = set()
        self.retry_pure = False
        self.root: Any = None
        self.positions: dict[tuple, tuple[int, int]] = {}
        self.key_positions: dict[tuple, tuple[int, int]] = {}
        self.raw: dict[tuple, str] = {}
        self.stack: list[_Frame] = []
        self.documents = 0
        self.aliases_seen: set[str] = set()

    # -- diagnostics

    def diag(self, code: str, line: int, column: int, /, span: int = 1, **args: Any) -> None:
        where = (code, line, column)
        if where in self.reported:  # e.g. a root-scalar check and the syntax error after it
            return
        self.reported.add(where)
        source = self.lines.line(line)
        if len(source) > column + 200:  # a 1 MiB line of '[[[[' needs no full echo
            source = source[: column + 80]
        if len(self.diags) >= MAX_DIAGNOSTICS:
            self.diags.append(
                Diagnostic(
                    "E-YAML-TOOMANY",
                    file=self.file,
                    line=line,
                    column=column,
                    args={"n": MAX_DIAGNOSTICS},
                    source_line=source,
                )
            )
            raise _Stop
        self.diags.append(
            Diagnostic(
                code,
                file=self.file,
                line=line,
                column=column,
                args=args,
                source_line=source,
                span=max(1, span),
            )
        )

    def diag_at(self, code: str, index: int, /, span: int = 1, **args: Any) -> None:
        line, col = self.lines.at(index)
        self.diag(code, line, col, span, **args)

    # -- the event loop

    def run(self, loader: type | None = None) -> None:
        parser = None
        try:
            parser = (loader or _Loader)(self.text)
            self.loop(parser.get_event)
        except _Stop:
            pass
        except yaml.MarkedYAMLError as exc:
            if "maximum nesting depth" in str(exc.problem) and loader is not yaml.SafeLoader:
                # libyaml stops at its own limit (1000 levels) before we see the events; the
                # pure-Python parser is lazy, so a second pass finds where *our* limit is crossed.
                self.retry_pure = True
                return
            try:
                self.syntax_error(exc)
            except _Stop:
                pass
        except yaml.YAMLError as exc:  # a reader error: the precheck should have caught it
            index = getattr(exc, "position", 0) or 0
            try:
                self.diag_at("E-YAML-SYNTAX", min(index, len(self.text)), problem=str(exc),
                             problem_zh=str(exc))
            except _Stop:
                pass
        finally:
            if parser is not None:
                parser.dispose()

    def loop(self, get_event: Any) -> None:
        node = self.node
        pop = self.stack.pop
        while True:
            ev = get_event()
            cls = type(ev)
            if cls is ScalarEvent:
                node(ev, False)
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                pop()
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                node(ev, True)
            elif cls is AliasEvent:
                node(ev, False)
            elif cls is DocumentStartEvent:
                self.documents += 1
                if self.documents > 1:
                    m = ev.start_mark
                    self.diag("E-YAML-MULTIDOC", m.line + 1, m.column + 1, span=3)
                    return
            elif cls is StreamEndEvent or ev is None:
                if self.documents == 0:
                    self.diag("E-YAML-EMPTY", 1, 1)
                return

    def node(self, ev: Any, is_collection: bool) -> None:
        start = ev.start_mark
        if type(ev) is AliasEvent or ev.anchor is not None or ev.tag is not None:
            self.check_properties(ev)
        stack = self.stack
        top = stack[-1] if stack else None
        if is_collection and len(stack) >= self.max_depth:
            self.diag("E-YAML-DEPTH", start.line + 1, start.column + 1, max_depth=self.max_depth)
            raise _Stop

        if top is None:
            self.place_root(ev)
            return
        if top.kind == _SKIP or (top.kind == _MAP and top.key is _BAD_KEY):
            if top.kind == _MAP:
                top.key = _NO_KEY
            if is_collection:
                stack.append(_Frame(_SKIP, None, (), ev.flow_style))
            return
        if top.kind == _MAP and top.key is _NO_KEY:
            self.place_key(top, ev)
            return

        if top.kind == _SEQ:
            path = top.path + (len(top.obj),)
        else:
            path = top.path + (top.key,)
        value = self.make_value(ev, path, top)
        if top.kind == _SEQ:
            top.obj.append(value)
        else:
            top.obj[top.key] = value
            top.key = _NO_KEY

    def place_root(self, ev: Any) -> None:
        start = ev.start_mark
        if (
            type(ev) is ScalarEvent
            and ev.value == ""
            and ev.style in (None, "")
            and ev.tag is None
            and ev.anchor is None
        ):
            self.diag("E-YAML-EMPTY", 1, 1)
            return
        self.root = self.make_value(ev, (), None)
        if type(ev) is ScalarEvent and ev.style in (None, ""):
            raw = self.raw.get((), "")
            self.check_fullwidth_colon(raw, start.index)

    def place_key(self, top: _Frame, ev: Any) -> None:
        start = ev.start_mark
        line, col = start.line + 1, start.column + 1
        if type(ev) is AliasEvent:
            top.key = _BAD_KEY  # already reported by check_properties
            return
        if isinstance(ev, CollectionStartEvent):
            kind = ("映射", "a mapping") if type(ev) is MappingStartEvent else ("列表", "a list")
            self.diag("E-YAML-KEY", line, col, kind_zh=kind[0], kind_en=kind[1])
            top.key = _BAD_KEY
            self.stack.append(_Frame(_SKIP, None, (), ev.flow_style))
            return
        key = ev.value
        plain = ev.style in (None, "")
        if key == "" and plain:
            self.diag("E-YAML-KEY", line, col, kind_zh="空的", kind_en="empty")
            top.key = _BAD_KEY
            return
        if plain:
            raw = self.text[start.index : ev.end_mark.index]
            if raw.startswith("\u3000"):
                self.diag("E-YAML-FULLWIDTH", line, col, **_fullwidth_args("\u3000", col))
            else:  # {max：10} or a stray 名称：金钩村 before a real ':'
                self.check_fullwidth_colon(raw, start.index, anywhere=True)
        first = top.seen.get(key)
        if first is not None:
            self.diag(
                "E-YAML-DUPKEY",
                line,
                col,
                span=ev.end_mark.index - start.index if start.line == ev.end_mark.line else 1,
                key=key,
                first_line=first,
            )
            top.key = _BAD_KEY
            return
        top.seen[key] = line
        top.key = key
        top.key_mark = (line, col)
        self.key_positions[top.path + (key,)] = (line, col)

    def make_value(self, ev: Any, path: tuple, top: _Frame | None) -> Any:
        start = ev.start_mark
        self.positions[path] = (start.line + 1, start.column + 1)
        cls = type(ev)
        if cls is ScalarEvent:
            raw = self.text[start.index : ev.end_mark.index]
            self.raw[path] = raw
            if ev.style not in (None, ""):
                return ev.value
            if top is not None:
                self.check_plain_value(ev, raw, top)
            return _resolve_plain(ev.value)
        if cls is AliasEvent:
            return None
        if cls is MappingStartEvent:
            obj: Any = {}
            self.stack.append(_Frame(_MAP, obj, path, ev.flow_style))
        else:
            obj = []
            self.stack.append(_Frame(_SEQ, obj, path, ev.flow_style))
        return obj

    # -- checks

    def check_properties(self, ev: Any) -> None:
        """Anchors, aliases and tags are all rejected, at the place they are written."""
        start = ev.start_mark.index
        if type(ev) is AliasEvent:
            name = ev.anchor
            if name not in self.aliases_seen:  # a billion-laughs file: one report per name
                self.aliases_seen.add(name)
                self.diag_at("E-YAML-ALIAS", start, span=len(name) + 1, name="*" + name)
            return
        if ev.anchor is not None:
            written = "&" + ev.anchor
            at = self.text.find(written, start, ev.end_mark.index + 1)
            self.diag_at("E-YAML-ALIAS", at if at >= 0 else start, span=len(written), name=written)
        if ev.tag is not None:
            # the tag as the author wrote it (``!!str``), not its expanded form
            at = self.text.find("!", start, max(ev.end_mark.index, start + 1))
            written = ev.tag
            if at >= 0:
                m = _TAG_RE.match(self.text, at)
                if m:
                    written = m.group()
            else:
                at = start
            self.diag_at("E-YAML-TAG", at, span=len(written), tag=written)

    def check_fullwidth_colon(self, raw: str, index: int, anywhere: bool = False) -> bool:
        """Report a '：' standing where ': ' was meant (before any ASCII ':' in the text)."""
        pos = raw.find("：")
        if pos < 0:
            return False
        colon = raw.find(":")
        if not anywhere and 0 <= colon < pos:
            return False
        line, col = self.lines.at(index + pos)
        self.diag("E-YAML-FULLWIDTH", line, col, **_fullwidth_args("：", col))
        return True

    def check_plain_value(self, ev: Any, raw: str, top: _Frame) -> None:
        start = ev.start_mark
        if top.flow:
            pos = raw.find("，")
            if pos >= 0:  # [优，良，差] is one item, not three
                line, col = self.lines.at(start.index + pos)
                self.diag("E-YAML-FULLWIDTH", line, col, **_fullwidth_args("，", col))
            return
        if raw[:1] in ("［", "｛"):  # values: ［优, 良］ is one piece of text, not a list
            line, col = start.line + 1, start.column + 1
            self.diag("E-YAML-FULLWIDTH", line, col, **_fullwidth_args(raw[0], col))
            return
        if top.kind == _MAP:
            key_line, key_col = top.key_mark
            # ``village:\n名称：金钩村`` -- PyYAML takes the second line as the value of the first
            if start.line + 1 > key_line and start.column + 1 <= key_col:
                self.check_fullwidth_colon(raw, start.index)

    def syntax_error(self, exc: yaml.MarkedYAMLError) -> None:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        problem = (exc.problem or exc.context or "").strip()
        if "maximum nesting depth" in problem:  # libyaml's own limit (1000 levels)
            self.diag("E-YAML-DEPTH", line, col, max_depth=self.max_depth)
            return
        src = self.lines.line(line)
        indent = len(src) - len(src.lstrip(" \t"))
        tab = src.find("\t", 0, indent)
        if tab < 0 and col - 1 < len(src) and src[col - 1] == "\t":
            tab = col - 1
        if tab >= 0:
            self.diag("E-YAML-TAB", line, tab + 1, column=tab + 1)
            return
        problem_en = problem
        cm = exc.context_mark
        if exc.context and exc.problem:
            where = f" at line {cm.line + 1}" if cm else ""
            problem_en = f"{problem} ({exc.context}{where})"
        gloss = _gloss(problem) or _gloss(exc.context or "")
        problem_zh = f"{gloss}（{problem_en}）" if gloss else problem_en

        found = self.fullwidth_near(line, col, cm.line + 1 if cm else None)
        if found:
            fline, fcol, char = found
            self.diag(
                "E-YAML-FULLWIDTH",
                fline,
                fcol,
                **_fullwidth_args(
                    char,
                    fcol,
                    (f"YAML 格式错误：{gloss or problem_en}", f"YAML syntax error: {problem_en}"),
                ),
            )
            return
        self.diag("E-YAML-SYNTAX", line, col, problem=problem_en, problem_zh=problem_zh)

    def fullwidth_near(self, line: int, col: int, context_line: int | None):
        """The full-width character most likely behind a syntax error at ``line``:``col``."""
        cands = _fullwidth_candidates(self.lines.line(line))
        if cands:
            before = [c for c in cands if c[0] <= col]
            c = before[-1] if before else cands[0]
            return line, c[0], c[1]
        others = []
        if context_line and context_line != line:
            others.append(context_line)
        prev = line - 1
        while prev >= 1 and not self.lines.line(prev).strip():
            prev -= 1
        if prev >= 1 and prev not in others:
            others.append(prev)
        for n in others:
            cands = _fullwidth_candidates(self.lines.line(n))
            if cands:
                return n, cands[0][0], cands[0][1]
        return None
