"""``xiangyue demo``: the reference village, end to end, from the bundled demo data.

The rule file (``examples/jingou.yaml``) and the demo tables (``demo/households.csv``,
``demo/records.csv``, ``demo/cases.csv``) ship inside the package (``xiangyue.rulesets``), so
the demo works from a wheel installed anywhere. :func:`run_demo` imports the register and the
records into a fresh database, evaluates a period and stores the run in the ledger; other
reports (compliance, boards) can be added to :class:`DemoRun` by extending :func:`run_demo`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from xiangyue.errors import Diagnostic, InputError
from xiangyue.points.results import Evaluation
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import Ruleset
from xiangyue.periods import parse_period

if TYPE_CHECKING:  # the demo's imports and pipeline are imported when it runs
    from xiangyue.data.ingest import ImportResult

register(
    {
        "E-DEMO-NOT-DEMO": Msg(
            zh="{path} 已存在且不是演示数据库，演示不会覆盖它",
            en="{path} exists and is not a demo database; the demo will not replace it",
            hint_zh="用 --db 另选一个文件名（默认 xiangyue-demo.db）",
            hint_en="choose another file with --db (default xiangyue-demo.db)",
        ),
    }
)

DEFAULT_DEMO_DB = "xiangyue-demo.db"
DEMO_FILES = ("households.csv", "records.csv", "cases.csv")


@dataclass
class DemoRun:
    db_path: str
    ruleset: Ruleset
    imports: list[ImportResult]
    evaluation: Evaluation
    run_id: str
    extra: dict[str, Any] = field(default_factory=dict)  # further reports, by name


@contextlib.contextmanager
def demo_paths() -> Iterator[dict[str, Path]]:
    """Real file paths of the bundled rule file and demo tables (extracted if need be)."""
    root = resources.files("xiangyue.rulesets")
    names = {"ruleset": root / "examples" / "jingou.yaml"}
    names.update({n.split(".")[0]: root / "demo" / n for n in DEMO_FILES})
    with contextlib.ExitStack() as stack:
        yield {k: stack.enter_context(resources.as_file(v)) for k, v in names.items()}


def _is_demo_db(path: Path) -> bool:
    """True when ``path`` holds only imports of the bundled demo tables."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            files = [r[0] for r in conn.execute("SELECT file FROM imports")]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return all(Path(f).name in DEMO_FILES and Path(f).parent.name == "demo" for f in files)


def fresh_db(path: str) -> None:
    """Remove an earlier demo database at ``path`` (refusing anything else)."""
    p = Path(path)
    if p.exists():
        if not _is_demo_db(p):
            raise InputError(Diagnostic("E-DEMO-NOT-DEMO", file=path, args={"path": path}))
        p.unlink()
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(path + suffix)
        if side.exists():
            side.unlink()


DEMO_AS_OF = "2024-06-30"  # the demo cases are checked as of the end of the data (reproducible)


def run_demo(db_path: str = DEFAULT_DEMO_DB, period: str = "2024-Q1", as_of: str = DEMO_AS_OF) -> DemoRun:
    """Import the demo village into a fresh database, evaluate ``period`` and store the run;
    compute the period's boards and check the demo cases as of ``as_of``."""
    from xiangyue.data.store import open_store
    from xiangyue.data.workspace import remember_ruleset
    from xiangyue.points.boards import compute_boards
    from xiangyue.rules.pipeline import load_ruleset
    from xiangyue.village import Village

    p = parse_period(period)
    fresh_db(db_path)
    with demo_paths() as paths:
        ruleset = load_ruleset(paths["ruleset"], display_name="jingou.yaml")
        village = Village(db_path, ruleset)  # the one door, as every command
        imports = [village.import_households(paths["households"]),
                   village.import_records(paths["records"]),
                   village.import_cases(paths["cases"])]
        ev = village.evaluate(p)
        run_id = ev.run_id
        compliance = village.check(as_of)
    # later commands on the demo database (explain, board, redeem…) find the rule file by
    # itself; the bundled file is remembered only when it is a real file (not from a zip)
    if Path(paths["ruleset"]).is_file() and resources.files("xiangyue.rulesets").joinpath(
            "examples", "jingou.yaml").is_file():
        with open_store(db_path) as store, store.transaction():
            remember_ruleset(store.conn, str(resources.files("xiangyue.rulesets").joinpath(
                "examples", "jingou.yaml")))
    return DemoRun(db_path, ruleset, imports, ev, run_id,
                   extra={"boards": compute_boards(ev, ruleset.boards), "compliance": compliance})
