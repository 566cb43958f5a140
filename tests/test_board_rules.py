"""Board rules (issue 12), worked by hand: a percentage size with a minimum, ranking by points
earned, each tie-breaker, the 帮扶榜 (every household below 0), the 进步榜 with a household
missing from the previous period, and the notice showing the boards the file defines."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

from xiangyue.periods import parse_period
from xiangyue.points.boards import compute_boards, previous_period
from xiangyue.points.evaluate import evaluate
from xiangyue.points.inputs import Inputs, typed_households, typed_records
from xiangyue.report.boards import render_table, render_xlsx
from xiangyue.report.notice import render_notice
from xiangyue.rules.pipeline import load_ruleset

HEAD = """\
xiangyue: 1
village: 测试村
name: 细则
version: "1"
fields:
  - {id: activity, label: 事项, type: text}
  - {id: quantity, label: 数量, type: decimal, default: 1}
rules:
  - {id: plus, when: 事项 == "加", points: 数量}
  - {id: minus, when: 事项 == "减", points: -数量}
  - {id: fish, when: 事项 == "禁渔", points: 0, veto: year}
"""


def load(tmp_path: Path, boards: str):
    p = tmp_path / "rules.yaml"
    p.write_text(HEAD + textwrap.dedent(boards), encoding="utf-8")
    return load_ruleset(p)


def run(rs, rows, period, households):
    recs = typed_records(rs, [{"record_id": r[0], "household": r[1], "date": r[2], "activity": r[3],
                               "quantity": r[4]} for r in rows])
    hh = typed_households(rs, [{"household": h} for h in households])
    return evaluate(rs, Inputs(recs, hh), parse_period(period))


def listed(entries):
    return [(e.rank, e.household) for e in entries]


def test_ten_percent_with_at_least_three_ranked_by_earned(tmp_path):
    rs = load(tmp_path, """\
        boards:
          red: {size: 10%, min: 3, rank_by: 得分}
          black: {below: 0}
        """)
    # 20 households: 10% is 2, at least 3. By earned: H1 9 (earned 9, deducted -8: total 1),
    # H2 8, H3 7, H4 6; by total H2 would come first. H5 is below 0: on the 帮扶榜, as is H6.
    rows = [("a", "H1", "2024-01-05", "加", "9"), ("b", "H1", "2024-01-06", "减", "8"),
            ("c", "H2", "2024-01-05", "加", "8"), ("d", "H3", "2024-01-05", "加", "7"),
            ("e", "H4", "2024-01-05", "加", "6"), ("f", "H5", "2024-01-05", "减", "1"),
            ("g", "H6", "2024-01-05", "减", "30"),
            ("h", "H7", "2024-01-05", "加", "10"), ("i", "H7", "2024-01-06", "减", "11")]
    ev = run(rs, rows, "2024-Q1", [f"H{i}" for i in range(1, 21)])
    b = compute_boards(ev)
    # H7 earned the most (10) but is below 0: on the 帮扶榜, never on both boards
    assert listed(b.red) == [(1, "H1"), (2, "H2"), (3, "H3")]
    assert b.red[0].earned == 9 and b.red[0].total == 1
    assert listed(b.black) == [(1, "H6"), (2, "H5"), (2, "H7")]
    assert b.to_json()["sizes"] == {"red": 3, "black": None}
    # 50 households: 10% is 5
    ev = run(rs, rows, "2024-Q1", [f"H{i}" for i in range(1, 51)])
    assert compute_boards(ev).sizes["red"] == 5


def test_ties_are_broken_by_each_key_in_turn(tmp_path):
    # H1, H2, H3 all total 10. H1: 12 earned, -2 deducted, 2 records, last 2024-01-20.
    # H2: 10 earned, 0 deducted, 1 record, last 2024-01-10. H3: 5 + 5, 0 deducted, 2 records,
    # last 2024-01-15.
    rows = [("a", "H1", "2024-01-05", "加", "12"), ("b", "H1", "2024-01-20", "减", "2"),
            ("c", "H2", "2024-01-10", "加", "10"),
            ("d", "H3", "2024-01-05", "加", "5"), ("e", "H3", "2024-01-15", "加", "5")]
    hh = ["H1", "H2", "H3"]
    expected = {
        "all": [(1, "H1"), (1, "H2"), (1, "H3")],  # every tie listed
        "[fewer_deductions]": [(1, "H2"), (1, "H3")],  # H1 lost 2; H2 and H3 still tied
        "[扣分少, 记录多]": [(1, "H3"), (2, "H2")],  # then H3's 2 records beat H2's 1
        "[earlier_last_record]": [(1, "H2"), (2, "H3")],  # 10 Jan, 15 Jan, 20 Jan
        "[more_earned]": [(1, "H1"), (2, "H2"), (2, "H3")],  # 12, then 10 and 10 tied at 2
    }
    for ties, want in expected.items():
        rs = load(tmp_path, f"boards:\n  red: {{size: 2, ties: {ties}}}\n")
        assert listed(compute_boards(run(rs, rows, "2024-Q1", hh)).red) == want, ties


def test_progress_board_with_a_household_missing_from_the_previous_period(tmp_path):
    rs = load(tmp_path, "boards:\n  red: 3\n  progress: {size: 2}\n")
    assert rs.boards.shown == ("red", "progress")
    q1 = [("a", "H1", "2024-01-05", "加", "5"), ("b", "H2", "2024-01-05", "加", "1"),
          ("c", "H3", "2024-01-05", "加", "9"), ("v", "H5", "2024-01-05", "加", "1")]
    q2 = [("d", "H1", "2024-04-05", "加", "6"),   # 5 → 6: +1
          ("e", "H2", "2024-04-05", "加", "8"),   # 1 → 8: +7
          ("f", "H3", "2024-04-05", "加", "3"),   # 9 → 3: -6, not ranked
          ("g", "H4", "2024-04-05", "加", "20"),  # not in Q1's evaluation: not ranked
          ("h", "H5", "2024-04-05", "加", "30"), ("x", "H5", "2024-04-06", "禁渔", "1")]  # vetoed
    # without a register, Q1's evaluation knows H1, H2, H3 and H5 only
    def ev(rows, period):
        recs = typed_records(rs, [{"record_id": r[0], "household": r[1], "date": r[2],
                                   "activity": r[3], "quantity": r[4]} for r in rows])
        return evaluate(rs, Inputs(recs), parse_period(period))
    now, before = ev(q1 + q2, "2024-Q2"), ev(q1 + q2, "2024-Q1")
    assert previous_period(now.period).key == "2024-Q1"
    b = compute_boards(now, previous=before)
    assert [(e.rank, e.household, e.previous, e.increase) for e in b.progress] == [
        (1, "H2", 1, 7), (2, "H1", 5, 1)]
    data = b.to_json()
    assert data["shown"] == ["red", "progress"] and data["previous_period"] == "2024-Q1"
    assert data["progress"][0]["increase"] == Decimal(7)
    table = render_table(data)
    assert "进步榜" in table and "黑榜" not in table
    html = render_notice(data)
    assert "<h2>进步榜</h2>" in html and "<h2>黑榜</h2>" not in html and "<th>增加</th>" in html
    import shutil
    import subprocess

    from xiangyue.report.pdf import notice_pdf

    pdf = notice_pdf(data)  # the PDF notice prints the boards the file defines too
    if shutil.which("pdftotext"):
        out = tmp_path / "n.pdf"
        out.write_bytes(pdf)
        words = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                               check=True).stdout
        assert "进 步 榜" in words and "增加" in words and "黑 榜" not in words
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(render_xlsx(data)))
    assert wb.sheetnames[:2] == ["红榜", "进步榜"]
    assert [c.value for c in wb["进步榜"][2]][:2] == [1, "H2"]


def test_ranked_by_earned_ties_broken_by_the_higher_total(tmp_path):
    # H1 earned 12, total 10; H4 earned 12, total 12; H2 earned 10
    rows = [("a", "H1", "2024-01-05", "加", "12"), ("b", "H1", "2024-01-20", "减", "2"),
            ("c", "H2", "2024-01-10", "加", "10"), ("d", "H4", "2024-01-10", "加", "12")]
    hh = ["H1", "H2", "H4"]
    rs = load(tmp_path, "boards:\n  red: {size: 2, rank_by: earned, ties: [总分高]}\n")
    b = compute_boards(run(rs, rows, "2024-Q1", hh))
    assert [(e.rank, e.household, e.earned) for e in b.red] == [(1, "H4", 12), (2, "H1", 12)]
    rs = load(tmp_path, "boards:\n  red: {size: 2, rank_by: earned}\n")
    b = compute_boards(run(rs, rows, "2024-Q1", hh))
    assert [(e.rank, e.household) for e in b.red] == [(1, "H1"), (1, "H4")]
