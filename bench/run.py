"""Benchmark: import and evaluation, ours against peers, measured side by side in one run.

    python bench/run.py                      # 1,000,000 records, then 10,000,000 (ours only)
    python bench/run.py --records 100000 --big 0 --reps 1     # a quick look

For each workload (``synthetic``: a 40-rule file; ``jingou``: the reference village's rule
file) it generates the records (CSV, deterministic), imports them into a village database and
times, over several repetitions (the median is shown):

* ``import``: CSV -> database with validation, all or nothing (:func:`xiangyue.data.ingest.import_records`);
* ``fast totals`` / ``fast ledger``: :func:`xiangyue.points.evaluate.evaluate` with ``engine="auto"`` from the database;
* ``reference totals`` / ``reference ledger``: the straightforward evaluator
  (:func:`xiangyue.points.evaluate.evaluate` over :meth:`Store.iter_records`);
* peers (``pip install 'xiangyue[bench]'``): zen-engine, rule-engine, a bare Python scan.

Every measurement runs in a fresh process (so "peak memory" is that process's peak resident
set size, interpreter included). Peers' totals are checked against ours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workload  # noqa: E402

PERIOD = f"{workload.YEAR}"
HOUSEHOLDS = {"synthetic": 20_000, "jingou": 20_000}
TASKS = ["import", "fast totals", "fast ledger", "reference totals", "reference ledger",
         "zen-engine", "rule-engine", "python scan"]
# What users run: the `xiangyue` command in a fresh process, against a bare csv.reader read of
# the same records file (R, "csv read"), in the order a clerk runs them (board, publish and
# explain after evaluate). They work on a copy of the workload's database made at the start
# of the run, so a run never depends on an earlier one.
CLI_TASKS = ["csv read", "cli import", "cli evaluate files", "cli evaluate db no-save",
             "cli evaluate db", "cli board", "cli publish", "cli explain one"]
#: the issue's targets, as multiples of R
TARGETS = {"cli evaluate files": 2, "cli evaluate db": 3, "cli board": 1, "cli publish": 1,
           "cli explain one": 0.3, "cli import": 5}
# at 10M only what must stay bounded: a ledger of 10M entries is 10M Python objects (GBs)
BIG_TASKS = ["import", "fast totals", "python scan"] + CLI_TASKS
SLOW = {"reference totals", "reference ledger", "zen-engine", "rule-engine"}
EXPLAINED = "H000017"  # the household of `explain`


# ------------------------------------------------------------------------------------------
# One measurement (in the child process)


def _grand(results) -> tuple[str, int]:
    total = sum((r.total for r in results), Decimal(0))
    return str(total), sum(1 for r in results if r.vetoed)


def measure(task: str, kind: str, n: int, workdir: Path) -> dict:
    from xiangyue.periods import parse_period
    from xiangyue.rules.pipeline import load_ruleset
    from xiangyue.data.store import open_store

    rs = load_ruleset(workload.ruleset_path(kind, workdir))
    period = parse_period(PERIOD)
    csv_path, db_path = files(kind, n, workdir)
    out: dict = {"task": task, "workload": kind, "n": n}
    if task == "csv read" or task.startswith("cli "):
        return measure_cli(task, kind, n, workdir)
    if task == "import":
        from xiangyue.data.ingest import import_records

        target = db_path.with_suffix(".import.db")
        for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
            if p.exists():
                p.unlink()
        store = open_store(target)
        t = time.perf_counter()
        result = import_records(store, csv_path, rs)
        out["seconds"] = time.perf_counter() - t
        store.close()
        out["check"] = getattr(result, "added", None)
        for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
            if p.exists():
                p.unlink()
    elif task.startswith("fast"):
        from xiangyue.points.columnar import evaluate as fastpath
        from xiangyue.points.evaluate import evaluate
        from xiangyue.points.inputs import Inputs, stored_records

        store = open_store(db_path, create=False)
        t = time.perf_counter()
        inputs = Inputs(stored_records(store, rs, period), None, True, store)
        ev = evaluate(rs, inputs, period, engine="auto", with_ledger=task == "fast ledger")
        out["seconds"] = time.perf_counter() - t
        out["engine"] = ev.engine.describe()
        out["check"] = _grand(ev.results)
        out["profile"] = dict(fastpath.LAST_PROFILE)
        if ev.ledger is not None:
            out["ledger_entries"] = len(ev.ledger)
            # the fast path's ledger is built lazily: what building every entry costs
            t = time.perf_counter()
            for _e in ev.ledger:
                pass
            out["profile"]["(after) every ledger entry built"] = time.perf_counter() - t
        store.close()
    elif task.startswith("reference"):
        from xiangyue.points.evaluate import evaluate
        from xiangyue.points.inputs import Inputs, replay_window

        store = open_store(db_path, create=False)
        t = time.perf_counter()
        records = store.iter_records(rs.fields, *replay_window(rs, period))
        ev = evaluate(rs, Inputs(records, None, presorted=True), period, engine="reference",
                      with_ledger=task == "reference ledger")
        out["seconds"] = time.perf_counter() - t
        out["check"] = _grand(ev.results)
        store.close()
    else:
        from bench import peers

        t = time.perf_counter()
        if task == "zen-engine":
            lim = peers.run_zen(str(db_path), rs, period)
        elif task == "rule-engine":
            lim = peers.run_rule_engine(str(db_path), rs, period)
        else:
            peers.run_scan(str(db_path), rs, period)
            lim = None
        out["seconds"] = time.perf_counter() - t
        if lim is not None:
            out["check"] = (str(sum(lim.totals.values(), Decimal(0))), len(lim.vetoed))
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def cli_command(task: str, kind: str, n: int, workdir: Path) -> list[str] | None:
    """The ``xiangyue`` command line of a CLI row (None: the bare csv.reader read)."""
    csv_path, _ = files(kind, n, workdir)
    rules = str(workload.ruleset_path(kind, workdir))
    db = str(cli_db(kind, n, workdir))
    exe = str(Path(sys.executable).with_name("xiangyue"))
    period = ["--period", PERIOD]
    return {
        "csv read": None,
        "cli import": [exe, "records", "import", str(csv_path), "-r", rules, "--db",
                       str(workdir / f"{kind}-{n}.cli-import.db"), "--format", "json"],
        "cli evaluate files": [exe, "evaluate", rules, "--records", str(csv_path),
                               "--households", str(households_file(kind, n, workdir)), *period,
                               "--format", "json"],
        "cli evaluate db no-save": [exe, "evaluate", rules, "--db", db, *period, "--format",
                                    "json", "--no-save"],
        "cli evaluate db": [exe, "evaluate", rules, "--db", db, *period, "--format", "json"],
        "cli board": [exe, "board", rules, "--db", db, *period, "--format", "json"],
        "cli publish": [exe, "publish", rules, "--db", db, *period, "--format", "json"],
        "cli explain one": [exe, "explain", rules, EXPLAINED, "--db", db, *period],
    }[task]


def measure_cli(task: str, kind: str, n: int, workdir: Path) -> dict:
    """One CLI row: the command in a fresh process (its wall time and peak resident set), or
    the bare csv.reader read of the records file (R) in this fresh process."""
    csv_path, _ = files(kind, n, workdir)
    out: dict = {"task": task, "workload": kind, "n": n}
    cmd = cli_command(task, kind, n, workdir)
    if cmd is None:
        import csv

        t = time.perf_counter()
        count = 0
        with open(csv_path, encoding="utf-8", newline="") as fh:
            for _row in csv.reader(fh):
                count += 1
        out["seconds"] = time.perf_counter() - t
        out["check"] = count - 1
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out
    if task == "cli import":
        _remove_db(Path(cmd[cmd.index("--db") + 1]))
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out["seconds"] = time.perf_counter() - t
    if task == "cli import":
        _remove_db(Path(cmd[cmd.index("--db") + 1]))
    if proc.returncode != 0:
        return {"task": task, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out["note"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    if task.startswith("cli evaluate"):
        data = json.loads(proc.stdout)
        out["check"] = (str(sum((Decimal(str(h["total"])) for h in data["households"]),
                                Decimal(0))), sum(1 for h in data["households"] if h["vetoed"]))
    return out


def _remove_db(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if p.exists():
            p.unlink()


def cli_db(kind: str, n: int, workdir: Path) -> Path:
    return workdir / f"{kind}-{n}.cli.db"


def households_file(kind: str, n: int, workdir: Path) -> Path:
    return workdir / f"{kind}-{n}-households.csv"


def prepare_cli(kind: str, n: int, workdir: Path) -> None:
    """The CLI rows' database (a fresh copy of the workload's: no stored run, nothing
    published) and the household register file of ``evaluate --households``."""
    import csv
    import shutil
    import sqlite3

    _, db_path = files(kind, n, workdir)
    target = cli_db(kind, n, workdir)
    _remove_db(target)
    shutil.copyfile(db_path, target)
    # what earlier commands stored in the workload's database (runs, publications) is not
    # part of the workload: start from the records alone
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        for table in ("ledger", "ledger_blocks", "runs", "run_totals", "run_issues",
                      "publications", "publication_ledger", "publication_ledger_blocks",
                      "settings"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute("VACUUM")
    finally:
        conn.close()
    hh = households_file(kind, n, workdir)
    if not hh.exists():
        households = min(HOUSEHOLDS[kind], max(10, n // 50))
        with hh.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["户号", "户主", "网格"])
            for h in range(households):
                w.writerow([f"H{h:06d}", f"户主{h}", f"第{h % 20 + 1}网格"])


# ------------------------------------------------------------------------------------------
# Orchestration


def files(kind: str, n: int, workdir: Path) -> tuple[Path, Path]:
    return workdir / f"{kind}-{n}.csv", workdir / f"{kind}-{n}.db"


def prepare(kind: str, n: int, workdir: Path, log) -> None:
    """Generate the CSV and the database every evaluation reads (once per size)."""
    from xiangyue.data.ingest import import_records
    from xiangyue.rules.pipeline import load_ruleset
    from xiangyue.data.store import open_store

    csv_path, db_path = files(kind, n, workdir)
    households = min(HOUSEHOLDS[kind], max(10, n // 50))
    stamp = workdir / f"{kind}-{n}.ok"
    if stamp.exists() and csv_path.exists() and db_path.exists():
        return
    log(f"  generating {n:,} {kind} records ...")
    workload.write_records(csv_path, kind, n, households)
    for p in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        if p.exists():
            p.unlink()
    rs = load_ruleset(workload.ruleset_path(kind, workdir))
    store = open_store(db_path)
    import_records(store, csv_path, rs)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    stamp.write_text("ok")


def available(task: str) -> bool:
    mod = {"zen-engine": "zen", "rule-engine": "rule_engine"}.get(task)
    if task.startswith("fast"):
        mod = "adbc_driver_sqlite"
    if mod is None:
        return True
    import importlib.util

    return importlib.util.find_spec(mod) is not None


def run_child(task: str, kind: str, n: int, workdir: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--kind", kind,
           "--n", str(n), "--workdir", str(workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"task": task, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench(kinds: list[str], n: int, tasks: list[str], reps: int, slow_reps: int,
          workdir: Path, in_process: bool, log) -> list[dict]:
    rows = []
    for kind in kinds:
        log(f"{kind}: {n:,} records")
        prepare(kind, n, workdir, log)
        if any(t == "csv read" or t.startswith("cli ") for t in tasks):
            prepare_cli(kind, n, workdir)
        for task in tasks:
            if not available(task):
                rows.append({"task": task, "workload": kind, "n": n, "error": "not installed"})
                continue
            runs = []
            for _ in range(slow_reps if task in SLOW else reps):
                r = measure(task, kind, n, workdir) if in_process else run_child(task, kind, n,
                                                                                 workdir)
                if "error" in r:
                    runs = [r]
                    break
                runs.append(r)
            if "error" in runs[0]:
                rows.append({**runs[0], "workload": kind, "n": n})
                log(f"  {task:18s} error: {runs[0]['error']}")
                continue
            secs = [r["seconds"] for r in runs]
            row = dict(runs[len(runs) // 2])
            row["seconds"] = statistics.median(secs)
            row["all_seconds"] = secs
            row["peak_mb"] = max(r["peak_mb"] for r in runs)
            row["rate"] = n / row["seconds"]
            rows.append(row)
            log(f"  {task:18s} {row['rate']:>12,.0f} /s  {row['seconds']:8.3f} s  "
                f"{row['peak_mb']:7.0f} MB")
    return rows


def table(rows: list[dict]) -> str:
    """A Markdown table: figures and ratios of our fast path against each row."""
    out = ["| workload | records | task | records/s | seconds (median) | peak MB | "
           "fast totals ÷ this | check |",
           "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    fast = {(r["workload"], r["n"]): r for r in rows if r.get("task") == "fast totals"
            and "rate" in r}
    for r in rows:
        if "rate" not in r:
            out.append(f"| {r['workload']} | {r['n']:,} | {r['task']} | – | – | – | – | "
                       f"{r.get('error', '')} |")
            continue
        f = fast.get((r["workload"], r["n"]))
        ratio = f"{f['rate'] / r['rate']:.1f}×" if f and r["task"] != "import" else "–"
        check = ""
        if f and "check" in r and r["task"] not in ("import",) and "check" in f:
            check = "same totals" if list(r["check"]) == list(f["check"]) else \
                f"DIFFERENT totals {r['check']} vs {f['check']}"
        if r["task"] == "python scan":
            check = "(reads rows only)"
        if r["task"] == "import":
            check = f"{r.get('check')} rows added"
        if r.get("engine") and not r["engine"].startswith("fast"):
            check += f"; {r['engine']}"
        out.append(f"| {r['workload']} | {r['n']:,} | {r['task']} | {r['rate']:,.0f} | "
                   f"{r['seconds']:.3f} | {r['peak_mb']:.0f} | {ratio} | {check} |")
    return "\n".join(out)


def cli_table(rows: list[dict]) -> str:
    """The CLI rows as multiples of R (the bare csv.reader read of the same file, same run)
    against the issue's targets."""
    out = ["| workload | records | command | seconds (median) | ÷ R | target | met? | peak MB | "
           "check |",
           "| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |"]
    reads = {(r["workload"], r["n"]): r["seconds"] for r in rows
             if r.get("task") == "csv read" and "seconds" in r}
    fast = {(r["workload"], r["n"]): r.get("check") for r in rows
            if r.get("task") == "fast totals"}
    for r in rows:
        task = r.get("task", "")
        if task != "csv read" and not task.startswith("cli "):
            continue
        if "seconds" not in r:
            out.append(f"| {r['workload']} | {r['n']:,} | {task} | – | – | – | – | – | "
                       f"{r.get('error', '')} |")
            continue
        check = ""
        want = fast.get((r["workload"], r["n"]))
        if task.startswith("cli evaluate") and want is not None and "check" in r:
            check = "same totals" if list(r["check"]) == list(want) else \
                f"DIFFERENT totals {r['check']} vs {want}"
        base = reads.get((r["workload"], r["n"]))
        ratio = r["seconds"] / base if base else None
        target = TARGETS.get(task)
        met = "" if target is None or ratio is None else ("yes" if ratio <= target else "no")
        out.append(f"| {r['workload']} | {r['n']:,} | {task} | {r['seconds']:.2f} | "
                   f"{'R' if task == 'csv read' else (f'{ratio:.2f}' if ratio else '–')} | "
                   f"{f'≤ {target} R' if target else ''} | {met} | {r['peak_mb']:.0f} | "
                   f"{check} |")
    return "\n".join(out)


def profile_lines(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if r.get("profile"):
            parts = ", ".join(f"{k} {v:.3f}" for k, v in r["profile"].items() if v >= 0.0005)
            out.append(f"- {r['workload']} {r['n']:,} {r['task']}: {parts}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000,
                    help="records for the memory run (our engine only); 0 skips it")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (median shown)")
    ap.add_argument("--slow-reps", type=int, default=1,
                    help="repetitions of the slow rows (reference evaluator, peers)")
    ap.add_argument("--workloads", default="synthetic,jingou")
    ap.add_argument("--tasks", default=",".join(TASKS + CLI_TASKS))
    ap.add_argument("--workdir", default=os.environ.get("XIANGYUE_BENCH_DIR",
                                                        "/tmp/xiangyue-bench"))
    ap.add_argument("--in-process", action="store_true",
                    help="measure in this process (no per-task memory figures; for tests)")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--kind", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(measure(args.child, args.kind, args.n, workdir), default=str))
        return 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    kinds = [k for k in args.workloads.split(",") if k]
    tasks = [t for t in args.tasks.split(",") if t]
    rows = bench(kinds, args.records, tasks, args.reps, args.slow_reps, workdir,
                 args.in_process, log)
    if args.big:
        big_tasks = [t for t in tasks if t in BIG_TASKS]
        rows += bench(kinds[:1], args.big, big_tasks, 1, 1, workdir, args.in_process, log)
    head = (f"{dt.date.today().isoformat()}, {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} cores, "
            f"period {PERIOD}, reps {args.reps} (slow rows {args.slow_reps})")
    print(head)
    print()
    print(table([r for r in rows if r.get("task") != "csv read"
                 and not r.get("task", "").startswith("cli ")]))
    if any(r.get("task") == "csv read" or r.get("task", "").startswith("cli ") for r in rows):
        print()
        print("What users run (the `xiangyue` command, a fresh process each):")
        print()
        print(cli_table(rows))
    prof = profile_lines(rows)
    if prof:
        print()
        print("Fast path phases (seconds, median run):")
        print(prof)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")
    bad = [r for r in rows if "error" in r and r["error"] != "not installed"]
    bad += [r for r in rows if "DIFFERENT" in table([r]) + cli_table(rows)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
