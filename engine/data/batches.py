"""Import batches: list them, take one back, and copy the whole database.

Every import (:mod:`xiangyue.data.ingest`) is a batch: a row of the ``imports`` table whose id
every row it wrote carries (``import_id``). :func:`undo_import` removes exactly that batch's
rows in one transaction, puts back the rows the batch had replaced (``--replace``), and marks
the batch undone; what it removes is archived in ``removed_rows`` first, so nothing is lost.
A batch whose records are behind a published board is not undone unless forced: the board
would no longer match its records, and the next ``publish`` of that period becomes a
correction (a new version) as for any other change.

:func:`backup` writes a consistent copy of the database with SQLite's online backup, while
other commands may be writing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xiangyue.data.store import KEYS, Store, _q, open_store
from xiangyue.errors import Diagnostic, InputError, XiangyueError
from xiangyue.i18n import Msg, register

__all__ = ["list_imports", "undo_import", "UndoResult", "backup", "BackupResult"]

register({
    "E-BATCH-UNKNOWN": Msg(
        zh="没有编号为 {id} 的导入批次", en="there is no import batch {id}",
        hint_zh="用 xiangyue imports 查看各批次的编号", hint_en="list the batches with xiangyue imports"),
    "E-BATCH-PUBLISHED": Msg(
        zh="批次 {id} 的记录已用于已发布的红黑榜：{publications}",
        en="the records of batch {id} are behind published boards: {publications}",
        hint_zh="确需撤销，加 --force；之后重新发布该期（xiangyue publish）会生成更正版本",
        hint_en="to undo it anyway, add --force; publishing the period again then makes a "
        "correction (a new version)"),
    "E-BACKUP-EXISTS": Msg(
        zh="文件 {path} 已存在，没有覆盖", en="{path} already exists; it was not overwritten",
        hint_zh="换一个文件名，或加 --force 覆盖", hint_en="choose another name, or add --force"),
    "E-BACKUP-SAME": Msg(
        zh="备份文件不能是数据库本身（{path}）", en="the backup cannot be the database itself ({path})"),
    "E-BACKUP-WRITE": Msg(
        zh="无法写入备份 {path}：{reason}", en="cannot write the backup {path}: {reason}",
        hint_zh="检查文件夹是否存在、磁盘空间和写权限",
        hint_en="check that the folder exists, disk space and permissions"),
})

#: The keys of one batch in ``xiangyue imports --format json`` (more may follow).
BATCH_KEYS = ("id", "kind", "file", "sha256", "rows", "imported_at")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def list_imports(store: Store) -> list[dict[str, Any]]:
    """Every import batch, oldest first: id, kind, file, sha256, rows, imported_at, then
    added, unchanged, replaced, undone_at (None unless undone), undo_note."""
    out = []
    for row in store.imports():
        item = {k: row.get(k) for k in BATCH_KEYS}
        for k in ("added", "unchanged", "replaced", "ruleset", "undone_at", "undo_note"):
            item[k] = row.get(k)
        out.append(item)
    return out


@dataclass
class UndoResult:
    """What :func:`undo_import` did: ``removed`` rows of the batch, ``restored`` rows it had
    replaced, ``status`` "undone" or "unchanged" (undone before)."""

    id: int
    kind: str
    file: str
    status: str
    removed: int = 0
    restored: int = 0
    publications: list[str] = field(default_factory=list)  # published boards it changes

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "file": self.file, "status": self.status,
                "removed": self.removed, "restored": self.restored,
                "publications": self.publications}


def _publications_using(store: Store, kind: str, where: str, params: tuple[Any, ...]
                        ) -> list[str]:
    """Published versions (``2024-Q1 第 1 版``) whose ledger holds a record (or a household)
    of the batch."""
    if kind not in ("records", "households") or not store.has_table("publications"):
        return []
    import pyarrow as pa
    import pyarrow.compute as pc

    from xiangyue.data import ledger_blocks as blocks

    col = "record_id" if kind == "records" else "household"
    conn = store.conn
    batch = [v for (v,) in conn.execute(f"SELECT {col} FROM {_q(kind)} WHERE {where}", params)]
    if not batch:
        return []
    wanted = pa.array(batch, pa.string())
    found = []
    for period, version, at, run_id in conn.execute(
            "SELECT period, version, published_at, run_id FROM publications "
            "ORDER BY period, version").fetchall():
        run, copy = blocks.behind_publication(store, period, version, run_id)
        if any(blk.num_rows and pc.any(pc.is_in(blk.column(col), value_set=wanted)).as_py()
               for blk in blocks.ledger_blocks_of(store, run, publication=copy)):
            found.append(f"{period} 第 {version} 版（{str(at)[:10]} 发布）")
    return found


def undo_import(store: Store, batch: int, *, force: bool = False,
                note: str | None = None) -> UndoResult:
    """Take back import batch ``batch``: in one transaction, archive and delete its rows, put
    back the rows it replaced, mark it undone. Undoing it again changes nothing.

    Raises :class:`InputError` for an unknown batch, and (exit 1) a
    :class:`~xiangyue.errors.XiangyueError` naming the publications when a published board used
    its records, unless ``force``."""
    with store.transaction():
        store.ensure_batches()
        row = store.conn.execute("SELECT kind, file, undone_at, imported_at FROM imports "
                                 "WHERE id = ?", (batch,)).fetchone()
        if row is None:
            raise InputError(Diagnostic("E-BATCH-UNKNOWN", file="imports undo",
                                        args={"id": batch}))
        kind, file, undone, at = row
        result = UndoResult(batch, kind, file, "unchanged")
        if undone:
            return result
        store.ensure_batches(kind)
        # rows imported before batches were recorded carry no import_id: the file and the
        # time of their import name them as well
        where = "import_id = ? OR (import_id IS NULL AND source_file = ? AND imported_at = ?)"
        params = (batch, file, at)
        pubs = _publications_using(store, kind, where, params)
        result.publications = pubs
        if pubs and not force:
            raise XiangyueError(Diagnostic("E-BATCH-PUBLISHED", file="imports undo", args={
                "id": batch, "publications": "；".join(pubs)}), kind="refused")
        from xiangyue.data.ingest import archive_rows

        now = _now()
        result.removed = archive_rows(store, kind, "undo", batch, where, now, params)
        store.conn.execute(f"DELETE FROM {_q(kind)} WHERE {where}", params)
        result.restored = _restore_replaced(store, kind, batch)
        store.conn.execute("UPDATE imports SET undone_at = ?, undo_note = ? WHERE id = ?",
                           (now, note, batch))
        result.status = "undone"
    return result


def _restore_replaced(store: Store, kind: str, batch: int) -> int:
    """Put back the rows ``batch`` replaced (archived when it replaced them), unless a row
    with the same key has been stored since."""
    conn = store.conn
    cols = set(store.columns(kind))
    keys = KEYS[kind]
    restored = 0
    archived = conn.execute("SELECT row FROM removed_rows WHERE tbl = ? AND reason = 'replace' "
                            "AND import_id = ? ORDER BY id", (kind, batch)).fetchall()
    for (text,) in archived:
        old = {k: v for k, v in json.loads(text).items() if k in cols}
        where = " AND ".join(f"{_q(k)} IS ?" for k in keys)
        if conn.execute(f"SELECT 1 FROM {_q(kind)} WHERE {where}",
                        [old.get(k) for k in keys]).fetchone():
            continue
        names = list(old)
        conn.execute(f"INSERT INTO {_q(kind)} ({', '.join(map(_q, names))}) "
                     f"VALUES ({', '.join('?' * len(names))})", [old[n] for n in names])
        restored += 1
    return restored


@dataclass
class BackupResult:
    path: str
    tables: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "tables": self.tables}


def backup(db_path: str | os.PathLike[str], out: str | os.PathLike[str], *,
           force: bool = False) -> BackupResult:
    """Copy the database at ``db_path`` to ``out`` with SQLite's online backup (a consistent
    snapshot even while another command writes). Written beside ``out`` first and renamed,
    so ``out`` is never a half-written file. Returns the row count of each table copied."""
    src_path, dst = Path(db_path), Path(out)
    if dst.exists() and dst.resolve() == src_path.resolve():
        raise InputError(Diagnostic("E-BACKUP-SAME", file=str(out), args={"path": str(out)}))
    if dst.exists() and not force:
        raise InputError(Diagnostic("E-BACKUP-EXISTS", file=str(out), args={"path": str(out)}))
    tmp = dst.with_name(dst.name + ".part")
    with open_store(db_path, create=False) as store:
        try:
            if tmp.exists():
                tmp.unlink()
            target = sqlite3.connect(str(tmp))
            try:
                store.conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                target.close()
            os.replace(tmp, dst)
        except (OSError, sqlite3.Error) as err:
            try:
                tmp.unlink()
            except OSError:
                pass
            reason = getattr(err, "strerror", None) or str(err)
            raise InputError(Diagnostic("E-BACKUP-WRITE", file=str(out), args={
                "path": str(out), "reason": reason})) from None
    check = sqlite3.connect(f"file:{dst}?mode=ro", uri=True)
    try:
        names = [r[0] for r in check.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        tables = {n: check.execute(f"SELECT count(*) FROM {_q(n)}").fetchone()[0] for n in names}
    finally:
        check.close()
    return BackupResult(str(out), tables)
