"""Renderers of the boards (:class:`xiangyue.points.boards.Boards`): terminal table, JSON, CSV, XLSX,
HTML (the A4 notice of :mod:`.notice`).

All of them read the boards' JSON form (``Boards.to_json(details=True)``), the same data a
publication stores, so a stored publication renders exactly as it did when published.

The JSON shape (keys may be added, never renamed)::

    {"period": "2024-Q1", "village": ..., "ruleset": {...}, "sizes": {"red": 5, "black": 5},
     "red":   [{"rank": 1, "household": "JG049", "head": ..., "grid": ..., "total": 74.5,
               "vetoed": false}],
     "black": [{"rank": 1, "household": "JG007", ..., "total": -13.25, "vetoed": true},
               {"rank": null, ..., "vetoed": true}],
     "grids": [{"rank": 1, "grid": "第3网格", "average": 41.2, "households": 12,
                "total": 494.4}],
     "no_grid": [...], "households": [...every household's total...]}

``average`` is rounded half-up to 2 decimals; ``total / households`` is the exact value the
ranking used. Numbers print exactly (:mod:`.jsonout`).
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any, Mapping

from xiangyue.report.output import BINARY_FORMATS, write_output  # noqa: F401  (re-exported)
from xiangyue.report.cells import append_row, csv_text
from xiangyue.report.jsonout import decimal_text, dumps
from xiangyue.report.notice import period_title, render_notice, shown_boards
from xiangyue.report.terminal import table

__all__ = ["FORMATS", "render", "write_output", "render_table", "render_json", "render_csv", "render_xlsx",
           "BINARY_FORMATS"]

FORMATS = ("table", "json", "csv", "xlsx", "html")

_H = {
    "rank": ("名次", "rank"), "household": ("户号", "household"), "head": ("户主", "head"),
    "grid": ("网格", "grid"), "total": ("积分", "total"), "remark": ("备注", "remark"),
    "veto": ("一票否决", "vetoed"), "average": ("户均积分", "average"),
    "households": ("户数", "households"), "sum": ("合计", "sum"),
    "red": ("红榜", "Red board"), "black": ("黑榜", "Black board"),
    "progress": ("进步榜", "Progress board"), "increase": ("增加", "increase"),
    "previous": ("上期", "previous"), "earned": ("得分", "earned"),
    "grids": ("网格排名", "Grid ranking"), "details": ("明细", "Details"),
    "none": ("（本期无）", "(none)"), "board": ("榜单", "board"),
    "no_grid": ("未分网格：", "no grid: "),
}


def _h(key: str, lang: str) -> str:
    zh, en = _H[key]
    return en if lang == "en" else zh


def _num(value: Any) -> str:
    if value is None:
        return ""
    return decimal_text(value if isinstance(value, Decimal) else Decimal(str(value)))


def _avg(value: Any) -> str:
    """A grid average as shown: always 2 decimals (the JSON value is already rounded)."""
    return format(_dec(value).quantize(Decimal("0.01")), "f")


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def render(data: Mapping[str, Any], fmt: str, lang: str = "zh", *, color: bool = False,
           date: dt.date | None = None, version: int | None = None) -> str | bytes:
    if fmt == "json":
        return render_json(data)
    if fmt == "csv":
        return render_csv(data, lang)
    if fmt == "xlsx":
        return render_xlsx(data, lang)
    if fmt == "html":
        # not a publication: the page says so (publish writes the notice to post)
        return render_notice(data, lang=lang, date=date, version=version, preview=True)
    return render_table(data, lang, color=color)


def render_json(data: Mapping[str, Any]) -> str:
    return dumps(dict(data)) + "\n"


def _extra_columns(entries: Any) -> list[str]:
    """Columns a board's entries carry besides the total: earned, previous, increase."""
    return [k for k in ("earned", "previous", "increase") if any(k in e for e in entries)]


def _board_rows(entries, lang: str, black: bool) -> list[list[str]]:
    rows = []
    extra = _extra_columns(entries)
    for e in entries:
        row = [str(e["rank"]) if e.get("rank") is not None else "—", str(e.get("household")),
               str(e.get("head") or ""), str(e.get("grid") or ""), _num(e.get("total"))]
        row += [_num(e.get(k)) for k in extra]
        if black:
            row.append(_h("veto", lang) if e.get("vetoed") else "")
        rows.append(row)
    return rows


def render_table(data: Mapping[str, Any], lang: str = "zh", *, color: bool = False) -> str:
    """The three boards as aligned text (red board in red, vetoed marks in bold red)."""
    title = f"{data.get('village') or ''} {period_title(str(data['period']), lang)}"
    out = [title.strip(), ""]
    head = [_h("rank", lang), _h("household", lang), _h("head", lang), _h("grid", lang),
            _h("total", lang)]
    for key in shown_boards(data):
        black = key == "black"
        entries = data.get(key) or []
        out.append(_style_title(_h(key, lang), "bold" if black else "red", color))
        if not entries:
            out.append("  " + _h("none", lang))
        else:
            extra = _extra_columns(entries)
            styles = [(("red",) if not black else (("red", "bold") if e.get("vetoed") else ()))
                      for e in entries]
            out.append(table(head + [_h(k, lang) for k in extra] + ([_h("remark", lang)] if black else []),
                             _board_rows(entries, lang, black),
                             right={0, 4} | set(range(5, 5 + len(extra))),
                             row_styles=styles, color=color, indent="  "))
        out.append("")
    out.append(_style_title(_h("grids", lang), "bold", color))
    grids = data.get("grids") or []
    if not grids:
        out.append("  " + _h("none", lang))
    else:
        out.append(table([_h("rank", lang), _h("grid", lang), _h("average", lang),
                          _h("households", lang), _h("sum", lang)],
                         [[str(g["rank"]), str(g["grid"]), _avg(g["average"]),
                           str(g["households"]), _num(g.get("total"))] for g in grids],
                         right={0, 2, 3, 4}, indent="  ", color=color))
    if data.get("no_grid"):
        out.append("  " + _h("no_grid", lang) + "、".join(map(str, data["no_grid"])))
    return "\n".join(out) + "\n"


def _style_title(text: str, colour: str, color: bool) -> str:
    from xiangyue.report.terminal import style

    return style(text, *((colour, "bold") if colour != "bold" else ("bold",)), enabled=color)


def render_csv(data: Mapping[str, Any], lang: str = "zh") -> str:
    """One row per board line: board (red/black/grid), rank, household or grid, head, grid,
    total (for grids: the rounded average), vetoed, households (grids)."""
    rows: list[list[Any]] = []
    for key in shown_boards(data):
        for e in data.get(key) or []:
            rows.append([key if lang == "en" else _h(key, lang),
                        "" if e.get("rank") is None else e["rank"], e.get("household"),
                        e.get("head") or "", e.get("grid") or "", _num(e.get("total")),
                        "1" if e.get("vetoed") else "0", ""])
    for g in data.get("grids") or []:
        rows.append(["grid" if lang == "en" else "网格排名", g["rank"], "", "", g["grid"],
                     _avg(g["average"]), "", g["households"]])
    return csv_text(["board", "rank", "household", "head", "grid", "total", "vetoed", "households"]
                    if lang == "en" else
                    ["榜单", "名次", "户号", "户主", "网格", "积分", "一票否决", "户数"], rows)


def render_xlsx(data: Mapping[str, Any], lang: str = "zh") -> bytes:
    """A workbook for the township: sheets 红榜, 黑榜, 网格排名, 明细 (every household's
    total). Numbers are written as numbers (exact decimals)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    bold = Font(bold=True)
    fills = {"red": PatternFill("solid", fgColor="F4CCCC"), "black": PatternFill("solid",
                                                                              fgColor="D9D9D9")}

    def sheet(title: str, header: list[str], rows: list[list[Any]], fill=None, widths=None):
        ws = wb.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(horizontal="center")
            if fill is not None:
                cell.fill = fill
        for r in rows:
            append_row(ws, r)
        for i, wdt in enumerate(widths or [], start=1):
            ws.column_dimensions[chr(64 + i)].width = wdt
        ws.freeze_panes = "A2"
        return ws

    wb.remove(wb.active)
    head = [_h("rank", lang), _h("household", lang), _h("head", lang), _h("grid", lang),
            _h("total", lang)]
    for key in shown_boards(data):
        entries = data.get(key) or []
        extra = _extra_columns(entries)
        black = key == "black"
        sheet(_h(key, lang), head + [_h(k, lang) for k in extra] + ([_h("remark", lang)] if black else []),
              [[e.get("rank"), e.get("household"), e.get("head"), e.get("grid"), _dec(e.get("total"))]
               + [_dec(e.get(k)) for k in extra]
               + ([_h("veto", lang) if e.get("vetoed") else None] if black else [])
               for e in entries], fills["black" if black else "red"],
              [8, 12, 12, 14, 10] + [10] * len(extra) + ([12] if black else []))
    sheet(_h("grids", lang) if lang == "en" else "网格排名",
          [_h("rank", lang), _h("grid", lang), _h("average", lang), _h("households", lang),
           _h("sum", lang)],
          [[g["rank"], g["grid"], _dec(g["average"]), g["households"], _dec(g.get("total"))]
           for g in data.get("grids") or []], None, [8, 16, 12, 8, 12])
    sheet(_h("details", lang) if lang == "en" else "明细",
          [_h("household", lang), _h("head", lang), _h("grid", lang), _h("total", lang),
           _h("veto", lang)],
          [[h.get("household"), h.get("head"), h.get("grid"), _dec(h.get("total")),
            (_h("veto", lang) if h.get("vetoed") else None)]
           for h in data.get("households") or []], None, [12, 12, 14, 10, 12])
    info = wb.create_sheet("说明" if lang != "en" else "About")
    rs = data.get("ruleset") or {}
    for k, v in (("村", data.get("village")), ("期间", data.get("period")),
                 ("规则文件", rs.get("name")), ("版本", rs.get("version")),
                 ("sha256", rs.get("sha256"))):
        append_row(info, [k, v])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


