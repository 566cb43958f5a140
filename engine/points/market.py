"""积分超市 (points supermarket): balances and redemptions, kept in the village database.

**Balance** (reference page: "all points awarded to it so far minus all points it has spent"),
for a household on a day D, under the rule file's ``market.carry_over``:

* ``keep`` (default): earned = every point awarded from the first record up to D (each
  calendar year evaluated on its own, the year of D up to D); spent = every redemption;
* ``yearly``: points reset each calendar year: earned = awarded from 1 January of D's year
  up to D; spent = redemptions dated in that year;
* ``quarterly``: likewise for D's calendar quarter.

available = earned − spent. Spent counts every redemption of the window, also one dated after
D (a back-dated redemption cannot spend points a later one already spent).

**Gates** (``market:`` in the rule file): a household whose total for D's year up to D is
below ``min_total``, or that is vetoed (一票否决) in D's year up to D (unless
``vetoed_may_redeem``), cannot redeem.

**Redemptions** are written in one ``BEGIN IMMEDIATE`` transaction
(:meth:`Store.transaction`) *after* the balance is read inside that same transaction, so two
clerks redeeming at once cannot both spend the same points: the second waits, then sees the
first's redemption. A refused redemption writes nothing. A bulk import is all or nothing, and
idempotent by ``redemption_id`` (the same row again is unchanged; a different row under a
stored id is an error).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from xiangyue.points.boards import household_totals
from xiangyue.errors import Diagnostic, InputError, XiangyueError
from xiangyue.points.evaluate import evaluate
from xiangyue.points.inputs import Inputs, stored_rows
from xiangyue.i18n import Msg, register
from xiangyue.rules.model import FieldSpec, Good, Ruleset
from xiangyue.periods import Period, period_of
from xiangyue.data.store import Store

__all__ = ["MarketError", "Balance", "Redemption", "RedeemResult", "ImportSummary",
           "balances", "balance_of", "redeem", "import_redemptions", "list_redemptions",
           "find_good", "REDEMPTION_FIELDS", "void_redemption", "voided_redemptions"]

register({
    "E-MARKET-BALANCE": Msg(
        zh="余额不足：可用 {available} 分，需要 {cost} 分",
        en="balance too low: {available} points available, {cost} needed",
        hint_zh="户 {household}：已得 {earned} 分，已兑换 {spent} 分（{window_zh}）",
        hint_en="household {household}: earned {earned}, spent {spent} ({window_en})"),
    "E-MARKET-MIN-TOTAL": Msg(
        zh="户 {household} {year} 年积分 {total} 分，低于兑换门槛 {min} 分，不能兑换",
        en="household {household} has {total} points in {year}, below the {min} needed to redeem",
        hint_zh="规则文件 market.min_total 规定当年积分达到 {min} 分才能兑换",
        hint_en="the rule file's market.min_total requires {min} points in the year"),
    "E-MARKET-VETOED": Msg(
        zh="户 {household} {year} 年被一票否决（{rule}，{date}），不能兑换",
        en="household {household} is vetoed in {year} ({rule}, {date}) and cannot redeem",
        hint_zh="规则文件 market.vetoed_may_redeem 为 false",
        hint_en="the rule file's market.vetoed_may_redeem is false"),
    "E-MARKET-HOUSEHOLD": Msg(
        zh="户号“{household}”不在户籍名册中", en="household '{household}' is not in the register",
        hint_zh="{suggest_zh}", hint_en="{suggest_en}"),
    "E-MARKET-ITEM": Msg(
        zh="积分超市没有商品“{item}”", en="the supermarket has no item '{item}'",
        hint_zh="{suggest_zh}", hint_en="{suggest_en}"),
    "E-MARKET-QTY": Msg(
        zh="数量应是正整数，这里是 {qty}", en="the quantity must be a whole number above 0, not {qty}",
        hint_zh="例如 --qty 2", hint_en="e.g. --qty 2"),
    "E-MARKET-DATE": Msg(
        zh="日期“{value}”无法识别", en="the date '{value}' is not understood",
        hint_zh="写成 2024-03-15", hint_en="write it as 2024-03-15"),
    "E-MARKET-NO-GOODS": Msg(
        zh="规则文件没有积分超市商品（market: goods:）",
        en="the rule file lists no supermarket goods (market: goods:)",
        hint_zh="在规则文件中加上 market: {{goods: [{{id: soap, name: 肥皂, price: 5}}]}}",
        hint_en="add market: {{goods: [{{id: soap, name: soap, price: 5}}]}} to the rule file"),
    "E-MARKET-CONFLICT": Msg(
        zh="兑换编号 {id} 已存在且内容不同（已有：{stored}）",
        en="redemption {id} already exists with different content (stored: {stored})",
        hint_zh="换一个兑换编号；已记录的兑换不能修改",
        hint_en="use another redemption id; a recorded redemption cannot be changed"),
    "E-MARKET-ARGS": Msg(
        zh="需要户号和商品（或用 --file 导入兑换文件）",
        en="give HOUSEHOLD and ITEM (or --file to import a file of redemptions)",
        hint_zh="例如 xiangyue redeem jingou.yaml JG001 肥皂",
        hint_en="e.g. xiangyue redeem jingou.yaml JG001 soap"),
    "E-MARKET-VOID-UNKNOWN": Msg(
        zh="没有编号为 {id} 的兑换记录", en="there is no redemption {id}",
        hint_zh="兑换编号在兑换成功时显示，也可用 xiangyue balance 户号 查看",
        hint_en="the id is shown when a redemption is recorded; see xiangyue balance HOUSEHOLD"),
    "E-MARKET-NO-DB": Msg(
        zh="数据库 {path} 中还没有活动记录和户籍名册", en="database {path} holds no records or register",
        hint_zh="先导入：xiangyue households import / records import",
        hint_en="import them first: xiangyue households import / records import"),
})

ZERO = Decimal(0)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS redemptions (
    redemption_id TEXT PRIMARY KEY,
    household TEXT NOT NULL,
    item TEXT NOT NULL,
    item_name TEXT,
    qty INTEGER NOT NULL,
    price TEXT NOT NULL,
    cost TEXT NOT NULL,
    date TEXT NOT NULL,
    note TEXT,
    ruleset_sha256 TEXT,
    source_file TEXT,
    source_row INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS redemptions_by_household ON redemptions (household, date);
CREATE TABLE IF NOT EXISTS redemption_voids (
    redemption_id TEXT PRIMARY KEY,
    voided_at TEXT NOT NULL,
    note TEXT
);
"""

#: Columns of a redemptions file (Chinese names accepted too).
REDEMPTION_FIELDS = (
    FieldSpec("redemption_id", "text", "兑换编号", required=True),
    FieldSpec("household", "text", "户号", required=True),
    FieldSpec("item", "text", "商品", required=True),
    FieldSpec("qty", "integer", "数量", default=1),
    FieldSpec("date", "date", "日期", required=True),
    FieldSpec("note", "text", "备注"),
)


class MarketError(XiangyueError):
    """A redemption refused (balance, gates): nothing was recorded. Exit code 1."""

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic):
        super().__init__(diagnostics, kind="refused")


def ensure_tables(store: Store) -> None:
    store.create_tables(_SCHEMA)


def _has_table(store: Store, name: str = "redemptions") -> bool:
    return store.has_table(name)


def _num(v: Decimal) -> str:
    from xiangyue.report.jsonout import decimal_text

    return decimal_text(v)


# --------------------------------------------------------------------------------------------
# Earnings


def window_start(policy: str, day: dt.date) -> dt.date | None:
    """First day of the window points are counted in (None: all time)."""
    if policy == "yearly":
        return dt.date(day.year, 1, 1)
    if policy == "quarterly":
        return period_of(day, "quarter").start
    return None


def _window_text(policy: str, day: dt.date) -> tuple[str, str]:
    if policy == "yearly":
        return f"{day.year} 年内", f"in {day.year}"
    if policy == "quarterly":
        from xiangyue.periods import period_words

        q = period_of(day, "quarter").key
        return f"{period_words(q)}内", f"in {q}"
    return "累计", "all time"


@dataclass
class _YearState:
    total: Decimal = ZERO  # the year's total up to the day
    vetoed: bool = False
    vetoes: list[dict[str, Any]] = field(default_factory=list)


class Earnings:
    """Points awarded per household, read from the store's records and evaluated on demand
    (evaluations cached by period)."""

    def __init__(self, store: Store, ruleset: Ruleset):
        self.store = store
        self.ruleset = ruleset
        register = store.households(ruleset.household_fields)
        self.register = register or None
        self._cache: dict[tuple[dt.date, dt.date], dict[str, tuple[Decimal, bool, list]]] = {}
        row = store.conn.execute("SELECT min(date) FROM records").fetchone()
        self.first_year = dt.date.fromisoformat(row[0]).year if row and row[0] else None
        self.known = ({h["household"] for h in register} if register else
                      {r[0] for r in store.conn.execute("SELECT DISTINCT household FROM records")})
        self.heads = {h["household"]: h.get("head") for h in register or ()}

    def _evaluate(self, start: dt.date, end: dt.date) -> dict[str, tuple[Decimal, bool, list]]:
        key = (start, end)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        # a span inside one calendar year; evaluate replays from its 1 January for the limits
        period = Period(start, end, "year", f"{start.isoformat()}..{end.isoformat()}")
        records = stored_rows(self.store, self.ruleset, dt.date(start.year, 1, 1), end)
        ev = evaluate(self.ruleset, Inputs(records, self.register, presorted=True), period,
                      with_ledger=False)
        vetoes: dict[str, list] = {}
        for r in ev.results:
            vetoes.setdefault(r.household, []).extend(r.vetoes)
        out = {h.household: (h.total, h.vetoed, vetoes.get(h.household, []))
               for h in household_totals(ev)}
        self._cache[key] = out
        return out

    def year_to_date(self, household: str, day: dt.date) -> _YearState:
        total, vetoed, vetoes = self._evaluate(dt.date(day.year, 1, 1), day).get(
            household, (ZERO, False, []))
        return _YearState(total, vetoed, vetoes)

    def earned(self, day: dt.date) -> dict[str, Decimal]:
        """Every household's points earned in the carry-over window, up to ``day``."""
        policy = self.ruleset.market.carry_over
        start = window_start(policy, day)
        out: dict[str, Decimal] = {}
        spans: list[tuple[dt.date, dt.date]] = []
        if start is not None:
            spans.append((start, day))
        else:
            first = self.first_year if self.first_year is not None else day.year
            for year in range(min(first, day.year), day.year):
                spans.append((dt.date(year, 1, 1), dt.date(year, 12, 31)))
            spans.append((dt.date(day.year, 1, 1), day))
        for a, b in spans:
            for hh, (total, _, _) in self._evaluate(a, b).items():
                out[hh] = out.get(hh, ZERO) + total
        return out


def _spent(store: Store, start: dt.date | None, household: str | None = None
           ) -> dict[str, Decimal]:
    if not _has_table(store):
        return {}
    sql = "SELECT household, cost FROM redemptions"
    conds, params = [], []
    if _has_table(store, "redemption_voids"):  # a voided redemption spends nothing
        conds.append("redemption_id NOT IN (SELECT redemption_id FROM redemption_voids)")
    if start is not None:
        conds.append("date >= ?")
        params.append(start.isoformat())
    if household is not None:
        conds.append("household = ?")
        params.append(household)
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    out: dict[str, Decimal] = {}
    for hh, cost in store.conn.execute(sql, params):
        out[hh] = out.get(hh, ZERO) + Decimal(cost)
    return out


# --------------------------------------------------------------------------------------------
# Balances


@dataclass(frozen=True)
class Balance:
    household: str
    head: str | None
    earned: Decimal
    spent: Decimal
    as_of: dt.date
    policy: str
    may_redeem: bool = True
    reason: Diagnostic | None = None  # why not, when may_redeem is False

    @property
    def available(self) -> Decimal:
        return self.earned - self.spent

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {"household": self.household, "head": self.head,
                               "earned": self.earned, "spent": self.spent,
                               "available": self.available, "as_of": self.as_of.isoformat(),
                               "carry_over": self.policy, "may_redeem": self.may_redeem}
        if self.reason is not None:
            out["reason"] = self.reason.message(lang)
        return out


def _gate(earn: Earnings, household: str, day: dt.date) -> Diagnostic | None:
    mk = earn.ruleset.market
    state = None
    if not mk.vetoed_may_redeem:
        state = earn.year_to_date(household, day)
        if state.vetoed:
            v = state.vetoes[0] if state.vetoes else {}
            return Diagnostic("E-MARKET-VETOED", args={
                "household": household, "year": day.year, "rule": v.get("rule_name", ""),
                "date": v.get("date", "")})
    if mk.min_total is not None:
        state = state or earn.year_to_date(household, day)
        if state.total < mk.min_total:
            return Diagnostic("E-MARKET-MIN-TOTAL", args={
                "household": household, "year": day.year, "total": _num(state.total),
                "min": _num(mk.min_total)})
    return None


def balances(store: Store, ruleset: Ruleset, *, day: dt.date | None = None,
             household: str | None = None) -> list[Balance]:
    """Every household's balance on ``day`` (default today), or one household's."""
    day = day or dt.date.today()
    earn = Earnings(store, ruleset)
    if household is not None:
        _check_household(earn, household, file="HOUSEHOLD")
    earned = earn.earned(day)
    policy = ruleset.market.carry_over
    spent = _spent(store, window_start(policy, day), household)
    ids = [household] if household is not None else (
        [h["household"] for h in earn.register] if earn.register else
        sorted(set(earned) | set(spent)))
    out = []
    for hh in ids:
        gate = _gate(earn, hh, day)
        out.append(Balance(hh, earn.heads.get(hh), earned.get(hh, ZERO), spent.get(hh, ZERO),
                           day, policy, gate is None, gate))
    return out


def balance_of(store: Store, ruleset: Ruleset, household: str, day: dt.date | None = None
               ) -> Balance:
    return balances(store, ruleset, day=day, household=household)[0]


# --------------------------------------------------------------------------------------------
# Redeeming


@dataclass(frozen=True)
class Redemption:
    redemption_id: str
    household: str
    item: str
    item_name: str
    qty: int
    price: Decimal
    date: dt.date
    note: str | None = None

    @property
    def cost(self) -> Decimal:
        return self.price * self.qty

    def to_json(self) -> dict[str, Any]:
        return {"redemption_id": self.redemption_id, "household": self.household,
                "item": self.item, "item_name": self.item_name, "qty": self.qty,
                "price": self.price, "cost": self.cost, "date": self.date.isoformat(),
                "note": self.note}


@dataclass
class RedeemResult:
    redemption: Redemption
    status: str  # added | unchanged
    balance_before: Decimal
    balance_after: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "redemption": self.redemption.to_json(),
                "balance_before": self.balance_before, "balance_after": self.balance_after}


def _suggest(word: str, options: Sequence[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(word, list(options), n=3, cutoff=0.4)
    if close:
        return "是不是：" + "、".join(close) + "？", "did you mean: " + ", ".join(close) + "?"
    return "", ""


def find_good(ruleset: Ruleset, item: str) -> Good | None:
    for g in ruleset.market.goods:
        if item in (g.id, g.name):
            return g
    return None


def _item_diag(ruleset: Ruleset, item: str, **where: Any) -> Diagnostic:
    options = [g.id for g in ruleset.market.goods] + [g.name for g in ruleset.market.goods]
    zh, en = _suggest(item, options)
    if not zh:
        zh = "可兑换的商品：" + "、".join(f"{g.name}（{g.id}，{_num(g.price)} 分）"
                                     for g in ruleset.market.goods)
        en = "goods: " + ", ".join(f"{g.id} ({g.name}, {_num(g.price)} points)"
                                   for g in ruleset.market.goods)
    return Diagnostic("E-MARKET-ITEM", args={"item": item, "suggest_zh": zh, "suggest_en": en},
                      **where)


def _household_diag(earn: Earnings, household: str, **where: Any) -> Diagnostic:
    zh, en = _suggest(household, sorted(earn.known))
    if not zh:
        # a head's name typed instead of the id
        ids = [h for h, name in earn.heads.items() if name == household]
        if ids:
            zh, en = f"户主 {household} 的户号是 {ids[0]}", f"{household}'s household id is {ids[0]}"
    return Diagnostic("E-MARKET-HOUSEHOLD", args={"household": household, "suggest_zh": zh,
                                                  "suggest_en": en}, **where)


def _check_household(earn: Earnings, household: str, file: str) -> None:
    if not earn.known:
        raise InputError(Diagnostic("E-MARKET-NO-DB", file=earn.store.path,
                                    args={"path": earn.store.path}))
    if household not in earn.known:
        raise InputError(_household_diag(earn, household, file=file))


def _stored(store: Store, rid: str) -> dict[str, Any] | None:
    if not _has_table(store):
        return None
    cur = store.conn.execute(
        "SELECT household, item, qty, date, cost FROM redemptions WHERE redemption_id = ?", (rid,))
    row = cur.fetchone()
    if row is None:
        return None
    return {"household": row[0], "item": row[1], "qty": row[2], "date": row[3], "cost": row[4]}


def _same(stored: Mapping[str, Any], r: Redemption) -> bool:
    return (stored["household"], stored["item"], stored["qty"], stored["date"]) == (
        r.household, r.item, r.qty, r.date.isoformat())


def _stored_text(stored: Mapping[str, Any]) -> str:
    return f"{stored['household']} {stored['item']} ×{stored['qty']} {stored['date']}"


def _insert(store: Store, ruleset: Ruleset, rows: Sequence[tuple[Redemption, str | None, int | None]],
            now: str) -> None:
    store.conn.executemany(
        "INSERT INTO redemptions (redemption_id, household, item, item_name, qty, price, cost, "
        "date, note, ruleset_sha256, source_file, source_row, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.redemption_id, r.household, r.item, r.item_name, r.qty, _dec(r.price), _dec(r.cost),
          r.date.isoformat(), r.note, ruleset.sha256, src, line, now) for r, src, line in rows])


def _dec(v: Decimal) -> str:
    return format(v, "f")


def _now(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")


def parse_day(text: str | None) -> dt.date:
    """``--date`` in any form a date cell accepts (2024-03-05, 2024/3/5, 2024年3月5日), default
    today."""
    from xiangyue.periods import DateTextError, parse_date_text

    if text is None:
        return dt.date.today()
    try:
        return parse_date_text(text)
    except DateTextError:
        raise InputError(Diagnostic("E-MARKET-DATE", file="--date", args={"value": text})) from None


def redeem(store: Store, ruleset: Ruleset, household: str, item: str, *, qty: int = 1,
           day: dt.date | None = None, redemption_id: str | None = None,
           note: str | None = None, now: dt.datetime | None = None) -> RedeemResult:
    """Record one redemption, or refuse it (:class:`MarketError`: balance or gates;
    :class:`InputError`: unknown household or item, bad quantity) and record nothing.

    With a ``redemption_id`` already stored for the same redemption, nothing is written and
    the status is ``unchanged`` (so a clerk may safely run the same command twice)."""
    if not ruleset.market.goods:
        raise InputError(Diagnostic("E-MARKET-NO-GOODS", file=ruleset.file))
    if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        raise InputError(Diagnostic("E-MARKET-QTY", file="--qty", args={"qty": qty}))
    good = find_good(ruleset, item)
    if good is None:
        raise InputError(_item_diag(ruleset, item, file="ITEM"))
    day = day or dt.date.today()
    rid = redemption_id or f"{day:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    r = Redemption(rid, household, good.id, good.name, qty, good.price, day, note)
    with store.transaction():
        ensure_tables(store)
        earn = Earnings(store, ruleset)
        _check_household(earn, household, file="HOUSEHOLD")
        stored = _stored(store, rid)
        policy = ruleset.market.carry_over
        if stored is not None:
            if not _same(stored, r):
                raise InputError(Diagnostic("E-MARKET-CONFLICT", file="--id", args={
                    "id": rid, "stored": _stored_text(stored)}))
            earned = earn.earned(day).get(household, ZERO)
            bal = earned - _spent(store, window_start(policy, day), household).get(household, ZERO)
            return RedeemResult(r, "unchanged", bal + r.cost, bal)
        gate = _gate(earn, household, day)
        if gate is not None:
            raise MarketError(gate.at(store.path, 0, 0))
        earned = earn.earned(day).get(household, ZERO)
        spent = _spent(store, window_start(policy, day), household).get(household, ZERO)
        available = earned - spent
        if r.cost > available:
            wz, we = _window_text(policy, day)
            raise MarketError(Diagnostic("E-MARKET-BALANCE", file=store.path, args={
                "available": _num(available), "cost": _num(r.cost), "household": household,
                "earned": _num(earned), "spent": _num(spent), "window_zh": wz, "window_en": we}))
        _insert(store, ruleset, [(r, None, None)], _now(now))
    return RedeemResult(r, "added", available, available - r.cost)


@dataclass
class ImportSummary:
    file: str
    rows: int
    added: int
    unchanged: int
    redemptions: list[Redemption]
    warnings: list[Diagnostic] = field(default_factory=list)  # titles skipped, extra columns

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "added": self.added,
                "unchanged": self.unchanged, "warnings": [d.to_json() for d in self.warnings]}


def import_redemptions(store: Store, ruleset: Ruleset, path: str | os.PathLike[str], *,
                       encoding: str | None = None, sheet: str | None = None,
                       now: dt.datetime | None = None) -> ImportSummary:
    """Import a file of redemptions (CSV/XLSX/JSONL): all or nothing, idempotent by
    ``redemption_id``. Every row is checked (household, item, quantity, gates, balance, in
    order of date then redemption id, each row spending from what the rows before it left);
    any problem raises with every row's diagnostic and nothing is written."""
    from xiangyue.data.tables import read_table

    if not ruleset.market.goods:
        raise InputError(Diagnostic("E-MARKET-NO-GOODS", file=ruleset.file))
    table = read_table(path, REDEMPTION_FIELDS, encoding=encoding, key="redemption_id",
                       sheet=sheet)
    diags: list[Diagnostic] = list(table.diagnostics)
    if any(d.severity == "error" for d in diags):
        raise InputError(diags)
    fname = table.file

    def col(fid: str) -> str:
        return table.header(fid, REDEMPTION_FIELDS)

    policy = ruleset.market.carry_over
    added: list[tuple[Redemption, str | None, int | None]] = []
    unchanged = 0
    parsed: list[tuple[Redemption, int]] = []
    with store.transaction():
        ensure_tables(store)
        earn = Earnings(store, ruleset)
        if not earn.known:
            raise InputError(Diagnostic("E-MARKET-NO-DB", file=store.path,
                                        args={"path": store.path}))
        for row, line in zip(table.rows, table.lines):
            where = {"file": fname, "line": line}
            ok = True
            hh = row["household"]
            if hh not in earn.known:
                diags.append(_household_diag(earn, hh, column=col("household"), **where))
                ok = False
            good = find_good(ruleset, row["item"])
            if good is None:
                diags.append(_item_diag(ruleset, row["item"], column=col("item"), **where))
                ok = False
            qty = row.get("qty")
            if qty is None:
                qty = 1
            if qty < 1:
                diags.append(Diagnostic("E-MARKET-QTY", column=col("qty"), args={"qty": qty},
                                        **where))
                ok = False
            if ok:
                parsed.append((Redemption(row["redemption_id"], hh, good.id, good.name, qty,
                                          good.price, row["date"], row.get("note")), line))
        # spend in date order; a stored id is unchanged (same content) or a conflict
        spent_by: dict[tuple[str, dt.date | None], Decimal] = {}
        new_spent: list[Redemption] = []
        for r, line in sorted(parsed, key=lambda p: (p[0].date, p[0].redemption_id)):
            where = {"file": fname, "line": line}
            stored = _stored(store, r.redemption_id)
            if stored is not None:
                if _same(stored, r):
                    unchanged += 1
                else:
                    diags.append(Diagnostic("E-MARKET-CONFLICT", column=col("redemption_id"),
                                            args={"id": r.redemption_id,
                                                  "stored": _stored_text(stored)}, **where))
                continue
            gate = _gate(earn, r.household, r.date)
            if gate is not None:
                diags.append(Diagnostic(gate.code, column=col("household"), args=gate.args,
                                        **where))
                continue
            start = window_start(policy, r.date)
            key = (r.household, start)
            if key not in spent_by:
                spent_by[key] = _spent(store, start, r.household).get(r.household, ZERO)
            # earlier rows of this file in the same window
            in_file = sum((x.cost for x in new_spent if x.household == r.household
                           and (start is None or x.date >= start)), ZERO)
            earned = earn.earned(r.date).get(r.household, ZERO)
            spent = spent_by[key] + in_file
            available = earned - spent
            if r.cost > available:
                wz, we = _window_text(policy, r.date)
                diags.append(Diagnostic("E-MARKET-BALANCE", column=col("qty") if "qty" in
                                        table.columns else col("item"), args={
                    "available": _num(available), "cost": _num(r.cost), "household": r.household,
                    "earned": _num(earned), "spent": _num(spent), "window_zh": wz,
                    "window_en": we}, **where))
                continue
            new_spent.append(r)
            added.append((r, str(path), line))
        if any(d.severity == "error" for d in diags):
            raise InputError(diags)  # rolls back: nothing written
        _insert(store, ruleset, added, _now(now))
    return ImportSummary(fname, len(table.rows), len(added), unchanged, [r for r, _, _ in added],
                         [d for d in table.diagnostics if d.severity != "error"])


@dataclass
class VoidResult:
    """A redemption voided (``status`` "voided") or voided before ("unchanged")."""

    redemption: dict[str, Any]
    status: str
    voided_at: str
    note: str | None
    balance_after: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        rec = dict(self.redemption)
        for k in ("price", "cost"):  # stored as text to stay exact
            if rec.get(k) is not None:
                rec[k] = Decimal(rec[k])
        return {"status": self.status, "redemption": rec, "voided_at": self.voided_at,
                "note": self.note, "restored": Decimal(self.redemption["cost"]),
                "balance_after": self.balance_after}


def void_redemption(store: Store, ruleset: Ruleset | None, redemption_id: str, *,
                    note: str | None = None, now: dt.datetime | None = None) -> VoidResult:
    """Void a recorded redemption: a reversal is recorded (``redemption_voids``), nothing is
    deleted, and the points it spent count as available again. Voiding it again changes
    nothing (status ``unchanged``). Unknown id: :class:`InputError`."""
    with store.transaction():
        ensure_tables(store)
        row = store.conn.execute("SELECT * FROM redemptions WHERE redemption_id = ?",
                                 (redemption_id,)).fetchone()
        if row is None:
            raise InputError(Diagnostic("E-MARKET-VOID-UNKNOWN", file="--void",
                                        args={"id": redemption_id}))
        names = [d[0] for d in store.conn.execute("SELECT * FROM redemptions LIMIT 0").description]
        rec = dict(zip(names, row))
        done = store.conn.execute("SELECT voided_at, note FROM redemption_voids WHERE "
                                  "redemption_id = ?", (redemption_id,)).fetchone()
        if done is not None:
            result = VoidResult(rec, "unchanged", done[0], done[1])
        else:
            at = _now(now)
            store.conn.execute("INSERT INTO redemption_voids (redemption_id, voided_at, note) "
                               "VALUES (?, ?, ?)", (redemption_id, at, note))
            result = VoidResult(rec, "voided", at, note)
    if ruleset is not None:
        result.balance_after = balance_of(store, ruleset, rec["household"]).available
    return result


def voided_redemptions(store: Store, household: str | None = None) -> list[dict[str, Any]]:
    """The voided redemptions (with when and why), oldest first."""
    if not _has_table(store, "redemption_voids"):
        return []
    sql = ("SELECT r.redemption_id, r.household, r.item, r.item_name, r.qty, r.cost, r.date, "
           "v.voided_at, v.note FROM redemption_voids v JOIN redemptions r "
           "ON r.redemption_id = v.redemption_id")
    params: list[Any] = []
    if household is not None:
        sql += " WHERE r.household = ?"
        params.append(household)
    return list(store.query(sql + " ORDER BY v.voided_at, r.redemption_id", params))


def list_redemptions(store: Store, household: str | None = None) -> list[dict[str, Any]]:
    if not _has_table(store):
        return []
    sql = "SELECT * FROM redemptions"
    params: list[Any] = []
    if household is not None:
        sql += " WHERE household = ?"
        params.append(household)
    return list(store.query(sql + " ORDER BY date, redemption_id", params))
