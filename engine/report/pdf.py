"""PDF without a browser: the notice (公示), and printable tables (compliance report, 积分存折,
积分细则, star ratings, selections, receipts) as A4 PDF files.

Made with fpdf2 (pure Python) and the Noto Sans SC font shipped by the ``pylopdf-fonts-zh-cn``
package; the characters used are embedded as a subset, so the Chinese shows in every PDF viewer
(a PDF that only *names* a Chinese font shows empty boxes where the viewer lacks it). No
browser, no header or footer a browser's print would add (``file:///…``, a timestamp).

``XIANGYUE_PDF_FONT`` may name another TrueType/OpenType font file with Chinese glyphs.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any, Mapping, Sequence

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register
from xiangyue.report.terminal import visible

__all__ = ["notice_pdf", "table_pdf", "Section", "PdfDoc"]

register({
    "E-PDF-FONT": Msg(
        zh="找不到用于 PDF 的中文字体：{detail}", en="no Chinese font for PDF: {detail}",
        hint_zh="重新安装 xiangyue（pip install xiangyue 会装上 pylopdf-fonts-zh-cn），"
                "或用环境变量 XIANGYUE_PDF_FONT 指定一个中文字体文件（.ttf/.otf）",
        hint_en="reinstall xiangyue (it brings pylopdf-fonts-zh-cn), or set XIANGYUE_PDF_FONT "
                "to a Chinese .ttf/.otf font file"),
})

A4_W, A4_H = 210.0, 297.0
MARGIN = 14.0
PT = 0.3528  # mm per point
RED = (176, 0, 0)
GREY = (90, 90, 90)


def _font_path() -> str:
    chosen = os.environ.get("XIANGYUE_PDF_FONT")
    if chosen:
        if not os.path.isfile(chosen):
            raise InputError(Diagnostic("E-PDF-FONT", file="XIANGYUE_PDF_FONT",
                                        args={"detail": chosen}))
        return chosen
    try:
        font = resources.files("pylopdf_fonts_zh_cn") / "NotoSansSC-Regular.otf"
        if font.is_file():
            return str(font)
    except ModuleNotFoundError:
        pass
    raise InputError(Diagnostic("E-PDF-FONT", file="pdf",
                                args={"detail": "pylopdf-fonts-zh-cn (NotoSansSC-Regular.otf)"}))


def _text(value: Any) -> str:
    return "" if value is None else visible(str(value), keep="")


class PdfDoc:
    """An A4 page (or pages) with the Chinese font loaded; small helpers for what every printable
    has: a centred title, wrapped text, a table that repeats its header on each page."""

    def __init__(self, title: str = "", *, landscape: bool = False):
        import logging

        from fpdf import FPDF

        logging.getLogger("fontTools").setLevel(logging.ERROR)
        self.pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.pdf.set_margins(MARGIN, MARGIN, MARGIN)
        self.pdf.set_auto_page_break(True, margin=MARGIN)
        self.pdf.add_font("cjk", "", _font_path())
        self.pdf.set_font("cjk", size=11)
        self.pdf.set_title(_text(title))
        self.pdf.set_creator("xiangyue")
        self.pdf.set_creation_date(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
        self.width = self.pdf.epw

    def page(self) -> None:
        self.pdf.add_page()

    def font(self, size: float, colour: tuple[int, int, int] = (17, 17, 17)) -> None:
        self.pdf.set_font("cjk", size=size)
        self.pdf.set_text_color(*colour)

    def centred(self, text: str, size: float, colour: tuple[int, int, int] = (17, 17, 17),
                gap: float = 1.0) -> None:
        self.font(size, colour)
        self.pdf.set_x(self.pdf.l_margin)
        self.pdf.multi_cell(self.width, size * PT * 1.35, _text(text), align="C",
                            new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        self.pdf.ln(gap)

    def para(self, text: str, size: float = 10, colour: tuple[int, int, int] = (51, 51, 51),
             align: str = "L", gap: float = 1.0) -> None:
        if not text:
            return
        self.font(size, colour)
        self.pdf.set_x(self.pdf.l_margin)
        self.pdf.multi_cell(self.width, size * PT * 1.5, _text(text), align=align,
                            new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        self.pdf.ln(gap)

    def heading(self, text: str, size: float = 13) -> None:
        pdf = self.pdf
        pdf.ln(2)
        y = pdf.get_y()
        pdf.set_fill_color(*RED)
        pdf.rect(pdf.l_margin, y + 0.5, 1.0, size * PT * 1.1, style="F")
        self.font(size)
        pdf.set_xy(pdf.l_margin + 2.5, y)
        pdf.cell(self.width - 2.5, size * PT * 1.3, _text(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], *,
              widths: Sequence[float] | None = None, size: float = 10,
              right: Sequence[int] = (), x: float | None = None, width: float | None = None,
              head_fill: tuple[int, int, int] = (241, 241, 241),
              head_colour: tuple[int, int, int] = (17, 17, 17),
              empty: str = "", row_colours: Sequence[tuple[int, int, int] | None] = ()) -> None:
        """A bordered table from the current position (header repeated on a new page)."""
        from fpdf.fonts import FontFace

        pdf = self.pdf
        width = width or self.width
        saved = pdf.l_margin
        if x is not None:
            pdf.set_left_margin(x)
        pdf.set_x(pdf.l_margin)
        pdf.set_fill_color(255, 255, 255)
        self.font(size)
        n = len(header)
        widths = list(widths or [1] * n)
        right = set(right)
        line = size * PT * 1.5
        with pdf.table(width=width, col_widths=widths, align="LEFT", line_height=line,
                       headings_style=FontFace(fill_color=head_fill, color=head_colour),
                       text_align="CENTER", borders_layout="ALL", padding=(0.6, 0.5)) as t:
            head = t.row()
            for h in header:
                head.cell(_text(h))
            if not rows and empty:
                r = t.row()
                r.cell(_text(empty), colspan=n, style=FontFace(color=(119, 119, 119)))
            for i, row in enumerate(rows):
                colour = row_colours[i] if i < len(row_colours) else None
                r = t.row()
                for j, value in enumerate(row):
                    style = FontFace(color=colour, fill_color=(255, 255, 255)) if colour else None
                    r.cell(_text(value), align="RIGHT" if j in right else "CENTER", style=style)
        pdf.set_left_margin(saved)
        pdf.set_x(saved)

    def signature_lines(self, labels: Sequence[str], size: float = 10.5) -> None:
        pdf = self.pdf
        self.font(size)
        col = self.width / max(1, len(labels))
        y = pdf.get_y() + 2
        for i, label in enumerate(labels):
            x = pdf.l_margin + i * col
            pdf.set_xy(x, y)
            w = pdf.get_string_width(_text(label))
            pdf.cell(w + 1, size * PT * 1.6, _text(label))
            pdf.set_draw_color(0, 0, 0)
            pdf.line(x + w + 1.5, y + size * PT * 1.4, x + col - 4, y + size * PT * 1.4)
        pdf.set_xy(pdf.l_margin, y + size * PT * 1.8)

    def right_lines(self, lines: Sequence[str], size: float = 11, gap: float = 6.0) -> None:
        """Lines set right (seals, village, date)."""
        self.font(size)
        for text in lines:
            if text:
                self.pdf.set_x(self.pdf.l_margin)
                self.pdf.cell(self.width, size * PT * 1.7, _text(text), align="R",
                              new_x="LMARGIN", new_y="NEXT")

    def output(self) -> bytes:
        return bytes(self.pdf.output())


# --- the notice --------------------------------------------------------------------------------

def notice_pdf(data: Mapping[str, Any], *, lang: str = "zh", date: dt.date | None = None,
               version: int | None = None, notice: Mapping[str, Any] | None = None,
               preview: bool = False) -> bytes:
    """The notice of :func:`xiangyue.report.notice.render_notice` as a one-page A4 PDF: type as
    large as the boards allow (a village of ~60 households gets 14pt tables), smaller for long
    boards, so the sheet is filled and still one page."""
    from xiangyue.periods import date_words
    from xiangyue.report.notice import (
        _t,
        notice_settings,
        period_title,
        ruleset_line,
        shown_boards,
    )

    settings = notice_settings(notice)
    rs = data.get("ruleset") or {}
    village = data.get("village") or ""
    period = period_title(str(data.get("period")), lang)
    grids = list(data.get("grids") or [])
    shown = shown_boards(data)
    rows = max([len(data.get(k) or []) for k in shown[:2]] + [1])
    rows += sum(len(data.get(k) or []) + 2 for k in shown[2:])  # a board below the first two
    # the largest type (14pt down to 7pt) at which boards and chart fit the space left on A4
    room = A4_H - 2 * MARGIN - 118  # header, headings, rules text, signatures and seals
    size = 11.5
    while size > 7:
        line = size * PT * 1.5 + 1.2
        need = (rows + 1) * line + max(1, len(grids)) * max(line * 0.85, 3.2)
        if need <= room:
            break
        size -= 0.5
    doc = PdfDoc(f"{village} {period} {_t('heading', lang)}")
    doc.page()
    pdf = doc.pdf
    org = " ".join(str(p) for p in (rs.get("county"), rs.get("town"), village) if p)
    doc.centred(org, 11, GREY, gap=0)
    doc.centred(f"{village} {period} {_t('heading', lang)}".strip(), 22, RED, gap=0)
    doc.centred(ruleset_line(rs, lang), 10.5, (51, 51, 51), gap=0.5)
    if version and version > 1:
        doc.centred(_t("correction", lang, version=version, previous=version - 1), 10, RED)
    y = pdf.get_y() + 1
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN, y, A4_W - MARGIN, y)
    pdf.set_line_width(0.2)
    pdf.line(MARGIN, y + 1, A4_W - MARGIN, y + 1)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(y + 4)
    # the boards the rule file defines: the first two side by side, a third (进步榜) below
    gap = 6.0
    bottoms: list[float] = []
    for row_keys in (shown[:2], shown[2:]):
        if not row_keys:
            continue
        top = max(bottoms) + 3 if bottoms else pdf.get_y()
        col = (doc.width - gap * (len(row_keys) - 1)) / len(row_keys)
        for i, key in enumerate(row_keys):
            bottoms.append(_board(doc, data, key, MARGIN + i * (col + gap), top, col, size, lang))
    pdf.set_y((max(bottoms) if bottoms else pdf.get_y()) + 2)
    doc.heading(_t("grids", lang), size=min(size + 1, 13))
    footer_h = 62.0
    # the chart's rows take the room the boards leave, up to 10 mm each
    room_left = A4_H - MARGIN - footer_h - pdf.get_y() - 4
    _chart(doc, grids, size, lang, row_h=min(10.0, room_left / max(1, len(grids))))
    if data.get("no_grid"):
        doc.para(_t("no_grid", lang) + "、".join(map(str, data["no_grid"])), 9)
    # the footer keeps to the bottom of the sheet when there is room
    if pdf.get_y() < A4_H - MARGIN - footer_h:
        pdf.set_y(A4_H - MARGIN - footer_h)
    pdf.set_draw_color(153, 153, 153)
    pdf.line(MARGIN, pdf.get_y(), A4_W - MARGIN, pdf.get_y())
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(1)
    sizes = data.get("sizes") or {}
    doc.para(_t("rules", lang, red=sizes.get("red", 5), black=sizes.get("black") or "—",
                days=settings["objection_days"])
             + (_t("progress_rule", lang,
                              previous=period_title(str(data.get("previous_period") or ""), lang))
                if "progress" in data else ""), 8.5)
    contact = [_t("place", lang, place=settings["place"]) if settings.get("place") else "",
               _t("phone", lang, phone=settings["phone"]) if settings.get("phone") else ""]
    doc.para("　".join(c for c in contact if c), 9.5, (17, 17, 17))
    doc.signature_lines([_t("leader", lang), _t("party", lang), _t("rep", lang)], 10.5)
    seals = "　　".join(f"{s}{_t('seal', lang)}" for s in settings.get("signatories") or ())
    doc.right_lines([seals, village, date_words(date or dt.date.today(), lang)], 11)
    doc.para(settings.get("footnote") or "", 9)
    meta = [f"v{version}"] if version else []
    meta += [f"sha256 {str(rs.get('sha256') or '')[:12]}", "xiangyue"]
    doc.font(6.5, (136, 136, 136))
    pdf.set_x(MARGIN)
    pdf.cell(doc.width, 3, " · ".join(meta))
    if preview:  # over everything, see-through: nobody posts this by mistake
        _watermark(doc, _t("preview", lang))
    return doc.output()


def _board(doc: PdfDoc, data: Mapping[str, Any], key: str, x: float, top: float, col: float,
           size: float, lang: str) -> float:
    """One board (title band and table) at ``x``, ``top``, ``col`` wide; returns its bottom."""
    from xiangyue.report.notice import _t, amount_text

    pdf = doc.pdf
    entries = list(data.get(key) or [])
    black = key == "black"
    pdf.set_fill_color(*((34, 34, 34) if black else (192, 0, 0)))
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("cjk", size=size + 2)
    pdf.set_xy(x, top)
    title = _t(key, lang) if lang == "en" else "  ".join(_t(key, lang))  # 红  榜
    pdf.cell(col, (size + 2) * PT * 1.7, title, align="C", fill=True, new_x="LEFT", new_y="NEXT")
    pdf.ln(1)
    extra = [k for k in ("earned", "previous", "increase") if any(k in e for e in entries)]
    head = [_t("rank", lang), _t("household", lang), _t("head", lang), _t("grid", lang),
            _t("total", lang)] + [_t(k, lang) for k in extra]
    body = [[e.get("rank") if e.get("rank") is not None else "—", e.get("household"),
             e.get("head"), e.get("grid"), amount_text(e.get("total"))]
            + [amount_text(e.get(k)) for k in extra] for e in entries]
    widths = [11, 17, 19, 22, 16] + [14] * len(extra)
    colours: list[tuple[int, int, int] | None] = [RED] * len(body) if not black else []
    if black:
        head.append(_t("remark", lang))
        for row, e in zip(body, entries):
            row.append(_t("veto", lang) if e.get("vetoed") else "")
        colours = [RED if e.get("vetoed") else None for e in entries]
        widths = [11, 14, 15, 17, 12] + [12] * len(extra) + [19]
    doc.table(head, body, widths=widths, size=size, right=set(range(4, 5 + len(extra))), x=x,
              width=col, empty=_t("none_" + key, lang), row_colours=colours)
    return pdf.get_y()


def _chart(doc: PdfDoc, grids: Sequence[Mapping[str, Any]], size: float, lang: str, *,
           row_h: float = 0.0) -> None:
    """Horizontal bars of the grid averages from a zero line; each value at its own bar's end."""
    from xiangyue.report.notice import _t, amount_text

    pdf = doc.pdf
    if not grids:
        doc.para(_t("none_grids", lang), 9)
        return
    row = max(row_h, 3.2)
    fsize = max(6.5, min(12.0, (row - 1.0) / (PT * 1.5)))
    label_w, count_w = 42.0, 16.0
    value_w = fsize * PT * 6
    values = [Decimal(str(g["average"])) for g in grids]
    lo, hi = min([Decimal(0), *values]), max([Decimal(0), *values])
    x0 = MARGIN + label_w + (value_w if lo < 0 else 0)
    x1 = MARGIN + doc.width - count_w - (value_w if hi > 0 else 0)
    span = (hi - lo) or Decimal(1)

    def x(v: Decimal) -> float:
        return x0 + float((v - lo) / span) * (x1 - x0)

    zero = x(Decimal(0))
    top = pdf.get_y()
    doc.font(fsize)
    for i, (g, v) in enumerate(zip(grids, values)):
        y = top + i * row
        if i % 2 == 0:
            pdf.set_fill_color(246, 246, 246)
            pdf.rect(MARGIN, y, doc.width, row, style="F")
        pdf.set_text_color(17, 17, 17)
        pdf.set_xy(MARGIN, y)
        pdf.cell(label_w - 2, row, _text(f"{g.get('rank')}. {g.get('grid')}"), align="R")
        end = x(v)
        a, b = sorted((zero, end))
        pdf.set_fill_color(*((192, 0, 0) if v >= 0 else (85, 85, 85)))
        pdf.rect(a, y + row * 0.18, max(b - a, 0.3), row * 0.64, style="F")
        label = amount_text(v, 2)
        if v < 0:
            pdf.set_xy(a - value_w - 1, y)
            pdf.cell(value_w, row, label, align="R")
        else:
            pdf.set_xy(b + 1, y)
            pdf.cell(value_w, row, label, align="L")
        pdf.set_text_color(*GREY)
        pdf.set_xy(MARGIN + doc.width - count_w, y)
        pdf.cell(count_w, row, f"{g.get('households')} {_t('households_unit', lang)}", align="R")
    pdf.set_draw_color(0, 0, 0)
    pdf.line(zero, top, zero, top + row * len(grids))
    pdf.set_y(top + row * len(grids) + 1)


def _watermark(doc: PdfDoc, text: str) -> None:
    pdf = doc.pdf
    doc.font(64, (200, 0, 0))
    with pdf.local_context(fill_opacity=0.18), pdf.rotation(30, A4_W / 2, A4_H / 2):
        pdf.set_xy(0, A4_H / 2 - 15)
        pdf.cell(A4_W, 30, text, align="C")


# --- printable tables --------------------------------------------------------------------------

@dataclass
class Section:
    """A part of a printable: a heading, lines of text, a table, lines after it."""

    heading: str = ""
    lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    widths: list[float] | None = None
    right: tuple[int, ...] = ()
    after: list[str] = field(default_factory=list)
    new_page: bool = False


def table_pdf(title: str, sections: Sequence[Section], *, subtitle: str = "",
              signatures: Sequence[str] = (), footer: Sequence[str] = (),
              landscape: bool = False, size: float = 10.5) -> bytes:
    """A printable of titled tables (A4; tables go on to the next page with their header)."""
    doc = PdfDoc(title, landscape=landscape)
    doc.page()
    doc.centred(title, 18, RED, gap=0.5)
    if subtitle:
        doc.centred(subtitle, 10.5, GREY, gap=2)
    first = True
    for s in sections:
        if s.new_page and not first:
            doc.page()
            doc.centred(title, 18, RED, gap=0.5)
            if subtitle:
                doc.centred(subtitle, 10.5, GREY, gap=2)
        first = False
        if s.heading:
            doc.heading(s.heading, 12.5)
        for line in s.lines:
            doc.para(line, size - 0.5, (17, 17, 17), align="L", gap=0.2)
        if s.header:
            doc.table(s.header, s.rows, widths=s.widths, size=size, right=s.right)
        for line in s.after:
            doc.para(line, size - 0.5, (17, 17, 17), align="L", gap=0.2)
        if s.new_page and signatures:
            doc.pdf.ln(4)
            doc.signature_lines(signatures)
    if signatures and not any(s.new_page for s in sections):
        doc.pdf.ln(4)
        doc.signature_lines(signatures)
    if footer:
        doc.pdf.ln(2)
        doc.right_lines(list(footer), 10.5)
    return doc.output()
