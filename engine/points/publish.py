"""Publishing the boards (一季度一公示): a frozen, versioned snapshot in the village database,
and the printable notice and township workbook made from it.

Table ``publications`` (created on first use): ``period``, ``version`` (1, 2, ... per
period), ``published_by``, ``published_at``, the rule file's name/version/sha256, the
evaluation ``run_id`` (the run is saved in the ledger tables, :mod:`xiangyue.points.ledger`), the
``ledger_sha256`` (hash of the run's stored ledger rows,
:func:`xiangyue.points.ledger.ledger_sha256`), ``content_sha256`` and ``boards``
(the boards' JSON with every household's total, :meth:`Boards.to_json`). Table
``publication_ledger_blocks`` keeps a copy of the ledger behind each version (the run's
blocks, :mod:`xiangyue.data.ledger_blocks`; ``publication_ledger`` rows in databases of
earlier versions, still read: :func:`published_ledger`), so the points behind a published
board stay on record even when a later correction replaces the evaluation run (copied when
the run is replaced, not at publishing: until then the stored run is that ledger).

A published board never changes silently: publishing a period again computes the boards
afresh and compares them (``content_sha256``: boards and household totals, not the time or
who published) with the period's latest version. Unchanged: nothing is written and the
result says so. Changed (a correction): version n+1 is added and every earlier version stays
on record. The comparison and the insert happen in one ``BEGIN IMMEDIATE`` transaction, so
two clerks publishing at once cannot both create version 2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from xiangyue.points.boards import compute_boards
from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register
from xiangyue.report.jsonout import dumps, loads
from xiangyue.data.store import Store
from xiangyue.points.results import Evaluation
from xiangyue.rules.model import Ruleset

__all__ = ["Publication", "PublishResult", "Completed", "publish_boards", "list_publications",
           "get_publication", "published_ledger", "write_notice_files", "write_publication_files",
           "complete_pending", "NOTICE_FORMATS"]

register({
    "W-PUBLISH-DATED-TODAY": Msg(
        zh="公示上的日期为今天（{date}），{period} 已于 {end} 结束",
        en="the notice is dated today ({date}) though {period} ended on {end}",
        hint_zh="如是补发当时的公示，请用 --date 指定当时的公示日期",
        hint_en="for the notice of that time, give its date with --date"),
    "E-PUBLISH-NONE": Msg(
        zh="{period} 还没有发布过红黑榜", en="no boards have been published for {period}",
        hint_zh="先运行 xiangyue publish 规则文件 --period {period}",
        hint_en="publish them first: xiangyue publish RULESET --period {period}"),
    "E-PUBLISH-VERSION": Msg(
        zh="{period} 没有第 {version} 版（已有：{versions}）",
        en="{period} has no version {version} (versions: {versions})"),
    "E-PUBLISH-ARGS": Msg(
        zh="发布需要规则文件和 --period", en="publishing needs RULESET and --period",
        hint_zh="例如 xiangyue publish jingou.yaml --period 2024-Q1；查看已发布的用 --list",
        hint_en="e.g. xiangyue publish jingou.yaml --period 2024-Q1; see --list"),
    "E-PUBLISH-WRITE": Msg(
        zh="无法写入文件 {path}：{reason}", en="cannot write file {path}: {reason}",
        hint_zh="检查文件夹是否存在、文件是否被其他程序打开",
        hint_en="check that the folder exists and the file is not open in another program"),
})

NOTICE_FORMATS = ("html", "xlsx")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS publications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period TEXT NOT NULL,
    version INTEGER NOT NULL,
    published_by TEXT,
    published_at TEXT NOT NULL,
    village TEXT,
    ruleset_name TEXT,
    ruleset_version TEXT,
    ruleset_sha256 TEXT NOT NULL,
    run_id TEXT,
    ledger_sha256 TEXT,
    content_sha256 TEXT NOT NULL,
    boards TEXT NOT NULL,
    UNIQUE (period, version)
);
CREATE TABLE IF NOT EXISTS publication_files (
    period TEXT NOT NULL,
    version INTEGER NOT NULL,
    output_dir TEXT NOT NULL,
    formats TEXT NOT NULL,
    lang TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (period, version, output_dir)
);
"""


@dataclass
class Publication:
    period: str
    version: int
    published_by: str | None
    published_at: str
    ruleset_sha256: str
    run_id: str | None
    ledger_sha256: str | None
    content_sha256: str
    boards: dict[str, Any]
    ruleset_name: str | None = None
    ruleset_version: str | None = None
    notice: dict[str, Any] | None = None  # the rule file's notice: section and the date printed

    @property
    def date(self) -> dt.date:
        """The date printed on the notice (``publish --date``; default the day published)."""
        printed = (self.notice or {}).get("date")
        if printed:
            return dt.date.fromisoformat(printed)
        return dt.datetime.fromisoformat(self.published_at).date()

    def to_json(self, *, with_boards: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "period": self.period, "version": self.version, "published_by": self.published_by,
            "published_at": self.published_at, "ruleset_name": self.ruleset_name,
            "ruleset_version": self.ruleset_version, "ruleset_sha256": self.ruleset_sha256,
            "run_id": self.run_id, "ledger_sha256": self.ledger_sha256,
            "content_sha256": self.content_sha256, "notice_date": self.date.isoformat()}
        if with_boards:
            out["boards"] = self.boards
        return out


@dataclass
class Completed:
    """Files of an earlier publication that were not all written (the run was killed or the
    disk was full after the database commit) and have now been written."""

    period: str
    version: int
    files: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"period": self.period, "version": self.version, "files": list(self.files)}


@dataclass
class PublishResult:
    status: str  # published | unchanged
    publication: Publication
    previous: Publication | None
    files: list[str]
    completed: list[Completed] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {"status": self.status, "publication": self.publication.to_json(with_boards=False),
                "previous_version": self.previous.version if self.previous else None,
                "files": list(self.files), "completed": [c.to_json() for c in self.completed],
                "warnings": [d.to_json(lang) for d in self.warnings]}


def _ensure(store: Store) -> None:
    from xiangyue.points.ledger import LEDGER_COLUMNS

    store.create_tables(_SCHEMA)
    # the ledger behind each published version, kept even when the run is replaced later
    cols = ", ".join(c for c in LEDGER_COLUMNS if c != "run_id")
    store.conn.execute(f"CREATE TABLE IF NOT EXISTS publication_ledger (period TEXT NOT NULL, "
                       f"version INTEGER NOT NULL, {cols}, PRIMARY KEY (period, version, seq))")
    if "notice" not in store.columns("publications"):  # databases from before the notice: section
        store.conn.execute("ALTER TABLE publications ADD COLUMN notice TEXT")


def published_ledger(store: Store, period: str, version: int | None = None) -> list[dict[str, Any]]:
    """The ledger entries behind a published version (default the latest) of a period."""
    from xiangyue.data.ledger_blocks import behind_publication, ledger_rows
    from xiangyue.points.ledger import LEDGER_COLUMNS

    pub = get_publication(store, period, version)
    names = ("period", "version", *(c for c in LEDGER_COLUMNS if c != "run_id"))
    run_id, copy = behind_publication(store, pub.period, pub.version, pub.run_id)
    found = ledger_rows(store, run_id, publication=copy)
    return [dict(zip(names, (pub.period, pub.version, *row))) for rows in found for row in rows]


def _has_table(store: Store) -> bool:
    return store.has_table("publications")


class _StoredPublication(Publication):
    """A publication read from the database: its boards (every household's total: ~0.1 s to
    parse for 20,000 households) parsed when first read; publishing again compares content
    hashes only."""

    @property  # type: ignore[override]
    def boards(self) -> dict[str, Any]:
        text = self.__dict__.pop("_boards_text", None)
        if text is not None:
            self.__dict__["_boards"] = loads(text)
        return self.__dict__["_boards"]

    @boards.setter
    def boards(self, value: dict[str, Any]) -> None:
        self.__dict__.pop("_boards_text", None)
        self.__dict__["_boards"] = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Publication):
            return all(getattr(self, f) == getattr(other, f) for f in _PUBLICATION_FIELDS)
        return NotImplemented


_PUBLICATION_FIELDS = tuple(Publication.__dataclass_fields__)


def _row(row: dict[str, Any]) -> Publication:
    pub = _StoredPublication(row["period"], row["version"], row["published_by"],
                             row["published_at"], row["ruleset_sha256"], row["run_id"],
                             row["ledger_sha256"], row["content_sha256"], {},
                             row["ruleset_name"], row["ruleset_version"],
                             loads(row["notice"]) if row.get("notice") else None)
    pub.__dict__["_boards_text"] = row["boards"]
    return pub


def list_publications(store: Store, period: str | None = None) -> list[Publication]:
    if not _has_table(store):
        return []
    sql, params = "SELECT * FROM publications", []
    if period is not None:
        sql += " WHERE period = ?"
        params.append(period)
    return [_row(r) for r in store.query(sql + " ORDER BY period, version", params)]


def get_publication(store: Store, period: str, version: int | None = None) -> Publication:
    """A period's publication (latest version unless ``version``)."""
    pubs = list_publications(store, period)
    if not pubs:
        raise InputError(Diagnostic("E-PUBLISH-NONE", file=store.path, args={"period": period}))
    if version is None:
        return pubs[-1]
    for p in pubs:
        if p.version == version:
            return p
    raise InputError(Diagnostic("E-PUBLISH-VERSION", file=store.path, args={
        "period": period, "version": version,
        "versions": ", ".join(str(p.version) for p in pubs)}))


def _content(boards_json: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(boards_json, indent=None, sort_keys=True).encode()).hexdigest()


def publish_boards(store: Store, ruleset: Ruleset, ev: Evaluation, *, by: str | None = None,
                   now: dt.datetime | None = None, previous: Evaluation | None = None,
                   notice_date: dt.date | None = None,
                   output_dir: str | os.PathLike[str] | None = None,
                   formats: tuple[str, ...] = NOTICE_FORMATS, lang: str = "zh",
                   on_wait: Callable[[], None] | None = None) -> PublishResult:
    """Freeze the boards of ``ev`` (a run stored in ``store``: ``ev.run_id``) as a new version
    of its period when they differ from the latest published one; the run's ledger is copied
    beside the version. ``previous``: the evaluation of the period before (progress board).
    ``notice_date``: the date printed on the notice (default the day published); the rule
    file's ``notice:`` settings are stored with the version. With ``output_dir`` the files
    still to write are recorded in the same transaction (``publication_files``), so a run
    stopped before :func:`write_publication_files` finishes is completed by the next one
    (:func:`complete_pending`). The comparison and the insert are one transaction."""
    from xiangyue.points.ledger import ledger_sha256

    if ev.run_id is None:
        raise ValueError("publish_boards needs an evaluation stored as a run")
    period = ev.period
    stamp = (now or dt.datetime.now(dt.timezone.utc).astimezone()).isoformat(timespec="seconds")
    data = compute_boards(ev, previous=previous).to_json(details=True)
    content = _content(data)
    with store.transaction(on_wait=on_wait):
        _ensure(store)
        previous = list_publications(store, period.key)
        latest = previous[-1] if previous else None
        if latest is not None and latest.content_sha256 == content:
            return PublishResult("unchanged", latest, latest, [])
        run_id = ev.run_id
        version = latest.version + 1 if latest else 1
        notice = {**ruleset.notice.to_json(),
                  "date": (notice_date or dt.date.fromisoformat(stamp[:10])).isoformat()}
        pub = Publication(period.key, version, by, stamp, ruleset.sha256, run_id,
                          ledger_sha256(store, run_id), content, data, ruleset.name,
                          ruleset.version, notice)
        store.conn.execute(
            "INSERT INTO publications (period, version, published_by, published_at, village, "
            "ruleset_name, ruleset_version, ruleset_sha256, run_id, ledger_sha256, "
            "content_sha256, boards, notice) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (pub.period, pub.version, by, stamp, ruleset.village, ruleset.name,
             ruleset.version, ruleset.sha256, run_id, pub.ledger_sha256, content,
             dumps(data, indent=None), dumps(notice, indent=None)))
        if output_dir is not None:  # the files still to write, done once they all are
            store.conn.execute(
                "INSERT OR REPLACE INTO publication_files (period, version, output_dir, "
                "formats, lang, done) VALUES (?, ?, ?, ?, ?, 0)",
                (pub.period, pub.version, os.path.abspath(output_dir), ",".join(formats), lang))
    # the run's ledger is copied beside the version only when the run is replaced
    # (xiangyue.points.ledger.save_run): until then the stored run is the version's ledger
    warnings = [] if notice_date is not None else _dated_today(pub, period.end)
    return PublishResult("published", pub, latest, [], warnings=warnings)


#: a notice dated today for a period that ended longer ago than this is probably a late copy
LATE_NOTICE_DAYS = 31


def _dated_today(pub: Publication, end: dt.date) -> list[Diagnostic]:
    """No --date: the notice is dated today; a warning when the period ended long before,
    where the date printed is probably not the one meant."""
    if (pub.date - end).days <= LATE_NOTICE_DAYS:
        return []
    return [Diagnostic("W-PUBLISH-DATED-TODAY", file="--date", severity="warning", args={
        "date": pub.date.isoformat(), "period": pub.period, "end": end.isoformat()})]


def write_publication_files(store: Store, pub: Publication,
                            output_dir: str | os.PathLike[str], *, lang: str = "zh",
                            formats: tuple[str, ...] = NOTICE_FORMATS,
                            on_wait: Callable[[], None] | None = None) -> list[str]:
    """Write the files of a version :func:`publish_boards` just recorded and mark them done;
    returns the paths written."""
    files = write_notice_files(pub, output_dir, lang=lang, formats=formats)
    _mark_done(store, pub, output_dir, on_wait=on_wait)
    return files


def complete_pending(store: Store, *, on_wait: Callable[[], None] | None = None
                     ) -> list[Completed]:
    """Write the files of every publication whose files were not all written (a publish killed
    or failed after its database commit); returns what was written."""
    if not _has_table(store) or not store.has_table("publication_files"):
        return []
    pending = store.conn.execute("SELECT period, version, output_dir, formats, lang FROM "
                                 "publication_files WHERE done = 0 ORDER BY period, version").fetchall()
    out = []
    for period, version, folder, formats, lang in pending:
        pub = get_publication(store, period, version)
        files = write_notice_files(pub, folder, lang=lang, formats=tuple(formats.split(",")))
        _mark_done(store, pub, folder, on_wait=on_wait)
        out.append(Completed(period, version, files))
    return out


def _mark_done(store: Store, pub: Publication, folder: str | os.PathLike[str], *,
               on_wait: Callable[[], None] | None = None) -> None:
    with store.transaction(on_wait=on_wait):
        store.conn.execute("UPDATE publication_files SET done = 1 WHERE period = ? AND version = ? "
                           "AND output_dir = ?", (pub.period, pub.version, os.path.abspath(folder)))


def notice_basename(pub: Publication) -> str:
    """``<village>-<period>-红黑榜-v<n>``, made a safe file name (a village called
    ``../../x`` names no other folder)."""
    from xiangyue.report.output import safe_filename

    village = pub.boards.get("village") or "village"
    return safe_filename(f"{village}-{pub.period}-红黑榜-v{pub.version}", fallback="notice")


def write_notice_files(pub: Publication, output_dir: str | os.PathLike[str], *,
                       lang: str = "zh", formats: tuple[str, ...] = NOTICE_FORMATS) -> list[str]:
    """Write ``<village>-<period>-红黑榜-v<n>.html`` (A4 notice), ``.xlsx`` (township workbook)
    and, when ``formats`` has ``pdf``, ``.pdf`` of a publication into ``output_dir``, each whole
    or not at all (written under a temporary name, then renamed); returns the paths written."""
    from xiangyue.report.boards import render_xlsx
    from xiangyue.report.notice import render_notice
    from xiangyue.report.output import atomic_write, path_inside

    out = Path(output_dir)
    base = notice_basename(pub)
    written: list[str] = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            path = path_inside(out, f"{base}.{fmt}")
            for stale in out.glob(f".{path.name[:40]}.*.tmp"):  # left by a run killed mid-write
                stale.unlink(missing_ok=True)
            if fmt == "html":
                data: str | bytes = render_notice(pub.boards, lang=lang, date=pub.date,
                                                  version=pub.version, notice=pub.notice)
            elif fmt == "xlsx":
                data = render_xlsx(pub.boards, lang)
            elif fmt == "pdf":
                from xiangyue.report.pdf import notice_pdf

                data = notice_pdf(pub.boards, lang=lang, date=pub.date, version=pub.version,
                                  notice=pub.notice)
            else:  # pragma: no cover - formats come from the CLI's choices
                raise ValueError(fmt)
            atomic_write(path, data)
            written.append(str(path))
    except OSError as err:
        where = err.filename or str(out)
        raise InputError(Diagnostic("E-PUBLISH-WRITE", file=str(where), args={
            "path": str(where), "reason": err.strerror or str(err)})) from None
    return written
