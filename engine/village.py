"""The Python API in one object: a village's rule file and its database.

Everything the ``xiangyue`` command does is a call a Python user can make too::

    from xiangyue import Village

    village = Village("xiangyue.db", "rulesets/examples/jingou.yaml")
    village.import_households("households.csv")
    village.import_records("records.csv")
    ev = village.evaluate("2024-Q1")               # totals, ledger; stored in the database
    print(village.explain("JG001", "2024-Q1").text())
    boards = village.boards("2024-Q1")
    report = village.check("2024-06-30")

Without a rule file, the one the database remembers is used (see :mod:`xiangyue.data.workspace`).
Each method opens the database for the duration of the call, so a ``Village`` can be kept
around while other programs (or clerks) write to the same file.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from typing import Any, Iterator

from xiangyue.rules.model import Ruleset
from xiangyue.periods import Period, parse_period
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.store import Store, open_store
from xiangyue.data.workspace import remember_ruleset, resolve_ruleset_path


class Village:
    """A village database (one SQLite file) and the rule file applied to it."""

    def __init__(self, db: str | os.PathLike = "xiangyue.db", ruleset: str | os.PathLike | Ruleset | None = None):
        self.db_path = os.fspath(db)
        self._ruleset = ruleset if isinstance(ruleset, Ruleset) else None
        self._ruleset_path = None if isinstance(ruleset, Ruleset) else (os.fspath(ruleset) if ruleset else None)

    # -- the rule file ------------------------------------------------------------------------
    @property
    def ruleset(self) -> Ruleset:
        """The checked rule file (loaded once; raises RulesetError listing every problem)."""
        if self._ruleset is None:
            self._ruleset_path = resolve_ruleset_path(self._ruleset_path, self.db_path)
            self._ruleset = load_ruleset(self._ruleset_path)
        return self._ruleset

    @contextmanager
    def store(self) -> Iterator[Store]:
        with open_store(self.db_path) as store:
            yield store

    def _remember(self, store: Store) -> None:
        if self._ruleset_path:
            with store.transaction():
                remember_ruleset(store.conn, self._ruleset_path)

    # -- imports ------------------------------------------------------------------------------
    def import_households(self, path: str | os.PathLike, **options: Any):
        from xiangyue.data.ingest import import_households

        with self.store() as store:
            result = import_households(store, path, self.ruleset, **options)
            self._remember(store)
            return result

    def import_records(self, path: str | os.PathLike, **options: Any):
        from xiangyue.data.ingest import import_records

        with self.store() as store:
            result = import_records(store, path, self.ruleset, **options)
            self._remember(store)
            return result

    def import_cases(self, path: str | os.PathLike, **options: Any):
        from xiangyue.data.ingest import import_cases

        with self.store() as store:
            result = import_cases(store, path, self.ruleset, **options)
            self._remember(store)
            return result

    # -- points -------------------------------------------------------------------------------
    def evaluate(self, period: str | Period, *, with_ledger: bool = True, save: bool = True):
        """Score every household of the register for ``period``; store the run (``save``)."""
        from xiangyue.points.evaluate import evaluate
        from xiangyue.points.inputs import open_inputs
        from xiangyue.points.ledger import save_run

        p = parse_period(period) if isinstance(period, str) else period
        rs = self.ruleset
        inputs = open_inputs(rs, p, db_path=self.db_path)  # records and register, as `evaluate` reads them
        try:
            ev = evaluate(rs, inputs, p, with_ledger=with_ledger or save)
            if save:
                save_run(inputs.store, ev)
            self._remember(inputs.store)
        finally:
            inputs.close()
        return ev

    def explain(self, household: str, period: str | Period):
        """One household's points for ``period``, record by record (``.text(lang)``, ``.to_json()``)."""
        from xiangyue.points.explain import story_of

        return _Told(story_of(self.evaluate(period, save=False), household))

    def boards(self, period: str | Period):
        """红黑榜 and the grid ranking for ``period``."""
        from xiangyue.points.boards import compute_boards, previous_period

        ev = self.evaluate(period, save=False)
        before = None
        if self.ruleset.boards.progress is not None:
            before = self.evaluate(previous_period(ev.period), save=False)
        return compute_boards(ev, self.ruleset.boards, before)

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
