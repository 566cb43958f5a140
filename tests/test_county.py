"""The county's library parts: paths in the manifest, the distribution of points."""

from __future__ import annotations

import os
import statistics
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from xiangyue.county.manifest import inside
from xiangyue.county.tasks import distribution


def test_paths_stay_inside_the_manifests_folder():
    base = os.path.join("srv", "county")
    assert inside(base, "villages/a/a.yaml") == os.path.join(base, "villages", "a", "a.yaml")
    assert inside(base, "villages\\a\\a.yaml") == os.path.join(base, "villages", "a", "a.yaml")  # written on Windows
    assert inside(base, "villages/../templates/t.yaml") == os.path.join(base, "templates", "t.yaml")
    for outside in ("/etc/passwd", "../other/county.yaml", "a/../../b.yaml", "..", "C:\\villages\\a.db",
                    "c:/a.db", "\\\\server\\share\\a.db"):
        assert inside(base, outside) is None, outside


totals = st.lists(st.decimals(min_value=-500, max_value=500, places=2, allow_nan=False), min_size=1, max_size=60)


@given(totals)
def test_the_distribution_is_ordered_and_its_median_exact(values):
    d = distribution(values)
    assert d["min"] <= d["q1"] <= d["median"] <= d["q3"] <= d["max"]
    assert d["median"] == statistics.median(values)  # exact: halves of decimals are decimals
    assert (d["min"], d["max"]) == (min(values), max(values))


def test_quartiles_worked_by_hand():
    # 1 2 3 4 5: ranks 0..4; Q1 at rank 1, Q3 at rank 3
    assert distribution([Decimal(x) for x in "31524"]) == {
        "min": 1, "q1": 2, "median": 3, "q3": 4, "max": 5}
