"""``xiangyue redeem`` and ``xiangyue balance``: the points supermarket (积分超市)."""

from __future__ import annotations

from decimal import Decimal

import click

from xiangyue.errors import Diagnostic, InputError, RulesetError, format_diagnostic
from xiangyue.i18n import text
from xiangyue.points.market import (
    balances,
    import_redemptions,
    parse_day,
    redeem,
    void_redemption,
    voided_redemptions,
)
from xiangyue.report.jsonout import decimal_text, dumps
from xiangyue.report.terminal import color_enabled, style, table
from xiangyue.data.store import open_store

from .options import (usage_error, 
    db_option,
    format_option,
    handles_user_errors,
    lang_option,
    resolve_lang,
    ruleset_option,
    split_ruleset,
)

REDEEM_HELP = """积分超市兑换：用积分兑换商品，余额不足或不符合兑换条件时拒绝，不做任何记录。

Redeem points for goods of the rule file's `market:` catalogue (by id or Chinese name). The
balance is everything awarded so far minus everything spent, under the rule file's carry_over
(keep: all time; yearly / quarterly: points reset each year / quarter). A redemption above the
balance, or by a household below market.min_total points this year or vetoed this year, is
refused with the reason and nothing is recorded.

With --file, imports a file of redemptions (CSV/XLSX/JSONL; columns 兑换编号 redemption_id,
户号 household, 商品 item, 数量 qty, 日期 date, 备注 note): every row is checked, all or
nothing; importing the same file again adds nothing.

With --void REDEMPTION_ID, voids a recorded redemption (e.g. one entered twice by mistake):
a reversal is recorded, nothing is deleted, its points are available again; voiding it again
changes nothing; `xiangyue balance` lists it as voided.

\b
Examples / 示例:
  xiangyue redeem JG001 肥皂 --qty 2
  xiangyue redeem jingou.yaml JG001 肥皂 --qty 2 --date 2024-04-02
  xiangyue redeem --file 兑换登记.xlsx
  xiangyue redeem --void 20240402-1a2b3c4d --note "重复录入"
  xiangyue redeem JG001 肥皂 --receipt 凭证.pdf

The rule file may be left out: then --ruleset, XIANGYUE_RULESET or the rule file the database
was last used with is used.

\b
Exit codes / 退出码:
  0  recorded (or already recorded) / 已记录
  1  refused: balance too low, below min_total, vetoed / 拒绝：余额不足、积分未达门槛、一票否决
  2  the input could not be used (unknown household or item, bad file) / 输入无法使用
"""


def _load(ruleset: str):
    from xiangyue.rules.pipeline import load_ruleset

    try:
        return load_ruleset(ruleset)
    except RulesetError as err:
        err.kind = "unusable"
        raise


@click.command("redeem", help=REDEEM_HELP)
@click.argument("args", nargs=-1, metavar="[RULESET] HOUSEHOLD ITEM")
@ruleset_option
@click.option("--qty", type=int, default=1, show_default=True, help="Quantity. 数量。")
@click.option("--date", "date_text", default=None, metavar="DATE",
              help="Date of the redemption (YYYY-MM-DD; default today). 兑换日期。")
@click.option("--id", "redemption_id", default=None,
              help="Redemption id (default: generated). Same id again = no second redemption. 兑换编号。")
@click.option("--note", default=None, help="Note. 备注。")
@click.option("--receipt", "receipt", type=click.Path(dir_okay=False), default=None,
              help="Also write a printable receipt (.pdf or .html) to this file. 打印兑换凭证。")
@click.option("--file", "file", type=click.Path(dir_okay=False), default=None,
              help="Import redemptions from this file. 从文件批量导入兑换记录。")
@click.option("--encoding", default=None, metavar="ENC", help="CSV encoding. CSV 编码。")
@click.option("--sheet", default=None, metavar="NAME", help="XLSX sheet. 工作表。")
@click.option("--void", "void_id", default=None, metavar="REDEMPTION_ID",
              help="Void this recorded redemption (a reversal; nothing deleted). 作废一条兑换记录。")
@db_option
@format_option("text", "json")
@lang_option
@handles_user_errors
def redeem_cmd(args: tuple[str, ...], ruleset_opt: str | None, qty: int,
               date_text: str | None, redemption_id: str | None, note: str | None,
               receipt: str | None, file: str | None, encoding: str | None, sheet: str | None,
               void_id: str | None, db_path: str, fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    if void_id is not None:
        _void(args, ruleset_opt, void_id, note, db_path, fmt, lang)
        return
    ruleset, rest = split_ruleset(args, 0 if file else 2, ruleset_opt, db_path)
    household, item = (rest + [None, None])[:2]
    if file is None and (household is None or item is None):
        raise InputError(Diagnostic("E-MARKET-ARGS", file="redeem"))
    rs = _load(ruleset)
    with open_store(db_path, create=False) as store:
        if file is not None:
            summary = import_redemptions(store, rs, file, encoding=encoding, sheet=sheet)
            if fmt == "json":
                click.echo(dumps({"imported": summary.to_json()}))
            else:
                for d in summary.warnings:
                    click.echo(format_diagnostic(d, lang), err=True)
                click.echo(text(
                    f"已导入 {summary.rows} 条兑换记录（新增 {summary.added}，未变 {summary.unchanged}）",
                    f"imported {summary.rows} redemptions ({summary.added} added, "
                    f"{summary.unchanged} unchanged)", lang))
            return
        result = redeem(store, rs, household, item, qty=qty, day=parse_day(date_text),
                        redemption_id=redemption_id, note=note)
        head = store.households(rs.household_fields)
    r = result.redemption
    if receipt:
        from xiangyue.report.output import write_output
        from xiangyue.report.printable import receipt_document, render_document

        heads = {h["household"]: h.get("head") for h in head or ()}
        write_output(render_document(receipt_document(result, rs.village, heads.get(r.household),
                                                      lang),
                                     "pdf" if receipt.lower().endswith(".pdf") else "html", lang),
                     receipt)
    if fmt == "json":
        click.echo(dumps(result.to_json()))
        return
    if result.status == "unchanged":
        click.echo(text(f"兑换 {r.redemption_id} 已记录过，未重复记录；余额 {decimal_text(result.balance_after)} 分",
                        f"redemption {r.redemption_id} was already recorded; nothing added; "
                        f"balance {decimal_text(result.balance_after)}", lang))
        return
    click.echo(text(
        f"已兑换：{r.household} {r.item_name} × {r.qty}，共 {decimal_text(r.cost)} 分"
        f"（{r.date.isoformat()}，编号 {r.redemption_id}）；余额 {decimal_text(result.balance_before)}"
        f" → {decimal_text(result.balance_after)} 分",
        f"redeemed: {r.household} {r.item} × {r.qty}, {decimal_text(r.cost)} points "
        f"({r.date.isoformat()}, id {r.redemption_id}); balance {decimal_text(result.balance_before)}"
        f" -> {decimal_text(result.balance_after)}", lang))


def _void(args: tuple[str, ...], ruleset_opt: str | None, void_id: str, note: str | None,
          db_path: str, fmt: str, lang: str) -> None:
    ruleset, rest = split_ruleset(args, 0, ruleset_opt, db_path)
    if rest:
        raise usage_error("--void takes no HOUSEHOLD or ITEM / --void 不需要户号和商品")
    rs = _load(ruleset)
    with open_store(db_path, create=False) as store:
        result = void_redemption(store, rs, void_id, note=note)
    if fmt == "json":
        click.echo(dumps(result.to_json()))
        return
    r = result.redemption
    bal = "" if result.balance_after is None else decimal_text(result.balance_after)
    if result.status == "unchanged":
        click.echo(text(f"兑换 {void_id} 已于 {result.voided_at[:10]} 作废，未做改动；余额 {bal} 分",
                        f"redemption {void_id} was voided on {result.voided_at[:10]}; nothing "
                        f"changed; balance {bal}", lang))
        return
    click.echo(text(
        f"已作废兑换 {void_id}：{r['household']} {r['item_name'] or r['item']} × {r['qty']}，"
        f"退回 {decimal_text(Decimal(r['cost']))} 分；余额 {bal} 分",
        f"voided redemption {void_id}: {r['household']} {r['item']} × {r['qty']}, "
        f"{decimal_text(Decimal(r['cost']))} points back; balance {bal}", lang))


BALANCE_HELP = """积分余额：已得积分、已兑换积分和可用余额（一户，或全部农户）。

Each household's points earned (under the rule file's market.carry_over), spent in the
supermarket, and available, as of a date (default today); and whether it may redeem now
(market.min_total and veto gates).

\b
Examples / 示例:
  xiangyue balance
  xiangyue balance JG001 --date 2024-06-30 --format json
  xiangyue balance jingou.yaml JG001

\b
Exit codes / 退出码:
  0  shown / 已输出
  2  the input could not be used (unknown household, database) / 输入无法使用
"""


@click.command("balance", help=BALANCE_HELP)
@click.argument("args", nargs=-1, metavar="[RULESET] [HOUSEHOLD]")
@ruleset_option
@click.option("--date", "--as-of", "date_text", default=None, metavar="DATE",
              help="As of this date (YYYY-MM-DD; default today). 截至日期。")
@db_option
@format_option("table", "json")
@lang_option
@handles_user_errors
def balance_cmd(args: tuple[str, ...], ruleset_opt: str | None, date_text: str | None, db_path: str,
                fmt: str, lang: str | None) -> None:
    lang = resolve_lang(lang)
    ruleset, rest = split_ruleset(args, 1, ruleset_opt, db_path)
    household = rest[0] if rest else None
    rs = _load(ruleset)
    day = parse_day(date_text)
    with open_store(db_path, create=False) as store:
        rows = balances(store, rs, day=day, household=household)
        voided = voided_redemptions(store, household)
    if fmt == "json":
        click.echo(dumps({"as_of": day.isoformat(), "carry_over": rs.market.carry_over,
                          "balances": [b.to_json(lang) for b in rows],
                          "voided": [dict(v, cost=Decimal(v["cost"])) for v in voided]}))
        return
    en = lang == "en"
    head = (["household", "head", "earned", "spent", "available", "may redeem"] if en else
            ["户号", "户主", "已得", "已兑换", "可用", "可否兑换"])
    color = color_enabled()
    body, styles = [], []
    for b in rows:
        why = "" if b.may_redeem else b.reason.message(lang) if b.reason else ""
        body.append([b.household, b.head or "", decimal_text(b.earned), decimal_text(b.spent),
                     decimal_text(b.available),
                     ("yes" if en else "可") if b.may_redeem else (("no: " if en else "否：") + why)])
        styles.append(() if b.may_redeem else ("yellow",))
    policy = {"keep": ("累计不清零", "kept"), "yearly": ("每年清零", "reset yearly"),
              "quarterly": ("每季度清零", "reset quarterly")}[rs.market.carry_over]
    click.echo(style(text(f"{rs.village} 积分余额（截至 {day.isoformat()}，{policy[0]}）",
                          f"{rs.village} balances as of {day.isoformat()} ({policy[1]})", lang),
                     "bold", enabled=color))
    click.echo(table(head, body, right={2, 3, 4}, row_styles=styles, color=color))
    if voided:
        click.echo(text("已作废的兑换（不计入已兑换）：", "voided redemptions (not counted as spent):",
                        lang))
        for v in voided:
            why = "" if not v.get("note") else (f": {v['note']}" if en else f"：{v['note']}")
            click.echo(text(
                f"  {v['redemption_id']}  {v['household']} {v['item_name'] or v['item']} × {v['qty']}"
                f"  {decimal_text(Decimal(v['cost']))} 分  {v['date']}，{v['voided_at'][:10]} 作废{why}",
                f"  {v['redemption_id']}  {v['household']} {v['item']} × {v['qty']}"
                f"  {decimal_text(Decimal(v['cost']))} points  {v['date']}, voided "
                f"{v['voided_at'][:10]}{why}", lang))


commands = [redeem_cmd, balance_cmd]
