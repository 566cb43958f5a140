"""The fast path (columnar) against the straightforward evaluator: same totals, vetoes, listed
records and ledger, on generated rule files and records (every limit, at its boundaries) and on
the reference village read from a database."""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from xiangyue.errors import XiangyueError  # noqa: E402
from xiangyue.points import evaluate as door  # noqa: E402
from xiangyue.points.columnar.evaluate import Unsupported, compile_plan  # noqa: E402
from xiangyue.points.inputs import Inputs, stored_records  # noqa: E402
from xiangyue.periods import parse_period  # noqa: E402
from xiangyue.rules.pipeline import load_ruleset  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"
DATA = Path(__file__).resolve().parent / "evaluate"
D = Decimal


def evaluate(rs, records, households, period, *, with_ledger=True, presorted=False):
    """The reference evaluator through the one door."""
    return door.evaluate(rs, Inputs(records, households, presorted), period, engine="reference",
                         with_ledger=with_ledger)


def evaluate_with_engine(rs, source, period, households=None, *, engine="auto", with_ledger=False):
    """The door with an engine choice; ``source``: records or an open store."""
    if hasattr(source, "conn"):
        inputs = Inputs(stored_records(source, rs, period), households, True, source)
    else:
        inputs = Inputs(source, households)
    ev = door.evaluate(rs, inputs, period, engine=engine, with_ledger=with_ledger)
    return ev, ev.engine


def evaluate_totals(rs, source, period, households=None, *, engine="auto", with_ledger=False):
    return evaluate_with_engine(rs, source, period, households, engine=engine,
                                with_ledger=with_ledger)[0]


def summary(ev):
    return {
        "results": [(r.household, r.person, r.total, r.vetoed, r.by_rule, r.by_category,
                     r.vetoes, r.earned, r.deducted, r.base, r.records, r.last_date) for r in ev.results],
        "unmatched": ev.unmatched,
        "not_covered": ev.not_covered,
        "invalid": ev.invalid,
        "unknown": ev.unknown_households,
        "pending": ev.pending,
        "counts": (ev.record_count, ev.replayed),
    }


def assert_same(rs, records, period, households=None, ledger=True):
    want = evaluate(rs, records, households, period, with_ledger=ledger)
    got, choice = evaluate_with_engine(rs, records, period, households, engine="fast",
                                       with_ledger=ledger)
    assert choice.engine == "fast"
    assert summary(got) == summary(want)
    if ledger:
        assert got.ledger == want.ledger
        assert [e.reasons for e in got.ledger] == [e.reasons for e in want.ledger]
        assert [e.record for e in got.ledger] == [e.record for e in want.ledger]
        # entries built one at a time (by index, from either end, by slice) are the same
        n = len(want.ledger)
        assert [got.ledger[i] for i in range(n)] == want.ledger
        assert [got.ledger[-i] for i in range(1, n + 1)] == want.ledger[::-1]
        assert got.ledger[1:n:2] == want.ledger[1:n:2]


# -- generated rule files ---------------------------------------------------------------------

ACTIVITIES = ["甲", "乙", "丙", "丁"]
AMOUNTS = ["1", "2", "3", "0.5", "1.5", "5", "-1", "-2", "-0.5", "-3"]
LIMITS = ["1", "2", "3", "4", "5", "0.5", "2.5", "10"]
PERS = ["month", "quarter", "year"]
LPERS = ["day", "week", "month", "quarter", "year", "周", "天", "ever", "累计"]  # limits count in
VPERS = [p for p in LPERS if p not in ("ever", "累计")]  # what a veto counts in
_EVER = {"ever", "累计"}
_NESTS = {"day": set(LPERS), "天": set(LPERS), "week": {"week", "周"} | _EVER,
          "周": {"week", "周"} | _EVER, "month": {"month", "quarter", "year"} | _EVER,
          "quarter": {"quarter", "year"} | _EVER, "year": {"year"} | _EVER, "ever": _EVER,
          "累计": _EVER}


@st.composite
def rule_files(draw):
    lines = [
        "xiangyue: 1", "village: 测试村", "name: 测试细则", 'version: "1"',
        f"matching: {draw(st.sampled_from(['all', 'all', 'first']))}",
    ]
    if draw(st.booleans()):
        lines += ["effective:", "  from: 2024-01-10", "  until: 2024-11-30"]
    default = draw(st.sampled_from(["", "    default: 1"]))
    lines += [
        "fields:",
        "  - id: activity", "    label: 事项", "    type: text",
        "  - id: quantity", "    label: 数量", "    type: decimal",
    ]
    if default:
        lines.append(default)
    lines += ["  - id: grade", "    label: 等级", "    type: text", "    values: [优, 良, 差]"]
    if draw(st.integers(0, 3)) == 0:  # a file-level filter: the others are pending
        lines.append("counted_when: " + draw(st.sampled_from(
            ["'等级 != \"差\"'", "数量 >= 1", "'数量 × 2 > 1 或 等级 == \"优\"'"])))
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"base: {{points: {draw(st.sampled_from(['60', '1.5']))}, "
                     f"per: {draw(st.sampled_from(PERS))}}}")
    tables = draw(st.booleans())
    if tables:  # named tables, read with 查表
        lines += ["tables:",
                  "  - {id: 等级分, entries: {优: 5, 良: 1.5}" + draw(st.sampled_from(["", ", default: -1"])) + "}",
                  "  - {id: 数量分, keys: number, entries: {1: 2, 2: 3.5, 0.5: 1}, default: 0}"]
    lines.append("categories:")
    # a rule's limit is counted over a period nested in its category's (the fast path refuses
    # the other case: tests/test_rulebook.py checks the fallback)
    # (a category limit's period or None) per sign: a rule's count limit only where its
    # category has no limit of that sign
    cat_pers: dict[str, tuple[str | None, str | None]] = {}
    for cat in ("c1", "c2"):
        lines.append(f"  - id: {cat}")
        pos_per = neg_per = None
        if draw(st.booleans()):
            pos_per = draw(st.sampled_from(LPERS))
            lines.append(f"    limit: {{max: {draw(st.sampled_from(LIMITS))}, per: {pos_per}}}")
        if draw(st.booleans()):
            neg_per = draw(st.sampled_from(LPERS))
            lines.append(f"    deduction_limit: {{max: {draw(st.sampled_from(LIMITS))}, "
                         f"per: {neg_per}}}")
        cat_pers[cat] = (pos_per, neg_per)

    def rule_limit(key: str, outer: str | None) -> str:
        per = draw(st.sampled_from([p for p in LPERS if outer is None or outer in _NESTS[p]]))
        if outer is None and draw(st.booleans()):
            if draw(st.booleans()):  # a chain of count limits: per day, then a longer period
                first = draw(st.sampled_from(["day", "天"]))
                then = draw(st.sampled_from(["week", "month", "year", "ever"]))
                return (f"    {key}: [{{times: {draw(st.integers(2, 4))}, per: {then}}}, "
                        f"{{times: {draw(st.integers(1, 2))}, per: {first}}}]")
            return f"    {key}: {{times: {draw(st.integers(1, 3))}, per: {per}}}"
        return f"    {key}: {{max: {draw(st.sampled_from(LIMITS))}, per: {per}}}"
    lines.append("rules:")
    for i in range(draw(st.integers(1, 4))):
        act = draw(st.sampled_from(ACTIVITIES))
        when = f'事项 == "{act}"'
        extra = draw(st.sampled_from(["", "", " 且 数量 >= 2", " or 等级 == \"优\"",
                                      ' and 数量 < 3', ' and not (等级 in ["差"])']))
        when += extra
        cat = draw(st.sampled_from(['c1', 'c2']))
        lines += [f"  - id: r{i}", f"    category: {cat}", f"    when: '{when}'"]
        kind = draw(st.sampled_from(["const", "qty", "lookup", "cond", "esc", "minmax"]
                                    + (["table"] if tables else [])))
        if kind == "const":
            lines.append(f"    points: {draw(st.sampled_from(AMOUNTS))}")
        elif kind == "qty":
            lines.append(f"    points: {draw(st.sampled_from(AMOUNTS))} × 数量")
        elif kind == "lookup":
            dflt = draw(st.sampled_from(["", ', 否则 → 0']))
            lines.append(f'    points: \'按 等级 {{"优" → 5, "良" → 1.5, "差" → -3{dflt}}}\'')
        elif kind == "cond":
            lines.append("    points: '如果 数量 > 2 则 数量 - 1 否则 -1'")
        elif kind == "table":
            lines.append(draw(st.sampled_from(["    points: '查表(等级分, 等级)'",
                                               "    points: 'lookup(数量分, 数量) - 1'"])))
        elif kind == "minmax":
            lines.append("    points: 'min(数量, 3) + max(round(数量 × 0.5), 1)'")
        if kind == "esc":
            steps = draw(st.lists(st.sampled_from(AMOUNTS), min_size=1, max_size=3))
            lines.append(f"    escalation: {{steps: [{', '.join(steps)}], per: {draw(st.sampled_from(LPERS))}}}")
        elif draw(st.integers(0, 3)) == 0:
            lines.append(f"    once: {draw(st.sampled_from(LPERS))}")
        if draw(st.integers(0, 3)) == 0:
            lines.append(f"    highest_only: {draw(st.sampled_from(LPERS))}")
        if draw(st.booleans()):
            lines.append(rule_limit("limit", cat_pers[cat][0]))
        if draw(st.booleans()):
            lines.append(rule_limit("deduction_limit", cat_pers[cat][1]))
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"    veto: {draw(st.sampled_from(VPERS))}")
    return "\n".join(lines) + "\n"


DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=d) for d in
        (-400, -200, -3, -1, 0, 1, 9, 10, 30, 31, 45, 59, 60, 89, 90, 91, 120, 180, 300, 334, 335, 365, 366)]


@st.composite
def record_sets(draw):
    n = draw(st.integers(0, 40))
    recs = []
    for i in range(n):
        recs.append({
            "record_id": draw(st.sampled_from([f"{i:03d}", f"{i}", f"x{i % 3}"])),
            "household": draw(st.sampled_from(["H1", "H2", "H3", "H1"])),
            "date": draw(st.sampled_from(DAYS)),
            "activity": draw(st.sampled_from(ACTIVITIES + ["戊"])),
            "quantity": draw(st.sampled_from([D("1"), D("2"), D("0.5"), D("1.5"), D("3"),
                                              D("4.0"), None])),
            "grade": draw(st.sampled_from(["优", "良", "差", None])),
        })
    return recs


_CACHE: dict[str, object] = {}


def _ruleset(text: str):
    rs = _CACHE.get(text)
    if rs is None:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "rules.yaml"
            p.write_text(text, encoding="utf-8")
            rs = _CACHE[text] = load_ruleset(p)
    return rs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files(), record_sets(),
       st.sampled_from(["2024", "2024-Q1", "2024-Q2", "2024-02", "2024-03", "2024-12"]),
       st.sampled_from([None, ["H1", "H2"]]))
def test_fast_path_agrees_with_the_reference(text, records, period, register):
    rs = _ruleset(text)
    households = None if register is None else [{"household": h} for h in register]
    assert_same(rs, records, parse_period(period), households)


# -- limits at their boundaries, worked by hand --------------------------------------------------


def rec(rid, hh, day, activity, quantity="1", grade=None):
    return {"record_id": rid, "household": hh, "date": dt.date.fromisoformat(day),
            "activity": activity, "quantity": D(quantity), "grade": grade,
            "level": None, "recorded_by": None, "note": None}


def test_jingou_caps_at_the_boundary():
    rs = load_ruleset(JINGOU)
    records = [
        # volunteer: 2 × 2.5 = 5, twice = 10 (exactly the cap), then 0
        rec("a1", "H1", "2024-03-01", "志愿服务", "2.5"),
        rec("a2", "H1", "2024-03-02", "志愿服务", "2.5"),
        rec("a3", "H1", "2024-03-03", "志愿服务", "0.5"),
        # sorting: 0.5 × 3 = 1.5 exactly, cap 5 crossed by the fourth
        *[rec(f"s{i}", "H2", "2024-03-04", "垃圾分类", "3") for i in range(4)],
        # litter: at most 20 deducted: the fifth takes nothing
        *[rec(f"l{i}", "H3", "2024-04-0" + str(i + 1), "乱扔垃圾") for i in range(5)],
        rec("f1", "H3", "2024-02-01", "违反禁渔"),
        rec("c1", "H2", "2024-03-05", "庭院检查", grade="差"),
        rec("c2", "H2", "2024-03-06", "庭院检查", grade="优"),
    ]
    period = parse_period("2024-Q1")
    ev = evaluate_totals(rs, records, period, engine="fast")
    by = {r.household: r for r in ev.results}
    assert by["H1"].by_rule["volunteer"] == D("10")
    assert "volunteer_long" not in by["H1"].by_rule  # no record has 4 hours
    assert by["H2"].by_rule["sorting"] == D("5")
    assert by["H2"].by_rule["courtyard"] == D("-3")  # once: the first check counts
    assert by["H3"].vetoed
    q2 = evaluate_totals(rs, records, parse_period("2024-Q2"), engine="fast")
    assert {r.household: r for r in q2.results}["H3"].by_rule["litter"] == D("-20")
    assert_same(rs, records, period)
    assert_same(rs, records, parse_period("2024-Q2"))
    assert_same(rs, records, parse_period("2024"))


def test_points_are_exact_decimals():
    rs = load_ruleset(JINGOU)
    records = [rec("r1", "H1", "2024-05-01", "垃圾分类", "3")]
    ev = evaluate_totals(rs, records, parse_period("2024-05"), engine="fast")
    assert ev.results[0].total == D("1.5")
    assert str(ev.results[0].total) == "1.5"


def test_unsupported_rule_files_fall_back_to_the_reference():
    text = JINGOU.read_text(encoding="utf-8").replace("points: 2 × 数量", "points: 数量 / 3")
    rs = _ruleset(text)
    with pytest.raises(Unsupported):
        compile_plan(rs)
    records = [rec("r1", "H1", "2024-05-01", "志愿服务", "1")]
    ev, choice = evaluate_with_engine(rs, records, parse_period("2024-05"))
    assert choice.engine == "reference"
    assert "division" in choice.reason
    assert ev.results[0].by_rule["volunteer"] == evaluate(
        rs, records, None, parse_period("2024-05")).results[0].by_rule["volunteer"]


def test_too_many_decimal_places_fall_back():
    rs = load_ruleset(JINGOU)
    records = [rec("r1", "H1", "2024-05-01", "垃圾分类", "0.0000000001")]
    with pytest.raises(XiangyueError) as err:
        evaluate_totals(rs, records, parse_period("2024-05"), engine="fast")
    assert err.value.diagnostics[0].code == "E-ENGINE-UNSUPPORTED"
    ev, choice = evaluate_with_engine(rs, records, parse_period("2024-05"))
    assert choice.engine == "reference"
    assert ev.results[0].total == D("5E-11")


# -- from the village database -----------------------------------------------------------------


def test_database_source_agrees(tmp_path):
    pytest.importorskip("adbc_driver_sqlite")
    from xiangyue.data.ingest import import_households, import_records
    from xiangyue.data.store import open_store

    rs = load_ruleset(JINGOU)
    store = open_store(tmp_path / "v.db")
    try:
        import_households(store, DATA / "households.csv", rs)
        import_records(store, DATA / "records.csv", rs)
        households = store.households()
        for p in ("2024", "2024-Q1", "2024-03", "2024-Q2"):
            period = parse_period(p)
            records = list(stored_records(store, rs, period))  # as `xiangyue evaluate` reads
            want = evaluate(rs, records, households, period, presorted=True)
            got, choice = evaluate_with_engine(rs, store, period, households, engine="fast",
                                               with_ledger=True)
            assert choice.engine == "fast"
            assert summary(got) == summary(want)
            assert got.ledger == want.ledger
            assert [e.record for e in got.ledger] == [e.record for e in want.ledger]
    finally:
        store.close()


def test_a_later_veto_marks_the_whole_year():
    rs = load_ruleset(JINGOU)
    records = [rec("a", "H1", "2024-02-01", "志愿服务"), rec("b", "H1", "2024-07-09", "违反禁渔"),
               rec("c", "H2", "2024-03-01", "志愿服务")]
    q1 = parse_period("2024-Q1")
    ev = evaluate_totals(rs, records, q1, engine="fast")
    by = {r.household: r for r in ev.results}
    assert by["H1"].vetoed and not by["H2"].vetoed
    assert by["H1"].total == D("2")  # the July record is not summed in Q1
    assert_same(rs, records, q1)


def test_database_a_later_veto_and_a_long_ledger(tmp_path, monkeypatch):
    """From the database: a veto record after the reported period marks the household for
    the year (read and tested against the veto rules only); a ledger longer than one chunk
    of the lazy ledger, read in order and by index."""
    pytest.importorskip("adbc_driver_sqlite")
    import csv

    from xiangyue.points.columnar.ledger import LazyLedger
    from xiangyue.data.ingest import import_records
    from xiangyue.data.store import open_store

    monkeypatch.setattr(LazyLedger, "CHUNK", 100)
    rs = load_ruleset(JINGOU)
    path = tmp_path / "records.csv"
    acts = ["志愿服务", "垃圾分类", "乱扔垃圾", "庭院检查", "参加坝坝会"]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["记录编号", "户号", "日期", "事项", "数量", "等级"])
        for i in range(3000):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=(i * 7) % 200)
            act = acts[i % len(acts)]
            w.writerow([f"R{i:05d}", f"H{i % 7}", day.isoformat(), act,
                        "2.5" if act != "庭院检查" else "", "优" if act == "庭院检查" else ""])
        w.writerow(["V1", "H1", "2024-07-09", "违反禁渔", "", ""])  # after Q1 and Q2
        w.writerow(["V2", "H2", "2025-01-02", "违反禁渔", "", ""])  # another year
        w.writerow(["V3", "H3", "2024-03-31", "违反禁渔", "", ""])
    store = open_store(tmp_path / "v.db")
    try:
        import_records(store, path, rs)
        for p in ("2024-Q1", "2024-Q2", "2024-03", "2024"):
            period = parse_period(p)
            want = evaluate(rs, list(stored_records(store, rs, period)), None, period,
                            presorted=True)
            got, choice = evaluate_with_engine(rs, store, period, None, engine="fast",
                                               with_ledger=True)
            assert choice.engine == "fast"
            assert summary(got) == summary(want)
            assert isinstance(got.ledger, LazyLedger)
            assert len(got.ledger) > 4 * LazyLedger.CHUNK
            assert got.ledger == want.ledger
            assert [e.record for e in got.ledger] == [e.record for e in want.ledger]
            for i in (0, 1, len(want.ledger) // 2, len(want.ledger) - 1, -1):
                assert got.ledger[i] == want.ledger[i]
            by = {r.household: r for r in got.results}
            assert by["H1"].vetoed and by["H3"].vetoed and not by["H2"].vetoed
    finally:
        store.close()


def test_lazy_ledger_chunks(monkeypatch):
    """Entries built a chunk at a time: chunk edges fall between records, never inside one."""
    from xiangyue.points.columnar.ledger import LazyLedger

    monkeypatch.setattr(LazyLedger, "CHUNK", 3)
    rs = load_ruleset(JINGOU)
    records = [rec(f"r{i:02d}", f"H{i % 3}", f"2024-0{1 + i % 6}-1{i % 9}",
                   ["志愿服务", "垃圾分类", "庭院检查"][i % 3], "4", "优") for i in range(40)]
    for p in ("2024", "2024-Q2"):
        assert_same(rs, records, parse_period(p))


def test_evaluate_period_engine_option(tmp_path):
    """`xiangyue evaluate --engine auto|fast` gives what the reference gives."""
    pytest.importorskip("adbc_driver_sqlite")
    from xiangyue import Village
    from xiangyue.data.ingest import import_households, import_records
    from xiangyue.data.store import open_store

    rs = load_ruleset(JINGOU)
    db = tmp_path / "v.db"
    store = open_store(db)
    import_households(store, DATA / "households.csv", rs)
    import_records(store, DATA / "records.csv", rs)
    store.close()
    want = Village(db, JINGOU, engine="reference").evaluate("2024-Q1", save=False)
    for engine in ("auto", "fast"):
        got = Village(db, JINGOU, engine=engine).evaluate("2024-Q1", save=False)
        assert summary(got) == summary(want)
        assert got.ledger == want.ledger


def test_database_read_in_many_small_batches(tmp_path, monkeypatch):
    """Rows read by two threads in batches of a few rows: each batch's row ids are ranked in
    (date, record_id) order as it arrives (the records are imported out of date order), the
    pieces joined; the same results and ledger as the reference."""
    pytest.importorskip("adbc_driver_sqlite")
    import functools

    from xiangyue.points.columnar import evaluate as fastpath
    from xiangyue.points.columnar.load import load_store
    from xiangyue.data.ingest import import_households, import_records
    from xiangyue.data.store import open_store

    monkeypatch.setattr(fastpath, "load_store", functools.partial(load_store, batch_rows=3))
    rs = load_ruleset(JINGOU)
    lines = (DATA / "records.csv").read_text(encoding="utf-8").splitlines()
    shuffled = tmp_path / "records.csv"
    shuffled.write_text("\n".join([lines[0]] + lines[1:][::-1]) + "\n", encoding="utf-8")
    store = open_store(tmp_path / "v.db")
    try:
        import_households(store, DATA / "households.csv", rs)
        import_records(store, shuffled, rs)
        households = store.households()
        for p in ("2024", "2024-03"):
            period = parse_period(p)
            records = list(stored_records(store, rs, period))
            want = evaluate(rs, records, households, period, presorted=True, with_ledger=True)
            for ledger in (False, True):
                got, choice = evaluate_with_engine(rs, store, period, households,
                                                   engine="fast", with_ledger=ledger)
                assert choice.engine == "fast"
                assert summary(got) == summary(want)
                if ledger:
                    assert got.ledger == want.ledger
    finally:
        store.close()


@pytest.mark.parametrize("years", [1, 100])  # 100 years of days: too many for 16-bit keys
def test_records_sorted_by_household_date_and_record_id_whatever_their_span(years):
    """The columnar sort of records that do not come in date order (a file) puts them in
    (household, date, record_id as text, file order) order, by 16-bit passes or one sort."""
    import random

    from xiangyue.points.columnar.evaluate import _sort_order
    from xiangyue.points.columnar.load import load_records

    rnd = random.Random(years)
    start = dt.date(1950, 1, 1)
    records = [{"record_id": f"R{rnd.randrange(40)}", "household": f"H{rnd.randrange(5)}",
                "date": start + dt.timedelta(days=rnd.randrange(3) * 365 * years // 2),
                "activity": "志愿服务"} for _ in range(300)]
    fields = load_ruleset(JINGOU).fields
    cols = load_records(records, fields, set(), False, start, dt.date(2100, 1, 1))
    order = _sort_order(cols, cols.household).tolist()
    # households compared by their codes: the order of their first appearance
    first_seen = {h: i for i, h in reversed(list(enumerate(r["household"] for r in records)))}
    expected = sorted(range(len(records)), key=lambda i: (
        first_seen[records[i]["household"]], records[i]["date"], records[i]["record_id"], i))
    assert order == expected


def test_running_sums_and_caps_within_runs():
    """Running sums restart at each run; a cap of 5 per run gives what is left of it."""
    import numpy as np

    from xiangyue.points.columnar.evaluate import _clamp, _seg_cumsum

    amount = np.array([3, 4, 2, 6, 1, 0, 5], dtype=np.int64)
    starts = np.array([True, False, False, True, False, True, False])
    # runs: [3, 4, 2] [6, 1] [0, 5]
    assert _seg_cumsum(amount, starts).tolist() == [3, 7, 9, 6, 7, 0, 5]
    got, before = _clamp(amount, starts, 5)
    assert got.tolist() == [3, 2, 0, 5, 0, 0, 5]
    assert before.tolist() == [0, 3, 5, 0, 5, 0, 0]
    assert _seg_cumsum(amount[:0], starts[:0]).tolist() == []


@pytest.mark.parametrize("slice_rows", [1, 3, 7, 1 << 20])
def test_stable_order_of_small_keys_slice_by_slice(monkeypatch, slice_rows):
    """Placing rows by counts, a slice at a time, gives the stable sort's order."""
    import random

    import numpy as np

    from xiangyue.points.columnar import evaluate as ev

    monkeypatch.setattr(ev, "ORDER_SLICE", slice_rows)
    assert ev._stable_order_small(np.array([2, 0, 2, 1, 0], dtype=np.int16)).tolist() == \
        [1, 4, 3, 0, 2]
    rnd = random.Random(slice_rows)
    keys = np.array([rnd.randrange(6) for _ in range(500)], dtype=np.int16)
    assert ev._stable_order_small(keys).tolist() == np.argsort(keys, kind="stable").tolist()
    assert ev._stable_order_small(keys[:0]).tolist() == []
