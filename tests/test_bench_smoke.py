"""A tiny run of the benchmark (bench/run.py): every row measured, peers agree with us.
Timings are printed, never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("numpy")
pytest.importorskip("adbc_driver_sqlite")


def test_benchmark_smoke_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--records", "400", "--big", "0",
         "--reps", "1", "--in-process", "--workdir", str(tmp_path),
         "--json", str(tmp_path / "rows.json")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = proc.stdout
    for kind in ("synthetic", "jingou"):
        for task in ("import", "fast totals", "fast ledger", "reference totals",
                     "reference ledger", "python scan"):
            assert f"| {kind} | 400 | {task} |" in out
    assert "DIFFERENT" not in out
    # what users run: the command in fresh processes, as multiples of a bare csv read
    for task in ("csv read", "cli import", "cli evaluate files", "cli evaluate db",
                 "cli board", "cli publish", "cli explain one"):
        assert f"| jingou | 400 | {task} |" in out, out
    cli_rows = [line for line in out.splitlines() if "| cli evaluate" in line]
    assert cli_rows and all("same totals" in r for r in cli_rows), cli_rows
    assert "reference (fast path not used" not in out  # both rule files compile
    # every peer that is installed computed the same totals as the fast path
    for peer, module in (("zen-engine", "zen"), ("rule-engine", "rule_engine")):
        import importlib.util

        if importlib.util.find_spec(module):
            rows = [line for line in out.splitlines() if f"| {peer} |" in line]
            assert len(rows) == 2 and all("same totals" in r for r in rows), rows


def test_county_benchmark_smoke_run(tmp_path):
    """bench/county.py on a tiny county and province slice: every row measured, same totals
    with and without Dask."""
    pytest.importorskip("distributed")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "county.py"), "--villages", "2", "--per-household", "2",
         "--province", "3", "--per-household-small", "1", "--workers", "0,1", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("| county |", "| province slice |"))]
    assert len(rows) == 4 and all(r.endswith("| yes |") for r in rows), proc.stdout
