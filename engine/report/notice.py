"""The printable notice (公示): the period's red and black boards and grid ranking on one A4
page, in Chinese, to print and post at the village service centre.

The page is self-contained (inline CSS, an inline SVG bar chart, no scripts, no web fonts,
no external files), sized with ``@page { size: A4 }``. It renders from the boards' JSON form
(:meth:`xiangyue.points.boards.Boards.to_json`), the same data a publication stores, so a notice
printed again from a stored publication is the one first posted.

``scripts/render_notice.sh`` renders a notice to PNG in headless Chromium, to check it by eye.
"""

from __future__ import annotations

import datetime as dt
import html
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from string import Template
from typing import Any, Mapping, Sequence

from xiangyue.periods import date_words, period_words
from xiangyue.report.jsonout import decimal_text

__all__ = ["render_notice", "period_title", "render_chart", "amount_text"]

_T = {
    "heading": ("积分红黑榜", "Red and Black Boards"),
    "red": ("红榜", "Red board"),
    "black": ("黑榜", "Black board"),
    "progress": ("进步榜", "Progress board"),
    "previous": ("上期", "Previous"),
    "increase": ("增加", "Increase"),
    "earned": ("得分", "Earned"),
    "none_progress": ("本期无", "none this period"),
    "progress_rule": ("进步榜按本期积分比上期（{previous}）增加的多少排列，一票否决的农户不上进步榜。",
                      " Progress board: the largest increases over the previous period ({previous}); "
                      "vetoed households are never on it."),
    "grids": ("网格积分排名（户均积分）", "Grid ranking (average points per household)"),
    "rank": ("名次", "Rank"),
    "household": ("户号", "Household"),
    "head": ("户主", "Head"),
    "grid": ("网格", "Grid"),
    "total": ("积分", "Points"),
    "remark": ("备注", "Remark"),
    "veto": ("一票否决", "vetoed"),
    "none_red": ("本期无", "none this period"),
    "none_black": ("本期无", "none this period"),
    "none_grids": ("户籍名册中没有网格信息", "the register names no grids"),
    "no_grid": ("未分网格的农户（不参加网格排名）：", "households with no grid (not ranked): "),
    "households_unit": ("户", "hh"),
    "rules": (
        "说明：红榜按本期积分从高到低排列，黑榜列出本期积分为负的农户（从低到高）及当年被一票否决的"
        "农户；名次并列时按竞争排名（如 1、2、2、4），第 {red} 名（黑榜第 {black} 名）并列者全部列出；"
        "一票否决的农户不上红榜。网格排名按网格内全部农户（含无积分记录的农户，按 0 分计）的户均积分排列，"
        "户均积分四舍五入保留两位小数。对公示内容有异议的，请于公示之日起 {days} 日内向村考评小组反映。",
        "Red board: highest totals of the period first; black board: negative totals, lowest first, "
        "and every household vetoed this year. Ties share a rank (1, 2, 2, 4); all households tied "
        "at rank {red} (black: {black}) are listed; vetoed households are never on the red board. "
        "Grids are ranked by the average total of all their households (no records counts 0), "
        "shown rounded half-up to 2 decimals. Objections within {days} days of posting, to the "
        "village scoring team."),
    "place": ("公示地点：{place}", "Posted at: {place}"),
    "phone": ("联系电话：{phone}", "Contact: {phone}"),
    "seal": ("（盖章）", " (seal)"),
    "preview": ("预览·未公示", "PREVIEW · NOT PUBLISHED"),
    "preview_note": ("本页为预览，未经公示程序，不得张贴；正式公示请用 xiangyue publish 生成。",
                     "This is a preview, not a published notice; do not post it. Publish with "
                     "xiangyue publish."),
    "leader": ("考评小组组长（签字）：", "Scoring team leader:"),
    "party": ("党员代表（签字）：", "Party member:"),
    "rep": ("村民代表（签字）：", "Villagers' representative:"),
    "stamp": ("{village}村民委员会（盖章）", "{village} villagers' committee (seal)"),
    "correction": ("更正公示（第 {version} 版，替代此前发布的第 {previous} 版）",
                   "Correction (version {version}, replaces version {previous})"),
}


def _t(key: str, lang: str, **args: Any) -> str:
    zh, en = _T[key]
    text = en if lang == "en" else zh
    return text.format(**args) if args else text


period_title = period_words  # the name the renderers import
_date_text = date_words


def amount_text(value: Any, places: int | None = None) -> str:
    """A number as printed: exact, with thousands separators (``120,000``, ``-1,234.5``);
    ``places`` fixes the decimals (grid averages: 2)."""
    if value is None:
        return ""
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{d:,.{places}f}"
    text = decimal_text(d)
    whole, dot, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}{dot}{frac}"


_num = amount_text


def escape_html(value: Any) -> str:
    """Text for HTML: markup escaped, control characters shown (:func:`visible`)."""
    from xiangyue.report.terminal import visible

    return html.escape(visible("" if value is None else str(value), keep="\n"))


_esc = escape_html


def _board_table(entries: Sequence[Mapping[str, Any]], lang: str, black: bool,
                 key: str | None = None) -> str:
    extra = [k for k in ("earned", "previous", "increase") if any(k in e for e in entries)]
    head = [_t("rank", lang), _t("household", lang), _t("head", lang), _t("grid", lang),
            _t("total", lang)] + [_t(k, lang) for k in extra] + ([_t("remark", lang)] if black else [])
    rows = []
    for e in entries:
        cells = [
            f"<td>{_esc(e.get('rank') if e.get('rank') is not None else '—')}</td>",
            f"<td>{_esc(e.get('household'))}</td>",
            f"<td>{_esc(e.get('head'))}</td>",
            f"<td>{_esc(e.get('grid'))}</td>",
            f"<td class=\"num\">{_esc(_num(e.get('total')))}</td>",
        ] + [f"<td class=\"num\">{_esc(_num(e.get(k)))}</td>" for k in extra]
        if black:
            cells.append(f"<td class=\"veto\">{_t('veto', lang)}</td>" if e.get("vetoed")
                         else "<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        rows.append(f"<tr><td class=\"none\" colspan=\"{len(head)}\">"
                    f"{_t('none_' + (key or ('black' if black else 'red')), lang)}</td></tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>")


def render_chart(grids: Sequence[Mapping[str, Any]], lang: str = "zh") -> str:
    """A horizontal bar chart (inline SVG) of the grid ranking: rank and grid on the left, a
    bar for the average from the zero line (negative averages to the left, in grey), the
    average printed at the end of its own bar, households on the right."""
    if not grids:
        return f"<p class=\"note\">{_t('none_grids', lang)}</p>"
    # rows shrink for villages with many grids, so a 30-grid chart still fits the page
    width, top = 700, 4
    row = min(24, max(12, 360 // len(grids)))
    font = min(14, row - 4)
    label_w, count_w = 150, 60
    values = [Decimal(str(g["average"])) for g in grids]
    lo, hi = min([Decimal(0)] + values), max([Decimal(0)] + values)
    value_room = font * 5  # room for a value label beside a bar's end
    plot_x0 = label_w + (value_room if lo < 0 else 0)
    plot_x1 = width - count_w - (value_room if hi > 0 else 0)
    span = (hi - lo) or Decimal(1)
    plot_w = plot_x1 - plot_x0

    def x(v: Decimal) -> float:
        return plot_x0 + float((v - lo) / span) * plot_w

    zero = x(Decimal(0))
    height = top + row * len(grids) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="{_esc(_t("grids", lang))}">']
    unit = _t("households_unit", lang)
    for i, (g, v) in enumerate(zip(grids, values)):
        y = top + i * row
        base = y + row / 2 + font * 0.38
        if i % 2 == 0:
            parts.append(f'<rect x="{label_w}" y="{y}" width="{width - label_w}" height="{row}" '
                         f'fill="#f6f6f6"/>')
        parts.append(f'<text x="{label_w - 6}" y="{base:.1f}" font-size="{font}" '
                     f'text-anchor="end">{_esc(g.get("rank"))}. {_esc(g.get("grid"))}</text>')
        end = x(v)
        x0, x1 = sorted((zero, end))
        colour = "#c00000" if v >= 0 else "#555555"
        parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 0.8):.1f}" '
                     f'height="{row - 6}" fill="{colour}"/>')
        # the value sits at the end of its own bar: right of a positive bar, left of a negative one
        if v < 0:
            parts.append(f'<text x="{x0 - 4:.1f}" y="{base:.1f}" font-size="{font}" '
                         f'text-anchor="end">{_esc(amount_text(v, 2))}</text>')
        else:
            parts.append(f'<text x="{x1 + 4:.1f}" y="{base:.1f}" font-size="{font}">'
                         f'{_esc(amount_text(v, 2))}</text>')
        parts.append(f'<text x="{width - 4}" y="{base:.1f}" font-size="{font}" fill="#666" '
                     f'text-anchor="end">{_esc(g.get("households"))} {unit}</text>')
    parts.append(f'<line x1="{zero:.1f}" y1="{top - 2}" x2="{zero:.1f}" y2="{height - 2}" '
                 f'stroke="#000" stroke-width="0.8"/>')
    parts.append("</svg>")
    return "".join(parts)


def shown_boards(data: Mapping[str, Any]) -> list[str]:
    """The ranked boards the rule file defines, in order (red, black, progress)."""
    shown = list(data.get("shown") or ("red", "black"))
    return [b for b in ("red", "black", "progress") if b in shown and (b != "progress" or
                                                                       "progress" in data)]


def _boards_html(data: Mapping[str, Any], lang: str) -> str:
    """A section per board the rule file defines (red, black, progress)."""
    out = []
    for key in shown_boards(data):
        out.append(f'<section class="board {"black" if key == "black" else "red"}">\n'
                   f"    <h2>{_t(key, lang)}</h2>\n"
                   f"    {_board_table(data.get(key) or [], lang, key == 'black', key)}\n"
                   f"  </section>")
    return "\n  ".join(out)


def ruleset_line(rs: Mapping[str, Any], lang: str) -> str:
    """「name（version 版）」, or what of it the rule file gives (nothing when neither)."""
    name, version = rs.get("name") or "", rs.get("version")
    if version in (None, ""):
        return str(name)
    if lang == "en":
        return f"{name} (version {version})".strip()
    return f"{name}（{version} 版）"


def notice_settings(notice: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``notice:`` settings stored with a publication, defaults filled in (a publication
    from before the section existed has none)."""
    from xiangyue.rules.model import NoticeSpec

    return {**NoticeSpec().to_json(), **{k: v for k, v in (notice or {}).items() if v is not None}}


def render_notice(data: Mapping[str, Any], *, lang: str = "zh", date: dt.date | None = None,
                  version: int | None = None, notice: Mapping[str, Any] | None = None,
                  preview: bool = False) -> str:
    """The A4 notice for the boards ``data`` (:meth:`Boards.to_json`), dated ``date`` (default
    today); ``version`` > 1 marks it as a correction of the previous version. ``notice``: the
    rule file's ``notice:`` settings (:meth:`NoticeSpec.to_json`). ``preview``: not published
    (``board --format html``): a 预览·未公示 watermark over the page."""
    settings = notice_settings(notice)
    day = date or dt.date.today()
    rs = data.get("ruleset") or {}
    village = data.get("village") or ""
    period = period_title(str(data.get("period")), lang)
    sizes = data.get("sizes") or {}
    org = " ".join(str(p) for p in (rs.get("county"), rs.get("town"), village) if p)
    heading = f"{village} {period} {_t('heading', lang)}".strip()
    correction = ""
    if version and version > 1:
        correction = (f'<div class="correction">'
                      f'{_esc(_t("correction", lang, version=version, previous=version - 1))}</div>')
    no_grid = ""
    if data.get("no_grid"):
        no_grid = (f'<p class="note">{_t("no_grid", lang)}'
                   f'{_esc("、".join(map(str, data["no_grid"])))}</p>')
    meta_bits = [f"sha256 {str(rs.get('sha256') or '')[:12]}"]
    if version:
        meta_bits.insert(0, f"v{version}")
    meta_bits.append("xiangyue")
    contact = [_t("place", lang, place=settings["place"]) if settings.get("place") else "",
               _t("phone", lang, phone=settings["phone"]) if settings.get("phone") else ""]
    contact_line = "　".join(c for c in contact if c)
    seals = "".join(f'<div class="seal">{_esc(s)}{_t("seal", lang)}</div>'
                    for s in settings.get("signatories") or ())
    rows = max(len(data.get("red") or []), len(data.get("black") or []))
    grids = len(data.get("grids") or [])
    # type sized to fill the sheet: large for a short board, compact for long boards
    size = "compact" if rows > 12 or grids > 16 else ("roomy" if rows <= 8 and grids <= 8 else "")
    watermark = ""
    if preview:
        watermark = (f'<div class="watermark" aria-hidden="true">{_esc(_t("preview", lang))}</div>'
                     f'<div class="preview-note">{_esc(_t("preview_note", lang))}</div>')
    template = Template(resources.files("xiangyue.report").joinpath("templates/notice.html")
                        .read_text(encoding="utf-8"))
    return template.substitute(
        lang="en" if lang == "en" else "zh-CN",
        body_class=" ".join(c for c in (size, "preview" if preview else "") if c),
        title=_esc(("[" + _t("preview", lang) + "] " if preview else "")
                   + f"{village} {period} {_t('heading', lang)}"),
        org=_esc(org),
        heading=_esc(heading),
        subtitle=_esc(ruleset_line(rs, lang)),
        correction=correction,
        watermark=watermark,
        boards=_boards_html(data, lang),
        grid_title=_t("grids", lang),
        grid_chart=render_chart(data.get("grids") or [], lang),
        no_grid=no_grid,
        rules_text=_esc(_t("rules", lang, red=sizes.get("red", 5), black=sizes.get("black") or "—",
                           days=settings.get("objection_days", 7))
                        + (_t("progress_rule", lang,
                              previous=period_title(str(data.get("previous_period") or ""), lang))
                           if "progress" in data else "")),
        contact=_esc(contact_line),
        footnote=_esc(settings.get("footnote") or ""),
        sign_leader=_t("leader", lang),
        sign_party=_t("party", lang),
        sign_rep=_t("rep", lang),
        seals=seals,
        stamp=_esc(village),
        date_line=_esc(_date_text(day, lang)),
        meta=_esc(" · ".join(meta_bits)),
    )
