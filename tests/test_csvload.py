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
                                    read_households_file, read_records_file)
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
    return csvload.read_csv_records(rs, path, lambda: read_records_file(rs, path), NotAllowed(rs))


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
    rows = Inputs(read_records_file(rs, str(records)), read_households_file(rs, str(households)))
    slow = evaluate(rs, rows, p, engine=engine)
    assert summary(fast) == summary(slow)
    assert ledger_of(fast) == ledger_of(slow)
    # worked by hand: V1 (特优) is invalid, V2's blank quantity is the default 1, V4's household
    # is not in the register, V5's activity matches no rule
    assert [i.record_id for i in fast.invalid] == ["V1"]
    assert [i.record_id for i in fast.unknown_households] == ["V4"]
    assert [i.record_id for i in fast.unmatched] == ["V5"]


@pytest.mark.parametrize("text", [
    "活动标题\n" + CLEAN,  # a title row above the header
    CLEAN.replace("2024-03-04", "2024/3/4"),  # a loose date form
    CLEAN.replace("2024-03-04", "2024-02-30"),  # no such day
    CLEAN.replace(",1.5,", ", 1.5,"),  # a space around a cell
    CLEAN.replace(",1.5,", ",1.5斤,"),  # not a number
    CLEAN.replace(",1.5,", ",-1,"),  # below the field's minimum
    CLEAN.replace("V3,", "V2,"),  # a record id twice
    CLEAN.replace("V3,JG002", "V3,"),  # a blank household
    CLEAN + "合计,,,,,\n",  # a total row
    CLEAN + "\n",  # a blank line at the end
    CLEAN.replace("V3,JG002,2024-03-04,志愿服务", 'V3,JG002,2024-03-04,"志愿\n服务"'),  # two lines
    CLEAN + ",,,,,合计\n",  # a note with the first cell blank
    CLEAN.replace("grade\n", "grade,备注\n"),  # a column the rules do not know
    CLEAN.replace("V6,JG001,2023-12-31,志愿服务,1,", "V6,JG001,2023-12-31,志愿服务,1"),  # ragged
])
def test_anything_but_the_clean_case_goes_through_the_row_path(tmp_path, text):
    records = tmp_path / "records.csv"
    records.write_text(text, encoding="utf-8")
    assert read_csv_records(load_ruleset(JINGOU), str(records)) is None


def test_other_encodings_and_formats_go_through_the_row_path(tmp_path):
    rs = load_ruleset(JINGOU)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(CLEAN.encode("gbk"))
    assert read_csv_records(rs, str(gbk)) is None
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(CLEAN.replace("\n", "\r\n").encode("utf-8"))  # as Excel saves it
    assert isinstance(read_csv_records(rs, str(crlf)), CsvRecords)
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text('{"record_id": "V1"}\n', encoding="utf-8")
    assert read_csv_records(rs, str(jsonl)) is None
