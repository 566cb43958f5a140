"""The two evaluators on what users feed them: generated rule files written as YAML text and
loaded like a user's file, records written as CSV files and, separately, imported into a real
SQLite village database, both read through the CLI's input path (``open_inputs``). The
reference and the columnar evaluator must give the same totals, vetoes, listed records
(invalid, unmatched, not covered, unknown households) and ledger (entries and reasons); and the
same records give the same evaluation whether they come from the file or from the database.

The generators cover: values outside a field's allowed values, blank optional cells, person
scoring (blank person cells too), base points, ``matching: first``, every limit (limit,
deduction_limit, category limits, once, highest_only, escalation, veto), tiers and lookup
tables, effective dates, households the register does not know.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("numpy")
pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xiangyue import Village  # noqa: E402
from xiangyue.data.ingest import import_households, import_records  # noqa: E402
from xiangyue.data.store import open_store  # noqa: E402
from xiangyue.errors import InputError, XiangyueError  # noqa: E402
from xiangyue.periods import parse_period  # noqa: E402
from xiangyue.points.evaluate import evaluate  # noqa: E402
from xiangyue.points.inputs import open_inputs  # noqa: E402
from xiangyue.rules.pipeline import load_ruleset  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"

# -- what is compared ---------------------------------------------------------------------------


def _issues(items):
    return [(i.kind, i.record_id, i.household, i.date, i.activity, i.file, i.row, i.rule,
             None if i.diagnostic is None else (i.diagnostic.code, i.diagnostic.message("en")))
            for i in items]


def summary(ev) -> dict:
    """Everything a report shows of an evaluation (the ledger apart)."""
    return {
        # by rule and by category in order (the JSON output lists them so)
        "results": [(r.household, r.person, r.head, r.grid, r.total, r.vetoed,
                     list(r.by_rule.items()), list(r.by_category.items()),
                     [dict(v) for v in r.vetoes], r.earned, r.deducted, r.base, r.records,
                     r.last_date) for r in ev.results],
        "unmatched": _issues(ev.unmatched),
        "not_covered": _issues(ev.not_covered),
        "invalid": _issues(ev.invalid),
        "unknown": _issues(ev.unknown_households),
        "counts": (ev.record_count, ev.replayed),
    }


def ledger_of(ev) -> list:
    return [(e, e.reasons) for e in ev.ledger]


def both(ruleset, period, **paths) -> tuple:
    """The reference and the columnar evaluation of the same inputs, opened as the CLI does."""
    out = []
    for engine in ("reference", "fast"):
        with open_inputs(ruleset, period, **paths) as inputs:
            try:
                ev = evaluate(ruleset, inputs, period, engine=engine, with_ledger=True)
            except XiangyueError as err:
                # a combination the fast evaluator refuses (it says so; auto falls back)
                assume(err.diagnostics[0].code != "E-ENGINE-UNSUPPORTED")
                raise
        assert ev.engine.engine == engine
        out.append(ev)
    return tuple(out)


def assert_same(want, got) -> None:
    assert summary(got) == summary(want)
    assert ledger_of(got) == ledger_of(want)


def totals_only(ruleset, period, **paths):
    """The columnar evaluation without a ledger (its leaner path: raw points dropped after
    the limits, fewer columns read)."""
    with open_inputs(ruleset, period, **paths) as inputs:
        ev = evaluate(ruleset, inputs, period, engine="fast", with_ledger=False)
    assert ev.engine.engine == "fast" and ev.ledger is None
    return ev


# -- generated rule files -----------------------------------------------------------------------

ACTIVITIES = ["甲", "乙", "丙"]
AMOUNTS = ["1", "2", "3", "0.5", "-1", "-2", "-0.5"]
LIMITS = ["1", "2", "3", "0.5", "2.5"]
PERS = ["month", "quarter", "year"]
GRADES = ["优", "良", "差"]


@st.composite
def rule_files(draw) -> str:
    person = draw(st.integers(0, 2)) == 0
    lines = ["xiangyue: 1", "village: 测试村", "name: 差分测试", 'version: "1"',
             f"unit: {'person' if person else 'household'}",
             f"matching: {draw(st.sampled_from(['all', 'all', 'first']))}"]
    if draw(st.integers(0, 2)) == 0:
        lines += ["effective:", "  from: 2024-01-10", "  until: 2024-11-30"]
    lines += ["fields:",
              "  - id: activity", "    label: 事项", "    type: text", "    required: true",
              "  - id: quantity", "    label: 数量", "    type: decimal"]
    if draw(st.booleans()):
        lines.append("    default: 1")
    lines += ["  - id: grade", "    label: 等级", "    type: text", "    values: [优, 良, 差]"]
    if draw(st.integers(0, 2)) == 0:
        lines.append(f"base: {{points: {draw(st.sampled_from(['10', '1.5']))}, "
                     f"per: {draw(st.sampled_from(PERS))}}}")
    lines.append("categories:")
    for cat in ("c1", "c2"):
        lines.append(f"  - id: {cat}")
        if draw(st.booleans()):
            lines.append(f"    limit: {{max: {draw(st.sampled_from(LIMITS))}, "
                         f"per: {draw(st.sampled_from(PERS))}}}")
        if draw(st.booleans()):
            lines.append(f"    deduction_limit: {{max: {draw(st.sampled_from(LIMITS))}, "
                         f"per: {draw(st.sampled_from(PERS))}}}")
    lines.append("rules:")
    for i in range(draw(st.integers(1, 4))):
        when = f'事项 == "{draw(st.sampled_from(ACTIVITIES))}"'
        when += draw(st.sampled_from(["", "", " 且 数量 >= 2", ' or 等级 == "优"',
                                      " and 数量 < 3", ' and not (等级 in ["差"])']))
        lines += [f"  - id: r{i}", f"    category: {draw(st.sampled_from(['c1', 'c2']))}",
                  f"    when: '{when}'"]
        kind = draw(st.sampled_from(["const", "qty", "lookup", "tier", "esc", "minmax"]))
        if kind == "const":
            lines.append(f"    points: {draw(st.sampled_from(AMOUNTS))}")
        elif kind == "qty":
            lines.append(f"    points: {draw(st.sampled_from(AMOUNTS))} × 数量")
        elif kind == "lookup":
            other = draw(st.sampled_from(["", ", 否则 → 0"]))
            lines.append(f'    points: \'按 等级 {{"优" → 5, "良" → 1.5, "差" → -3{other}}}\'')
        elif kind == "tier":
            lines.append("    points: '如果 数量 >= 3 则 5 否则 (如果 数量 >= 2 则 2 否则 -1)'")
        elif kind == "minmax":
            lines.append("    points: 'min(数量, 3) + max(round(数量 × 0.5), 1)'")
        if kind == "esc":
            steps = draw(st.lists(st.sampled_from(AMOUNTS), min_size=1, max_size=3))
            lines.append(f"    escalation: {{steps: [{', '.join(steps)}], "
                         f"per: {draw(st.sampled_from(PERS))}}}")
        elif draw(st.integers(0, 3)) == 0:
            lines.append(f"    once: {draw(st.sampled_from(PERS))}")
        if draw(st.integers(0, 3)) == 0:
            lines.append(f"    highest_only: {draw(st.sampled_from(PERS))}")
        if draw(st.booleans()):
            lines.append(f"    limit: {{max: {draw(st.sampled_from(LIMITS))}, "
                         f"per: {draw(st.sampled_from(PERS))}}}")
        if draw(st.booleans()):
            lines.append(f"    deduction_limit: {{max: {draw(st.sampled_from(LIMITS))}, "
                         f"per: {draw(st.sampled_from(PERS))}}}")
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"    veto: {draw(st.sampled_from(PERS))}")
    return "\n".join(lines) + "\n"


DAYS = ["2024-01-01", "2024-01-09", "2024-01-10", "2024-02-15", "2024-02-29", "2024-03-01",
        "2024-03-31", "2024-04-01", "2024-07-15", "2024-11-30", "2024-12-01", "2024-12-31"]


@st.composite
def record_rows(draw) -> list[dict[str, str]]:
    """Record rows as a clerk's table has them: text cells, blanks where a cell is empty."""
    rows = []
    for i in range(draw(st.integers(1, 18))):
        rows.append({
            "record_id": draw(st.sampled_from([f"R{i:02d}", f"{i}", f"x{i}"])),
            "household": draw(st.sampled_from(["H1", "H2", "H3", "H1", "H9"])),
            "person": draw(st.sampled_from(["张三", "李四", "张三", ""])),
            "date": draw(st.sampled_from(DAYS)),
            "activity": draw(st.sampled_from(ACTIVITIES + ["戊"])),
            "quantity": draw(st.sampled_from(["1", "2", "0.5", "3", "4.0", ""])),
            # 特优: outside the field's allowed values (the record is invalid, not dropped)
            "grade": draw(st.sampled_from(GRADES + ["", "特优"])),
        })
    return rows


HEADERS = {"record_id": "记录编号", "household": "户号", "person": "成员", "date": "日期",
           "activity": "事项", "quantity": "数量", "grade": "等级"}


def write_records(path: Path, rows: list[dict[str, str]], *, person: bool) -> None:
    cols = [c for c in HEADERS if (person or c != "person")]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([HEADERS[c] for c in cols])
        for r in rows:
            w.writerow([r[c] for c in cols])


def write_households(path: Path, households: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["户号", "户主", "网格"])
        for i, h in enumerate(households):
            w.writerow([h, f"户主{i}", f"第{i % 2 + 1}网格"])


PERIODS = ["2024", "2024-Q1", "2024-Q2", "2024-02", "2024-03", "2024-12"]


@settings(max_examples=45, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rule_files(), record_rows(), st.sampled_from(PERIODS), st.booleans())
def test_reference_and_fast_agree_through_files_and_database(text, rows, period_text, register):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rules_path = tmp / "rules.yaml"
        rules_path.write_text(text, encoding="utf-8")
        ruleset = load_ruleset(rules_path)
        person = ruleset.unit == "person"
        period = parse_period(period_text)
        records_path = tmp / "records.csv"
        paths = {"records_path": str(records_path)}
        if register:
            write_households(tmp / "households.csv", ["H1", "H2", "H3"])
            paths["households_path"] = str(tmp / "households.csv")
        write_records(records_path, rows, person=person)

        # the records as a file
        from_file, fast_file = both(ruleset, period, **paths)
        assert_same(from_file, fast_file)
        assert summary(totals_only(ruleset, period, **paths)) == summary(from_file)

        # the same file imported into a village database
        db = tmp / "village.db"
        # imported under an earlier version of the rule file, which allowed 特优 (the import
        # refuses values a rule file does not allow)
        earlier = tmp / "earlier.yaml"
        earlier.write_text(text.replace("values: [优, 良, 差]", "values: [特优, 优, 良, 差]"),
                           encoding="utf-8")
        blank = [i + 2 for i, r in enumerate(rows) if person and not r["person"]]
        with open_store(db) as store:
            if register:
                import_households(store, paths["households_path"], ruleset)
            if blank:
                # the import refuses blank person cells, naming each row (nothing imported);
                # the file's other rows are imported and compared with that file read directly
                with pytest.raises(InputError) as info:
                    import_records(store, records_path, load_ruleset(earlier))
                assert {(d.line, d.column) for d in info.value.diagnostics
                        if d.code == "E-TABLE-REQUIRED"} == {(line, "成员") for line in blank}
                assert store.count("records") == 0
                rows = [r for r in rows if r["person"]]
                if not rows:
                    return
                write_records(records_path, rows, person=person)
                from_file = both(ruleset, period, **paths)[0]
            import_records(store, records_path, load_ruleset(earlier))
        from_db, fast_db = both(ruleset, period, db_path=str(db))
        assert_same(from_db, fast_db)
        assert summary(totals_only(ruleset, period, db_path=str(db))) == summary(from_db)
        assert_same(from_file, from_db)


# -- pinned cases -------------------------------------------------------------------------------

REPRO = """record_id,household,date,activity,quantity,grade
V1,JG001,2024-03-02,志愿服务,2,特优
V2,JG001,2024-03-03,志愿服务,2,
"""


def test_a_value_outside_the_allowed_values_is_invalid_under_every_engine(tmp_path):
    """The issue's repro: V1's grade 特优 is not one of 等级's values; every engine lists it as
    invalid (with its row) and scores only V2."""
    records = tmp_path / "that.csv"
    records.write_text(REPRO, encoding="utf-8")
    households = tmp_path / "hh.csv"
    households.write_text("户号,户主,网格\nJG001,张大山,第1网格\n", encoding="utf-8")
    seen = []
    for engine in ("reference", "fast", "auto"):
        village = Village(tmp_path / "unused.db", JINGOU, records=records,
                          households=households, engine=engine)
        ev = village.evaluate("2024-03", save=False)
        assert ev.result("JG001").total == 4
        assert [(i.record_id, i.row, i.diagnostic.code) for i in ev.invalid] == [
            ("V1", 2, "E-EVAL-NOT-ALLOWED")]
        seen.append(summary(ev))
    assert seen[0] == seen[1] == seen[2]


VETO_RULES = """xiangyue: 1
village: 测试村
name: 否决
version: "1"
fields:
  - id: activity
    label: 事项
    type: text
  - id: grade
    label: 等级
    type: text
    values: [优, 良, 差]
categories:
  - id: c1
rules:
  - id: fishing
    category: c1
    when: 事项 == "电鱼"
    points: -5
    veto: year
  - id: help
    category: c1
    when: 事项 == "帮扶"
    points: 1
"""


def test_an_invalid_record_after_the_period_vetoes_nobody(tmp_path):
    """R2 (April, grade 特优: not an allowed value) is invalid: it cannot veto H1 in a Q1
    report, under either engine (the reference evaluator used to let it veto)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(VETO_RULES, encoding="utf-8")
    records = tmp_path / "records.csv"
    records.write_text("记录编号,户号,日期,事项,等级\nR1,H1,2024-01-02,帮扶,优\n"
                       "R2,H1,2024-04-01,电鱼,特优\n", encoding="utf-8")
    ruleset = load_ruleset(rules)
    period = parse_period("2024-Q1")
    want, got = both(ruleset, period, records_path=str(records))
    assert [(r.household, r.total, r.vetoed) for r in want.results] == [("H1", 1, False)]
    assert_same(want, got)
    # reported in its own period, R2 is listed as invalid and vetoes nobody either
    want, got = both(ruleset, parse_period("2024"), records_path=str(records))
    assert [(r.household, r.total, r.vetoed) for r in want.results] == [("H1", 1, False)]
    assert [i.record_id for i in want.invalid] == ["R2"]
    assert_same(want, got)


def imported_under_an_earlier_rule_file(tmp_path: Path) -> tuple[Path, Path]:
    """The repro's records (file, database) imported while 等级 still allowed 特优."""
    records = tmp_path / "that.csv"
    records.write_text(REPRO, encoding="utf-8")
    text = JINGOU.read_text(encoding="utf-8")
    assert "values: [优, 良, 差]" in text
    earlier = tmp_path / "earlier.yaml"
    earlier.write_text(text.replace("values: [优, 良, 差]", "values: [特优, 优, 良, 差]"),
                       encoding="utf-8")
    db = tmp_path / "village.db"
    with open_store(db) as store:
        import_records(store, records, load_ruleset(earlier))
    return records, db


def test_a_stored_value_the_rule_file_no_longer_allows_is_invalid(tmp_path):
    """The repro's records imported while 等级 still allowed 特优, evaluated after the rule
    file dropped it: V1 is listed as invalid (placed at its imported row) under every engine,
    as when the same file is read directly."""
    records, db = imported_under_an_earlier_rule_file(tmp_path)
    ruleset = load_ruleset(JINGOU)
    period = parse_period("2024-03")
    from_file, _ = both(ruleset, period, records_path=str(records))
    want, got = both(ruleset, period, db_path=str(db))
    for ev in (want, got):
        assert ev.result("JG001").total == 4
        assert [(i.record_id, i.file, i.row, i.diagnostic.code) for i in ev.invalid] == [
            ("V1", from_file.invalid[0].file, 2, "E-EVAL-NOT-ALLOWED")]
    assert_same(want, got)
    assert_same(from_file, want)


def test_explain_and_balance_read_the_database_as_the_run_does(tmp_path):
    """The same stored records as above (V1's 特优 imported under the earlier rule file):
    one household's story (explain, passbook) and its market balance read the database through
    the same marking, so V1 is listed as invalid there too and earns nothing."""
    from xiangyue.points.market import balances

    _, db = imported_under_an_earlier_rule_file(tmp_path)
    for engine in ("reference", "fast"):
        village = Village(db, JINGOU, engine=engine)
        run = village.evaluate("2024-03", save=False)
        story = village.explain("JG001", "2024-03")
        assert story.total == run.result("JG001").total == 4
        assert [(i.kind, i.record_id, i.diagnostic.code) for i in story.issues] == [
            ("invalid", "V1", "E-EVAL-NOT-ALLOWED")]
        assert [rec["record_id"] for rec, _ in story.records] == ["V2"]
    ruleset = load_ruleset(JINGOU)
    with open_store(db) as store:
        [balance] = balances(store, ruleset, day=parse_period("2024-03").end,
                             household="JG001")
    assert balance.earned == 4
