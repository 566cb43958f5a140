"""红黑榜 against the reference page (jingou.md, "Boards"), every expected line worked by hand.

Unit tests build an :class:`Evaluation` directly (totals and vetoes given), so each edge of
the definitions is pinned on its own; the last tests run the reference rule file over the
fixture tables in ``tests/boards/`` (hand-worked in the comments of ``EXPECTED_*``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from xiangyue import Village
from xiangyue.points.boards import competition_ranks, compute_boards, round_half_up
from xiangyue.points.results import Evaluation, UnitResult
from xiangyue.rules.model import BoardSpec
from xiangyue.periods import parse_period
from xiangyue.report.boards import render_csv, render_table, render_xlsx
from xiangyue.report.jsonout import dumps, loads
from xiangyue.report.notice import period_title, render_notice
from xiangyue.rules.pipeline import load_ruleset

D = Decimal
HERE = Path(__file__).parent
ROOT = HERE.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"
RECORDS = HERE / "boards" / "records.csv"
HOUSEHOLDS = HERE / "boards" / "households.csv"


@pytest.fixture(scope="module")
def jingou():
    return load_ruleset(JINGOU)


def ev_of(ruleset, rows, period="2024-Q1"):
    """An evaluation with the given (household, total, grid, vetoed) rows."""
    results = [UnitResult(household=h, head=f"户主{h}", grid=g, total=D(str(t)), vetoed=v)
               for h, t, g, v in rows]
    return Evaluation(parse_period(period), ruleset, results, None, [], [], [], [], 0, 0)


def board(entries):
    return [(e.rank, e.household, e.total) for e in entries]


# -- competition ranking ----------------------------------------------------------------------

def test_competition_ranks_share_and_skip():
    items = [10, 8, 8, 5, 5, 5, 1]
    assert [r for r, _ in competition_ranks(items, lambda x: x)] == [1, 2, 2, 4, 4, 4, 7]


# -- red board --------------------------------------------------------------------------------

def test_red_tie_at_fifth_lists_all_tied(jingou):
    ev = ev_of(jingou, [("H1", 30, "g", False), ("H2", 20, "g", False), ("H3", 20, "g", False),
                        ("H4", 15, "g", False), ("H5", 9, "g", False), ("H6", 9, "g", False),
                        ("H7", 9, "g", False), ("H8", 8, "g", False)])
    b = compute_boards(ev)
    # 30 → 1; 20, 20 → 2; 15 → 4; 9, 9, 9 → 5 (all listed); 8 → 8 (not listed)
    assert board(b.red) == [(1, "H1", 30), (2, "H2", 20), (2, "H3", 20), (4, "H4", 15),
                            (5, "H5", 9), (5, "H6", 9), (5, "H7", 9)]


def test_red_tie_just_beyond_fifth_not_listed(jingou):
    ev = ev_of(jingou, [(f"H{i}", t, "g", False) for i, t in
                        enumerate([10, 9, 8, 7, 6, 5, 5], start=1)])
    assert [e.household for e in compute_boards(ev).red] == ["H1", "H2", "H3", "H4", "H5"]


def test_red_only_positive_totals(jingou):
    ev = ev_of(jingou, [("H1", 3, "g", False), ("H2", 0, "g", False), ("H3", -1, "g", False),
                        ("H4", "0.5", "g", False)])
    assert board(compute_boards(ev).red) == [(1, "H1", 3), (2, "H4", D("0.5"))]


def test_vetoed_never_red_and_takes_no_rank(jingou):
    # H1 would be 1st but is vetoed: H2 is 1st, and H6 at 5th is listed.
    ev = ev_of(jingou, [("H1", 50, "g", True), ("H2", 40, "g", False), ("H3", 30, "g", False),
                        ("H4", 20, "g", False), ("H5", 10, "g", False), ("H6", 5, "g", False)])
    b = compute_boards(ev)
    assert board(b.red) == [(1, "H2", 40), (2, "H3", 30), (3, "H4", 20), (4, "H5", 10),
                            (5, "H6", 5)]
    assert [(e.rank, e.household, e.vetoed) for e in b.black] == [(None, "H1", True)]


def test_board_sizes_from_rule_file(jingou):
    ev = ev_of(jingou, [("H1", 3, "g", False), ("H2", 2, "g", False), ("H3", 2, "g", False),
                        ("H4", -1, "g", False), ("H5", -2, "g", False)])
    b = compute_boards(ev, BoardSpec(red_size=1, black_size=1))
    assert board(b.red) == [(1, "H1", 3)]
    assert board(b.black) == [(1, "H5", -2)]
    b = compute_boards(ev, BoardSpec(red_size=2, black_size=0))
    assert board(b.red) == [(1, "H1", 3), (2, "H2", 2), (2, "H3", 2)]
    assert b.black == []


# -- black board ------------------------------------------------------------------------------

def test_black_ranks_negatives_lowest_first_with_ties(jingou):
    ev = ev_of(jingou, [("H1", -1, "g", False), ("H2", -10, "g", False), ("H3", -5, "g", False),
                        ("H4", -5, "g", False), ("H5", "-0.5", "g", False), ("H6", -3, "g", False),
                        ("H7", "-0.5", "g", False), ("H8", 0, "g", False)])
    # -10 → 1; -5, -5 → 2; -3 → 4; -1 → 5; -0.5, -0.5 → 6 (not listed); 0 is not negative
    assert board(compute_boards(ev).black) == [(1, "H2", -10), (2, "H3", -5), (2, "H4", -5),
                                               (4, "H6", -3), (5, "H1", -1)]


def test_black_every_vetoed_household_marked(jingou):
    ev = ev_of(jingou, [
        ("H1", -20, "g", True),     # negative and vetoed: ranked 1, marked
        ("H2", -8, "g", False),     # 2
        ("H3", -7, "g", False),     # 3
        ("H4", -6, "g", False),     # 4
        ("H5", -5, "g", False),     # 5
        ("H6", -4, "g", True),      # 6th: beyond the board size, vetoed → listed, rank None
        ("H7", 0, "g", True),       # vetoed with 0: listed, rank None
        ("H8", 12, "g", True),      # vetoed with a positive total: listed, rank None, not red
        ("H9", -3, "g", False),     # 7th, not vetoed: not listed
    ])
    b = compute_boards(ev)
    assert [(e.rank, e.household, e.total, e.vetoed) for e in b.black] == [
        (1, "H1", -20, True), (2, "H2", -8, False), (3, "H3", -7, False), (4, "H4", -6, False),
        (5, "H5", -5, False),
        # unranked vetoed households after the ranked ones, lowest total first
        (None, "H6", -4, True), (None, "H7", 0, True), (None, "H8", 12, True)]
    assert b.red == []


# -- grid ranking -----------------------------------------------------------------------------

def test_grid_average_counts_every_household_of_the_register(jingou):
    ev = ev_of(jingou, [
        ("H1", 10, "第1网格", False), ("H2", 0, "第1网格", False), ("H3", 0, "第1网格", False),  # 10/3
        ("H4", 4, "第2网格", False),                                                       # 4
        ("H5", 0, "第3网格", False), ("H6", 0, "第3网格", False),                           # 0: empty grid
        ("H7", -2, "第10网格", False), ("H8", 0, "第10网格", False),                        # -1
        ("H9", 100, None, False),                                                          # no grid
    ])
    b = compute_boards(ev)
    assert [(g.rank, g.grid, g.average, g.households, g.total) for g in b.grids] == [
        (1, "第2网格", D("4.00"), 1, 4),
        (2, "第1网格", D("3.33"), 3, 10),
        (3, "第3网格", D("0.00"), 2, 0),
        (4, "第10网格", D("-1.00"), 2, -2),
    ]
    assert b.grids[1].average_exact == Fraction(10, 3)
    assert b.no_grid == ["H9"]


def test_grid_ranking_uses_exact_average_and_shares_ties(jingou):
    # 第1: 50/3 = 16.666… → 16.67 shown; 第2: 16.67 exactly → also 16.67 shown but higher;
    # 第3 and 第4 tie at 2 exactly → both rank 3 (natural order of names), then 第5 → 5
    ev = ev_of(jingou, [
        ("A", 50, "第1网格", False), ("B", 0, "第1网格", False), ("C", 0, "第1网格", False),
        ("D", "16.67", "第2网格", False),
        ("E", 2, "第4网格", False), ("F", 4, "第3网格", False), ("G", 0, "第3网格", False),
        ("H", 1, "第5网格", False),
    ])
    b = compute_boards(ev)
    assert [(g.rank, g.grid, g.average) for g in b.grids] == [
        (1, "第2网格", D("16.67")), (2, "第1网格", D("16.67")), (3, "第3网格", D("2.00")),
        (3, "第4网格", D("2.00")), (5, "第5网格", D("1.00"))]


def test_round_half_up():
    assert round_half_up(Fraction(1, 8)) == D("0.13")     # 0.125 → 0.13
    assert round_half_up(Fraction(-1, 8)) == D("-0.13")   # away from zero
    assert round_half_up(Fraction(2, 3)) == D("0.67")
    assert round_half_up(D("7.755")) == D("7.76")


def test_person_unit_sums_members(jingou):
    from dataclasses import replace

    rs = replace(jingou, unit="person")
    results = [UnitResult("H1", "甲", grid="g", total=D(3)), UnitResult("H1", "乙", grid="g",
                                                                       total=D(4)),
               UnitResult("H2", "丙", grid="g", total=D(-2), vetoed=True)]
    ev = Evaluation(parse_period("2024-Q1"), rs, results, None, [], [], [], [], 0, 0)
    b = compute_boards(ev)
    assert board(b.red) == [(1, "H1", 7)]
    assert [(e.rank, e.household, e.vetoed) for e in b.black] == [(1, "H2", True)]
    assert [(g.grid, g.households, g.average) for g in b.grids] == [("g", 2, D("2.50"))]


# -- the reference rule file over the fixture tables --------------------------------------------

def test_reference_fixture_boards():
    boards = Village(ruleset=JINGOU, records=RECORDS, households=HOUSEHOLDS).boards("2024-Q1")
    # Totals (jingou rules), Q1 only (R027 is in April):
    # A01 市级表彰 15 + 孝老爱亲 5 = 20; A02 县级 10 + 5 = 15; A03 简办 10 + 优 5 = 15;
    # A04 县级 10; A05 劳动 2×3 + 良 2 = 8; A06 志愿 3h×2 + 良 2 = 8; A12 孝老 5 (7th);
    # A07 禁渔 -20 + 国家级 30 = 10 but vetoed → not red.
    assert board(boards.red) == [(1, "A01", 20), (2, "A02", 15), (2, "A03", 15),
                                 (4, "A04", 10), (5, "A05", 8), (5, "A06", 8)]
    # A13 禁渔 -20 (vetoed); A08 秸秆 -10 + 差 -3 = -13; A14 秸秆 -10; A15 大操大办 -10;
    # A11, A16, A17 乱扔垃圾 -5 (tie at 5th: all listed); A18 差 -3 (8th, not listed);
    # A19 禁渔 -20 + 市级 15 + 良 2 = -3 (8th, vetoed → rank null); A07 10 vetoed → rank null
    assert [(e.rank, e.household, e.total, e.vetoed) for e in boards.black] == [
        (1, "A13", -20, True), (2, "A08", -13, False), (3, "A14", -10, False),
        (3, "A15", -10, False), (5, "A11", -5, False), (5, "A16", -5, False),
        (5, "A17", -5, False), (None, "A19", -3, True), (None, "A07", 10, True)]
    # 第1: 50/3; 第2: (10+8+8+5)/4 = 7.75; 第4: A10 without records = 0;
    # 第3: (10-13+0)/3 = -1; 第5: (-20-10-10-5-5-3-3)/7 = -8; A11 has no grid
    assert [(g.rank, g.grid, g.average, g.households) for g in boards.grids] == [
        (1, "第1网格", D("16.67"), 3), (2, "第2网格", D("7.75"), 4), (3, "第4网格", D("0.00"), 1),
        (4, "第3网格", D("-1.00"), 3), (5, "第5网格", D("-8.00"), 7)]
    assert boards.no_grid == ["A11"]


def test_json_shape_and_exact_numbers():
    boards = Village(ruleset=JINGOU, records=RECORDS, households=HOUSEHOLDS).boards("2024-Q1")
    data = loads(dumps(boards.to_json()))
    assert data["period"] == "2024-Q1"
    assert data["red"][0] == {"rank": 1, "household": "A01", "head": "张一", "grid": "第1网格",
                              "total": 20, "vetoed": False}
    assert data["black"][-1] == {"rank": None, "household": "A07", "head": "周七",
                                 "grid": "第3网格", "total": 10, "vetoed": True}
    assert data["grids"][0] == {"rank": 1, "grid": "第1网格", "average": D("16.67"),
                                "households": 3, "total": 50}
    assert '"average": 7.75' in dumps(boards.to_json())


def test_empty_register_grid_and_no_records(jingou):
    ev = ev_of(jingou, [])
    b = compute_boards(ev)
    assert (b.red, b.black, b.grids, b.no_grid) == ([], [], [], [])
    text = render_table(b.to_json(), "zh")
    assert text.count("（本期无）") == 3


# -- renderers --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fixture_json():
    boards = Village(ruleset=JINGOU, records=RECORDS, households=HOUSEHOLDS).boards("2024-Q1")
    return boards.to_json(details=True)


def test_table_aligns_chinese_columns(fixture_json):
    from xiangyue.report.terminal import text_width

    text = render_table(fixture_json, "zh")
    # every line of the black board (names of 2 and 3 characters, one without a grid)
    # ends at the same screen column: the totals are right-aligned under one another
    black = text.split("黑榜")[1].split("网格排名")[0].splitlines()
    data = [ln for ln in black if ln.strip()[:1] in "0123456789—" and ln.strip()]
    assert len(data) == 9
    widths = {text_width(ln.split("  一票否决")[0].rstrip()) for ln in data}
    assert len(widths) == 1
    assert "\x1b[" not in text  # no colour unless asked
    assert "\x1b[31" in render_table(fixture_json, "zh", color=True)


def test_csv_rows(fixture_json):
    rows = render_csv(fixture_json, "en").splitlines()
    assert rows[0] == "board,rank,household,head,grid,total,vetoed,households"
    assert rows[1] == "red,1,A01,张一,第1网格,20,0,"
    assert "black,,A07,周七,第3网格,10,1," in rows
    assert rows[-1] == "grid,5,,,第5网格,-8.00,,7"


def test_xlsx_sheets(fixture_json, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "b.xlsx"
    path.write_bytes(render_xlsx(fixture_json))
    wb = load_workbook(path)
    assert wb.sheetnames[:4] == ["红榜", "黑榜", "网格排名", "明细"]
    red = list(wb["红榜"].iter_rows(values_only=True))
    assert red[0] == ("名次", "户号", "户主", "网格", "积分")
    assert red[1] == (1, "A01", "张一", "第1网格", 20)
    black = list(wb["黑榜"].iter_rows(values_only=True))
    assert black[-1] == (None, "A07", "周七", "第3网格", 10, "一票否决")
    detail = list(wb["明细"].iter_rows(values_only=True))
    assert len(detail) == 1 + 19  # every household of the register
    assert ("A10", "冯十", "第4网格", 0, None) in detail


def test_period_titles():
    assert period_title("2024-Q1") == "2024年第一季度"
    assert period_title("2024-03") == "2024年3月"
    assert period_title("2024") == "2024年度"
    assert period_title("2024-Q4", "en") == "Q4 2024"


def test_notice_html_is_self_contained(fixture_json):
    html = render_notice(fixture_json, date=dt.date(2024, 4, 3), version=2)
    assert "@page { size: A4" in html
    assert "<svg" in html and "</svg>" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "金钩村 2024年第一季度 积分红黑榜" in html
    assert "2024年4月3日" in html
    assert "考评小组组长（签字）" in html and "村民代表（签字）" in html
    assert "更正公示（第 2 版" in html
    assert html.count("一票否决</td>") == 3  # A13, A19, A07
    # one bar per grid
    assert html.count('height="18" fill="#') == 5  # 24-unit rows for 5 grids


def test_notice_escapes_names(jingou):
    ev = ev_of(jingou, [("<b>H1</b>", 5, "<i>g</i>", False)])
    html = render_notice(compute_boards(ev).to_json())
    assert "<b>H1</b>" not in html and "&lt;b&gt;H1&lt;/b&gt;" in html


NO_CHROMIUM = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None
    and shutil.which("google-chrome") is None,
    reason="no chromium on PATH: the notice is not rendered (scripts/render_notice.sh)")


def _render(html_text: str, out: Path) -> Path:
    html = out.with_suffix(".html")
    html.write_text(html_text, encoding="utf-8")
    done = subprocess.run([str(ROOT / "scripts" / "render_notice.sh"), str(html), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


@NO_CHROMIUM
def test_notice_renders_in_headless_chromium(fixture_json, tmp_path):
    png = _render(render_notice(fixture_json, date=dt.date(2024, 4, 3)), tmp_path / "notice.png")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (794, 1123)  # A4 at 96 dpi


@NO_CHROMIUM
def test_a_thirty_grid_notice_prints_on_one_a4_sheet(jingou, tmp_path):
    import re

    # 30 grids of 12 households (the largest village the domain page describes), long names
    rows = [(f"JG{g:02d}{i:02d}", (g * 7 + i * 3) % 40 - 10, f"第{g}网格", i == 0 and g % 10 == 0)
            for g in range(1, 31) for i in range(12)]
    data = compute_boards(ev_of(jingou, rows)).to_json()
    assert len(data["grids"]) == 30
    pdf = _render(render_notice(data, date=dt.date(2024, 4, 3)), tmp_path / "big.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_a_ranking_cut_at_its_places_is_the_full_ranking_cut():
    """The red board looks only at the households that can be ranked within its places; the
    ranks are those of the whole pool ranked, ties at the last place all listed."""
    import random

    from xiangyue.points.boards import HouseholdTotal, _ranked, competition_ranks

    class Rule:
        ties = ()

    rng = random.Random(14)
    for _ in range(200):
        pool = [HouseholdTotal(f"H{i:03d}", None, None, Decimal(rng.randint(-3, 6)) / 2, False)
                for i in range(rng.randint(0, 40))]
        rng.shuffle(pool)
        places = rng.randint(0, 8)
        everyone = sorted(pool, key=lambda h: (-h.total, h.household))
        expected = [(rank, h) for rank, h in competition_ranks(everyone, lambda h: h.total)
                    if rank <= places]
        assert _ranked(pool, lambda h: h.total, Rule, places) == expected
