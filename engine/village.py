"""The Python API in one object, and the one place a job is assembled: a village's rule file
and its inputs (the database, or table files).

Everything the ``xiangyue`` command does is a call a Python user can make too (the CLI calls
only this object, then renders and picks the exit code)::

    from xiangyue import Village

    village = Village("xiangyue.db", "rulesets/examples/jingou.yaml")
    village.import_households("households.csv")
    village.import_records("records.csv")
    ev = village.evaluate("2024-Q1")               # totals, ledger; stored in the database
    print(village.explain("JG001", "2024-Q1").text())
    boards = village.boards("2024-Q1")
    report = village.check("2024-06-30")

    Village(ruleset="jingou.yaml", records="records.csv", households="hh.csv").boards("2024")

A job is always the same sequence, written once here: load the rule file (once per
``Village``), open the inputs (:func:`xiangyue.points.inputs.open_inputs`), get an evaluation
(:meth:`Village.evaluation`), close. In database mode an evaluation is stored as a *run*
(:mod:`xiangyue.points.ledger`) keyed by the rule file's sha256, the period and what it read
(the imports log: :func:`~xiangyue.points.ledger.inputs_key`); ``boards``, ``stars``,
``select`` and ``publish`` reuse the current run instead of evaluating again, and evaluate
(and store) when there is none or it is stale. ``explain`` evaluates the one household's
records only (limits never cross households).

Without a rule file, the one the database remembers is used (see :mod:`xiangyue.data.workspace`).
Each method opens the database for the duration of the call, so a ``Village`` can be kept
around while other programs (or clerks) write to the same file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from xiangyue.data.store import DEFAULT_DB, Store, open_store
from xiangyue.data.workspace import remember_ruleset, resolve_ruleset_path
from xiangyue.errors import RulesetError
from xiangyue.periods import Period, parse_period
from xiangyue.rules.model import Ruleset


class Village:
    """A village's rule file and its inputs: a database (one SQLite file), or table files.

    ``records``/``households``: table files (CSV/XLSX/JSONL) to read instead of the
    database's records / register (nothing is stored then). ``engine``: ``auto`` (the
    columnar evaluator when it can compute the rule file exactly, else the reference one),
    ``fast`` or ``reference``. ``on_wait``: called once when storing a run has to wait for
    another program writing to the database (the CLI prints a line).
    """

    def __init__(self, db: str | os.PathLike | None = DEFAULT_DB,
                 ruleset: str | os.PathLike | Ruleset | None = None, *,
                 records: str | os.PathLike | None = None,
                 households: str | os.PathLike | None = None, engine: str = "auto",
                 on_wait: Callable[[], None] | None = None):
        self.db_path = os.fspath(db) if db is not None else DEFAULT_DB
        self._ruleset = ruleset if isinstance(ruleset, Ruleset) else None
        self._ruleset_path = None if isinstance(ruleset, Ruleset) else (
            os.fspath(ruleset) if ruleset else None)
        self.records_path = os.fspath(records) if records is not None else None
        self.households_path = os.fspath(households) if households is not None else None
        self.engine = engine
        self.on_wait = on_wait

    # -- the rule file ------------------------------------------------------------------------
    @property
    def ruleset(self) -> Ruleset:
        """The checked rule file (loaded once). A rule file with errors raises
        :class:`RulesetError` listing every problem, of kind ``unusable``: a job cannot run."""
        if self._ruleset is None:
            from xiangyue.rules.pipeline import load_ruleset

            self._ruleset_path = resolve_ruleset_path(self._ruleset_path, self.db_path)
            try:
                self._ruleset = load_ruleset(self._ruleset_path)
            except RulesetError as err:
                err.kind = "unusable"
                raise
        return self._ruleset

    @property
    def ruleset_path(self) -> str | None:
        return self._ruleset_path

    @property
    def from_files(self) -> bool:
        """True when the records come from a table file, not the database."""
        return self.records_path is not None

    @contextmanager
    def store(self, *, create: bool = True) -> Iterator[Store]:
        with open_store(self.db_path, create=create) as store:
            yield store

    def _remember(self, store: Store) -> None:
        if self._ruleset_path:
            with store.transaction():
                remember_ruleset(store.conn, self._ruleset_path)

    # -- imports ------------------------------------------------------------------------------
    def _import(self, importer: Callable[..., Any], path: str | os.PathLike, **options: Any):
        """One import, all or nothing: a failed import into a database that did not exist
        before leaves no file behind (as the CLI)."""
        existed = os.path.exists(self.db_path)
        try:
            with self.store() as store:
                result = importer(store, path, self.ruleset, **options)
                self._remember(store)
                return result
        except BaseException:
            if not existed:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with contextlib.suppress(OSError):
                        os.remove(self.db_path + suffix)
            raise

    def import_households(self, path: str | os.PathLike, **options: Any):
        from xiangyue.data.ingest import import_households

        return self._import(import_households, path, **options)

    def import_records(self, path: str | os.PathLike, **options: Any):
        from xiangyue.data.ingest import import_records

        return self._import(import_records, path, **options)

    def import_cases(self, path: str | os.PathLike, **options: Any):
        from xiangyue.data.ingest import import_cases

        return self._import(import_cases, path, **options)

    # -- evaluations --------------------------------------------------------------------------
    def _period(self, period: str | Period) -> Period:
        return parse_period(period) if isinstance(period, str) else period

    def _open(self, period: Period):
        from xiangyue.points.inputs import open_inputs

        return open_inputs(self.ruleset, period, db_path=self.db_path,
                           records_path=self.records_path, households_path=self.households_path)

    def evaluate(self, period: str | Period, *, with_ledger: bool = True, save: bool = True,
                 engine: str | None = None):
        """Score every household for ``period`` afresh (an :class:`Evaluation` with
        ``.engine`` saying which evaluator ran); in database mode with ``save``, store the run
        (its ledger written from columns) for later commands to reuse."""
        return self.evaluation(period, with_ledger=with_ledger, save=save, reuse=False,
                               engine=engine)

    def evaluation(self, period: str | Period, *, with_ledger: bool = False, save: bool = True,
                   reuse: bool = True, engine: str | None = None,
                   progress: Callable[[Any], Any] | None = None):
        """The evaluation of ``period`` a job needs.

        Database mode: with ``reuse`` (and no ledger asked for), the stored run when it is
        current (same rule file, period and imports; its ``ledger`` is None and ``run_id``
        names it); else evaluate, and with ``save`` store the run. Files: always evaluate.
        ``progress``: wraps the record stream (a bar while records are read one by one)."""
        from xiangyue.points import ledger as runs
        from xiangyue.points.evaluate import evaluate
        from xiangyue.points.inputs import Inputs

        p = self._period(period)
        rs = self.ruleset
        engine = engine or self.engine
        for _attempt in range(3):
            with self._open(p) as inputs:
                store = inputs.store
                key = None
                if store is not None:
                    key = runs.inputs_key(store, self.households_path)
                    if reuse and not with_ledger:
                        run_id = runs.current_run(store, rs, p, key)
                        if run_id is not None:
                            return runs.load_run(store, run_id, rs, p)
                store_it = save and store is not None
                records = inputs.records if progress is None or hasattr(
                    inputs.records, "columns") else progress(inputs.records)  # columns: no rows
                ev = evaluate(rs, Inputs(records, inputs.households, inputs.presorted, store),
                              p, engine=engine, with_ledger=with_ledger or store_it)
                if progress is not None and hasattr(records, "close"):
                    records.close()  # the bar is cleared even when the evaluator stopped early
                if store is None:
                    return ev
                if not store_it:
                    self._remember_if_new(store)
                    return ev
                # An import that committed while the records were read: read them again, so
                # a stored run is exactly what its key says.
                if runs.inputs_key(store, self.households_path) == key:
                    ev.run_id = runs.save_run(store, ev, inputs=key,
                                              remember=self._ruleset_path,
                                              on_wait=self.on_wait)
                    return ev
        return ev  # the data kept changing: this evaluation, not stored

    def _remember_if_new(self, store: Store) -> None:
        """Remember the rule file for later commands, writing only when it is new (a write
        waits for a running import; most commands need none)."""
        from xiangyue.data.workspace import remembered_ruleset

        if self._ruleset_path and remembered_ruleset(self.db_path) != os.path.abspath(
                self._ruleset_path):
            with store.transaction(on_wait=self.on_wait):
                remember_ruleset(store.conn, self._ruleset_path)

    def boards(self, period: str | Period, *, progress: Callable[[Any], Any] | None = None):
        """红黑榜 and the grid ranking for ``period`` (:class:`~xiangyue.points.boards.Boards`);
        with a progress board in the rule file, the previous period's evaluation too."""
        from xiangyue.points.boards import compute_boards

        ev = self.evaluation(period, progress=progress)
        return compute_boards(ev, self.ruleset.boards, self._before(ev.period))

    def _before(self, period: Period):
        """The evaluation of the period before ``period`` when the rule file has a progress
        board (which compares the two), else None; a stored run when current."""
        from xiangyue.points.boards import previous_period

        if self.ruleset.boards.progress is None:
            return None
        return self.evaluation(previous_period(period))

    def stars(self, period: str | Period, *, progress: Callable[[Any], Any] | None = None):
        """Each household's star level for ``period`` (the rule file's ``stars:``)."""
        from xiangyue.errors import Diagnostic, InputError
        from xiangyue.points.selections import rate_stars

        rs = self.ruleset
        if not rs.stars:
            raise InputError(Diagnostic("E-STARS-NONE", file=rs.file))
        return rate_stars(rs, self.evaluation(period, progress=progress))

    def select(self, name: str, period: str | Period, *,
               progress: Callable[[Any], Any] | None = None):
        """Who qualifies for the selection ``name`` in ``period``, and why the others do not."""
        from xiangyue.points.selections import check_selection, needs_records, run_selection

        p = self._period(period)
        rs = self.ruleset
        selection = check_selection(rs, name, p, period if isinstance(period, str) else p.key)
        ev = self.evaluation(p, progress=progress)
        records: list[Any] = []
        if needs_records(rs, selection):  # counts of records: read them (no evaluation)
            with self._open(p) as inputs:
                records = list(inputs.records)
        return run_selection(rs, selection, ev, records)

    def explain(self, household: str, period: str | Period):
        """One household's points for ``period``, record by record (``.text(lang)``,
        ``.to_json()``), with the records' extra columns: only that household's records are
        read and evaluated."""
        from xiangyue.points.explain import explain, record_extras
        from xiangyue.points.inputs import household_inputs

        p = self._period(period)
        rs = self.ruleset

        def ids(story: Any) -> list[str]:
            return [str(rec.get("record_id")) for rec, _ in story.records
                    if rec.get("record_id")]

        if self.from_files:
            with self._open(p) as inputs:
                story = explain(rs, inputs.records, inputs.households, p, household,
                                presorted=inputs.presorted)
            if ids(story):
                story.extras = record_extras(rs, ids(story), db_path=None,
                                             records_path=self.records_path)
            return _Told(story)
        with self.store(create=False) as store:
            records, register = household_inputs(store, rs, p, household)
            if self.households_path:
                from xiangyue.points.inputs import read_households_file

                register = read_households_file(rs, self.households_path)
            story = explain(rs, records, register, p, household, presorted=True)
            if ids(story):
                story.extras = store.record_extras(ids(story))
            return _Told(story)

    def passbook(self, household: str | None, period: str | Period, *,
                 day: dt.date | None = None, lang: str = "zh",
                 progress: Callable[[Any], Any] | None = None):
        """积分存折: ``household``'s passbook for ``period`` (None: every household's, one
        each), from the database: its ledger entries with reasons in words, redemptions and
        voids, running balance, and the balance as of ``day`` (default today), as
        ``balance`` shows it. The period's run is stored (or the current one reused), so the
        passbook's entries are the ledger's; one household's entries are evaluated from its
        records only, as :meth:`explain` does."""
        from xiangyue.errors import Diagnostic, InputError
        from xiangyue.points.passbook import passbooks

        p = self._period(period)
        rs = self.ruleset
        # every household: evaluate afresh with the ledger (stored); one: the current run
        ev = self.evaluation(p, with_ledger=household is None, progress=progress)
        if household is not None and household not in {r.household for r in ev.results}:
            raise InputError(Diagnostic("E-EXPLAIN-HOUSEHOLD", file="HOUSEHOLD",
                                        args={"household": household}))
        ids = [household] if household is not None else list(dict.fromkeys(
            r.household for r in ev.results))
        with self.store(create=False) as store:
            if household is not None:
                ev = self._household_evaluation(store, p, household)
            return passbooks(store, rs, ev, ids, day=day or dt.date.today(), lang=lang)

    def _household_evaluation(self, store: Store, period: Period, household: str):
        """One household's evaluation of ``period`` with its ledger, from its own records
        (limits never cross households: the same entries as the whole village's run)."""
        from xiangyue.points.evaluate import evaluate
        from xiangyue.points.inputs import Inputs, household_inputs

        records, register = household_inputs(store, self.ruleset, period, household)
        return evaluate(self.ruleset, Inputs(records, register, presorted=True), period,
                        engine=self.engine, with_ledger=True)

    def publish(self, period: str | Period, *, by: str | None = None,
                output_dir: str | os.PathLike | None = None, now: dt.datetime | None = None,
                lang: str = "zh", notice_date: dt.date | None = None,
                formats: tuple[str, ...] | None = None,
                progress: Callable[[Any], Any] | None = None):
        """Freeze the period's boards as a new version when they differ from the latest
        published one (the run behind them stored and copied); write the notice (HTML, and
        PDF when ``formats`` has ``pdf``) and workbook into ``output_dir``. Reuses the current
        stored run. ``notice_date``: the date printed on the notice (default today). Files of
        an earlier publication that were not all written are written first (``completed``)."""
        from xiangyue.points.publish import (
            NOTICE_FORMATS,
            complete_pending,
            publish_boards,
            write_publication_files,
        )

        formats = formats or NOTICE_FORMATS
        p = self._period(period)
        rs = self.ruleset
        with self.store(create=False) as store:
            completed = complete_pending(store, on_wait=self.on_wait)
        ev = self.evaluation(p, progress=progress)  # a stored run (its ledger in the database)
        before = self._before(p)
        with self.store(create=False) as store:
            result = publish_boards(store, rs, ev, by=by, now=now, previous=before,
                                    notice_date=notice_date, output_dir=output_dir,
                                    formats=formats, lang=lang, on_wait=self.on_wait)
            if result.status == "published" and output_dir is not None:
                result.files = write_publication_files(store, result.publication, output_dir,
                                                       lang=lang, formats=formats,
                                                       on_wait=self.on_wait)
        result.completed = completed
        return result

    def replay(self, old: Ruleset, new: Ruleset, period: str | Period):
        """Evaluate both versions of a rule file for ``period`` on this village's records
        and compare them household by household (``xiangyue diff --replay``)."""
        from xiangyue.review.replay import compare

        from xiangyue.points.boards import previous_period

        p = self._period(period)
        evals, befores = [], []
        for rs in (old, new):
            one = Village(self.db_path, rs, records=self.records_path,
                          households=self.households_path, engine=self.engine)
            evals.append(one.evaluation(p, save=False, reuse=False))
            befores.append(one.evaluation(previous_period(p), save=False, reuse=False)
                           if rs.boards.progress is not None else None)
        return compare(p, evals[0], evals[1], (befores[0], befores[1]))

    # -- checklists ---------------------------------------------------------------------------
    def check(self, as_of: str | dt.date | None = None, start: str | dt.date | None = None):
        """Compliance of every case in the database as of a date (default today); recurring
        duties are judged from ``start`` (a date or period; default ``effective.from``)."""
        from xiangyue.checklists.check import check_store, parse_as_of
        from xiangyue.checklists.duties import parse_from

        day = as_of if isinstance(as_of, dt.date) else parse_as_of(as_of)
        begin = start if isinstance(start, dt.date) else parse_from(start)
        return check_store(self.ruleset, self.db_path, day, start=begin)

    # -- the points supermarket -----------------------------------------------------------------
    def balance(self, household: str | None = None, day: dt.date | None = None):
        from xiangyue.points.market import balances

        with self.store() as store:
            found = balances(store, self.ruleset, day=day, household=household)
        return found[0] if household is not None else found

    def redeem(self, household: str, item: str, *, qty: int = 1, day: dt.date | None = None):
        from xiangyue.points.market import redeem

        with self.store() as store:
            return redeem(store, self.ruleset, household, item, qty=qty, day=day)


class _Told:
    """A household's story with its renderers attached."""

    def __init__(self, story: Any):
        self.story = story

    def text(self, lang: str = "zh") -> str:
        from xiangyue.points.explain import story_text

        return story_text(self.story, lang)

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return self.story.to_json(lang)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.story, name)
