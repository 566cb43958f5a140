"""A clean CSV record file read straight to columns (``points/columnar/csvload``) gives
exactly what the row path gives; any other file goes through the row path (same messages)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

from xiangyue.periods import parse_period  # noqa: E402
from xiangyue.points.columnar import csvload  # noqa: E402
from xiangyue.points.columnar.csvload import CsvRecords  # noqa: E402
from xiangyue.points.evaluate import evaluate  # noqa: E402
from xiangyue.points.inputs import (Inputs, NotAllowed, open_inputs,  # noqa: E402
                                    read_households_file, read_households_rows,
                                    read_records_file)
from xiangyue.rules.pipeline import load_ruleset  # noqa: E402


JINGOU = Path(__file__).resolve().parent.parent / "rulesets" / "examples" / "jingou.yaml"


def _issues(items):
    return [(i.kind, i.record_id, i.household, i.date, i.activity, i.file, i.row, i.rule,
             None if i.diagnostic is None else (i.diagnostic.code, i.diagnostic.message("en")))
            for i in items]


def summary(ev) -> dict:
    """Everything a report shows of an evaluation (the ledger apart)."""
    return {
        "results": [(r.household, r.person, r.head, r.grid, r.total, r.vetoed, dict(r.by_rule),
                     dict(r.by_category), [dict(v) for v in r.vetoes]) for r in ev.results],
        "unmatched": _issues(ev.unmatched), "not_covered": _issues(ev.not_covered),
        "invalid": _issues(ev.invalid), "unknown": _issues(ev.unknown_households),
        "counts": (ev.record_count, ev.replayed),
    }


def ledger_of(ev) -> list:
    return [(e, e.reasons) for e in ev.ledger]

def read_csv_records(rs, path):
    return csvload.read_csv_records(rs, path, NotAllowed(rs))


HEADER = "record_id,household,date,activity,quantity,grade\n"
CLEAN = HEADER + """V1,JG001,2024-03-02,志愿服务,2,特优
V2,JG001,2024-03-03,志愿服务,,
V3,JG002,2024-03-04,志愿服务,1.5,优
V4,JG999,2024-03-05,志愿服务,2,
V5,JG002,2024-03-06,没有的事,1,
V6,JG001,2023-12-31,志愿服务,1,
"""
HOUSEHOLDS = "户号,户主,网格\nJG001,张大山,第1网格\nJG002,李小河,第2网格\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    records = tmp_path / "records.csv"
    records.write_text(CLEAN, encoding="utf-8")
    households = tmp_path / "hh.csv"
    households.write_text(HOUSEHOLDS, encoding="utf-8")
    return records, households


@pytest.mark.parametrize("engine", ["fast", "reference", "auto"])
@pytest.mark.parametrize("period", ["2024-03", "2024"])
@pytest.mark.parametrize("bom", [False, True])
def test_columns_and_rows_give_the_same_evaluation(files, engine, period, bom):
    records, households = files
    if bom:
        records.write_text("\ufeff" + CLEAN, encoding="utf-8")
    rs = load_ruleset(JINGOU)
    p = parse_period(period)
    with open_inputs(rs, p, records_path=str(records), households_path=str(households)) as inputs:
        assert isinstance(inputs.records, CsvRecords)  # the clean file took the fast path
        fast = evaluate(rs, inputs, p, engine=engine)
    rows = Inputs(read_records_file(rs, str(records)), read_households_rows(rs, str(households)))
    slow = evaluate(rs, rows, p, engine=engine)
    assert summary(fast) == summary(slow)
    assert ledger_of(fast) == ledger_of(slow)
    # worked by hand: V1 (特优) is invalid, V2's blank quantity is the default 1, V4's household
    # is not in the register, V5's activity matches no rule
    assert [i.record_id for i in fast.invalid] == ["V1"]
    assert [i.record_id for i in fast.unknown_households] == ["V4"]
    assert [i.record_id for i in fast.unmatched] == ["V5"]


def _outcome(rs, period, inputs_of, engine="auto"):
    """What an evaluation gives (summary and ledger), or the messages it stops with."""
    from xiangyue.errors import XiangyueError

    p = parse_period(period)
    try:
        inputs = inputs_of()
    except XiangyueError as err:
        return ("error", [(d.code, d.file, d.line, d.column, d.message("zh"), d.message("en"))
                          for d in err.diagnostics])
    ev = evaluate(rs, inputs, p, engine=engine)
    return summary(ev), ledger_of(ev)


def same_as_rows(rs, records, households=None, period="2024", engine="auto"):
    """Evaluate through ``open_inputs`` (columns when the file is clean) and through the row
    path only; the two must agree, messages included. Returns whether columns were used."""
    used = []

    def fast():
        inputs = open_inputs(rs, parse_period(period), records_path=str(records),
                             households_path=None if households is None else str(households))
        used.append(isinstance(inputs.records, CsvRecords))
        return inputs

    def rows():
        return Inputs(read_records_file(rs, str(records)),
                      None if households is None else read_households_rows(rs, str(households)))

    assert _outcome(rs, period, fast, engine) == _outcome(rs, period, rows, engine)
    return bool(used and used[0])


#: files the columns read as the row path does (loose forms the row path converts)
READ_SO = [
    CLEAN.replace("2024-03-04", "2024/3/4"),  # a loose date form: the row path's converter
    CLEAN.replace("2024-03-04", "2024年3月4日"),
    CLEAN.replace(",1.5,", ", 1.5 ,"),  # spaces around a cell: trimmed alike
    CLEAN.replace(",1.5,", ",１.５,"),  # full-width digits
    CLEAN.replace("V3,JG002", "V3,ＪＧ００２"),  # a full-width household id
    CLEAN.replace("V3,", " V3 ,"),  # spaces around a record id
    CLEAN.replace("V3,", "Ｖ3,"),  # a full-width record id
    CLEAN.replace("V3,", "记录3,"),  # a record id in Chinese
    CLEAN.replace("V3,", "T+3,"),  # a '+' in a record id (no E+)
    CLEAN.replace(",特优\n", ',"特,优"\n'),  # a quoted cell with a comma
    CLEAN.replace("\n", "\r\n"),  # as Excel saves it
    CLEAN.rstrip("\n"),  # no newline at the end
    CLEAN.replace(",志愿服务,2,\n", ",志愿服务,2,\t\n"),  # a tab at a cell's end
]

#: files the row path must read (its messages or its skipping)
FALL_BACK = [
    "活动标题\n" + CLEAN,  # a title row above the header
    CLEAN.replace("2024-03-04", "2024-02-30"),  # no such day
    CLEAN.replace("2024-03-04", "3月4日"),  # a date without its year
    CLEAN.replace(",1.5,", ",1.5斤,"),  # not a number
    CLEAN.replace(",1.5,", ",-1,"),  # below the field's minimum
    CLEAN.replace("V3,", "V2,"),  # a record id twice
    CLEAN.replace("V3,", "V2 ,"),  # a record id twice once trimmed
    CLEAN.replace("V3,JG002", "V3,"),  # a blank household
    CLEAN.replace("V3,", "1.10101E+17,"),  # an id Excel wrote with lost digits
    CLEAN + "合计,,,,,\n",  # a total row
    CLEAN + "Total,,,,,\n",  # a total row in English
    CLEAN + "\n",  # a blank line at the end
    CLEAN.replace("V4,", "\nV4,"),  # a blank line inside
    CLEAN + ",,,,,\n",  # a row of empty cells
    CLEAN.replace("V3,JG002,2024-03-04,志愿服务", 'V3,JG002,2024-03-04,"志愿\n服务"'),  # two lines
    CLEAN.replace("V3,JG002", "V3\rV7,JG002"),  # a lone carriage return
    CLEAN + ",,,,,合计\n",  # a note with the first cell blank
    CLEAN.replace("grade\n", "grade,备注\n"),  # a column the rules do not know
    CLEAN.replace("grade\n", "grade,\n"),  # an unnamed column
    CLEAN.replace("grade\n", "grade,grade\n"),  # a column twice
    CLEAN.replace("V6,JG001,2023-12-31,志愿服务,1,", "V6,JG001,2023-12-31,志愿服务,1"),  # ragged
    CLEAN.replace("V6,JG001,2023-12-31,志愿服务,1,", "V6,JG001,2023-12-31,志愿服务,1,,"),  # long
    CLEAN.replace(",", "\t"),  # tab-separated
    CLEAN.replace("V3,JG002,2024-03-04,志愿服务", 'V3,JG002,2024-03-04,"志愿服务'),  # open quote
    HEADER.replace("household,", ""),  # a required column missing (no rows either)
    HEADER,  # no rows
]


@pytest.mark.parametrize("text", READ_SO)
def test_loose_but_valid_files_read_to_columns_as_the_row_path_reads_them(tmp_path, text):
    records = tmp_path / "records.csv"
    records.write_text(text, encoding="utf-8")
    rs = load_ruleset(JINGOU)
    assert same_as_rows(rs, records, period="2024-03")
    assert same_as_rows(rs, records, period="2024", engine="reference")


@pytest.mark.parametrize("text", FALL_BACK)
def test_anything_but_the_clean_case_goes_through_the_row_path(tmp_path, text):
    records = tmp_path / "records.csv"
    records.write_text(text, encoding="utf-8")
    rs = load_ruleset(JINGOU)
    assert read_csv_records(rs, str(records)) is None
    assert not same_as_rows(rs, records, period="2024-03")


def test_other_encodings_and_formats_go_through_the_row_path(tmp_path):
    rs = load_ruleset(JINGOU)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(CLEAN.encode("gbk"))
    assert read_csv_records(rs, str(gbk)) is None
    assert not same_as_rows(rs, gbk)
    mixed = tmp_path / "mixed.csv"  # UTF-8 with one row pasted from a GBK file
    mixed.write_bytes(CLEAN.encode("utf-8") + "V7,JG001,2024-03-07,志愿服务,1,\n".encode("gbk"))
    assert not same_as_rows(rs, mixed)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text(CLEAN, encoding="utf-16")
    assert not same_as_rows(rs, utf16)
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(CLEAN.replace("\n", "\r\n").encode("utf-8"))  # as Excel saves it
    assert isinstance(read_csv_records(rs, str(crlf)), CsvRecords)
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text('{"record_id": "V1"}\n', encoding="utf-8")
    assert read_csv_records(rs, str(jsonl)) is None


def test_the_records_as_dicts_are_the_row_paths(files):
    """Iterating the columns (the reference evaluator) gives the row path's very dicts."""
    records, _ = files
    rs = load_ruleset(JINGOU)
    fast = read_csv_records(rs, str(records))
    assert list(fast) == read_records_file(rs, str(records))
    assert fast.rows_at([4, 0]) == [read_records_file(rs, str(records))[i] for i in (4, 0)]


def test_blocks_of_a_big_file_give_the_same_records(tmp_path, monkeypatch):
    """A file read in many blocks (lines cut by a block's end, codes growing past one and
    two bytes) gives the row path's records and evaluation."""
    monkeypatch.setattr(csvload, "BLOCK", 97)
    rs = load_ruleset(JINGOU)
    lines = [HEADER.rstrip("\n")]
    for i in range(700):
        grade = ("优", "良", "", "特优")[i % 4]
        lines.append(f"R{i:04d},JG{i % 300:03d},2024-{1 + i % 12:02d}-{1 + i % 28:02d},"
                     f"{('志愿服务', '孝老爱亲', '没有的事')[i % 3]},{i % 5 or ''}.{i % 7},{grade}")
    records = tmp_path / "records.csv"
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast = read_csv_records(rs, str(records))
    assert isinstance(fast, CsvRecords)
    assert list(fast) == read_records_file(rs, str(records))
    assert same_as_rows(rs, records, period="2024-Q2")
    assert same_as_rows(rs, records, period="2024", engine="reference")


def test_the_household_register_reads_to_the_same_rows(tmp_path):
    rs = load_ruleset(JINGOU)
    hh = tmp_path / "hh.csv"
    hh.write_text(HOUSEHOLDS.replace("JG002,", " ＪＧ002 ,"), encoding="utf-8")
    assert csvload.read_csv_households(rs, str(hh)) == read_households_rows(rs, str(hh))
    assert read_households_file(rs, str(hh)) == read_households_rows(rs, str(hh))
    for text in (HOUSEHOLDS + "JG001,又一户,第3网格\n",  # a household twice: the row path says so
                 "户口登记\n" + HOUSEHOLDS,  # a title row
                 HOUSEHOLDS.replace("户主,", "户主,电话,")):  # a column the rules do not know
        hh.write_text(text, encoding="utf-8")
        assert csvload.read_csv_households(rs, str(hh)) is None


def test_the_command_prints_the_same_json_by_columns_and_by_rows(files, monkeypatch):
    from click.testing import CliRunner

    from xiangyue.cli.main import main

    records, households = files

    def run():
        return CliRunner().invoke(main, ["evaluate", str(JINGOU), "--records", str(records),
                                         "--households", str(households), "--period", "2024",
                                         "--format", "json"], catch_exceptions=False)

    by_columns = run()
    assert by_columns.exit_code == 0
    monkeypatch.setattr(csvload, "read_csv_table", lambda *a, **k: None)
    by_rows = run()
    assert by_columns.stdout_bytes == by_rows.stdout_bytes


EVALUATE = Path(__file__).resolve().parent / "evaluate"


@pytest.mark.parametrize("rules, records, households", [
    ("person.yaml", "person_records.csv", None),
    ("jingou.yaml", "records.csv", "households.csv"),
    ("escalation.yaml", "escalation_records.csv", "escalation_households.csv"),
])
def test_the_example_villages_read_to_columns_as_by_rows(tmp_path, rules, records, households):
    rs = load_ruleset(JINGOU.parent / rules)
    hh = None if households is None else EVALUATE / households
    for engine in ("auto", "reference"):
        assert same_as_rows(rs, EVALUATE / records, hh, period="2024-03", engine=engine)
    # a blank person cell (unit: person): listed as invalid alike
    text = (EVALUATE / records).read_text(encoding="utf-8")
    if rules == "person.yaml":
        blank = tmp_path / "blank.csv"
        blank.write_text(text.replace("P2,H1,张三,", "P2,H1,,"), encoding="utf-8")
        assert same_as_rows(rs, blank, period="2024-03")


@pytest.mark.parametrize("ids", [("A1", "A2", "A3", "B1"), ("A2", "A1", "A3", "B1")])
def test_records_listed_in_date_and_id_order_need_no_sort_and_score_the_same(tmp_path, ids):
    """A file already in (date, record_id) order hands the evaluator each record's place
    (no sort of the ids); one that is not leaves the sort to it. Both score as the rows do."""
    a, b, c, d = ids
    text = HEADER + (f"{a},JG001,2024-03-01,志愿服务,2,\n{b},JG002,2024-03-01,志愿服务,1,\n"
                     f"{c},JG001,2024-03-01,孝老爱亲,,\n{d},JG001,2024-03-02,志愿服务,3,\n")
    records = tmp_path / "records.csv"
    records.write_text(text, encoding="utf-8")
    rs = load_ruleset(JINGOU)
    fast = read_csv_records(rs, str(records))
    cols = fast.columns(list(rs.fields), {"activity"}, False, parse_period("2024").start,
                        parse_period("2024").end)
    assert (cols.rank is not None) == (ids[0] < ids[1])
    assert same_as_rows(rs, records, period="2024-03")
    assert same_as_rows(rs, records, period="2024-03", engine="reference")


#: per column, cells a clerk's file may hold: clean, loose, wrong
MESSY = {
    "record_id": lambda i: [f"R{i}", f" R{i}", f"Ｒ{i}", f"记{i}", f"R{i}\t", f"1.1E+{i}", "",
                            f"R{max(i - 1, 0)}", f'"R{i}"', f"Total{i}", f"R{i}\u3000"],
    "household": lambda i: ["JG001", "JG002", "ＪＧ００１", " JG002", "", "JG999", "jg001"],
    "date": lambda i: ["2024-03-01", "2024/3/5", "2023-12-31", "2024-02-30", "2024年3月6日",
                       " 2024-03-07", "3月8日", "2024-04-01", "20240309", ""],
    "activity": lambda i: ["志愿服务", "孝老爱亲", "没有的事", "", " 志愿服务", '"志愿,服务"'],
    "quantity": lambda i: ["", "1", "1.50", " 2", "-1", "１２", "1,200", "abc", "+3", ".5", "1e3"],
    "grade": lambda i: ["", "优", "良", "特优", " 优"],
}


@pytest.mark.parametrize("seed", range(8))
def test_messy_files_give_what_the_row_path_gives(tmp_path, monkeypatch, seed):
    """Files with cells drawn from MESSY (some read to columns, some not; read in blocks
    of a few bytes or whole): the evaluation or the messages are the row path's."""
    import random

    rng = random.Random(seed)
    rs = load_ruleset(JINGOU)
    clean = {"household": "JG001", "activity": "志愿服务", "quantity": "1", "grade": ""}
    for trial in range(10):
        monkeypatch.setattr(csvload, "BLOCK", rng.choice([1 << 24, 17, 64]))
        share = rng.random() * 0.5
        rows = []
        for i in range(rng.randint(1, 8)):
            good = {"record_id": f"R{i}", "date": f"2024-03-0{1 + i % 9}", **clean}
            rows.append(",".join(rng.choice(MESSY[k](i)) if rng.random() < share else good[k]
                                 for k in MESSY))
        records = tmp_path / f"records{trial}.csv"
        records.write_text(HEADER + "\n".join(rows) + rng.choice(["\n", "", "\r\n", "\n\n"]),
                           encoding="utf-8")
        same_as_rows(rs, records, period=rng.choice(["2024-03", "2024"]))
