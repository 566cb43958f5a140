"""Which rule file a command uses when none is named.

A village's data lives in one database; the database remembers the rule file it was last used
with (``settings`` table), so a clerk who ran ``xiangyue evaluate RULES --db village.db`` can
then run ``xiangyue explain JG001 --period 2024-Q1 --db village.db`` without naming it again.

The order: the rule file named on the command line, then ``XIANGYUE_RULESET``, then the one the
database remembers. For imports and import forms only (:func:`columns_ruleset`), whose columns a
rule file defines, two more: the one rule file of the current folder (the village folder
``xiangyue init`` made), then the bundled reference rule file (金钩村).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Iterator, Literal

from xiangyue.data.store import file_guard
from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register

register(
    {
        "E-RULESET-NONE": Msg(
            zh="没有指定规则文件",
            en="no rule file given",
            hint_zh="用 --ruleset 指定规则文件（或设置 XIANGYUE_RULESET），或先对这个数据库运行一次 xiangyue evaluate 规则文件",
            hint_en="name it with --ruleset (or set XIANGYUE_RULESET), or run xiangyue evaluate RULES on this database once",
        ),
        "E-RULESET-GONE": Msg(
            zh="数据库记住的规则文件“{path}”已不存在",
            en="the rule file '{path}' this database remembers no longer exists",
            hint_zh="用 --ruleset 指定规则文件",
            hint_en="name the rule file with --ruleset",
        ),
    }
)

SETTINGS_SCHEMA = "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)"


@contextlib.contextmanager
def reference_ruleset() -> Iterator[Path]:
    """The bundled reference rule file (works from a wheel too)."""
    ref = resources.files("xiangyue.rulesets").joinpath("examples", "jingou.yaml")
    with resources.as_file(ref) as path:
        yield path


def remembered_ruleset(db_path: str | os.PathLike | None) -> str | None:
    """The rule file the database was last used with, or None (read-only; never creates it)."""
    if not db_path or not os.path.isfile(db_path):
        return None
    try:
        with file_guard(db_path):  # not while a second SQLite library has it open
            conn = sqlite3.connect(f"file:{os.fspath(db_path)}?mode=ro", uri=True, timeout=5)
            try:
                row = conn.execute("SELECT value FROM settings WHERE key = 'ruleset'").fetchone()
            finally:
                conn.close()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return None  # a village database that no command has remembered a rule file in
        _raise_store_error(db_path)
        return None
    except sqlite3.DatabaseError:
        _raise_store_error(db_path)
        return None
    return row[0] if row else None


def _raise_store_error(db_path: str | os.PathLike) -> None:
    """The database's own problem (not a database, damaged, locked) as the store words it."""
    from xiangyue.data.store import open_store

    with open_store(db_path, create=False):
        pass


def remember_ruleset(conn: sqlite3.Connection, path: str | os.PathLike) -> None:
    """Record the rule file a command used on this database (inside the caller's transaction
    or on its own)."""
    conn.execute(SETTINGS_SCHEMA)
    conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('ruleset', ?)",
                 (os.path.abspath(os.fspath(path)),))


def resolve_ruleset_path(explicit: str | None, db_path: str | os.PathLike | None) -> str:
    """The rule file to use (see the module docstring); raises when there is none."""
    if explicit:
        return explicit
    env = os.environ.get("XIANGYUE_RULESET")
    if env:
        return env
    remembered = remembered_ruleset(db_path)
    if remembered:
        if not os.path.isfile(remembered):
            raise InputError(Diagnostic("E-RULESET-GONE", file=str(db_path), args={"path": remembered}))
        return remembered
    raise InputError(Diagnostic("E-RULESET-NONE", file=str(db_path or "")))


#: how :func:`columns_ruleset` found its rule file
Found = Literal["given", "folder", "reference"]

_RULE_FILE_HEAD = re.compile(r"^xiangyue:[ \t]*\S", re.MULTILINE)
_EXTENDS = re.compile(r"^extends:[ \t]*[\"']?([^\"'#\r\n]+?)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)
_HEAD_BYTES = 64 * 1024  # the top-level keys of a rule file are in its first lines


def folder_ruleset(folder: str | os.PathLike = ".") -> Path | None:
    """The one rule file of ``folder`` (not its sub-folders), or None when there is none or
    several. A rule file is a ``.yaml``/``.yml`` file with a top-level ``xiangyue:`` key; a
    template that another rule file of the folder ``extends`` (``xiangyue init --template``
    copies it beside the village's file) does not count."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    found: dict[str, str] = {}
    for name in names:
        path = Path(folder) / name
        if not name.lower().endswith((".yaml", ".yml")) or not path.is_file():
            continue
        try:
            with path.open("rb") as fh:
                head = fh.read(_HEAD_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        if _RULE_FILE_HEAD.search(head):
            found[name] = head
    extended = {m.group(1).strip() for head in found.values() for m in _EXTENDS.finditer(head)}
    rules = [name for name in found if name not in extended]
    return Path(folder) / rules[0] if len(rules) == 1 else None


@contextlib.contextmanager
def columns_ruleset(explicit: str | None, db_path: str | os.PathLike | None,
                    folder: str | os.PathLike = ".") -> Iterator[tuple[str, Found]]:
    """The rule file whose columns an import or an import form follows: as
    :func:`resolve_ruleset_path`, else the one rule file of ``folder``, else the reference
    village's. Yields ``(path, how)``; the caller tells the user when ``how`` is not "given"."""
    try:
        given = resolve_ruleset_path(explicit, db_path)
    except InputError as err:
        if err.diagnostics[0].code != "E-RULESET-NONE":
            raise
    else:
        yield given, "given"
        return
    here = folder_ruleset(folder)
    if here is not None:
        yield str(here), "folder"
        return
    with reference_ruleset() as path:
        yield str(path), "reference"
