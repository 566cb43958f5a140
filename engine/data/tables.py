"""Read a table file (CSV, XLSX, JSONL) into typed rows, with every problem as a diagnostic.

Design: :func:`read_table` streams the file once and returns a :class:`TableResult` holding the
typed rows (a dict per row, from field id to typed value, see CONTRIBUTING.md) and *every*
diagnostic found (unknown or missing columns, ragged rows, duplicate keys, bad cells), sorted by
position. Problems that stop the reading altogether (missing file, undecodable bytes, a file that
is not a workbook) raise :class:`~xiangyue.errors.InputError` at once. The caller decides what to
do with the collected diagnostics; :meth:`TableResult.raise_for_errors` raises them together.

Positions are as the user sees the table: ``line`` is the spreadsheet row (header = row 1; for
JSONL the line of the file) and ``column`` the column header as written.

Cells are converted by precomputed per-column converters (built once per file), so the row loop
does no type dispatch; a row falls back to a slow, diagnostic-collecting path only when one of its
cells is wrong.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import json
import math
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice, repeat
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register
from xiangyue.periods import DateTextError, normalize_text, parse_date_text
from xiangyue.rules.model import FieldSpec

__all__ = ["TableResult", "TableStream", "Block", "read_table", "match_header", "FORMATS",
           "summarize"]

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".jsonl": "jsonl", ".ndjson": "jsonl"}

_SAMPLE_DATE = "2024-03-01"
#: Rows searched for the header (titles and notes above it are skipped).
HEADER_SEARCH_ROWS = 20
#: Errors of one kind in one column beyond this many are summarised in one line.
GROUP_AFTER = 10
_GROUP_QUOTED = 3  # ... of which the first rows are still quoted one by one
#: The longest cell read from a CSV (Excel itself holds at most 32,767 characters).
MAX_CELL = 131072
#: An .xlsx whose parts unpack to more than this is refused (a zip bomb, or no clerk's file).
MAX_XLSX_UNPACKED = 2 << 30
#: Ids in these fields are checked for digits lost to a spreadsheet's number format.
ID_FIELDS = frozenset({"record_id", "household", "case_id", "person", "redemption_id"})

register(
    {
        "E-TABLE-FILE-MISSING": Msg(
            zh="找不到文件 {path}", en="file {path} not found",
            hint_zh="检查文件名和所在文件夹", hint_en="check the file name and folder"),
        "E-TABLE-FILE-READ": Msg(
            zh="无法读取文件 {path}：{reason}", en="cannot read file {path}: {reason}"),
        "E-TABLE-FORMAT": Msg(
            zh="不支持的文件类型“{ext}”", en="unsupported file type '{ext}'",
            hint_zh="请另存为 .csv、.xlsx 或 .jsonl", hint_en="save it as .csv, .xlsx or .jsonl"),
        "E-TABLE-XLS": Msg(
            zh="不支持旧版 Excel 文件（.xls）", en="old Excel files (.xls) are not supported",
            hint_zh="在 Excel 中“另存为”Excel 工作簿（.xlsx）或 CSV",
            hint_en="in Excel, 'Save As' an Excel workbook (.xlsx) or CSV"),
        "E-TABLE-ENCODING": Msg(
            zh="文件编码无法识别（既不是 UTF-8 也不是 GBK/GB18030）",
            en="the file's encoding is not recognised (neither UTF-8 nor GBK/GB18030)",
            hint_zh="在 Excel 中另存为“CSV UTF-8（逗号分隔）”，或用 --encoding 指定编码",
            hint_en="save it as 'CSV UTF-8 (comma delimited)', or give the encoding with --encoding"),
        "E-TABLE-DECODE": Msg(
            zh="文件不是 {encoding} 编码（第 {row} 行有无法解码的字节）",
            en="the file is not {encoding} (undecodable bytes in line {row})",
            hint_zh="检查 --encoding，或去掉它让程序自动识别",
            hint_en="check --encoding, or leave it out to detect the encoding"),
        "E-TABLE-ENCODING-NAME": Msg(
            zh="不认识的编码名称“{encoding}”", en="unknown encoding name '{encoding}'",
            hint_zh="常用：utf-8、gbk、gb18030", hint_en="common ones: utf-8, gbk, gb18030"),
        "E-TABLE-EMPTY": Msg(
            zh="文件是空的", en="the file is empty",
            hint_zh="第一行应是表头（列名），下面每行一条数据",
            hint_en="the first row should name the columns, then one row per entry"),
        "E-TABLE-NO-ROWS": Msg(
            zh="文件只有表头，没有数据行", en="the file has a header but no data rows"),
        "E-TABLE-XLSX": Msg(
            zh="无法读取 Excel 工作簿：{reason}", en="cannot read the Excel workbook: {reason}",
            hint_zh="在 Excel 中打开并重新保存为 .xlsx，或另存为 CSV",
            hint_en="open it in Excel and save it again as .xlsx, or save it as CSV"),
        "E-TABLE-SHEET": Msg(
            zh="工作簿中没有名为“{sheet}”的工作表", en="the workbook has no sheet named '{sheet}'",
            hint_zh="现有工作表：{sheets}", hint_en="sheets: {sheets}"),
        "E-TABLE-JSONL": Msg(
            zh="这一行不是有效的 JSON：{reason}", en="this line is not valid JSON: {reason}",
            hint_zh="每行写一个 JSON 对象，如 {example}",
            hint_en="write one JSON object per line, e.g. {example}"),
        "E-TABLE-JSONL-OBJECT": Msg(
            zh="这一行应是一个 JSON 对象（{{...}}）", en="this line should be a JSON object ({{...}})",
            hint_zh="每行写一个 JSON 对象，如 {example}",
            hint_en="write one JSON object per line, e.g. {example}"),
        "E-TABLE-UNKNOWN-COLUMN": Msg(
            zh="未知的列“{name}”", en="unknown column '{name}'",
            hint_zh="{suggest_zh}", hint_en="{suggest_en}"),
        "E-TABLE-DUP-COLUMN": Msg(
            zh="列“{name}”与列“{first_name}”是同一个字段（{field}）",
            en="column '{name}' is the same field ({field}) as column '{first_name}'",
            hint_zh="删掉其中一列", hint_en="remove one of them"),
        "E-TABLE-MISSING-COLUMN": Msg(
            zh="缺少必填列“{name}”", en="required column '{name}' is missing",
            hint_zh="加一列，表头写“{name}”（或 {id}）",
            hint_en="add a column headed '{id}' (or {name})"),
        "E-TABLE-NO-HEADER": Msg(
            zh="第 {index} 列没有表头，但有内容“{text}”",
            en="column {index} has no header but holds '{text}'",
            hint_zh="给这一列写上列名，或删掉这一列的内容",
            hint_en="give the column a name, or clear its cells"),
        "E-TABLE-RAGGED-LONG": Msg(
            zh="这一行有 {cells} 格，比表头的 {columns} 列多",
            en="this row has {cells} cells, more than the {columns} columns of the header",
            hint_zh="多出的内容：“{extra}”；检查是否有多余的逗号",
            hint_en="extra content: '{extra}'; look for a stray comma"),
        "E-TABLE-RAGGED-SHORT": Msg(
            zh="这一行只有 {cells} 格，表头有 {columns} 列",
            en="this row has only {cells} cells, the header has {columns} columns",
            hint_zh="补齐缺少的格（空着也要留逗号）",
            hint_en="add the missing cells (an empty cell still needs its comma)"),
        "E-TABLE-DUP-KEY": Msg(
            zh="{name} {value} 重复：第 {first} 行和第 {row} 行",
            en="{name} {value} appears twice: rows {first} and {row}",
            hint_zh="每个{name}只能出现一次", hint_en="each {name} may appear only once"),
        "E-TABLE-REQUIRED": Msg(
            zh="“{name}”不能为空", en="'{name}' must not be empty"),
        "E-TABLE-TEXT": Msg(
            zh="“{name}”应是文字，不能是 {text}", en="'{name}' should be text, not {text}"),
        "E-TABLE-DECIMAL": Msg(
            zh="“{text}”不是数字", en="'{text}' is not a number",
            hint_zh="写成数字，如 2、1.5 或 1,200（不带单位）",
            hint_en="write a number such as 2, 1.5 or 1,200 (no units)"),
        "E-TABLE-INTEGER": Msg(
            zh="“{text}”不是整数", en="'{text}' is not a whole number",
            hint_zh="写成整数，如 45", hint_en="write a whole number such as 45"),
        "E-TABLE-DATE": Msg(
            zh="日期“{text}”格式不对", en="date '{text}' is not in the expected form",
            hint_zh="日期写成 " + _SAMPLE_DATE + "、2024/3/1 或 2024年3月1日",
            hint_en="write dates as " + _SAMPLE_DATE + ", 2024/3/1 or 2024年3月1日"),
        "E-TABLE-DATE-DAY": Msg(
            zh="日期“{text}”不存在", en="there is no such date as '{text}'",
            hint_zh="检查月份和日期（写成 YYYY-MM-DD）", hint_en="check the month and day (YYYY-MM-DD)"),
        "E-TABLE-BOOLEAN": Msg(
            zh="“{text}”不是 是/否", en="'{text}' is not yes/no",
            hint_zh="写 是 或 否（也可写 true/false、1/0）",
            hint_en="write 是 or 否 (or true/false, 1/0)"),
        "E-TABLE-MIN": Msg(
            zh="“{name}”为 {value}，不能小于 {min}", en="'{name}' is {value}, below the minimum {min}"),
        "E-TABLE-MAX": Msg(
            zh="“{name}”为 {value}，不能大于 {max}", en="'{name}' is {value}, above the maximum {max}"),
        "E-TABLE-VALUE": Msg(
            zh="“{name}”不能是“{text}”", en="'{name}' cannot be '{text}'",
            hint_zh="可选值：{allowed}", hint_en="allowed values: {allowed}"),
        "E-TABLE-SAME": Msg(
            zh="第 {rows} 行：{what_zh}（共 {count} 行）",
            en="rows {rows}: {what_en} ({count} rows)",
            hint_zh="{hint_zh}", hint_en="{hint_en}"),
        "W-TABLE-SAME": Msg(
            zh="第 {rows} 行：{what_zh}（共 {count} 行）",
            en="rows {rows}: {what_en} ({count} rows)",
            hint_zh="{hint_zh}", hint_en="{hint_en}"),
        "W-TABLE-TITLE-ROWS": Msg(
            zh="第 {rows} 行是标题，已跳过（表头在第 {header} 行）",
            en="row(s) {rows} above the header (row {header}) are titles: skipped",
            hint_zh="如表头不在第 {header} 行，用 --header-row 指定",
            hint_en="if the header is not row {header}, give it with --header-row"),
        "W-TABLE-FOOTER": Msg(
            zh="第 {rows} 行是合计、签名或备注行（“{text}”），已跳过",
            en="row(s) {rows} are totals, signatures or notes ('{text}'): skipped"),
        "W-TABLE-EXTRA-COLUMNS": Msg(
            zh="规则文件中没有这些列：{names}；已作为附加信息随每行保存",
            en="columns the rule file does not know: {names_en}; kept with each row as extra fields",
            hint_zh="如列名写错了，请改正；如要拒绝未知的列，加 --strict-columns",
            hint_en="if a header is misspelt, correct it; to refuse unknown columns, add "
            "--strict-columns"),
        "W-TABLE-SHEET": Msg(
            zh="读取工作表“{sheet}”（工作簿有 {count} 个工作表：{sheets}）",
            en="reading sheet '{sheet}' (the workbook has {count} sheets: {sheets})",
            hint_zh="要读别的工作表，用 --sheet 指定", hint_en="to read another one, use --sheet"),
        "E-TABLE-HEADER-NOT-FOUND": Msg(
            zh="没有找到表头：第 1–{last} 行中没有一行包含 {names}",
            en="no header found: none of rows 1–{last} names {names_en}",
            hint_zh="表头行应写列名（如 {names}）；或用 --header-row 指定表头所在的行",
            hint_en="the header row should name the columns ({names_en}); or give its row with "
            "--header-row"),
        "E-TABLE-HEADER-ROW": Msg(
            zh="--header-row {row}：表格只有 {rows} 行", en="--header-row {row}: the table has {rows} rows",
            hint_zh="写表头所在的行号（第一行是 1）", hint_en="give the header's row number (the first row is 1)"),
        "E-TABLE-FORMULA": Msg(
            zh="公式没有计算结果：单元格 {cell}（{formula}）",
            en="formula without a computed result: cell {cell} ({formula})",
            hint_zh="请在 Excel 中打开并保存，或粘贴为数值",
            hint_en="open the file in Excel and save it, or paste the cells as values"),
        "E-TABLE-ID-DIGITS": Msg(
            zh="“{name}”是数字 {text}：超过 15 位的数字在电子表格中已丢失末尾的位数",
            en="'{name}' is the number {text}: a spreadsheet number keeps only 15 digits, the rest "
            "were lost",
            hint_zh="把这一列的单元格格式设为“文本”，再重新输入编号（或在编号前加英文单引号 '）",
            hint_en="format the column as Text and type the ids again (or start each with a ')"),
        "E-TABLE-CELL-SIZE": Msg(
            zh="这一行有一格超过 {limit} 个字符（或引号没有配对）",
            en="a cell of this row is longer than {limit} characters (or a quote is not closed)",
            hint_zh="检查这一行的引号（\"）是否成对", hint_en="check that the row's quotes (\") pair up"),
        "E-TABLE-CSV": Msg(
            zh="这一行无法读取：{reason}", en="this row cannot be read: {reason}",
            hint_zh="在 Excel 中另存为 CSV 再试", hint_en="save it again as CSV from Excel"),
        "E-TABLE-XLSX-UNSAFE": Msg(
            zh="工作簿含有不安全的 XML 内容（{reason}），没有读取",
            en="the workbook holds unsafe XML ({reason}); it was not read",
            hint_zh="在 Excel 中打开并另存为新的 .xlsx，或另存为 CSV",
            hint_en="open it in Excel and save it as a new .xlsx, or as CSV"),
        "E-TABLE-XLSX-SIZE": Msg(
            zh="工作簿解压后过大（{size} MB），没有读取", en="the workbook unpacks to {size} MB; it was not read",
            hint_zh="这不像一份登记表；请确认文件，或拆成几个文件",
            hint_en="this is not a register's size; check the file, or split it"),
        "E-TABLE-ENCODING-MIXED": Msg(
            zh="文件混用了编码：前面是 UTF-8，第 {row} 行（文件第 {byte} 字节）不是",
            en="the file mixes encodings: UTF-8 up to row {row} (byte {byte}), which is not",
            hint_zh="这一行可能是从 GBK 文件复制来的；在 Excel 中重新输入这一行后另存为“CSV UTF-8”",
            hint_en="the row was probably copied from a GBK file; retype it and save as 'CSV UTF-8'"),
        "E-TABLE-TOO-MANY": Msg(
            zh="错误太多，后面还有 {n} 个未列出", en="too many errors: {n} more not listed",
            hint_zh="先改正上面列出的错误", hint_en="fix the errors listed first"),
    }
)


# --------------------------------------------------------------------------------------------
# result


@dataclass
class TableResult:
    """Typed rows of one table file and what was found wrong with it.

    ``rows[i]`` is a dict from field id to typed value and ``lines[i]`` its row number (as the user
    sees it). Rows with a bad cell are left out of ``rows`` (their problems are in
    ``diagnostics``); fields without a column in the file hold their default. ``columns`` maps
    each field id present to its header as written.
    """

    file: str
    format: str
    encoding: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: ``extras[i]``: the cells of ``rows[i]`` under columns the rules do not know (header as
    #: written -> cell text), or None
    extras: list[dict[str, str] | None] = field(default_factory=list)
    header_line: int = 1
    sheet: str | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def header(self, field_id: str, fields: Sequence[FieldSpec] = ()) -> str:
        """The column header as written for ``field_id`` (else its label or id)."""
        if field_id in self.columns:
            return self.columns[field_id]
        spec = next((f for f in fields if f.id == field_id), None)
        return (spec.label or spec.id) if spec else field_id

    def raise_for_errors(self) -> None:
        if self.errors:
            raise InputError(self.diagnostics)


# --------------------------------------------------------------------------------------------
# headers


_SPACE = re.compile(r"\s+")
_UNIT = re.compile(r"\s*[(（][^()（）]*[)）]\s*\Z")  # 数量（小时）, 金额(元)
_MARK = "*＊※"  # a required-column mark some forms put on headers


def _norm(name: Any) -> str:
    """Header comparison form: full-width forms as ASCII, no spaces at all (``户 号``), a
    required mark (``户号*``) dropped, ASCII case folded."""
    text = "" if name is None else str(name)
    text = text.lstrip("\ufeff")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _SPACE.sub("", text).strip(_MARK)
    return text.lower() if text.isascii() else "".join(
        ch.lower() if ch.isascii() else ch for ch in text)


def match_header(name: Any, fields: Sequence[FieldSpec]) -> FieldSpec | None:
    """The field a header names (by id, label or alias), or None. A unit in brackets after
    the name (``数量（小时）``, ``金额(元)``) is allowed when the name alone is a field's."""
    key = _norm(name)
    for f in fields:
        if any(_norm(n) == key for n in f.names()):
            return f
    bare = _UNIT.sub("", str(name or ""))
    if bare and bare != str(name or ""):
        key = _norm(bare)
        for f in fields:
            if any(_norm(n) == key for n in f.names()):
                return f
    return None


def suggest_column(name: str, fields: Sequence[FieldSpec]) -> tuple[str, str]:
    names = [n for f in fields for n in f.names()]
    close = difflib.get_close_matches(_norm(name), [_norm(n) for n in names], n=1, cutoff=0.5)
    if close:
        real = next(n for n in names if _norm(n) == close[0])
        spec = match_header(real, fields)
        shown = real if spec is None or spec.label in (None, real) else f"{real}（{spec.label}）"
        return f"是不是“{shown}”？", f"did you mean '{real}'?"
    known = "、".join(f.label or f.id for f in fields)
    known_en = ", ".join(f.id for f in fields)
    return f"可用的列：{known}", f"known columns: {known_en}"


# --------------------------------------------------------------------------------------------
# cell converters


class CellError(Exception):
    """A cell that cannot be converted: code and message arguments."""

    def __init__(self, code: str, **args: Any):
        super().__init__(code)
        self.code = code
        self.args_ = args


_DEC_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_LOOSE_DATE = re.compile(
    r"(?:(?P<y>[0-9]{4})\s*[-/.年]\s*)?(?P<m>[0-9]{1,2})\s*[-/.月]\s*(?P<d>[0-9]{1,2})\s*日?\Z")
#: Full-width ASCII forms (ＪＧ００１) and the ideographic space as their ASCII selves.
_FULL_WIDTH = {**{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}, 0x3000: 0x20}
_SCI_RE = re.compile(r"[0-9](?:\.[0-9]+)?[Ee]\+[0-9]+\Z")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?\Z")
_BOOLS = {"是": True, "否": False, "true": True, "false": False, "1": True, "0": False,
          "yes": True, "no": False, "y": True, "n": False, "对": True, "错": False}
_CACHE_MAX = 20000
_CHUNK = 512  # CSV rows converted column-wise at a time (small: the columns stay in the CPU cache)


def _date_hint(text: str) -> dict[str, str]:
    """A 'write it as 2024-03-01' suggestion for a loosely written date."""
    m = _LOOSE_DATE.match(text)
    if not m:
        return {}
    if not m["y"]:
        return {"hint_zh": "要写上年份", "hint_en": "include the year"}
    try:
        day = dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return {}
    return {"hint_zh": f"这里应写成 {day.isoformat()}", "hint_en": f"here: {day.isoformat()}"}


def _has_exponent(text: str) -> bool:
    return "E+" in text or "e+" in text


def _number_text(s: str) -> str | None:
    """A number as clerks type it, in plain form: full-width digits and point (``１２．５``),
    thousands separators (``1,200``), a currency sign (``￥30``); None if it is no number."""
    t = normalize_text(s).replace(" ", "")
    if t[:1] in ("¥", "$"):
        t = t[1:]
    if _GROUPED.match(t):
        t = t.replace(",", "")
    return t if _DEC_RE.match(t) else None


#: Excel date serials accepted in a date column (1950-01-01 .. 2099-12-31).
_SERIALS = (18264, 73050)


def _number_date(v: Any, text: str) -> dt.date:
    """A number in a date cell: an Excel date serial (a date cell formatted as a number), or
    20240305 typed as a number."""
    if v == int(v):
        n = int(v)
        if _SERIALS[0] <= n <= _SERIALS[1]:
            return dt.date(1899, 12, 30) + dt.timedelta(days=n)
        if 19000101 <= n <= 29991231:
            try:
                return parse_date_text(str(n))
            except DateTextError:
                raise CellError("E-TABLE-DATE-DAY", text=text) from None
    raise CellError("E-TABLE-DATE", text=text)


def _float_text(x: float) -> str:
    """Shortest exact decimal text of a spreadsheet number: 0.1 -> '0.1', 1.0 -> '1'."""
    if x == int(x) and abs(x) < 1e16:
        return str(int(x))
    return format(Decimal(repr(x)), "f")


class _Cache(dict):  # type: ignore[type-arg]
    """cell text -> typed value; a miss converts (and remembers, up to a bound)."""

    def __init__(self, convert: Callable[[str], Any]):
        super().__init__()
        self.convert = convert

    def __missing__(self, cell: str) -> Any:
        v = self.convert(cell)
        if len(self) < _CACHE_MAX:
            self[cell] = v
        return v


class CellConverter:
    """Converts one column's cells to the field's type; built once per file.

    ``text(s)`` takes a CSV cell (a str), ``value(v)`` any cell (str, number, date, bool, None)
    from XLSX or JSONL.
    """

    def __init__(self, spec: FieldSpec):
        self.spec = spec
        self.name = spec.label or spec.id
        self.required = spec.required
        self.default = spec.default
        self.values = frozenset(spec.values) if spec.values else None
        self.min = spec.min
        self.max = spec.max
        self.is_id = spec.id in ID_FIELDS
        kind = spec.type
        parse = {"text": self._text, "decimal": self._decimal, "integer": self._integer,
                 "date": self._date, "boolean": self._boolean}.get(kind)
        if parse is None:
            raise ValueError(f"unknown field type {kind!r}")
        self._parse: Callable[[str], Any] = parse
        self.text: Callable[[str], Any] = self._make_text()

    # -- the fast CSV path ------------------------------------------------------------------
    def _make_text(self) -> Callable[[str], Any]:
        if self.spec.type == "text" and self.values is None:
            self.plain = True
            empty = self._empty
            if self.is_id:
                lost = self._lost_digits

                def conv(cell: str) -> Any:
                    s = cell.strip()
                    if not s.isascii():
                        s = s.translate(_FULL_WIDTH).strip()
                    if "E+" in s or "e+" in s:
                        lost(s)
                    return s if s else empty()
                return conv

            def conv(cell: str) -> Any:
                s = cell.strip()
                return s if s else empty()
            return conv
        # Other types go through a cache keyed by the raw cell: dates, grades and small
        # quantities repeat, and a hit costs one dict lookup at C speed.
        self.plain = False
        self.cache = _Cache(self._convert_new)
        return self.cache.__getitem__

    def _convert_new(self, cell: str) -> Any:
        s = cell.strip()
        return self._parse(s) if s else self._empty()

    def column(self, cells: Sequence[str]) -> list[Any]:
        """Convert a whole column of CSV cells (raises :class:`CellError` at the first bad one)."""
        if self.plain:
            vals = list(map(str.strip, cells))
            if self.is_id:
                joined = "\x00".join(vals)
                if not joined.isascii():
                    vals = [v.translate(_FULL_WIDTH).strip() for v in vals]
                if _has_exponent(joined):
                    for v in vals:
                        self._lost_digits(v)
            if "" in vals:
                if self.required:
                    raise CellError("E-TABLE-REQUIRED", name=self.name)
                d = self.default
                vals = [v if v else d for v in vals]
            return vals
        return list(map(self.text, cells))

    def stored_column(self, cells: Sequence[str]) -> list[Any]:
        """A whole column of CSV cells as stored in the database (:func:`xiangyue.data.store.to_db`
        of the typed value), raising :class:`CellError` at the first bad one: text needs no
        conversion, other types one cached dict lookup per cell."""
        if self.plain:
            return self.column(cells)
        cache = getattr(self, "stored_cache", None)
        if cache is None:
            from xiangyue.data.store import to_db

            kind = self.spec.type
            cache = self.stored_cache = _Cache(lambda cell: to_db(kind, self._convert_new(cell)))
        return list(map(cache.__getitem__, cells))

    def _lost_digits(self, s: str) -> None:
        """An id as a CSV saved by Excel writes a long number: ``1.10101E+17`` (digits lost)."""
        if _SCI_RE.match(s):
            raise CellError("E-TABLE-ID-DIGITS", name=self.name, text=s)

    def _empty(self) -> Any:
        if self.required:
            raise CellError("E-TABLE-REQUIRED", name=self.name)
        return self.default

    def _text(self, s: str) -> str:
        if self.values is not None and s not in self.values:
            raise CellError("E-TABLE-VALUE", name=self.name, text=s,
                       allowed="、".join(self.spec.values or ()))
        return s

    def _bounds(self, v: Any) -> Any:
        if self.min is not None and v < self.min:
            raise CellError("E-TABLE-MIN", name=self.name, value=v, min=self.min)
        if self.max is not None and v > self.max:
            raise CellError("E-TABLE-MAX", name=self.name, value=v, max=self.max)
        return v

    def _decimal(self, s: str) -> Decimal:
        if not _DEC_RE.match(s):
            t = _number_text(s)
            if t is None:
                raise CellError("E-TABLE-DECIMAL", text=s)
            s = t
        return self._bounds(Decimal(s))

    def _integer(self, s: str) -> int:
        if not _INT_RE.match(s):
            t = _number_text(s)
            if t is None or not _INT_RE.match(t):
                raise CellError("E-TABLE-INTEGER", text=s)
            s = t
        return self._bounds(int(s))

    def _date(self, s: str) -> dt.date:
        if _DATE_RE.match(s):
            try:
                return dt.date(int(s[:4]), int(s[5:7]), int(s[8:10]))
            except ValueError:
                raise CellError("E-TABLE-DATE-DAY", text=s) from None
        try:
            return parse_date_text(s)
        except DateTextError as err:
            if err.kind == "day":
                raise CellError("E-TABLE-DATE-DAY", text=s) from None
            raise CellError("E-TABLE-DATE", text=s, **_date_hint(s)) from None

    def _boolean(self, s: str) -> bool:
        try:
            return _BOOLS[s.lower()]
        except KeyError:
            t = normalize_text(s).lower()
            if t in _BOOLS:
                return _BOOLS[t]
            raise CellError("E-TABLE-BOOLEAN", text=s) from None

    # -- typed cells (XLSX, JSONL) ----------------------------------------------------------
    def value(self, v: Any) -> Any:
        if v is None:
            return self._empty()
        if isinstance(v, str):
            return self.text(v)
        kind = self.spec.type
        if isinstance(v, bool):
            if kind == "boolean":
                return v
            if kind == "text":
                return self._text("是" if v else "否")
            raise CellError(_TYPE_CODE[kind], name=self.name, text=str(v).lower())
        if isinstance(v, (int, float, Decimal)):
            if isinstance(v, float) and not math.isfinite(v):
                raise CellError(_TYPE_CODE[kind], name=self.name, text=repr(v))
            if isinstance(v, Decimal) and not v.is_finite():
                raise CellError(_TYPE_CODE[kind], name=self.name, text=str(v))
            text = _float_text(v) if isinstance(v, float) else (
                str(v) if isinstance(v, int) else format(v, "f"))
            if kind == "date":
                return _number_date(v, text)
            if kind == "text" and abs(v) >= 10 ** 15:
                # a spreadsheet number holds 15 significant digits: an 18-digit id typed as a
                # number has lost its last digits already
                raise CellError("E-TABLE-ID-DIGITS", name=self.name, text=text)
            if kind == "integer" and not isinstance(v, int) and v == int(v):
                text = str(int(v))  # 3.0 from a spreadsheet or JSON is the whole number 3
            if kind == "boolean" and text in ("0", "1"):
                return text == "1"
            return self._parse(text)
        if isinstance(v, dt.datetime):
            if kind == "date":
                return v.date()  # a time of day typed with the date does not matter
            return self._parse(v.date().isoformat() if v.time() == dt.time(0, 0)
                               else v.isoformat(sep=" "))
        if isinstance(v, dt.date):
            return v if kind == "date" else self._parse(v.isoformat())
        if isinstance(v, (dict, list)):
            raise CellError("E-TABLE-TEXT", name=self.name, text=json.dumps(v, ensure_ascii=False))
        return self._parse(str(v).strip())


_TYPE_CODE = {"decimal": "E-TABLE-DECIMAL", "integer": "E-TABLE-INTEGER", "date": "E-TABLE-DATE",
              "boolean": "E-TABLE-BOOLEAN", "text": "E-TABLE-TEXT"}


# --------------------------------------------------------------------------------------------
# the reader


def row_ranges(lines: Sequence[int]) -> str:
    """Row numbers as runs: [1, 2, 3, 7] -> ``1–3、7`` (ascending, each once)."""
    parts: list[str] = []
    run: list[int] = []
    for n in sorted(set(lines)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
        run = [n]
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}")
    if len(parts) > 6:
        parts = parts[:5] + ["…"]
    return "、".join(parts)


class _Collector:
    """Diagnostics of one file, capped so a systematically wrong file stays readable: errors of
    one kind in one column on more than :data:`GROUP_AFTER` rows become the first few rows
    quoted and one line for them all ("第 2–2001 行：…（共 2000 行）")."""

    def __init__(self, file: str, max_errors: int):
        self.file = file
        self.max = max_errors
        self.items: list[Diagnostic] = []
        self.groups: dict[tuple[str, Any], list[Any]] = {}  # (code, column) -> [count, lines]
        self.dropped_by: dict[tuple[str, Any], int] = {}  # left out for the cap, by group

    def clear(self) -> None:
        self.items.clear()
        self.groups.clear()
        self.dropped_by.clear()

    def add(self, code: str, line: int = 0, column: int | str = 0, severity: str = "error",
            **args: Any) -> None:
        key = (code, column)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = [0, []]
        group[0] += 1
        if line and len(group[1]) < 100000:
            group[1].append(line)
        if group[0] > GROUP_AFTER:
            return  # summarised by finish()
        if len(self.items) >= self.max:
            self.dropped_by[key] = self.dropped_by.get(key, 0) + 1
            return
        self.items.append(Diagnostic(code, file=self.file, line=line, column=column, args=args,
                                     severity=severity))

    def add_diagnostic(self, d: Diagnostic) -> None:
        self.items.append(d)

    def finish(self) -> list[Diagnostic]:
        out = summarize(self.items, self.groups)
        big = {k for k, g in self.groups.items() if g[0] > GROUP_AFTER}
        dropped = sum(n for k, n in self.dropped_by.items() if k not in big)  # summarised
        if dropped:
            last = out[-1].line if out else 0
            out.append(Diagnostic("E-TABLE-TOO-MANY", file=self.file, line=last,
                                  args={"n": dropped}))
        return out


_SAME = {"error": "E-TABLE-SAME", "warning": "W-TABLE-SAME"}


def summarize(items: Sequence[Diagnostic],
              groups: Mapping[tuple[str, Any], Sequence[Any]] | None = None) -> list[Diagnostic]:
    """``items`` sorted by position, each kind of problem (code and column) found on more
    than :data:`GROUP_AFTER` rows as one line for them all ("第 2–2001 行：…（共 2000 行）")
    followed by its first few rows. ``groups``: (code, column) -> [count, rows] when ``items``
    holds only the first ones of each kind (a reader that stopped keeping them)."""
    if groups is None:
        counted: dict[tuple[str, Any], list[Any]] = {}
        for d in items:
            g = counted.setdefault((d.code, d.column), [0, []])
            g[0] += 1
            if d.line:
                g[1].append(d.line)
        groups = counted
    big = {k: g for k, g in groups.items() if g[0] > GROUP_AFTER}
    kept: list[Diagnostic] = []
    quoted: dict[tuple[str, Any], int] = {}
    for d in items:
        k = (d.code, d.column)
        if k in big:
            quoted[k] = quoted.get(k, 0) + 1
            if quoted[k] == 1:
                count, lines = big[k]
                kept.append(Diagnostic(
                    _SAME.get(d.severity, "W-TABLE-SAME"), file=d.file,
                    line=min(lines) if lines else d.line, column=d.column, severity=d.severity,
                    args={"rows": row_ranges(lines), "count": count,
                          "what_zh": d.message("zh"), "what_en": d.message("en"),
                          "hint_zh": d.hint("zh") or "", "hint_en": d.hint("en") or ""}))
            if quoted[k] > _GROUP_QUOTED:
                continue
        kept.append(d)
    out = sorted(kept, key=Diagnostic.sort_key)
    if big:  # each summary line before the rows it quotes
        out.sort(key=lambda d: (d.sort_key()[:3], d.code not in ("E-TABLE-SAME", "W-TABLE-SAME")))
    return out


def _fatal(code: str, file: str, line: int = 0, column: int | str = 0, **args: Any) -> InputError:
    return InputError(Diagnostic(code, file=file, line=line, column=column, args=args))


_FOOTER_WORDS = (r"合\s*计|小\s*计|总\s*计|共\s*计|累\s*计|制\s*表|填\s*表|填\s*报|审\s*核|审\s*批|"
                 r"复\s*核|负\s*责\s*人|经\s*办\s*人|统\s*计\s*人|记\s*录\s*人|签\s*字|签\s*名|"
                 r"盖\s*章|(?:备\s*)?注\s*[:：]|说\s*明\s*[:：]|total\b|subtotal\b")
_FOOTER = re.compile(r"\s*(?:" + _FOOTER_WORDS + ")", re.IGNORECASE)
# within the first cells of a block joined by NUL; the look-ahead lets the search skip most
# cells after one character
_FOOTER_IN = re.compile("\x00[ \t\u3000]*(?=[合小总共累制填审复负经统记签盖备注说tTsS])(?:"
                        + _FOOTER_WORDS + ")", re.IGNORECASE)


def footer_text(cells: Sequence[Any]) -> str | None:
    """The row's first non-empty cell if it starts a total, signature or note row (合计,
    小计, 总计, 制表人, 填表人, 审核人, 负责人, 备注：…), whatever its column; else None."""
    for c in cells:
        if c is None:
            continue
        if not isinstance(c, str):
            return None
        t = c.strip()
        if t:
            return t if _FOOTER.match(t) else None
    return None


def cell_text(v: Any) -> str:
    """A cell as text, the way the clerk sees it (numbers without a trailing .0, dates ISO)."""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return _float_text(v) if math.isfinite(v) else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0, 0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _extra_json(extra: Mapping[str, str] | None) -> str | None:
    return json.dumps(extra, ensure_ascii=False) if extra else None


def _header_fields(cells: Sequence[Any], fields: Sequence[FieldSpec]) -> set[str]:
    """The fields a row's cells name (as a header would)."""
    found = set()
    for c in cells:
        if isinstance(c, str) and c.strip():
            spec = match_header(c, fields)
            if spec is not None:
                found.add(spec.id)
    return found


def find_header(rows: Sequence[tuple[int, Sequence[Any]]], fields: Sequence[FieldSpec],
                header_row: int | None, file: str) -> int | None:
    """The index in ``rows`` (the first rows of a sheet: row number, cells) of the header: the
    row ``header_row`` when given, else the first row naming every required column, else the
    row naming the most columns; None when no row names any."""
    if header_row is not None:
        for i, (line, _) in enumerate(rows):
            if line == header_row:
                return i
        raise _fatal("E-TABLE-HEADER-ROW", file, row=header_row, rows=rows[-1][0] if rows else 0)
    required = {f.id for f in fields if f.required}
    best, best_n = None, 0
    for i, (_, cells) in enumerate(rows):
        found = _header_fields(cells, fields)
        if found and required <= found:
            return i
        if len(found) > best_n:
            best, best_n = i, len(found)
    return best


def _no_header(file: str, fields: Sequence[FieldSpec], last: int) -> InputError:
    wanted = [f for f in fields if f.required] or list(fields)
    return _fatal("E-TABLE-HEADER-NOT-FOUND", file, names="、".join(f.label or f.id for f in wanted),
                  names_en=", ".join(f.id for f in wanted), last=max(last, 1))


def _title_note(out: "_Collector", rows: Sequence[tuple[int, Sequence[Any]]], index: int) -> None:
    """Note the non-blank rows above the header (titles, notes), skipped."""
    above = [line for line, cells in rows[:index] if not all(_blank(c) for c in cells)]
    if above:
        out.add("W-TABLE-TITLE-ROWS", above[0], "", rows=row_ranges(above),
                header=rows[index][0], severity="warning")


class _Table:
    """The per-file plan: which field each column holds, the converters, the key."""

    def __init__(self, file: str, fields: Sequence[FieldSpec], key: str | None,
                 out: _Collector, result: TableResult, stream: bool = False,
                 strict_columns: bool = False):
        self.stream = stream  # rows go to ``pending`` as stored columns, see TableStream
        self.strict_columns = strict_columns
        self.unusable = False
        self.extra_cols: list[tuple[int, str]] = []
        self.footers: list[tuple[int, str]] = []
        self.file = file
        self.fields = list(fields)
        self.key = key
        self.out = out
        self.result = result
        self.convs = {f.id: CellConverter(f) for f in self.fields}
        self.missing: dict[str, Any] = {}
        self.key_pos: int | None = None
        self.keys_seen: dict[Any, int] = {}
        self.unnamed: list[int] = []

    # -- header ---------------------------------------------------------------------------
    def set_header(self, header: Sequence[Any], line: int = 1) -> None:
        """Map header cells to fields; diagnose unknown, duplicate and missing columns."""
        self.ncols = len(header)
        self.headers = ["" if h is None else str(h).strip().lstrip("\ufeff").strip()
                        for h in header]
        plan: list[tuple[int, CellConverter]] = []
        seen: dict[str, int] = {}
        for i, name in enumerate(self.headers):
            if not name:
                self.unnamed.append(i)
                continue
            spec = match_header(name, self.fields)
            if spec is None:
                if self.strict_columns:
                    zh, en = suggest_column(name, self.fields)
                    self.out.add("E-TABLE-UNKNOWN-COLUMN", line, name, name=name,
                                 suggest_zh=zh, suggest_en=en)
                else:
                    self.extra_cols.append((i, name))
                continue
            if spec.id in seen:
                first = seen[spec.id]
                self.out.add("E-TABLE-DUP-COLUMN", line, name, name=name,
                             first_name=self.headers[first], field=spec.id)
                continue
            seen[spec.id] = i
            plan.append((i, self.convs[spec.id]))
            self.result.columns[spec.id] = name
        for f in self.fields:
            if f.id not in seen and f.required:
                self.out.add("E-TABLE-MISSING-COLUMN", line, "", name=f.label or f.id, id=f.id)
                self.unusable = True  # rows are still checked, none is kept
        if self.extra_cols:
            self.out.add("W-TABLE-EXTRA-COLUMNS", line, "",
                         names="、".join(f"“{n}”" for _, n in self.extra_cols),
                         names_en=", ".join(f"'{n}'" for _, n in self.extra_cols), severity="warning")
        self.plan = plan
        self.guarded = any(c.required for _, c in plan)
        self.ids = [c.spec.id for _, c in plan]
        self.missing = {f.id: f.default for f in self.fields if f.id not in seen}
        self.key_pos = self.ids.index(self.key) if self.key in self.ids else None
        if self.stream:
            from xiangyue.data.store import to_db

            where = {c.spec.id: j for j, (_, c) in enumerate(plan)}
            # each field's source: its position in the plan, or its stored default
            self.order = [(where.get(f.id), to_db(f.type, f.default)) for f in self.fields]
            self.types = [f.type for f in self.fields]
            self._reset()

    # -- streaming (stored columns, keys left to the caller) -------------------------------
    def _reset(self) -> None:
        self.pending: list[list[Any]] = [[] for _ in self.fields]
        self.pending_lines: list[int] = []
        self.pending_bad: list[tuple[int, Any]] = []
        self.pending_extras: list[str | None] = []

    def take(self) -> "Block":
        block = Block(self.pending, self.pending_lines, self.pending_bad, self.pending_extras)
        self._reset()
        return block

    # -- what is not data: footers, extra columns -------------------------------------------
    def footer(self, line: int, cells: Sequence[Any]) -> bool:
        """Whether the row is a total, signature or note below the data (noted, skipped)."""
        text = footer_text(cells)
        if text is None:
            return False
        self.footers.append((line, text))
        return True

    def extras(self, cells: Sequence[Any]) -> dict[str, str] | None:
        """The row's cells under columns the rules do not know, as text (blank ones left out)."""
        out = {}
        n = len(cells)
        for i, name in self.extra_cols:
            if i < n and not _blank(cells[i]):
                out[name] = cell_text(cells[i])
        return out or None

    def close(self) -> None:
        """Notes about the rows skipped as footers (once per file)."""
        if self.footers:
            self.out.add("W-TABLE-FOOTER", self.footers[0][0], "",
                         rows=row_ranges([n for n, _ in self.footers]),
                         text=self.footers[0][1][:30], severity="warning")

    # -- rows ------------------------------------------------------------------------------
    def add_row(self, line: int, row: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        if self.unusable:
            return
        if self.stream:
            from xiangyue.data.store import to_db

            if self.missing:
                row.update(self.missing)
            for col, f in zip(self.pending, self.fields):
                col.append(to_db(f.type, row[f.id]))
            self.pending_lines.append(line)
            self.pending_extras.append(_extra_json(extra))
            return
        if self.key_pos is not None and not self.note_key(line, row):
            return
        if self.missing:
            row.update(self.missing)
        self.result.rows.append(row)
        self.result.lines.append(line)
        self.result.extras.append(extra)

    def note_key(self, line: int, row: dict[str, Any]) -> bool:
        """Remember the row's key; False (and a diagnostic naming both rows) if seen before."""
        k = row.get(self.key)  # type: ignore[arg-type]
        if k is None:
            return True
        if self.stream:  # only rows left out are noted: the caller checks the others' keys
            self.pending_bad.append((line, k))
            return True
        first = self.keys_seen.setdefault(k, line)
        if first == line:
            return True
        spec = self.convs[self.key].spec  # type: ignore[index]
        self.out.add("E-TABLE-DUP-KEY", line, self.result.columns.get(spec.id, spec.id),
                     name=spec.label or spec.id, value=k, first=first, row=line)
        return False

    def bad_row(self, line: int, get: Callable[[int, CellConverter], Any]) -> None:
        """Convert a row that failed the fast path cell by cell, recording every bad cell
        (and a duplicate key, if the key itself could be read)."""
        row: dict[str, Any] = {}
        for i, conv in self.plan:
            try:
                row[conv.spec.id] = get(i, conv)
            except CellError as err:
                self.out.add(err.code, line, self.headers[i], **err.args_)
        if self.key_pos is not None:
            self.note_key(line, row)

    def fast_chunk(self, chunk: list[list[str]], start: int) -> bool:
        """Convert a chunk of well-formed CSV rows column by column; False (nothing done) if
        any row is ragged, blank or has a bad cell, so the slow path can say what is wrong."""
        if not self.plan or self.unnamed or self.unusable or set(map(len, chunk)) != {self.ncols}:
            return False
        if not self.guarded and not all(map(any, chunk)):
            return False  # a blank row (with a required column, its empty cell says so)
        cols = list(zip(*chunk))
        first = cols[0]
        if _FOOTER_IN.search("\x00" + "\x00".join(first)) or (
                "" in first and any(footer_text(r) for r in chunk if not r[0])):
            return False  # a total or signature row: the slow path notes and skips it
        extras = [_extra_json(self.extras(r)) for r in chunk] if self.extra_cols else None
        if self.stream:
            try:
                out = [conv.stored_column(cols[i]) for i, conv in self.plan]
            except CellError:
                return False
            n = len(chunk)
            for col, (j, const) in zip(self.pending, self.order):
                col.extend(out[j] if j is not None else repeat(const, n))
            self.pending_lines.extend(range(start, start + n))
            self.pending_extras.extend(extras or repeat(None, n))
            return True
        try:
            out = [conv.column(cols[i]) for i, conv in self.plan]
        except CellError:
            return False
        lines = range(start, start + len(chunk))
        if self.key_pos is not None:
            keys = out[self.key_pos]
            new = dict(zip(keys, lines))
            if len(new) != len(keys) or None in new or not self.keys_seen.keys().isdisjoint(new):
                return False
            self.keys_seen.update(new)
        ids = self.ids + list(self.missing)
        consts = [repeat(v) for v in self.missing.values()]
        self.result.rows.extend(map(dict, map(zip, repeat(ids), zip(*out, *consts))))
        self.result.lines.extend(lines)
        self.result.extras.extend(
            [json.loads(e) if e else None for e in extras] if extras else repeat(None, len(chunk)))
        return True

    def slow_chunk(self, chunk: list[list[str]], start: int) -> int:
        """Row by row, with a diagnostic for every problem; returns the non-blank rows."""
        ncols, out = self.ncols, self.out
        data_rows = 0
        for line, cells in enumerate(chunk, start):
            if not any(c.strip() for c in cells):
                continue
            if self.footer(line, cells):
                continue
            data_rows += 1
            n = len(cells)
            if n > ncols:
                extra = [c for c in cells[ncols:] if c.strip()]
                if extra:
                    out.add("E-TABLE-RAGGED-LONG", line, "", cells=n, columns=ncols,
                            extra=",".join(extra)[:60])
                    continue
                cells = cells[:ncols]
            elif n < ncols:
                out.add("E-TABLE-RAGGED-SHORT", line, "", cells=n, columns=ncols)
                continue
            if self.unnamed and not self.check_unnamed(line, cells):
                continue
            row: dict[str, Any] = {}
            bad = False
            for i, conv in self.plan:
                try:
                    row[conv.spec.id] = conv.text(cells[i])
                except CellError as err:
                    bad = True
                    out.add(err.code, line, self.headers[i], **err.args_)
            if bad:
                if self.key_pos is not None:
                    self.note_key(line, row)
            else:
                self.add_row(line, row, self.extras(cells) if self.extra_cols else None)
        return data_rows

    def check_unnamed(self, line: int, cells: Sequence[Any]) -> bool:
        ok = True
        for i in self.unnamed:
            if i < len(cells) and cells[i] is not None and str(cells[i]).strip():
                self.out.add("E-TABLE-NO-HEADER", line, "", index=i + 1,
                             text=str(cells[i]).strip())
                ok = False
        return ok


@dataclass
class Block:
    """A run of good rows of a table file, as stored in the database: ``columns[j]`` holds the
    stored values (:func:`xiangyue.data.store.to_db`) of the j-th field, ``lines[i]`` the row number
    of the i-th row; ``bad_keys`` the (row number, key) of rows left out for a bad cell whose
    key could be read (so the caller can still report a duplicate key)."""

    columns: list[list[Any]]
    lines: list[int]
    bad_keys: list[tuple[int, Any]]
    #: per row, its cells under columns the rules do not know (a JSON object), or None
    extras: list[str | None] = field(default_factory=list)


class TableStream:
    """A table file read in blocks of about ``chunk_rows`` rows, for imports of any size.

    Same checks and diagnostics as :func:`read_table`, except that the uniqueness of ``key``
    among the good rows is left to the caller (the database checks it as it stores them) and
    reported back with :meth:`add`. Fatal problems (missing file, unknown format) raise at
    construction, reading problems (undecodable bytes) while iterating :meth:`blocks`; the
    other diagnostics come from :meth:`finish`, after the last block. CSV files are streamed
    (memory bounded by the block size); XLSX and JSONL files are read whole, then cut in blocks.
    """

    def __init__(self, path: str | os.PathLike[str], fields: Sequence[FieldSpec], *,
                 encoding: str | None = None, key: str | None = None, sheet: str | None = None,
                 max_errors: int = 1000, display_name: str | None = None,
                 chunk_rows: int = 50000, header_row: int | None = None,
                 strict_columns: bool = False):
        self.p, name, self.format = _check_path(path, encoding, display_name)
        self.fields = list(fields)
        self.encoding = encoding
        self.key = key
        self.sheet = sheet
        self.header_row = header_row
        self.strict_columns = strict_columns
        self.chunk_rows = chunk_rows
        self.out = _Collector(name, max_errors)
        self.result = TableResult(file=name, format=self.format)
        self._done: list[Diagnostic] | None = None
        self._extra: list[Diagnostic] = []

    @property
    def file(self) -> str:
        return self.result.file

    def add(self, code: str, line: int = 0, column: int | str = 0, **args: Any) -> None:
        """A problem the caller found (e.g. a duplicate key), reported with the file's."""
        if self._done is None:
            self.out.add(code, line, column, **args)
        else:
            self._extra.append(Diagnostic(code, file=self.file, line=line, column=column,
                                          args=args))

    def finish(self) -> list[Diagnostic]:
        """Every diagnostic, sorted by position (call after the last block)."""
        if self._done is not None:
            self.result.diagnostics = sorted(self._done + self._extra, key=Diagnostic.sort_key)
        else:
            self.result.diagnostics = self.out.finish()
        return self.result.diagnostics

    def blocks(self) -> Iterator[Block]:
        try:
            if self.format == "csv":
                yield from self._csv_blocks()
            else:
                yield from self._whole_blocks()
        except OSError as err:
            raise _fatal("E-TABLE-FILE-READ", self.file, path=self.file,
                         reason=err.strerror or str(err)) from None

    def _whole_blocks(self) -> Iterator[Block]:
        from xiangyue.data.store import to_db

        whole = read_table(self.p, self.fields, encoding=self.encoding, key=self.key,
                           sheet=self.sheet, max_errors=self.out.max, display_name=self.file,
                           header_row=self.header_row, strict_columns=self.strict_columns)
        self.result.encoding = whole.encoding
        self.result.columns.update(whole.columns)
        self.result.header_line = whole.header_line
        self.result.sheet = whole.sheet
        self._done = whole.diagnostics
        rows, lines = whole.rows, whole.lines
        extras = whole.extras or [None] * len(rows)
        for start in range(0, len(rows), self.chunk_rows):
            part = rows[start:start + self.chunk_rows]
            cols = [[to_db(f.type, r[f.id]) for r in part] for f in self.fields]
            yield Block(cols, lines[start:start + self.chunk_rows], [],
                        [_extra_json(e) for e in extras[start:start + self.chunk_rows]])

    def _csv_blocks(self) -> Iterator[Block]:
        p, name = self.p, self.file
        if p.stat().st_size == 0:
            raise _fatal("E-TABLE-EMPTY", name)
        forced = self.encoding or _sniff_encoding(p)
        where = None if forced else _utf8_error(p)
        if _mixed(where):
            raise _encoding_error(p, name)
        enc = forced or ("utf-8-sig" if where is None else "gb18030")
        self.result.encoding = "utf-8" if enc == "utf-8-sig" else enc
        with p.open("r", encoding=enc, errors="strict", newline="") as fh:
            lines: Iterable[str] = _guarded(fh) if enc == "gb18030" and not forced else fh
            table = _Table(name, self.fields, self.key, self.out, self.result, stream=True,
                           strict_columns=self.strict_columns)
            try:
                yield from _csv_stream(lines, table, self.result, self.chunk_rows,
                                       self.header_row)
            except UnicodeDecodeError:
                if forced:
                    raise _decode_error(p, name, enc) from None
                raise _encoding_error(p, name) from None
            except _Unclear:
                raise _encoding_error(p, name) from None


def _check_path(path: str | os.PathLike[str], encoding: str | None,
                display_name: str | None) -> tuple[Path, str, str]:
    p = Path(path)
    name = display_name or str(path)
    ext = p.suffix.lower()
    fmt = FORMATS.get(ext)
    if fmt is None:
        if ext == ".xls":
            raise _fatal("E-TABLE-XLS", name)
        raise _fatal("E-TABLE-FORMAT", name, ext=ext or p.name)
    if not p.exists():
        raise _fatal("E-TABLE-FILE-MISSING", name, path=name)
    if p.is_dir():
        raise _fatal("E-TABLE-FILE-READ", name, path=name, reason="是文件夹 / is a directory")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _fatal("E-TABLE-ENCODING-NAME", name, encoding=encoding) from None
    return p, name, fmt


def read_table(
    path: str | os.PathLike[str],
    fields: Sequence[FieldSpec],
    *,
    encoding: str | None = None,
    key: str | None = None,
    sheet: str | None = None,
    max_errors: int = 1000,
    display_name: str | None = None,
    header_row: int | None = None,
    strict_columns: bool = False,
) -> TableResult:
    """Read ``path`` (.csv/.txt, .xlsx, .jsonl/.ndjson) into rows typed by ``fields``.

    The sheet as a clerk has it: the header is the first of the first
    :data:`HEADER_SEARCH_ROWS` rows naming every required column (``header_row`` forces one);
    title rows above it and total/signature rows below the data are skipped with a note;
    columns the rules do not know are kept per row in ``TableResult.extras`` with one warning
    (``strict_columns``: an error each). In a workbook of several sheets the first whose header
    fits is read, unless ``sheet`` names one.

    ``key``: a field id whose value must be unique within the file (e.g. ``record_id``).
    ``encoding``: force a CSV encoding (default: UTF-8 with or without BOM, else GBK/GB18030,
    else an error). ``display_name``: how the file is named in diagnostics (default: the path
    as given).

    Returns every problem found in ``TableResult.diagnostics``; raises
    :class:`~xiangyue.errors.InputError` only when the file cannot be read at all.
    """
    p, name, fmt = _check_path(path, encoding, display_name)
    out = _Collector(name, max_errors)
    result = TableResult(file=name, format=fmt)
    try:
        if fmt == "csv":
            _read_csv(p, fields, key, encoding, out, result, header_row, strict_columns)
        elif fmt == "xlsx":
            _read_xlsx(p, fields, key, sheet, out, result, header_row, strict_columns)
        else:
            _read_jsonl(p, fields, key, encoding, out, result, strict_columns)
    except OSError as err:
        raise _fatal("E-TABLE-FILE-READ", name, path=name, reason=err.strerror or str(err)) from None
    result.diagnostics = out.finish()
    return result


# -- CSV --------------------------------------------------------------------------------------

_BAD_GB_CHARS = re.compile("[\ue000-\uf8ff\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Unclear(Exception):
    """Text decoded as GB18030 holds characters no real spreadsheet would."""


def _guarded(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        if _BAD_GB_CHARS.search(line):
            raise _Unclear
        yield line


def _sniff_encoding(p: Path) -> str | None:
    with p.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


_LEADS = bytes(range(0xC0, 0x100))


def _utf8_error(p: Path) -> tuple[int, int, int] | None:
    """Where the file stops being UTF-8: (line, byte offset, how many non-ASCII characters
    came before it), or None if it all is. Block by block: bounded memory."""
    dec = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    multibyte = 0
    try:
        with p.open("rb") as fh:
            while block := fh.read(1 << 20):
                try:
                    dec.decode(block)
                except UnicodeDecodeError as err:
                    # the decoder may hold back the bytes of a character cut by the block end
                    start = max(0, err.start)
                    good = block[:start]
                    lines += good.count(b"\n")
                    multibyte += len(good) - len(good.translate(None, _LEADS))
                    return lines + 1, offset + start + 1, multibyte
                lines += block.count(b"\n")
                multibyte += len(block) - len(block.translate(None, _LEADS))
                offset += len(block)
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return lines + 1, offset, multibyte
    return None


def _encoding_error(p: Path, name: str) -> InputError:
    """The file is neither UTF-8 nor GBK: name the first row that breaks UTF-8 when the rows
    before it were UTF-8 (a row pasted from a GBK file)."""
    where = _utf8_error(p)
    if _mixed(where):
        line, byte, _ = where  # type: ignore[misc]
        return _fatal("E-TABLE-ENCODING-MIXED", name, line, 0, row=line, byte=byte)
    return _fatal("E-TABLE-ENCODING", name)


def _mixed(where: tuple[int, int, int] | None) -> bool:
    """Whether a file that is not all UTF-8 was UTF-8 until then: a few Chinese characters
    (GBK bytes almost never form even one valid UTF-8 sequence)."""
    return where is not None and where[2] >= 3


def _decode_error(p: Path, name: str, encoding: str) -> InputError:
    """E-TABLE-DECODE at the line holding the first undecodable byte."""
    data = p.read_bytes()
    try:
        data.decode(encoding)
        line = 0
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
    return _fatal("E-TABLE-DECODE", name, line, 0, encoding=encoding, row=line)


def _read_csv(p: Path, fields: Sequence[FieldSpec], key: str | None, encoding: str | None,
              out: _Collector, result: TableResult, header_row: int | None = None,
              strict_columns: bool = False) -> None:
    name = result.file
    if p.stat().st_size == 0:
        raise _fatal("E-TABLE-EMPTY", name)
    forced = encoding or _sniff_encoding(p)
    attempts = [forced] if forced else ["utf-8-sig", "gb18030"]
    if not forced:
        where = _utf8_error(p)
        if _mixed(where):
            raise _encoding_error(p, name)
        if where is not None:
            attempts = ["gb18030"]
    for enc in attempts:
        result.rows.clear()
        result.lines.clear()
        result.extras.clear()
        result.columns.clear()
        out.clear()
        with p.open("r", encoding=enc, errors="strict", newline="") as fh:
            lines: Iterable[str] = _guarded(fh) if enc == "gb18030" and not forced else fh
            table = _Table(name, fields, key, out, result, strict_columns=strict_columns)
            try:
                for _ in _csv_stream(lines, table, result, 0, header_row):
                    pass
            except UnicodeDecodeError:
                if forced:
                    raise _decode_error(p, name, enc) from None
                continue
            except _Unclear:
                break
        result.encoding = "utf-8" if enc == "utf-8-sig" else enc
        return
    raise _encoding_error(p, name)


def _csv_error(err: csv.Error, reader: Any, file: str) -> InputError:
    """A CSV the reader gives up on: a cell too long (or an unclosed quote), a NUL byte."""
    line = getattr(reader, "line_num", 0)
    if "field larger than field limit" in str(err):
        return _fatal("E-TABLE-CELL-SIZE", file, line, limit=MAX_CELL)
    return _fatal("E-TABLE-CSV", file, line, reason=str(err))


def _csv_stream(lines: Iterable[str], table: _Table, result: TableResult,
                chunk_rows: int, header_row: int | None = None) -> Iterator[Block]:
    """The rows of a CSV into ``table``; a streaming ``table`` yields a block every
    ``chunk_rows`` rows or so (a table that keeps its rows yields nothing)."""
    it = iter(lines)
    search = max(HEADER_SEARCH_ROWS, header_row or 0)
    head = list(islice(it, search))
    if not any(t.strip() for t in head):
        if not head or header_row is None:
            raise _fatal("E-TABLE-EMPTY", result.file)
    text = "".join(head)
    delimiter = "\t" if text.count("\t") > text.count(",") else ","
    if csv.field_size_limit() != MAX_CELL:
        csv.field_size_limit(MAX_CELL)
    reader = csv.reader(chain(head, it), delimiter=delimiter)
    try:
        first = [(n, rec) for n, rec in zip(range(1, search + 1), reader)]
    except csv.Error as err:
        raise _csv_error(err, reader, result.file) from None
    at = find_header(first, table.fields, header_row, result.file)
    if at is None:
        if not any(any(c.strip() for c in rec) for _, rec in first):
            raise _fatal("E-TABLE-EMPTY", result.file)
        raise _no_header(result.file, table.fields, len(first))
    _title_note(table.out, first, at)
    line = first[at][0]
    result.header_line = line
    table.set_header(first[at][1], line)
    header_line = line
    buffered = [rec for _, rec in first[at + 1:]]  # read while looking for the header
    data_rows = 0
    while True:
        if buffered:
            chunk, buffered = buffered[:_CHUNK], buffered[_CHUNK:]
        else:
            try:
                chunk = list(islice(reader, _CHUNK))  # straight from the reader: C speed
            except csv.Error as err:
                raise _csv_error(err, reader, result.file) from None
        if not chunk:
            break
        if table.fast_chunk(chunk, line + 1):
            data_rows += len(chunk)
        else:
            data_rows += table.slow_chunk(chunk, line + 1)
        line += len(chunk)
        if table.stream and len(table.pending_lines) >= chunk_rows:
            yield table.take()
    table.close()
    if data_rows == 0:
        raise _fatal("E-TABLE-NO-ROWS", result.file, header_line)
    if table.stream and (table.pending_lines or table.pending_bad):
        yield table.take()


# -- XLSX -------------------------------------------------------------------------------------


def _xlsx_failure(name: str, err: BaseException) -> InputError:
    """What went wrong reading a workbook, as the clerk can act on it."""
    try:
        from defusedxml import DefusedXmlException
    except ImportError:  # pragma: no cover - a dependency
        DefusedXmlException = ()  # type: ignore[assignment,misc]
    cause: BaseException | None = err
    for _ in range(10):  # openpyxl wraps what its parser raised
        if cause is None:
            break
        if isinstance(cause, DefusedXmlException):
            return _fatal("E-TABLE-XLSX-UNSAFE", name, reason=type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    return _fatal("E-TABLE-XLSX", name, reason=str(err)[:200] or type(err).__name__)


def _guard(rows: Iterable[Any], name: str) -> Iterator[Any]:
    """The rows openpyxl gives, with anything it raises on a broken or hostile workbook
    turned into E-TABLE-XLSX (our own errors raised while handling a row pass untouched)."""
    it = iter(rows)
    while True:
        try:
            row = next(it)
        except StopIteration:
            return
        except (InputError, MemoryError, KeyboardInterrupt):
            raise
        except Exception as err:  # noqa: BLE001 - a hostile file may make the parser raise anything
            raise _xlsx_failure(name, err) from None
        yield row


def _check_zip(p: Path, name: str) -> None:
    """Refuse a workbook whose parts unpack to more than :data:`MAX_XLSX_UNPACKED` (a zip bomb)
    before anything is unpacked. The sizes are the archive's own: reading stops there."""
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            total = sum(i.file_size for i in z.infolist())
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 - a hostile file may make zipfile raise anything
        raise _fatal("E-TABLE-XLSX", name, reason=str(err)[:200] or type(err).__name__) from None
    if total > MAX_XLSX_UNPACKED:
        raise _fatal("E-TABLE-XLSX-SIZE", name, size=total >> 20)


def _read_xlsx(p: Path, fields: Sequence[FieldSpec], key: str | None, sheet: str | None,
               out: _Collector, result: TableResult, header_row: int | None = None,
               strict_columns: bool = False) -> None:
    import openpyxl

    name = result.file
    _check_zip(p, name)
    # our own handle: closed even when openpyxl fails halfway through opening the workbook
    with warnings.catch_warnings(), p.open("rb") as fh:
        warnings.simplefilter("ignore")  # openpyxl warns about styles it ignores
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as err:  # noqa: BLE001 - a hostile file may make the parser raise anything
            raise _xlsx_failure(name, err) from None
        try:
            sheets = list(wb.worksheets)
            if not sheets:
                raise _fatal("E-TABLE-EMPTY", name)
            search = max(HEADER_SEARCH_ROWS, header_row or 0)
            if sheet is not None:
                if sheet not in wb.sheetnames:
                    raise _fatal("E-TABLE-SHEET", name, sheet=sheet, sheets="、".join(wb.sheetnames))
                ws = wb[sheet]
            else:
                ws = _pick_sheet(sheets, fields, search, header_row, name)
                if ws is not sheets[0]:
                    out.add("W-TABLE-SHEET", 0, "", severity="warning", sheet=ws.title,
                            count=len(sheets), sheets="、".join(w.title for w in sheets))
            result.sheet = ws.title
            if getattr(ws, "reset_dimensions", None):
                ws.reset_dimensions()  # dimensions in the file are often wrong; read every row
            formulas = _formulas_without_result(wb, ws, name)
            table = _Table(name, fields, key, out, result, strict_columns=strict_columns)
            _xlsx_rows(_guard(_shown_values(ws), name), table, header_row, formulas)
        finally:
            wb.close()


def _pick_sheet(sheets: Sequence[Any], fields: Sequence[FieldSpec], search: int,
                header_row: int | None, name: str) -> Any:
    """The first sheet whose header names every required column, else the one naming most."""
    if len(sheets) == 1:
        return sheets[0]
    required = {f.id for f in fields if f.required}
    best, best_n = sheets[0], 0
    for ws in sheets:
        if getattr(ws, "reset_dimensions", None):
            ws.reset_dimensions()  # a sheet's stated size is often wrong
        rows = list(_guard(islice(ws.iter_rows(values_only=True), search), name))
        if header_row is not None:
            rows = rows[header_row - 1:header_row]
        for cells in rows:
            found = _header_fields(cells or (), fields)
            if found and required <= found:
                return ws
            if len(found) > best_n:
                best, best_n = ws, len(found)
    return best


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _formulas_without_result(wb: Any, ws: Any, name: str) -> dict[int, dict[int, tuple[str, str]]]:
    """Formula cells of the sheet that hold no computed result (a file written by a program
    that does not calculate): row -> column index (0-based) -> (cell, formula). openpyxl, asked
    for values, reads them as blank; the sheet's XML says what they are."""
    path = getattr(ws, "_worksheet_path", None)
    archive = getattr(wb, "_archive", None)
    if path is None or archive is None:
        return {}
    from defusedxml.ElementTree import iterparse
    from openpyxl.utils.cell import coordinate_to_tuple

    found: dict[int, dict[int, tuple[str, str]]] = {}
    try:
        with archive.open(path) as fh:  # a quick look first: most sheets hold no formula
            has = False
            tail = b""
            while block := fh.read(1 << 20):
                chunk = tail + block
                if b"<f>" in chunk or b"<f " in chunk or b":f>" in chunk or b":f " in chunk:
                    has = True
                    break
                tail = block[-4:]
        if not has:
            return {}
        with archive.open(path) as fh:
            for _, el in iterparse(fh, events=("end",)):
                if el.tag != _SHEET_NS + "c":
                    continue
                f = el.find(_SHEET_NS + "f")
                if f is not None:
                    v = el.find(_SHEET_NS + "v")
                    is_ = el.find(_SHEET_NS + "is")
                    # Excel writes an empty <v> for a formula whose result is the empty text
                    # (t="str"); another program writes <v/> or nothing: no result
                    empty = v is None or (not (v.text or "") and el.get("t") != "str")
                    if empty and is_ is None:
                        ref = el.get("r") or ""
                        try:
                            row, col = coordinate_to_tuple(ref)
                        except (ValueError, TypeError):
                            continue
                        found.setdefault(row, {})[col - 1] = (ref, "=" + (f.text or "…"))
                el.clear()
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 - a hostile file may make the parser raise anything
        raise _xlsx_failure(name, err) from None
    return found


_ZEROS_FORMAT = re.compile(r'(?:"([^"]*)")?(0+)\Z')  # 000, "JG"000


def _shown_values(ws: Any) -> Iterator[list[Any]]:
    """Cell values as the clerk sees them where it matters: a number formatted ``000`` (a
    household id typed as 3, shown as 003) is the text ``003``; formatted ``"JG"000``, ``JG003``."""
    for row in ws.iter_rows():
        values = []
        for c in row:
            v = getattr(c, "value", None)
            if type(v) in (int, float) and v == int(v) and v >= 0:
                fmt = getattr(c, "number_format", None) or ""
                m = _ZEROS_FORMAT.match(fmt)
                if m and (m.group(1) or len(m.group(2)) > 1):
                    v = (m.group(1) or "") + str(int(v)).zfill(len(m.group(2)))
            values.append(v)
        yield values


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _xlsx_rows(rows: Iterable[Sequence[Any]], table: _Table, header_row: int | None = None,
               formulas: Mapping[int, Mapping[int, tuple[str, str]]] | None = None) -> None:
    out, result = table.out, table.result
    it = iter(rows)
    search = max(HEADER_SEARCH_ROWS, header_row or 0)
    first = [(n, list(cells)) for n, cells in zip(range(1, search + 1), it)]
    at = find_header(first, table.fields, header_row, result.file)
    if at is None:
        if all(all(_blank(c) for c in cells) for _, cells in first):
            raise _fatal("E-TABLE-EMPTY", result.file)
        raise _no_header(result.file, table.fields, len(first))
    _title_note(out, first, at)
    header = first[at][1]
    while header and _blank(header[-1]):
        header.pop()
    line = header_line = first[at][0]
    result.header_line = line
    table.set_header(header, line)
    ncols, plan, ids = table.ncols, table.plan, table.ids
    formulas = formulas or {}
    data_rows = 0
    for cells in chain((cells for _, cells in first[at + 1:]), it):
        line += 1
        if all(_blank(c) for c in cells):
            continue
        if table.footer(line, cells):
            continue
        data_rows += 1
        if line in formulas and _formula_errors(table, line, formulas[line]):
            continue
        if len(cells) > ncols:
            extra = [c for c in cells[ncols:] if not _blank(c)]
            if extra:
                out.add("E-TABLE-NO-HEADER", line, "", index=ncols + 1 + next(
                    j for j, c in enumerate(cells[ncols:]) if not _blank(c)),
                    text=str(extra[0]).strip())
                continue
        if table.unnamed and not table.check_unnamed(line, cells):
            continue
        n = len(cells)
        try:
            vals = [conv.value(cells[i] if i < n else None) for i, conv in plan]
        except CellError:
            table.bad_row(line, lambda i, conv: conv.value(cells[i] if i < n else None))
            continue
        table.add_row(line, dict(zip(ids, vals)), table.extras(cells) if table.extra_cols else None)
    table.close()
    if data_rows == 0:
        raise _fatal("E-TABLE-NO-ROWS", result.file, header_line)


def _formula_errors(table: _Table, line: int, cells: Mapping[int, tuple[str, str]]) -> bool:
    """E-TABLE-FORMULA for each formula without a result in a column that is read."""
    used = {i for i, _ in table.plan} | {i for i, _ in table.extra_cols}
    bad = False
    for i, (ref, formula) in sorted(cells.items()):
        if i in used:
            table.out.add("E-TABLE-FORMULA", line, table.headers[i], cell=ref, formula=formula[:60])
            bad = True
    return bad


# -- JSONL ------------------------------------------------------------------------------------

_JSONL_EXAMPLE = '{"记录编号": "R001", "户号": "001", "日期": "2024-03-01"}'


def _read_jsonl(p: Path, fields: Sequence[FieldSpec], key: str | None, encoding: str | None,
                out: _Collector, result: TableResult, strict_columns: bool = False) -> None:
    name = result.file
    if p.stat().st_size == 0:
        raise _fatal("E-TABLE-EMPTY", name)
    enc = encoding or "utf-8-sig"
    result.encoding = "utf-8" if enc == "utf-8-sig" else enc

    def objects() -> Iterator[tuple[int, Any]]:
        with p.open("r", encoding=enc, errors="strict") as fh:
            for line, text in enumerate(fh, 1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text, parse_float=Decimal, parse_int=int,
                                     parse_constant=_reject_constant)
                except (json.JSONDecodeError, ValueError) as err:
                    reason = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
                    out.add("E-TABLE-JSONL", line, 0, reason=reason, example=_JSONL_EXAMPLE)
                    continue
                except RecursionError:
                    out.add("E-TABLE-JSONL", line, 0, reason="嵌套太深 / nested too deeply",
                            example=_JSONL_EXAMPLE)
                    continue
                yield line, obj

    try:
        data_rows = _object_rows(objects(), fields, key, out, result, strict_columns)
    except UnicodeDecodeError:
        raise _decode_error(p, name, enc) from None
    if data_rows == 0:
        raise _fatal("E-TABLE-EMPTY", name)


def _object_rows(objects: Iterable[tuple[int, Any]], fields: Sequence[FieldSpec], key: str | None,
                 out: _Collector, result: TableResult, strict_columns: bool = False) -> int:
    """Typed rows from (line, dict) pairs (JSON Lines, or rows a Python caller hands over)."""
    table = _Table(result.file, fields, key, out, result)
    table.key_pos = 0 if key is not None and any(f.id == key for f in fields) else None
    known: dict[str, FieldSpec | None] = {}
    reported_unknown: dict[str, int] = {}
    missing_required = [f for f in fields if f.required]
    data_rows = 0
    for line, obj in objects:
        data_rows += 1
        if not isinstance(obj, Mapping):
            out.add("E-TABLE-JSONL-OBJECT", line, 0, example=_JSONL_EXAMPLE)
            continue
        row: dict[str, Any] = {}
        bad = False
        given: dict[str, str] = {}
        extra: dict[str, str] = {}
        for k, v in obj.items():
            if isinstance(k, str) and k.startswith("_"):
                continue  # bookkeeping a caller carries along (_file, _row)
            if k not in known:
                known[k] = match_header(k, fields)
            spec = known[k]
            if spec is None:
                if strict_columns:
                    if k not in reported_unknown:
                        zh, en = suggest_column(k, fields)
                        out.add("E-TABLE-UNKNOWN-COLUMN", line, k, name=k,
                                suggest_zh=zh, suggest_en=en)
                    bad = True
                if k not in reported_unknown:
                    reported_unknown[k] = line
                if v is not None and not _blank(v):
                    extra[str(k)] = cell_text(v)
                continue
            if spec.id in given:
                out.add("E-TABLE-DUP-COLUMN", line, k, name=k,
                        first_name=given[spec.id], field=spec.id)
                bad = True
                continue
            given[spec.id] = k
            result.columns.setdefault(spec.id, k)
            try:
                row[spec.id] = table.convs[spec.id].value(v)
            except CellError as err:
                out.add(err.code, line, k, **err.args_)
                bad = True
        for f in missing_required:
            if f.id not in given:
                out.add("E-TABLE-REQUIRED", line, f.label or f.id, name=f.label or f.id)
                bad = True
        if bad:
            if table.key_pos is not None:
                table.note_key(line, row)
            continue
        for f in fields:
            if f.id not in row:
                row[f.id] = f.default
        table.add_row(line, row, extra or None)
    if reported_unknown and not strict_columns:
        first = min(reported_unknown.values())
        out.add("W-TABLE-EXTRA-COLUMNS", first, "", severity="warning",
                names="、".join(f"“{n}”" for n in reported_unknown),
                names_en=", ".join(f"'{n}'" for n in reported_unknown))
    return data_rows


def read_rows(rows: Iterable[Mapping[str, Any]], fields: Sequence[FieldSpec], *,
              file: str = "<rows>", key: str | None = None, max_errors: int = 1000) -> TableResult:
    """Type rows handed over by a Python caller (dicts with English or Chinese column names
    and text, numbers or dates as values) exactly as a table file's rows are typed; ``line``
    of a diagnostic is the row's position (1-based)."""
    out = _Collector(file, max_errors)
    result = TableResult(file=file, format="rows")
    _object_rows(enumerate(rows, 1), fields, key, out, result)
    result.diagnostics = out.finish()
    return result


def _reject_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number / 不是数字")


