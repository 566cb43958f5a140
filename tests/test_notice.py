"""The notice a village posts: its notice: settings, date, separators, chart, preview mark,
and the PDF (one A4 page with Chinese text, checked by rendering it when poppler is there)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.periods import period_words
from xiangyue.points.boards import compute_boards
from xiangyue.points.results import Evaluation, UnitResult
from xiangyue.periods import parse_period
from xiangyue.report.notice import amount_text, render_chart, render_notice
from xiangyue.report.pdf import notice_pdf
from xiangyue.rules.pipeline import load_ruleset

HERE = Path(__file__).parent
JINGOU = HERE.parent / "rulesets" / "examples" / "jingou.yaml"
DEMO = HERE.parent / "rulesets" / "demo"

NOTICE = """
notice:
  objection_days: 10
  signatories: [中共金钩村支部委员会, 金钩村村民委员会, 金钩村村务监督委员会]
  place: 村便民服务中心公示栏
  phone: "0523-8888 1234"
  footnote: 本榜单同时在村微信群公布。
"""


@pytest.fixture
def rules(tmp_path) -> Path:
    f = tmp_path / "jingou.yaml"
    f.write_text(JINGOU.read_text(encoding="utf-8") + NOTICE, encoding="utf-8")
    return f


def boards_of(ruleset, rows):
    results = [UnitResult(household=h, head=f"户主{h}", grid=g, total=D(str(t)), vetoed=v)
               for h, t, g, v in rows]
    ev = Evaluation(parse_period("2024-Q1"), ruleset, results, None, [], [], [], [], 0, 0)
    return compute_boards(ev).to_json(details=True)


def test_the_notice_section_is_read_and_printed(rules):
    rs = load_ruleset(rules)
    assert rs.notice.objection_days == 10 and rs.notice.phone == "0523-8888 1234"
    data = boards_of(rs, [("A1", 120000, "一组", False), ("A2", -3, "二组", True)])
    html = render_notice(data, date=dt.date(2024, 4, 3), notice=rs.notice.to_json())
    assert "请于公示之日起 10 日内" in html
    for text in ("中共金钩村支部委员会（盖章）", "金钩村村务监督委员会（盖章）",
                 "公示地点：村便民服务中心公示栏", "联系电话：0523-8888 1234",
                 "本榜单同时在村微信群公布。", "2024年4月3日", "120,000"):
        assert text in html, text
    assert "预览" not in html


def test_defaults_without_a_notice_section():
    rs = load_ruleset(JINGOU)
    assert rs.notice.objection_days == 7
    assert rs.notice.signatories == ("村党组织", "村民委员会", "村务监督委员会")


def test_a_rule_file_without_name_or_version_prints_no_empty_brackets():
    data = {"period": "2024-Q1", "village": "某村", "ruleset": {}, "red": [], "black": [],
            "grids": []}
    html = render_notice(data, date=dt.date(2024, 4, 3))
    assert "（ 版）" not in html and "（None 版）" not in html and "版）" not in html


def test_amounts_have_separators():
    assert [amount_text(v) for v in (D("120000"), D("-1234.5"), D("12"), D("0.25"))] == [
        "120,000", "-1,234.5", "12", "0.25"]
    assert amount_text(D("41.625"), 2) == "41.63"


def test_period_words_are_one_function():
    assert [period_words(k) for k in ("2024-Q1", "2024-03", "2024")] == [
        "2024年第一季度", "2024年3月", "2024年度"]


def test_a_negative_average_has_its_value_beside_its_own_bar():
    svg = render_chart([{"rank": 1, "grid": "一组", "average": "10", "households": 3},
                        {"rank": 2, "grid": "二组", "average": "-5", "households": 2}])
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="[\d.]+" '
                      r'fill="#(?:c00000|555555)"/>', svg)
    (px, pw), (nx, nw) = [(float(x), float(w)) for x, w in bars]
    zero = px
    assert abs(nx + nw - zero) < 0.2  # the negative bar ends at the zero line
    value = re.search(r'<text x="([\d.]+)"[^>]*text-anchor="end">-5\.00</text>', svg)
    assert value and float(value[1]) < nx  # its label ends left of the bar, next to it
    assert nx - float(value[1]) < 10
    positive = re.search(r'<text x="([\d.]+)"[^>]*>10\.00</text>', svg)
    assert positive and 0 < float(positive[1]) - (px + pw) < 10


def test_board_html_is_marked_as_a_preview(tmp_path):
    out = tmp_path / "b.html"
    r = CliRunner().invoke(main, ["board", str(JINGOU), "--records", str(HERE / "boards" / "records.csv"),
                                  "--households", str(HERE / "boards" / "households.csv"),
                                  "--period", "2024-Q1", "--format", "html", "--output", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert 'class="watermark"' in html and "预览·未公示" in html


@pytest.fixture
def demo_db(tmp_path) -> str:
    db = tmp_path / "demo.db"
    r = CliRunner().invoke(main, ["demo", "--db", str(db)])
    assert r.exit_code == 0, r.output
    return str(db)


def test_publish_date_and_pdf_of_the_reference_village(demo_db, tmp_path):
    out = tmp_path / "公示"
    r = CliRunner().invoke(main, ["publish", "--db", demo_db, "--period", "2024-Q1",
                                  "--date", "2024-04-03", "--format", "pdf", "--output-dir", str(out)])
    assert r.exit_code == 0, r.output
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "2024年4月3日" in html and "预览" not in html
    pdf = next(out.glob("*.pdf")).read_bytes()
    assert pdf[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf or b"/MediaBox[0 0 595.28 841.89]" in pdf
    assert b"FontFile" in pdf  # the Chinese font is embedded, not just named
    if shutil.which("pdftotext"):
        words = subprocess.run(["pdftotext", "-layout", str(next(out.glob("*.pdf"))), "-"],
                               capture_output=True, text=True, check=True).stdout
        assert "金钩村 2024年第一季度 积分红黑榜" in words
        assert "2024年4月3日" in words and "村务监督委员会（盖章）" in words


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler (pdftoppm) not installed")
def test_the_pdf_renders_to_one_a4_image(demo_db, tmp_path):
    r = CliRunner().invoke(main, ["publish", "--db", demo_db, "--period", "2024-Q1",
                                  "--format", "pdf", "--output-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    pdf = next(tmp_path.glob("*.pdf"))
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    head = pages[0].read_bytes()[:24]
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) in ((413, 585), (414, 585))  # A4 at 50 dpi (poppler rounds up)
    # ink on the page: the title band is not blank (the Chinese glyphs were drawn)
    assert pages[0].stat().st_size > 10_000


def test_a_board_with_ties_still_fits_one_page():
    rs = load_ruleset(JINGOU)
    # 120 households in 12 grids, totals tied in nines at the cut-off, a dozen vetoes
    rows = [(f"H{i:03d}", (i * 7) % 40 - 10, f"第{i % 12 + 1}网格", i % 11 == 0) for i in range(120)]
    data = boards_of(rs, rows)
    pdf = notice_pdf(data, date=dt.date(2024, 4, 3))
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_periods_can_be_typed_as_the_notice_writes_them():
    for key in ("2024-01", "2024-12", "2024-Q1", "2024-Q4", "2024"):
        assert parse_period(period_words(key)).key == key
    assert parse_period("2024年第1季度").key == "2024-Q1"
    assert parse_period("2024年03月").key == "2024-03"
