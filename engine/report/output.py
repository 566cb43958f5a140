"""Writing a rendered report to a file, or to the screen.

CSV gets a UTF-8 BOM, so Excel on Chinese Windows shows the Chinese correctly; binary formats
(XLSX) need a file. One place for both, so every command behaves the same.
"""

from __future__ import annotations

import click

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register

register({
    "E-OUTPUT-NEEDED": Msg(
        zh="{fmt} 格式需要用 --output 指定输出文件", en="the {fmt} format needs --output FILE",
        hint_zh="例如 --output 红黑榜.{fmt}", hint_en="e.g. --output boards.{fmt}"),
    "E-OUTPUT-WRITE": Msg(
        zh="无法写入文件 {path}：{reason}", en="cannot write file {path}: {reason}",
        hint_zh="检查文件夹是否存在、文件是否被其他程序（如 Excel）打开",
        hint_en="check that the folder exists and the file is not open in another program"),
})

BINARY_FORMATS = {"xlsx"}


def write_output(data: str | bytes, path: str, fmt: str | None = None) -> None:
    """Write a rendered report to ``path`` (CSV, by format or file name, with a BOM)."""
    csv = fmt == "csv" or (fmt is None and str(path).lower().endswith(".csv"))
    try:
        if isinstance(data, bytes):
            with open(path, "wb") as fh:
                fh.write(data)
        else:
            with open(path, "w", encoding="utf-8-sig" if csv else "utf-8", newline="") as fh:
                fh.write(data)
    except OSError as err:
        raise InputError(Diagnostic("E-OUTPUT-WRITE", file=str(path), args={
            "path": str(path), "reason": err.strerror or str(err)})) from None


def emit(data: str | bytes, fmt: str, output: str | None) -> None:
    """Write to ``output``, or print (a binary format needs ``output``)."""
    if output:
        write_output(data, output, fmt)
    elif fmt in BINARY_FORMATS or isinstance(data, bytes):
        raise InputError(Diagnostic("E-OUTPUT-NEEDED", file="--format", args={"fmt": fmt}))
    else:
        click.echo(data, nl=False)
