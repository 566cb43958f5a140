"""Cells that leave the database: CSV and XLSX written so that nothing from the data is live.

A household head named ``=HYPERLINK("http://…","点我")`` or a grid named ``@SUM(A1)`` must reach
the township's Excel as the text it is, never as a formula:

* **CSV** (:func:`csv_text`): a cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return is prefixed with a single quote, the way OWASP recommends ("CSV
  Injection"); a number (``-13.25``) stays a number. Every CSV the package writes goes through
  this one writer, with Excel's UTF-8 BOM added by :func:`xiangyue.report.output.write_output`.
* **XLSX** (:func:`append_row`): a text value is always stored as a text cell (openpyxl would
  otherwise store a string starting with ``=`` as a formula); numbers are numbers.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any, Iterable, Sequence

from xiangyue.report.terminal import visible

__all__ = ["csv_text", "csv_cell", "append_row", "text_cell", "text_cells"]

_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> str:
    """One CSV cell's text: numbers as written, text neutralised when a spreadsheet would read
    it as a formula (a leading ``'`` that Excel shows as nothing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    text = visible(str(value), keep="\t\n\r")
    if text.startswith(_DANGEROUS_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Sequence[Any] | None, rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document (``\\n`` line ends, RFC 4180 quoting, every cell through
    :func:`csv_cell`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if header is not None:
        writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return buf.getvalue()


def text_cell(cell: Any) -> Any:
    """Make an openpyxl cell holding a string a text cell (never a formula; control characters,
    which XLSX cannot hold, made visible)."""
    if isinstance(cell.value, str):
        cell.value = visible(cell.value)
        cell.data_type = "s"
    return cell


def text_cells(wb: Any) -> Any:
    """Every string cell of a workbook a text cell: the last pass before a workbook whose
    cells were set one by one is saved."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                text_cell(cell)
    return wb


def append_row(ws: Any, values: Sequence[Any]) -> None:
    """``ws.append(values)`` with every string stored as text, never as a formula."""
    ws.append([visible(v) if isinstance(v, str) else v for v in values])
    for cell in ws[ws.max_row]:
        text_cell(cell)
