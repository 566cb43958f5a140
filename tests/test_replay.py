"""Replay: both versions on the same records, numbers worked by hand.

Village 东风村, quarter 2024-Q2, tests/review/records.csv under village-v1.yaml (old) and
village-v2.yaml (new):

=====  ================================  ==========================  =========================  =====
hh     records                           old (v1)                    new (v2)                   delta
=====  ================================  ==========================  =========================  =====
H1     志愿服务 ×5                        10 (cap 10) + 2 = 12         8 (cap 8) + 2 = 10          -2
H2     乱扔垃圾 ×4 records                -5 × 4 = -20 (cap 20)        -15 (deduction cap 15)      +5
H3     焚烧秸秆                           -10                          0 (rule removed: unmatched) +10
H4     义务劳动 ×2                        3 × 2 = 6                    4 × 2 = 8                   +2
H5     参加坝坝会                         1                            1                            0
=====  ================================  ==========================  =========================  =====

3 gain, 1 loses, 1 the same; sum of deltas 15 (old total -11, new 4). Boards: red H1, H4, H5
both times; black H2, H3 before and only H2 after (H3 leaves the black board).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from xiangyue.review.diff import load_pair
from xiangyue import Village
from xiangyue.review.replay import board_changes

REVIEW = Path(__file__).parent / "review"
RECORDS = str(REVIEW / "records.csv")
HOUSEHOLDS = str(REVIEW / "households.csv")


def run(period: str = "2024-Q2"):
    old, new = load_pair(str(REVIEW / "village-v1.yaml"), str(REVIEW / "village-v2.yaml"))
    return Village(ruleset=old, records=RECORDS, households=HOUSEHOLDS).replay(old, new, period)


def test_per_household_old_new_delta():
    impact = run()
    rows = [(h.household, h.old, h.new, h.delta) for h in impact.households]
    assert rows == [
        ("H1", Decimal(12), Decimal(10), Decimal(-2)),
        ("H2", Decimal(-20), Decimal(-15), Decimal(5)),
        ("H3", Decimal(-10), Decimal(0), Decimal(10)),
        ("H4", Decimal(6), Decimal(8), Decimal(2)),
        ("H5", Decimal(1), Decimal(1), Decimal(0)),
    ]
    assert impact.households[0].head == "张大山"


def test_distribution_of_the_change():
    s = run().summary()
    assert (s["households"], s["gain"], s["lose"], s["same"]) == (5, 3, 1, 1)
    assert s["sum_delta"] == Decimal(15)
    assert (s["old_total"], s["new_total"]) == (Decimal(-11), Decimal(4))
    assert (s["largest_gain"], s["largest_loss"]) == (Decimal(10), Decimal(-2))


def test_who_enters_and_leaves_the_boards():
    boards = run().boards
    assert boards == {
        "red": {"old": ["H1", "H4", "H5"], "new": ["H1", "H4", "H5"], "entered": [], "left": []},
        "black": {"old": ["H2", "H3"], "new": ["H2"], "entered": [], "left": ["H3"]},
    }


def test_a_period_without_records_changes_nothing():
    impact = run("2024-Q1")
    assert [h.delta for h in impact.households] == [Decimal(0)] * 5
    assert impact.summary()["same"] == 5


def test_json_shape():
    data = run().to_json()
    assert data["period"] == "2024-Q2"
    assert data["households"][2] == {"household": "H3", "old": Decimal(-10), "new": Decimal(0),
                                     "delta": Decimal(10), "head": "王建国",
                                     "old_base": Decimal(0), "old_earned": Decimal(0),
                                     "old_deducted": Decimal(-10), "new_base": Decimal(0),
                                     "new_earned": Decimal(0), "new_deducted": Decimal(0)}
    assert set(data) == {"period", "households", "boards", "summary"}


def test_board_changes_keeps_board_order():
    out = board_changes({"red": ["A", "B"], "black": []}, {"red": ["C", "A"], "black": ["B"]})
    assert out["red"] == {"old": ["A", "B"], "new": ["C", "A"], "entered": ["C"], "left": ["B"]}
    assert out["black"]["entered"] == ["B"]
