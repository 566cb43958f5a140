"""Hostile data through every output format: nothing live leaves the database.

A rule file names its village ``../../outside/=cmd|…`` with an ESC sequence; the household
register has heads and grids that are formulas, HTML, terminal escapes and bidi overrides.
Every command and format that prints or writes them must show them as text: no formula cell
in any XLSX, no CSV cell a spreadsheet would run, no file outside the output folder, no raw
ESC on the terminal, no unescaped HTML.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from xiangyue.cli.main import main
from xiangyue.report.cells import csv_cell

ROOT = Path(__file__).parent.parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"

VILLAGE = "../../outside/=cmd|' /C calc'!A0\x1b]0;pwned\x07\x1b[2J"
HEADS = ['=HYPERLINK("http://evil.example/","点我")', "=cmd|' /C calc'!A0", "@SUM(1+1)",
         "+1+2", "-2+3", "<script>alert(1)</script>", "\t=1+1", "红\x1b[31m色",
         "\u202egnp.exe", "正常户主"]
GRIDS = ["=1+2", "@网格", "<b>网格</b>", "第\x1b[5m网格", "-网格"]
LIVE = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def village(tmp_path: Path) -> dict[str, Path]:
    text = JINGOU.read_text(encoding="utf-8")
    yaml_village = VILLAGE.replace("\\", "\\\\").replace('"', '\\"') \
        .replace("\x1b", "\\e").replace("\x07", "\\a")
    text = text.replace("village: 金钩村", f'village: "{yaml_village}"', 1)
    # a rule whose name is a formula, markup and an escape sequence
    text = text.replace("    name: 志愿服务\n", '    name: "=HYPERLINK(1)<i>志愿</i>\\e[2J"\n', 1)
    text = text.replace('when: 事项 == "志愿服务"', 'when: 事项 == "=1+2"', 1)
    rules = tmp_path / "work" / "hostile.yaml"
    rules.parent.mkdir()
    rules.write_text(text, encoding="utf-8")
    households = tmp_path / "work" / "households.csv"
    rows = [["户号", "户主", "网格"]]
    for i, head in enumerate(HEADS):
        rows.append([f"H{i:02d}", head, GRIDS[i % len(GRIDS)]])
    # write the register raw (the payloads as a villager would type them), not neutralised
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    households.write_text(buf.getvalue(), encoding="utf-8")
    records = tmp_path / "work" / "records.csv"
    lines = ["记录编号,户号,日期,事项,数量,等级,级别,记录人,备注"]
    for i in range(len(HEADS)):
        lines.append(f"R{i:03d},H{i:02d},2024-02-{i + 1:02d},获得表彰,,,县级,=1+1,")
        if i % 3 == 0:
            lines.append(f"X{i:03d},H{i:02d},2024-03-{i + 1:02d},违反长江禁渔,,,,,")
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "work" / "v.db"
    for what, path in (("households", households), ("records", records)):
        r = run(what, "import", str(path), "-r", str(rules), "--db", str(db))
        assert r.exit_code == 0, r.output
    cases = tmp_path / "work" / "cases.csv"
    cases.write_text("事项编号,清单事项,标题,金额,步骤,日期,到会人数,应到人数,赞成人数\n"
                     "=C1,村级重大事项决策,\"=HYPERLINK(\"\"x\"\")<b>标题</b>\",120000,提议,"
                     "2024-01-05,,,\n", encoding="utf-8")
    return {"rules": rules, "db": db, "work": rules.parent, "tmp": tmp_path, "cases": cases}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def assert_no_raw_control(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, repr(text[:300])


def assert_csv_safe(text: str) -> None:
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        for cell in row:
            if cell.startswith(LIVE):
                float(cell)  # only a number may start with + or -


def assert_xlsx_safe(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                xml = z.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name  # no formula anywhere
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)


def assert_html_safe(text: str) -> None:
    assert "<script>" not in text and "<b>网格</b>" not in text
    assert_no_raw_control(text)


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_every_format_keeps_hostile_text_dead(village):
    rules, db, work, tmp = (str(village["rules"]), str(village["db"]), village["work"],
                            village["tmp"])
    before = files_under(tmp)
    common = ["--db", db, "--period", "2024-Q1"]
    # terminal output
    for args in (["evaluate", rules, *common], ["board", rules, *common],
                 ["stars", rules, *common], ["explain", rules, "H08", *common],
                 ["evaluate", rules, *common, "--format", "json"],
                 ["board", rules, *common, "--format", "json"]):
        r = run(*args)
        assert r.exit_code in (0, 1), (args, r.output)
        assert_no_raw_control(r.output)
    # CSV
    for cmd in ("evaluate", "board", "stars"):
        r = run(cmd, rules, *common, "--format", "csv")
        assert r.exit_code in (0, 1), r.output
        assert_csv_safe(r.output)
        assert "'=HYPERLINK(" in r.output or cmd == "stars" or cmd == "board"
    # the compliance report, the passbook, the rules notice, stars and select notices
    cases = str(village["cases"])
    r = run("check", rules, "--cases", cases, "--as-of", "2024-06-30", "--format", "csv")
    assert r.exit_code in (0, 1), r.output
    assert_csv_safe(r.output)
    for fmt in ("table", "html"):
        r = run("check", rules, "--cases", cases, "--as-of", "2024-06-30", "--format", fmt)
        assert_no_raw_control(r.output)
        if fmt == "html":
            assert_html_safe(r.output)
    for args in (["passbook", rules, "H08", *common, "--format", "html"],
                 ["passbook", rules, "--all", *common, "--format", "html"],
                 ["passbook", rules, "H08", *common],
                 ["rules-notice", rules, "--format", "html"],
                 ["stars", rules, *common, "--format", "html"]):
        r = run(*args)
        assert r.exit_code == 0, (args, r.output)
        assert_html_safe(r.output)
        assert "<i>志愿</i>" not in r.output
    for args in (["passbook", rules, "--all", *common], ["rules-notice", rules], ["stars", rules, *common]):
        out = work / "x.pdf"
        r = run(*args, "--format", "pdf", "--output", str(out))
        assert r.exit_code == 0, (args, r.output)
        assert out.read_bytes()[:5] == b"%PDF-"
    # the import workbook the rule file makes (its activity names are data too)
    for kind in ("records", "households"):
        out = work / f"{kind}.xlsx"
        r = run("template", kind, rules, "--output", str(out))
        assert r.exit_code == 0, r.output
        assert_xlsx_safe(out.read_bytes())
    # XLSX and HTML files
    out = work / "b.xlsx"
    assert run("board", rules, *common, "--format", "xlsx", "--output", str(out)).exit_code == 0
    assert_xlsx_safe(out.read_bytes())
    html = work / "b.html"
    assert run("board", rules, *common, "--format", "html", "--output", str(html)).exit_code == 0
    assert_html_safe(html.read_text(encoding="utf-8"))
    # publish: files inside the output folder, whatever the village is called
    notices = work / "公示"
    r = run("publish", rules, *common, "--output-dir", str(notices), "--format", "pdf")
    assert r.exit_code == 0, r.output
    assert_no_raw_control(r.output)
    written = files_under(tmp) - before
    assert written, "publish wrote nothing"
    for p in written:
        assert p.resolve().is_relative_to(work.resolve()), p
    assert not (tmp / "outside").exists() and not (tmp.parent / "outside").exists()
    made = sorted(p for p in notices.iterdir())
    assert [p.suffix for p in made] == [".html", ".pdf", ".xlsx"]
    for p in made:
        if p.suffix == ".xlsx":
            assert_xlsx_safe(p.read_bytes())
        elif p.suffix == ".html":
            assert_html_safe(p.read_text(encoding="utf-8"))
        else:
            assert p.read_bytes()[:5] == b"%PDF-"


def test_csv_cells_are_neutralised_the_owasp_way():
    assert [csv_cell(v) for v in ("=1+1", "+1+2", "-x", "@a", "\tx", "\rx", "a=b")] == [
        "'=1+1", "'+1+2", "'-x", "'@a", "'\tx", "'\rx", "a=b"]
    # numbers stay numbers
    assert [csv_cell(v) for v in ("-13.25", "+5", "-0.5", -3, "1e5")] == ["-13.25", "+5", "-0.5",
                                                                        "-3", "1e5"]
