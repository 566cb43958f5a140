"""Writing a rendered report to a file, or to the screen.

CSV gets a UTF-8 BOM, so Excel on Chinese Windows shows the Chinese correctly; binary formats
(XLSX, PDF) need a file. One place for both, so every command behaves the same.

A file is written whole or not at all: to a temporary name in the same folder, then renamed
(:func:`atomic_write`), so a job killed mid-write never leaves a truncated notice. A file name
made from data (a village's name) goes through :func:`safe_filename` and :func:`path_inside`,
so it can never leave the output folder.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path


from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register

register({
    "E-OUTPUT-NEEDED": Msg(
        zh="{fmt} 格式需要用 --output 指定输出文件", en="the {fmt} format needs --output FILE",
        hint_zh="例如 --output 报表.{fmt}", hint_en="e.g. --output report.{fmt}"),
    "E-OUTPUT-WRITE": Msg(
        zh="无法写入文件 {path}：{reason}", en="cannot write file {path}: {reason}",
        hint_zh="检查文件夹是否存在、文件是否被其他程序（如 Excel）打开",
        hint_en="check that the folder exists and the file is not open in another program"),
})

BINARY_FORMATS = {"xlsx", "pdf"}

# characters Windows forbids in file names, path separators, and control characters
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f-\x9f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str, fallback: str = "file", max_len: int = 120) -> str:
    """``name`` as one file name that works on Windows and Linux and names no other folder:
    separators, ``..``, Windows' forbidden and reserved names and control characters replaced
    by ``_``; never empty, never hidden."""
    text = unicodedata.normalize("NFC", str(name))
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    text = re.sub(r"\s+", " ", text)
    if not text or set(text) <= {"_", " "}:
        text = fallback
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text[:max_len]


def path_inside(folder: str | os.PathLike[str], name: str) -> Path:
    """``folder/name`` for a ``name`` made safe by :func:`safe_filename`; checked to be inside
    ``folder`` (a name can never climb out of it)."""
    base = Path(folder)
    path = base / safe_filename(name)
    if os.path.dirname(os.path.normpath(path)) != os.path.normpath(base):  # pragma: no cover
        raise ValueError(f"{name!r} leaves {folder}")
    return path


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8") -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it to ``path``: readers
    see the old file or the whole new one, never a part. Raises :class:`OSError`."""
    path = Path(path)
    if path.exists() and not path.is_file():  # /dev/stdout, a FIFO: write to it as it is
        with open(path, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode(encoding))
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data if isinstance(data, bytes) else data.encode(encoding))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_output(data: str | bytes, path: str, fmt: str | None = None) -> None:
    """Write a rendered report to ``path`` whole or not at all (CSV, by format or file name,
    with a BOM)."""
    csv = fmt == "csv" or (fmt is None and str(path).lower().endswith(".csv"))
    try:
        atomic_write(path, data, encoding="utf-8-sig" if csv else "utf-8")
    except OSError as err:
        raise InputError(Diagnostic("E-OUTPUT-WRITE", file=str(path), args={
            "path": str(path), "reason": err.strerror or str(err)})) from None


def check_printable(data: str | bytes, fmt: str) -> None:
    """A binary format (XLSX, PDF) cannot go to the screen: it needs ``--output``."""
    if fmt in BINARY_FORMATS or isinstance(data, bytes):
        raise InputError(Diagnostic("E-OUTPUT-NEEDED", file="--format", args={"fmt": fmt}))
