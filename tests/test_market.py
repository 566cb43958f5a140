"""积分超市: balances and every refusal, on the reference rule file and the fixture tables of
``tests/boards/`` (Q1 totals worked by hand in tests/test_boards.py)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from xiangyue.errors import InputError
from xiangyue.data.ingest import import_households, import_records
from xiangyue.points.market import (MarketError, balance_of, balances, import_redemptions,
                             list_redemptions, redeem)
from xiangyue.rules.pipeline import load_ruleset
from xiangyue.data.store import open_store

D = Decimal
HERE = Path(__file__).parent
JINGOU = HERE.parent / "rulesets" / "examples" / "jingou.yaml"
RECORDS = HERE / "boards" / "records.csv"
HOUSEHOLDS = HERE / "boards" / "households.csv"
day = dt.date.fromisoformat


@pytest.fixture(scope="module")
def jingou():
    return load_ruleset(JINGOU)


@pytest.fixture
def db(tmp_path, jingou):
    path = tmp_path / "village.db"
    with open_store(path) as store:
        import_households(store, HOUSEHOLDS, jingou)
        import_records(store, RECORDS, jingou)
    return str(path)


@pytest.fixture
def store(db):
    s = open_store(db, create=False)
    yield s
    s.close()


def count(store):
    return len(list_redemptions(store))


def refused(exc_info, code):
    d = exc_info.value.diagnostics[0]
    assert d.code == code, d
    return d


# -- balances ---------------------------------------------------------------------------------

def test_balance_is_awarded_so_far(store, jingou):
    # A01: R001 市级 15 (01-10), R002 孝老爱亲 5 (02-01)
    assert balance_of(store, jingou, "A01", day("2024-01-09")).earned == 0
    assert balance_of(store, jingou, "A01", day("2024-01-31")).earned == 15
    assert balance_of(store, jingou, "A01", day("2024-02-01")).earned == 20
    # A02: 15 in Q1, + 省级 20 on 04-02
    assert balance_of(store, jingou, "A02", day("2024-04-01")).earned == 15
    b = balance_of(store, jingou, "A02", day("2024-04-02"))
    assert (b.earned, b.spent, b.available, b.may_redeem) == (35, 0, 35, True)


def test_balances_of_every_household(store, jingou):
    rows = balances(store, jingou, day=day("2024-06-30"))
    assert len(rows) == 19
    by = {b.household: b for b in rows}
    assert by["A10"].earned == 0 and by["A10"].may_redeem  # 0 is not below min_total 0
    assert not by["A08"].may_redeem and by["A08"].reason.code == "E-MARKET-MIN-TOTAL"
    assert not by["A07"].may_redeem and by["A07"].reason.code == "E-MARKET-VETOED"
    assert by["A01"].to_json()["available"] == 20


# -- redeeming --------------------------------------------------------------------------------

def test_redeem_spends_and_refuses_above_balance(store, jingou):
    r = redeem(store, jingou, "A01", "肥皂", qty=2, day=day("2024-04-03"), redemption_id="X1")
    assert (r.status, r.redemption.cost, r.balance_before, r.balance_after) == ("added", 10, 20, 10)
    with pytest.raises(MarketError) as err:
        redeem(store, jingou, "A01", "bucket", day=day("2024-04-03"))
    d = refused(err, "E-MARKET-BALANCE")
    assert d.message("zh") == "余额不足：可用 10 分，需要 20 分"
    assert d.hint("zh") == "户 A01：已得 20 分，已兑换 10 分（累计）"
    assert d.message("en") == "balance too low: 10 points available, 20 needed"
    assert err.value.kind == "refused"
    assert count(store) == 1  # nothing recorded
    # exactly the balance is allowed, then nothing is left
    r = redeem(store, jingou, "A01", "洗衣液", day=day("2024-04-04"))
    assert r.balance_after == 0
    with pytest.raises(MarketError) as err:
        redeem(store, jingou, "A01", "肥皂", day=day("2024-04-05"))
    assert refused(err, "E-MARKET-BALANCE").message("zh") == "余额不足：可用 0 分，需要 5 分"
    assert balance_of(store, jingou, "A01", day("2024-04-05")).spent == 20


def test_points_not_yet_awarded_cannot_be_spent(store, jingou):
    with pytest.raises(MarketError) as err:
        redeem(store, jingou, "A02", "水桶", day=day("2024-04-01"))
    assert refused(err, "E-MARKET-BALANCE").message("zh") == "余额不足：可用 15 分，需要 20 分"
    assert redeem(store, jingou, "A02", "水桶", day=day("2024-04-02")).balance_after == 15


def test_gate_min_total(store, jingou):
    with pytest.raises(MarketError) as err:
        redeem(store, jingou, "A08", "肥皂", day=day("2024-04-03"))
    d = refused(err, "E-MARKET-MIN-TOTAL")
    assert d.message("zh") == "户 A08 2024 年积分 -13 分，低于兑换门槛 0 分，不能兑换"
    assert count(store) == 0


def test_gate_vetoed(store, jingou):
    with pytest.raises(MarketError) as err:
        redeem(store, jingou, "A07", "肥皂", day=day("2024-04-03"))
    d = refused(err, "E-MARKET-VETOED")
    assert d.message("zh") == "户 A07 2024 年被一票否决（违反长江禁渔，2024-02-15），不能兑换"
    # before the offence the household was not vetoed, but had no points either
    with pytest.raises(MarketError) as err:
        redeem(store, jingou, "A07", "肥皂", day=day("2024-02-14"))
    assert refused(err, "E-MARKET-BALANCE").message("zh") == "余额不足：可用 0 分，需要 5 分"
    assert count(store) == 0


def test_vetoed_may_redeem_when_the_rule_file_says_so(tmp_path, store):
    text = JINGOU.read_text(encoding="utf-8").replace("vetoed_may_redeem: false",
                                                       "vetoed_may_redeem: true")
    path = tmp_path / "lenient.yaml"
    path.write_text(text, encoding="utf-8")
    rs = load_ruleset(path)
    # A07: 禁渔 -20 + 国家级 30 = 10
    assert redeem(store, rs, "A07", "洗衣液", day=day("2024-04-03")).balance_after == 0


def test_unknown_household_item_and_bad_quantity(store, jingou):
    with pytest.raises(InputError) as err:
        redeem(store, jingou, "A011", "肥皂")
    d = refused(err, "E-MARKET-HOUSEHOLD")
    assert d.message("zh") == "户号“A011”不在户籍名册中" and "A01" in d.hint("zh")
    with pytest.raises(InputError) as err:
        redeem(store, jingou, "张一", "肥皂")
    assert refused(err, "E-MARKET-HOUSEHOLD").hint("zh") == "户主 张一 的户号是 A01"
    with pytest.raises(InputError) as err:
        redeem(store, jingou, "A01", "脸 盆")
    d = refused(err, "E-MARKET-ITEM")
    assert d.hint("zh") == "是不是：脸盆？" and d.hint("en") == "did you mean: 脸盆?"
    with pytest.raises(InputError) as err:
        redeem(store, jingou, "A01", "电视机")
    assert "肥皂（soap，5 分）" in refused(err, "E-MARKET-ITEM").hint("zh")
    with pytest.raises(InputError) as err:
        redeem(store, jingou, "A01", "肥皂", qty=0)
    refused(err, "E-MARKET-QTY")
    assert count(store) == 0


def test_same_id_is_idempotent_and_a_different_row_conflicts(store, jingou):
    redeem(store, jingou, "A01", "肥皂", day=day("2024-04-03"), redemption_id="R-1")
    again = redeem(store, jingou, "A01", "soap", day=day("2024-04-03"), redemption_id="R-1")
    assert again.status == "unchanged" and again.balance_after == 15
    with pytest.raises(InputError) as err:
        redeem(store, jingou, "A01", "肥皂", qty=2, day=day("2024-04-03"), redemption_id="R-1")
    refused(err, "E-MARKET-CONFLICT")
    assert count(store) == 1


def test_concurrent_redemptions_cannot_both_spend_the_same_points(db, jingou):
    # A01 has 20 points; two clerks each try to redeem 20 at the same moment
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def clerk(n: int) -> None:
        with open_store(db, create=False) as s:
            barrier.wait()
            try:
                redeem(s, jingou, "A01", "水桶", day=day("2024-04-03"), redemption_id=f"C{n}")
                outcomes.append("added")
            except MarketError as err:
                outcomes.append(err.diagnostics[0].code)

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["E-MARKET-BALANCE", "added"]
    with open_store(db, create=False) as s:
        assert balance_of(s, jingou, "A01", day("2024-04-03")).available == 0


# -- carry-over policies ------------------------------------------------------------------------

@pytest.fixture
def two_years(tmp_path):
    """Z01: 县级表彰 10 on 2024-11-01, 孝老爱亲 5 on 2025-01-10; rule file valid 2024–2025."""
    (tmp_path / "h.csv").write_text("户号,户主,网格\nZ01,甲,第1网格\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text(
        "记录编号,户号,日期,事项,级别\nZ1,Z01,2024-11-01,获得表彰,县级\nZ2,Z01,2025-01-10,孝老爱亲,\n",
        encoding="utf-8")

    def make(policy: str):
        text = JINGOU.read_text(encoding="utf-8").replace("until: 2024-12-31", "until: 2025-12-31")
        text = text.replace("carry_over: keep ", f"carry_over: {policy} ")
        path = tmp_path / f"{policy}.yaml"
        path.write_text(text, encoding="utf-8")
        rs = load_ruleset(path)
        dbp = tmp_path / f"{policy}.db"
        with open_store(dbp) as s:
            import_households(s, tmp_path / "h.csv", rs)
            import_records(s, tmp_path / "r.csv", rs)
        return rs, open_store(dbp, create=False)

    return make


def test_keep_carries_points_across_years(two_years):
    rs, s = two_years("keep")
    with s:
        redeem(s, rs, "Z01", "洗衣液", day=day("2024-12-01"))  # 10 of 10
        b = balance_of(s, rs, "Z01", day("2025-02-01"))
        assert (b.earned, b.spent, b.available) == (15, 10, 5)


def test_yearly_resets_points_and_spending(two_years):
    rs, s = two_years("yearly")
    with s:
        redeem(s, rs, "Z01", "洗衣液", day=day("2024-12-01"))
        b = balance_of(s, rs, "Z01", day("2025-02-01"))
        assert (b.earned, b.spent, b.available) == (5, 0, 5)  # 2024's points and spending gone
        with pytest.raises(MarketError) as err:
            redeem(s, rs, "Z01", "洗衣液", day=day("2025-02-01"))
        assert err.value.diagnostics[0].hint("zh") == "户 Z01：已得 5 分，已兑换 0 分（2025 年内）"


def test_quarterly_resets_after_each_quarter(two_years):
    rs, s = two_years("quarterly")
    with s:
        assert balance_of(s, rs, "Z01", day("2025-03-31")).earned == 5
        with pytest.raises(MarketError) as err:
            redeem(s, rs, "Z01", "肥皂", day=day("2025-04-01"))
        assert err.value.diagnostics[0].message("zh") == "余额不足：可用 0 分，需要 5 分"


# -- bulk import ------------------------------------------------------------------------------

def test_import_is_sequential_all_or_nothing_and_idempotent(tmp_path, store, jingou):
    good = tmp_path / "ok.csv"
    good.write_text("兑换编号,户号,商品,数量,日期\n"
                    "B2,A01,洗衣液,1,2024-04-05\n"   # second by date: 10 of the 15 left
                    "B1,A01,肥皂,1,2024-04-03\n"     # first: 5 of 20
                    "B3,A02,水桶,1,2024-04-02\n",    # A02 has 35 on 04-02
                    encoding="utf-8")
    s = import_redemptions(store, jingou, good)
    assert (s.rows, s.added, s.unchanged) == (3, 3, 0)
    assert balance_of(store, jingou, "A01", day("2024-04-30")).available == 5
    again = import_redemptions(store, jingou, good)
    assert (again.added, again.unchanged) == (0, 3)
    assert count(store) == 3

    bad = tmp_path / "bad.csv"
    bad.write_text("redemption_id,household,item,qty,date\n"
                   "B4,A04,soap,1,2024-04-03\n"        # fine on its own
                   "B5,A01,soap,2,2024-04-06\n"        # A01 has 5 left: 10 is too much
                   "B6,A99,soap,1,2024-04-03\n"        # unknown household
                   "B7,A05,soaps,1,2024-04-03\n"       # unknown item
                   "B8,A08,soap,1,2024-04-03\n"        # A08 is below min_total
                   "B1,A01,肥皂,3,2024-04-03\n",       # B1 is stored with qty 1
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_redemptions(store, jingou, bad)
    got = [(d.line, d.column, d.code) for d in err.value.diagnostics]
    assert got == [(3, "qty", "E-MARKET-BALANCE"), (4, "household", "E-MARKET-HOUSEHOLD"),
                   (5, "item", "E-MARKET-ITEM"), (6, "household", "E-MARKET-MIN-TOTAL"),
                   (7, "redemption_id", "E-MARKET-CONFLICT")]
    assert all(d.file.endswith("bad.csv") for d in err.value.diagnostics)
    assert err.value.diagnostics[0].message("zh") == "余额不足：可用 5 分，需要 10 分"
    assert count(store) == 3  # B4 was not written either


def test_import_reports_bad_cells(tmp_path, store, jingou):
    bad = tmp_path / "cells.csv"
    bad.write_text("兑换编号,户号,商品,数量,日期\nB1,A01,肥皂,两个,2024-04-03\nB2,A01,肥皂,1,2024-13-01\n",
                   encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_redemptions(store, jingou, bad)
    assert [(d.line, d.column) for d in err.value.diagnostics] == [(2, "数量"), (3, "日期")]
    assert count(store) == 0
