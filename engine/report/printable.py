"""Printables villages ask for, as one document model rendered to HTML or PDF: the 积分存折
(passbook), the 积分细则 public table (rules notice), star-rating and selection notices, and
the redemption receipt.

A :class:`Document` is a title, a subtitle and :class:`~xiangyue.report.pdf.Section` parts
(heading, lines, a table, lines after); :func:`render_document` prints it as a self-contained
A4 HTML page (inline CSS, no scripts) or a PDF (:func:`xiangyue.report.pdf.table_pdf`), so the
two never say different things.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from xiangyue.periods import date_words, period_words
from xiangyue.report.notice import amount_text, escape_html as esc
from xiangyue.report.pdf import Section, table_pdf

__all__ = ["Document", "Section", "render_document", "passbook_document", "rules_document",
           "stars_document", "selection_document", "receipt_document", "PRINT_FORMATS"]

PRINT_FORMATS = ("html", "pdf")


@dataclass
class Document:
    title: str
    sections: list[Section]
    subtitle: str = ""
    signatures: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    landscape: bool = False


_CSS = """
@page { size: A4; margin: 14mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       "SimSun", sans-serif; font-size: 11pt; color: #111; margin: 0 auto; max-width: 182mm; }
h1 { font-size: 18pt; text-align: center; color: #b00000; margin: 0 0 2pt; }
p.sub { text-align: center; color: #555; margin: 0 0 8pt; }
h2 { font-size: 12.5pt; border-left: 3pt solid #b00000; padding-left: 2mm; margin: 10pt 0 4pt; }
p { margin: 2pt 0; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0; }
th, td { border: 0.6pt solid #777; padding: 1.5pt 4pt; text-align: center; }
th { background: #f1f1f1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sign { display: flex; justify-content: space-between; margin-top: 14pt; }
.sign span.line { display: inline-block; width: 28mm; border-bottom: 0.8pt solid #000; }
.footer { text-align: right; margin-top: 10pt; line-height: 1.8; }
section.page { page-break-after: always; break-after: page; }
section.page:last-of-type { page-break-after: auto; break-after: auto; }
"""


def _html_section(s: Section) -> str:
    out = []
    if s.heading:
        out.append(f"<h2>{esc(s.heading)}</h2>")
    out.extend(f"<p>{esc(line)}</p>" for line in s.lines)
    if s.header:
        right = set(s.right)
        out.append("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in s.header)
                   + "</tr></thead><tbody>")
        for row in s.rows:
            out.append("<tr>" + "".join(
                f'<td class="num">{esc(v)}</td>' if j in right else f"<td>{esc(v)}</td>"
                for j, v in enumerate(row)) + "</tr>")
        out.append("</tbody></table>")
    out.extend(f"<p>{esc(line)}</p>" for line in s.after)
    return "\n".join(out)


def render_document(doc: Document, fmt: str, lang: str = "zh") -> str | bytes:
    """``doc`` as an HTML page (str) or a PDF (bytes)."""
    if fmt == "pdf":
        return table_pdf(doc.title, doc.sections, subtitle=doc.subtitle,
                         signatures=doc.signatures, footer=doc.footer, landscape=doc.landscape)
    head = f"<h1>{esc(doc.title)}</h1>" + (f'<p class="sub">{esc(doc.subtitle)}</p>'
                                           if doc.subtitle else "")
    sign = ""
    if doc.signatures:
        sign = '<div class="sign">' + "".join(
            f'<div>{esc(s)} <span class="line"></span></div>' for s in doc.signatures) + "</div>"
    pages: list[list[Section]] = []
    for s in doc.sections:
        if s.new_page or not pages:
            pages.append([])
        pages[-1].append(s)
    body = []
    for i, page in enumerate(pages):
        body.append('<section class="page">' + (head if i == 0 or page[0].new_page else "")
                    + "\n".join(_html_section(s) for s in page)
                    + (sign if page[0].new_page else "") + "</section>")
    if doc.signatures and not any(s.new_page for s in doc.sections):
        body.append(sign)
    if doc.footer:
        body.append('<div class="footer">' + "<br>".join(esc(f) for f in doc.footer) + "</div>")
    return ("<!DOCTYPE html>\n<html lang=\"" + ("en" if lang == "en" else "zh-CN") + "\">\n"
            f"<head>\n<meta charset=\"utf-8\">\n<title>{esc(doc.title)}</title>\n"
            f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _t(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else zh


def _n(value: Any) -> str:
    return "" if value is None else amount_text(value)


# --- 积分存折 ----------------------------------------------------------------------------------

_KIND = {"record": ("积分", "points"), "base": ("基础分", "base"), "redemption": ("兑换", "redeemed"),
         "void": ("作废", "void")}


def passbook_section(pb, lang: str, new_page: bool = False) -> Section:
    head = _t(f"户号 {pb.household}　户主 {pb.head or ''}　网格 {pb.grid or ''}",
              f"household {pb.household}  head {pb.head or ''}  grid {pb.grid or ''}", lang)
    rows = [[ln.date.isoformat(), _t(*_KIND[ln.kind], lang), ln.item,
             _n(ln.raw), _n(ln.points), ln.reason, _n(ln.balance)] for ln in pb.lines]
    b = pb.balance
    after = [
        _t(f"上期结余 {_n(pb.opening)} 分；本期得分 {_n(pb.earned)} 分；本期兑换 {_n(pb.spent)} 分；"
           f"期末余额 {_n(pb.closing)} 分",
           f"brought forward {_n(pb.opening)}; earned {_n(pb.earned)}; spent {_n(pb.spent)}; "
           f"closing {_n(pb.closing)}", lang),
        _t(f"截至 {date_words(b.as_of, lang)}：累计已得 {_n(b.earned)} 分，已兑换 {_n(b.spent)} 分，"
           f"可用余额 {_n(b.available)} 分", f"as of {b.as_of.isoformat()}: earned {_n(b.earned)}, "
           f"spent {_n(b.spent)}, available {_n(b.available)}", lang),
    ]
    if pb.vetoed:
        year = pb.period.start.year  # the period's year, not the year of the balance line above
        after.append(_t(f"{year}年度被一票否决", f"vetoed (一票否决) for the year {year}", lang))
    return Section(heading=head, header=[
        _t("日期", "date", lang), _t("类别", "kind", lang), _t("事项", "item", lang),
        _t("应得", "raw", lang), _t("实得/兑换", "points", lang), _t("说明", "reason", lang),
        _t("余额", "balance", lang)], rows=rows, widths=[20, 12, 26, 12, 16, 70, 14],
        right=(3, 4, 6), after=after, new_page=new_page)


def passbook_document(books: Sequence[Any], lang: str = "zh") -> Document:
    first = books[0]
    title = _t(f"{first.village} 积分存折", f"{first.village} points passbook", lang)
    return Document(title, [passbook_section(pb, lang, new_page=len(books) > 1) for pb in books],
                    subtitle=period_words(first.period.key, lang),
                    signatures=[_t("户主（签字）：", "head of household:", lang),
                                _t("经办人（签字）：", "clerk:", lang)])


def passbook_table(pb, lang: str = "zh") -> str:
    from xiangyue.report.terminal import table

    s = passbook_section(pb, lang)
    title = f"{pb.village} {_t('积分存折', 'points passbook', lang)} {period_words(pb.period.key, lang)}"
    return "\n".join([title, s.heading, table(s.header, s.rows, right=set(s.right)), *s.after]) + "\n"


# --- 积分细则 public table ------------------------------------------------------------------------

def _per(kind: str, lang: str) -> str:
    from xiangyue.rules.model import PERIOD_WORDS_ZH

    if lang == "en":
        return "in all" if kind == "ever" else kind
    return PERIOD_WORDS_ZH.get(kind, kind)


def _each(kind: str, lang: str) -> str:
    """每月 / 累计 (per month / in all)."""
    if lang == "en":
        return "in all" if kind == "ever" else f"per {kind}"
    return "累计" if kind == "ever" else f"每{_per(kind, lang)}"


def limit_words(rule, lang: str = "zh") -> list[str]:
    """A rule's limits as the notice says them: 每月最多得 10 分, 每天限 1 次, 每年只计一次, ..."""
    out = []
    for lim in rule.limit:
        text = lim.describe(lang)
        out.append(text.replace("最多 ", "最多得 ") if lang != "en" else text)
    for lim in rule.deduction_limit:
        text = lim.describe(lang)
        out.append(text.replace("最多 ", "最多扣 ") if lang != "en" else f"{text} taken")
    if rule.once:
        out.append(_t(f"{_each(rule.once, lang)}只计一次", f"once {_each(rule.once, lang)}", lang))
    if rule.highest_only:
        out.append(_t(f"{_each(rule.highest_only, lang)}只计最高一次",
                      f"only the highest {_each(rule.highest_only, lang)}", lang))
    return out


def _points_words(rule, lang: str) -> str:
    from xiangyue.rules.printer import to_source

    if rule.escalation is not None:
        steps = [_n(x) for x in rule.escalation.steps]
        each = _each(rule.escalation.per, lang)
        return _t(f"{each}第1次起依次 " + "、".join(steps) + " 分",
                  f"{each}, in turn: " + ", ".join(steps), lang)
    if rule.points_expr is None:
        return ""
    text = to_source(rule.points_expr)
    try:
        value = Decimal(text)
    except ArithmeticError:  # an expression: shown as written (2 * 时长)
        return text
    return _t(f"{'+' if value > 0 else ''}{amount_text(value)} 分", amount_text(value), lang)


def rules_document(ruleset, lang: str = "zh") -> Document:
    """The rule file as the public 积分细则 table: by category, each item with its points, its
    limits in words and its veto; the category's own limits above its table."""
    by_cat: dict[str, list] = {}
    for r in ruleset.rules:
        by_cat.setdefault(r.category, []).append(r)
    sections = []
    for cat_id, rules in by_cat.items():
        cat = ruleset.category(cat_id)
        heading = (cat.name or cat.id) if cat else str(cat_id or _t("其他", "other", lang))
        lines = []
        for lim in cat.limit if cat is not None else ():
            lines.append(_t("本类" + lim.describe(lang).replace("最多 ", "最多得 "),
                            "category: " + lim.describe(lang), lang))
        for lim in cat.deduction_limit if cat is not None else ():
            lines.append(_t("本类" + lim.describe(lang).replace("最多 ", "最多扣 "),
                            "category: " + lim.describe(lang) + " taken", lang))
        rows = [[i, r.name + (f"（{r.description}）" if r.description else ""),
                 _points_words(r, lang), "；".join(limit_words(r, lang)) or "—",
                 _t(f"一票否决（当{_per(r.veto, lang)}）", f"veto ({_each(r.veto, lang)})", lang)
                 if r.veto else ""]
                for i, r in enumerate(rules, start=1)]
        sections.append(Section(heading=heading, lines=lines, header=[
            _t("序号", "no.", lang), _t("事项", "item", lang), _t("分值", "points", lang),
            _t("上限", "limits", lang), _t("一票否决", "veto", lang)], rows=rows,
            widths=[10, 62, 36, 50, 24]))
    footer = [ruleset.village]
    adopted = ruleset.adopted
    if adopted is not None and getattr(adopted, "date", None):
        meeting = getattr(adopted, "meeting", None) or _t("村民会议", "the village assembly", lang)
        footer = [_t(f"{meeting} {date_words(adopted.date, lang)} 通过",
                     f"adopted by {meeting} on {adopted.date.isoformat()}", lang), ruleset.village]
    from xiangyue.report.notice import ruleset_line

    return Document(_t(f"{ruleset.village} 积分细则", f"{ruleset.village} points rules", lang),
                    sections, subtitle=ruleset_line({"name": ruleset.name,
                                                     "version": ruleset.version}, lang),
                    footer=footer)


# --- stars, selections, receipts ---------------------------------------------------------------

def stars_document(result, lang: str = "zh") -> Document:
    rows = []
    for h, head, grid, total, vetoed, lv in result.rows:
        label = (lv.name or "") if lv else (_t("一票否决", "vetoed", lang) if vetoed else "")
        rows.append([h, head or "", grid or "", _n(total), "★" * lv.stars if lv else "", label])
    levels = ("；" if lang != "en" else "; ").join(
        f"{'★' * lv.stars} {lv.name or ''} ≥ {_n(lv.min_total)}" for lv in result.levels)
    return Document(_t(f"{result.village} 星级文明户评定公示", f"{result.village} star ratings", lang),
                    [Section(lines=[levels], header=[
                        _t("户号", "household", lang), _t("户主", "head", lang),
                        _t("网格", "grid", lang), _t("总分", "total", lang),
                        _t("星级", "stars", lang), _t("称号", "title", lang)], rows=rows,
                        right=(3,), widths=[18, 20, 22, 16, 20, 30])],
                    subtitle=period_words(result.period.key, lang),
                    signatures=_signatures(lang), footer=[result.village, date_words(dt.date.today(), lang)])


def selection_document(result, lang: str = "zh") -> Document:
    """The households that qualified for a selection (by total), with the criteria."""
    s = result.selection
    q = sorted(result.qualified, key=lambda o: (-o.total, o.household))
    rows = [[i, o.household, o.head or "", o.grid or "", _n(o.total)]
            for i, o in enumerate(q, start=1)]
    criteria = ("；" if lang != "en" else "; ").join(c[0] for c in s.criteria)
    if s.no_veto:
        criteria += _t("（一票否决户不参评）", " (vetoed households excluded)", lang)
    return Document(_t(f"{result.village} {s.name}评选结果公示", f"{result.village} {s.name}", lang),
                    [Section(lines=[_t("评选条件：", "criteria: ", lang) + criteria,
                                    _t(f"符合条件：{len(q)} 户", f"qualified: {len(q)}", lang)],
                             header=[_t("序号", "no.", lang), _t("户号", "household", lang),
                                     _t("户主", "head", lang), _t("网格", "grid", lang),
                                     _t("总分", "total", lang)], rows=rows, right=(4,),
                             widths=[12, 22, 24, 26, 18])],
                    subtitle=period_words(result.period.key, lang),
                    signatures=_signatures(lang),
                    footer=[result.village, date_words(dt.date.today(), lang)])


def receipt_document(result, village: str, head: str | None, lang: str = "zh") -> Document:
    r = result.redemption
    rows = [[r.redemption_id, r.date.isoformat(), r.item_name, r.qty, _n(r.price), _n(r.cost)]]
    return Document(_t(f"{village} 积分超市兑换凭证", f"{village} points supermarket receipt", lang),
                    [Section(lines=[_t(f"户号 {r.household}　户主 {head or ''}",
                                       f"household {r.household}  head {head or ''}", lang)],
                             header=[_t("编号", "id", lang), _t("日期", "date", lang),
                                     _t("物品", "item", lang), _t("数量", "qty", lang),
                                     _t("单价（分）", "price", lang), _t("合计（分）", "cost", lang)],
                             rows=rows, right=(3, 4, 5), widths=[34, 22, 34, 12, 18, 18],
                             after=[_t(f"兑换前余额 {_n(result.balance_before)} 分，兑换后余额 "
                                       f"{_n(result.balance_after)} 分",
                                       f"balance {_n(result.balance_before)} → "
                                       f"{_n(result.balance_after)}", lang)])],
                    signatures=[_t("兑换人（签字）：", "received by:", lang),
                                _t("经办人（签字）：", "clerk:", lang)],
                    footer=[date_words(r.date, lang)])


def _signatures(lang: str) -> list[str]:
    return [_t("考评小组组长（签字）：", "scoring team leader:", lang),
            _t("村务监督委员会（签字）：", "supervisory committee:", lang)]
