"""Renderers for the county commands: terminal tables, the dashboard as HTML and XLSX.

They take the JSON data of :mod:`xiangyue.county.jobs` (``evaluation_json``, ``report_json``,
``replay_json``, ``lint_json``), so every format shows the same numbers. Numbers print as
``xiangyue evaluate`` prints them (exact decimals); the HTML page is self-contained (inline
CSS, charts as inline SVG) and escapes every text from a village's files; the workbook writes
numbers as numbers and any text as text (a value starting with ``=`` stays text, never a
formula).
"""

from __future__ import annotations

import html
import io
from decimal import Decimal
from typing import Any, Mapping, Sequence

from xiangyue.report.compliance import kind_word
from xiangyue.report.jsonout import decimal_text
from xiangyue.report.terminal import table

__all__ = ["render_evaluation_table", "render_report_table", "render_report_html",
           "render_report_xlsx", "render_replay_table", "render_lint_text"]

_WORDS = {
    "village": ("村编号", "village"), "name": ("村名", "name"), "households": ("户数", "households"),
    "total": ("总分", "total"), "mean": ("平均分", "mean"), "median": ("中位数", "median"),
    "vetoed": ("一票否决", "vetoed"), "unmatched": ("未匹配记录", "unmatched"),
    "records": ("记录数", "records"), "status": ("状态", "status"), "ok": ("完成", "ok"),
    "failed": ("失败", "FAILED"), "red": ("红榜", "red"), "black": ("黑榜", "black"),
    "unmatched_share": ("未匹配比例", "unmatched share"), "violations": ("清单问题", "checklist findings"),
    "published": ("公示", "published"), "yes": ("已公示", "yes"), "no": ("未公示", "no"),
    "version": ("版本", "version"), "days": ("期末后天数", "days after period"),
    "distribution": ("积分分布", "distribution of points"), "min": ("最低", "min"),
    "q1": ("下四分位", "Q1"), "q3": ("上四分位", "Q3"), "max": ("最高", "max"),
    "gain": ("加分户", "gain"), "lose": ("减分户", "lose"), "same": ("不变", "same"),
    "sum_delta": ("总变化", "sum of changes"), "entered_red": ("进红榜", "enter red"),
    "left_red": ("出红榜", "leave red"), "entered_black": ("进黑榜", "enter black"),
    "left_black": ("出黑榜", "leave black"), "largest": ("变化最大的户", "largest changes"),
    "template": ("不用县模板", "does not extend the template"),
    "summary": ("合计", "county"), "averages": ("各村平均分", "average points per village"),
    "unmatched_chart": ("未匹配记录比例", "share of unmatched records"),
    "checklists": ("清单问题（按类型）", "checklist findings by kind"),
    "period": ("期间", "period"), "ruleset": ("规则文件", "rule file"),
    "none": ("无", "none"), "failed_villages": ("处理失败的村", "villages that failed"),
    "not_current": ("（公示后规则文件已改）", " (rule file changed since)"),
}


def _w(key: str, lang: str) -> str:
    zh, en = _WORDS[key]
    return en if lang == "en" else zh


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value)


def _pct(value: Any) -> str:
    if value is None:
        return "-"
    return f"{(Decimal(value) * 100).quantize(Decimal('0.01'))}%"


def _failures(data: Mapping[str, Any], lang: str) -> list[str]:
    out = []
    for v in data["villages"]:
        if v.get("error"):
            out.append(f"{v['village']}（{v['name']}）:" if lang != "en" else f"{v['village']} ({v['name']}):")
            out.extend("  " + line for line in v["error"].splitlines())
    return out


# --------------------------------------------------------------------------------------------
# county evaluate


def render_evaluation_table(data: Mapping[str, Any], lang: str = "zh") -> str:
    keys = ("village", "name", "households", "total", "mean", "median", "vetoed", "unmatched", "status")
    rows = []
    for v in data["villages"]:
        ok = not v.get("error")
        rows.append([v["village"], v["name"]] + [_num(v.get(k)) for k in keys[2:-1]]
                    + [_w("ok" if ok else "failed", lang)])
    s = data["summary"]
    rows.append([_w("summary", lang), f"{s['villages']}", _num(s["households"]), _num(s["total"]),
                 "", "", "", "", f"{_w('failed', lang)} {s['failed']}"])
    head = f"{data['county']} {data['period']}"
    out = [head, table([_w(k, lang) for k in keys], rows, right=range(2, 8))]
    fails = _failures(data, lang)
    if fails:
        out += ["", _w("failed_villages", lang) + ":"] + fails
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# county report: table, HTML, XLSX


def _kinds(data: Mapping[str, Any]) -> list[str]:
    return list(data["summary"]["violations_by_kind"])


def _report_rows(data: Mapping[str, Any], lang: str) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the dashboard (values typed: Decimal, int, str or None)."""
    kinds = _kinds(data)
    head = [_w(k, lang) for k in ("village", "name", "households", "mean", "median", "min", "max",
                                  "vetoed", "red", "black", "unmatched_share", "published",
                                  "version", "days")]
    head += [kind_word(k, lang) for k in kinds]
    rows = []
    for v in data["villages"]:
        if v.get("error"):
            rows.append([v["village"], v["name"], _w("failed", lang)] + [None] * (len(head) - 3))
            continue
        d = v.get("distribution") or {}
        pub = v["publication"]
        by_kind = v["checklists"]["by_kind"]
        rows.append([v["village"], v["name"], v["households"], v["mean"], v["median"], d.get("min"),
                     d.get("max"), v["vetoed"], v["red"], v["black"], v["unmatched_share"],
                     _w("yes" if pub["published"] else "no", lang), pub["version"],
                     pub["days_after_period"]] + [by_kind.get(k, 0) for k in kinds])
    return head, rows


def render_report_table(data: Mapping[str, Any], lang: str = "zh") -> str:
    head, rows = _report_rows(data, lang)
    shown = [[_pct(c) if i == 10 and c is not None else _num(c) for i, c in enumerate(r)] for r in rows]
    s = data["summary"]
    out = [f"{data['county']} {data['period']}",
           table(head, shown, right=set(range(2, len(head))) - {11}),
           f"{_w('summary', lang)}: {s['villages']} / {_w('households', lang)} {s['households']} / "
           f"{_w('mean', lang)} {_num(s['mean'])} / {_w('vetoed', lang)} {s['vetoed']} / "
           f"{_w('published', lang)} {s['published']} / {_w('failed', lang)} {s['failed']}"]
    fails = _failures(data, lang)
    if fails:
        out += ["", _w("failed_villages", lang) + ":"] + fails
    return "\n".join(out) + "\n"


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
.sub{color:#666;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #bbb;padding:3px 7px} th{background:#eee}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#fde2e2}
.late{color:#b00000;font-weight:bold}
.chart{max-width:900px;width:100%;display:block}
.err{white-space:pre-wrap;font-family:monospace;font-size:12px}
@media print{body{margin:0}}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def box_chart(villages: Sequence[Mapping[str, Any]], lang: str = "zh") -> str:
    """One row per village: a box from Q1 to Q3 with the median, whiskers to min and max
    (the distribution of the households' points), the mean as a dot; inline SVG."""
    rows = [v for v in villages if not v.get("error") and v.get("distribution")]
    if not rows:
        return f"<p>{_esc(_w('none', lang))}</p>"
    width, label_w, value_w, row, top = 860, 150, 120, 18, 18
    lo = min(Decimal(0), *(Decimal(v["distribution"]["min"]) for v in rows))
    hi = max(Decimal(0), *(Decimal(v["distribution"]["max"]) for v in rows))
    span = (hi - lo) or Decimal(1)
    x0, x1 = label_w, width - value_w

    def x(value: Any) -> float:
        return x0 + float((Decimal(value) - lo) / span) * (x1 - x0)

    height = top + row * len(rows) + 6
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
             f'role="img" aria-label="{_esc(_w("distribution", lang))}">',
             f'<text x="{x0}" y="12" font-size="11">{_esc(_num(lo))}</text>',
             f'<text x="{x1}" y="12" font-size="11" text-anchor="end">{_esc(_num(hi))}</text>']
    for i, v in enumerate(rows):
        d = v["distribution"]
        y = top + i * row
        mid = y + row / 2
        if i % 2 == 0:
            parts.append(f'<rect x="{x0}" y="{y}" width="{x1 - x0}" height="{row}" fill="#f6f6f6"/>')
        parts.append(f'<text x="{label_w - 6}" y="{mid + 4:.1f}" font-size="12" text-anchor="end">'
                     f'{_esc(v["name"])}</text>')
        parts.append(f'<line x1="{x(d["min"]):.1f}" y1="{mid:.1f}" x2="{x(d["max"]):.1f}" y2="{mid:.1f}" '
                     f'stroke="#555"/>')
        q1, q3 = x(d["q1"]), x(d["q3"])
        parts.append(f'<rect x="{q1:.1f}" y="{y + 3}" width="{max(q3 - q1, 0.8):.1f}" height="{row - 6}" '
                     f'fill="#9ec3e6" stroke="#2f5597"/>')
        parts.append(f'<line x1="{x(d["median"]):.1f}" y1="{y + 2}" x2="{x(d["median"]):.1f}" '
                     f'y2="{y + row - 2}" stroke="#000" stroke-width="2"/>')
        parts.append(f'<circle cx="{x(v["mean"]):.1f}" cy="{mid:.1f}" r="2.5" fill="#c00000"/>')
        parts.append(f'<text x="{x1 + 6}" y="{mid + 4:.1f}" font-size="11">'
                     f'{_esc(_w("mean", lang))} {_esc(_num(v["mean"]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(items: Sequence[tuple[str, Decimal]], label: str, shown: Sequence[str]) -> str:
    """Horizontal bars (inline SVG), one per village, ``shown`` printed at the bar's end."""
    if not items:
        return ""
    width, label_w, value_w, row = 860, 150, 120, 16
    hi = max((v for _n, v in items), default=Decimal(0)) or Decimal(1)
    x0, x1 = label_w, width - value_w
    height = row * len(items) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
             f'role="img" aria-label="{_esc(label)}">']
    for i, ((name, value), text) in enumerate(zip(items, shown)):
        y = i * row
        w = float(max(value, Decimal(0)) / hi) * (x1 - x0)
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" font-size="12" text-anchor="end">{_esc(name)}</text>')
        parts.append(f'<rect x="{x0}" y="{y + 2}" width="{max(w, 0.8):.1f}" height="{row - 4}" fill="#c55a11"/>')
        parts.append(f'<text x="{x0 + w + 6:.1f}" y="{y + 12}" font-size="11">{_esc(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report_html(data: Mapping[str, Any], lang: str = "zh") -> str:
    """The dashboard as one self-contained page: the table, then the charts."""
    title = (f"{data['county']} {data['period']} 积分制、清单制运行情况" if lang != "en"
             else f"{data['county']} {data['period']}: points and checklists in every village")
    head, rows = _report_rows(data, lang)
    out = ["<!DOCTYPE html>", f'<html lang="{"en" if lang == "en" else "zh-CN"}">', "<head>",
           '<meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_esc(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{_esc(title)}</h1>"]
    s = data["summary"]
    out.append(f'<p class="sub">{_esc(_w("summary", lang))}: {s["villages"]} · '
               f'{_esc(_w("households", lang))} {s["households"]} · {_esc(_w("mean", lang))} '
               f'{_esc(_num(s["mean"]))} · {_esc(_w("vetoed", lang))} {s["vetoed"]} · '
               f'{_esc(_w("published", lang))} {s["published"]} · {_esc(_w("failed", lang))} {s["failed"]}</p>')
    out.append('<table id="villages"><thead><tr>' + "".join(f"<th>{_esc(h)}</th>" for h in head)
               + "</tr></thead><tbody>")
    for v, r in zip(data["villages"], rows):
        failed = bool(v.get("error"))
        cells = []
        for i, c in enumerate(r):
            text = _pct(c) if i == 10 and c is not None else _num(c)
            cls = "n" if i >= 2 and not (failed and i == 2) else ""
            if i == 13 and isinstance(c, int) and c > 15:
                cls += " late"
            if i == 12 and not failed and v["publication"]["published"] and v["publication"]["current"] is False:
                text += _w("not_current", lang)
            cells.append(f'<td class="{cls.strip()}">{_esc(text)}</td>' if cls.strip() else f"<td>{_esc(text)}</td>")
        out.append(f'<tr class="{"failed" if failed else "ok"}" data-village="{_esc(v["village"])}">'
                   + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    ok = [v for v in data["villages"] if not v.get("error")]
    out.append(f"<h2>{_esc(_w('distribution', lang))}</h2>")
    out.append(box_chart(data["villages"], lang))
    out.append(f"<h2>{_esc(_w('unmatched_chart', lang))}</h2>")
    shares = [(v["name"], Decimal(v["unmatched_share"] or 0)) for v in ok]
    out.append(bar_chart(shares, _w("unmatched_chart", lang),
                         [f"{_pct(v['unmatched_share'])} ({v['unmatched']}/{v['records']})" for v in ok]))
    if s["violations_by_kind"]:
        out.append(f"<h2>{_esc(_w('checklists', lang))}</h2><table><tbody>")
        for k, n in s["violations_by_kind"].items():
            out.append(f'<tr><td>{_esc(kind_word(k, lang))}</td><td class="n">{n}</td></tr>')
        out.append("</tbody></table>")
    failed = [v for v in data["villages"] if v.get("error")]
    if failed:
        out.append(f"<h2>{_esc(_w('failed_villages', lang))}</h2>")
        for v in failed:
            out.append(f'<h3>{_esc(v["village"])} {_esc(v["name"])}</h3><div class="err">{_esc(v["error"])}</div>')
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _cell(value: Any) -> Any:
    """A workbook value: numbers as numbers, text as text (never a formula)."""
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return value
    return None if value is None else str(value)


def render_report_xlsx(data: Mapping[str, Any], lang: str = "zh") -> bytes:
    """Sheets: the dashboard (one row per village), the checklist findings by kind, and the
    villages that failed with their errors."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "各村" if lang != "en" else "villages"
    head, rows = _report_rows(data, lang)

    def put(sheet: Any, values: Sequence[Any], bold: bool = False) -> None:
        sheet.append([_cell(v) for v in values])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a text starting with "=" stays text
            if bold:
                cell.font = Font(bold=True)

    put(ws, head, bold=True)
    for r in rows:
        put(ws, r)
    for row in ws.iter_rows(min_row=2, min_col=11, max_col=11):
        for cell in row:
            cell.number_format = "0.00%"
    ws.freeze_panes = "C2"
    ws2 = wb.create_sheet("清单问题" if lang != "en" else "checklists")
    put(ws2, [_w("checklists", lang), _w("total", lang)], bold=True)
    for k, n in data["summary"]["violations_by_kind"].items():
        put(ws2, [kind_word(k, lang), n])
    ws3 = wb.create_sheet("失败" if lang != "en" else "failed")
    put(ws3, [_w("village", lang), _w("name", lang), "error"], bold=True)
    for v in data["villages"]:
        if v.get("error"):
            put(ws3, [v["village"], v["name"], v["error"]])
    info = wb.create_sheet("说明" if lang != "en" else "about")
    put(info, ["county", data["county"]])
    put(info, [_w("period", lang), data["period"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# county replay, county lint


def render_replay_table(data: Mapping[str, Any], lang: str = "zh") -> str:
    keys = ("village", "name", "households", "gain", "lose", "same", "sum_delta", "entered_red",
            "left_red", "entered_black", "left_black")
    rows = []
    for v in data["villages"]:
        if v.get("error"):
            rows.append([v["village"], v["name"], _w("failed", lang)])
            continue
        b = v["boards"]
        rows.append([v["village"], v["name"] + ("" if v["uses_template"] else " *")]
                    + [_num(v[k]) for k in ("households", "gain", "lose", "same", "sum_delta")]
                    + [str(len(b["red"]["entered"])), str(len(b["red"]["left"])),
                       str(len(b["black"]["entered"])), str(len(b["black"]["left"]))])
    out = [f"{data['county']} {data['period']}: {data['template']} → {data['new_template']}",
           table([_w(k, lang) for k in keys], rows, right=range(2, len(keys)))]
    if any(not v.get("error") and not v["uses_template"] for v in data["villages"]):
        out.append("* " + _w("template", lang))
    for v in data["villages"]:
        if not v.get("error") and v["largest"]:
            changes = "，".join(f"{h['household']} {_num(h['old'])}→{_num(h['new'])}"
                               f"（{'+' if h['delta'] > 0 else ''}{_num(h['delta'])}）"
                               for h in v["largest"]) if lang != "en" else \
                ", ".join(f"{h['household']} {_num(h['old'])}→{_num(h['new'])} "
                          f"({'+' if h['delta'] > 0 else ''}{_num(h['delta'])})" for h in v["largest"])
            out.append(f"{v['village']} {_w('largest', lang)}: {changes}")
    s = data["summary"]
    out.append(f"{_w('summary', lang)}: {s['changed']}/{s['villages']} · {_w('gain', lang)} {s['gain']} · "
               f"{_w('lose', lang)} {s['lose']} · {_w('sum_delta', lang)} {_num(s['sum_delta'])} · "
               f"{_w('failed', lang)} {s['failed']}")
    fails = _failures(data, lang)
    if fails:
        out += ["", _w("failed_villages", lang) + ":"] + fails
    return "\n".join(out) + "\n"


def render_lint_text(data: Mapping[str, Any], diagnostics: Mapping[str, Sequence[Any]],
                     lang: str = "zh") -> str:
    """Each village's findings (``diagnostics``: village id → Diagnostics) or its error."""
    from xiangyue.errors import format_diagnostic

    out = []
    for v in data["villages"]:
        label = f"{v['village']}（{v['name']}）" if lang != "en" else f"{v['village']} ({v['name']})"
        if v.get("error"):
            out.append(f"{label}: {_w('failed', lang)}")
            out.extend("  " + line for line in v["error"].splitlines())
            continue
        found = diagnostics.get(v["village"]) or []
        for d in found:
            out.append(format_diagnostic(d, lang))
        out.append(f"{label}：{len(found)} 处不符合审查要点" if found and lang != "en" else
                   f"{label}: {len(found)} finding(s)" if found else
                   f"{label}：符合审查要点" if lang != "en" else f"{label}: meets the policy")
    s = data["summary"]
    out.append(f"{_w('summary', lang)}: {s['meeting']}/{s['villages']} ok · {s['findings']} · "
               f"{_w('failed', lang)} {s['failed']}")
    return "\n".join(out) + "\n"
