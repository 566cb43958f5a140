"""Import templates: the workbook a clerk should fill, made from the rule file.

``xiangyue template records|households|cases|redemptions`` writes one sheet with the columns
the import reads (Chinese headers from the rule file's fields, required ones in bold), a
drop-down for every column with allowed values (a field's ``values``, the activity names the
rules compare 事项 with, checklist items and steps, the supermarket's goods, 是/否), date
columns formatted as dates, id and other text columns formatted as text (so ``001`` stays
``001`` and an 18-digit id keeps its digits), a frozen header, widths that fit, one example
row, and a 说明 sheet explaining each column. The lists behind the drop-downs live on a hidden
sheet (a drop-down's own list may hold only 255 characters).

Filled in and imported back, the sheet reads with no message but the row count: its header
is row 1 of the first sheet, its cells are typed as the import expects.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

from xiangyue.report.terminal import text_width
from xiangyue.rules.model import FieldSpec, Ruleset

__all__ = ["KINDS", "template_fields", "import_template"]

KINDS = ("records", "households", "cases", "redemptions")
_SHEET = {"records": "活动记录", "households": "户籍名册", "cases": "事项办理", "redemptions": "兑换记录"}
_LISTS = "选项"
_ROWS = 1048576  # drop-downs and formats reach every row a clerk may fill
_TYPE_WORDS = {"text": ("文字", "text"), "decimal": ("数字", "number"),
               "integer": ("整数", "whole number"), "date": ("日期", "date"),
               "boolean": ("是/否", "yes/no")}


@dataclass
class _Column:
    spec: FieldSpec
    choices: tuple[str, ...]
    example: Any
    note: str


def template_fields(ruleset: Ruleset, kind: str) -> tuple[FieldSpec, ...]:
    """The columns an import of ``kind`` reads, in order."""
    if kind == "records":
        return tuple(ruleset.fields)
    if kind == "households":
        return tuple(ruleset.household_fields)
    if kind == "cases":
        from xiangyue.checklists.check import case_field_specs

        return tuple(case_field_specs(ruleset))
    if kind == "redemptions":
        from xiangyue.points.market import REDEMPTION_FIELDS

        return tuple(REDEMPTION_FIELDS)
    raise ValueError(kind)


def _choices(ruleset: Ruleset, kind: str, spec: FieldSpec) -> tuple[str, ...]:
    """The values a drop-down offers for a column (empty: free input)."""
    if spec.values:
        return tuple(spec.values)
    if spec.type == "boolean":
        return ("是", "否")
    if kind == "records" and spec.type == "text":
        from xiangyue.rules.vocabulary import vocabulary

        vocab = vocabulary(ruleset, spec) if spec.id == "activity" or spec.label == "事项" else None
        if vocab is not None:
            return vocab.names
    if kind == "cases" and spec.id == "item":
        return tuple(i.name for i in ruleset.checklists)
    if kind == "cases" and spec.id == "step":
        steps = (s.name for i in ruleset.checklists for p in i.procedures for s in p.steps)
        return tuple(dict.fromkeys(steps))
    if kind == "redemptions" and spec.id == "item":
        return tuple(g.name for g in ruleset.market.goods)
    return ()


def _example_day(ruleset: Ruleset) -> dt.date:
    start = ruleset.effective_from or dt.date.today().replace(day=1)
    return start + dt.timedelta(days=4)


def _example(ruleset: Ruleset, kind: str, spec: FieldSpec, choices: Sequence[str]) -> Any:
    """A value of the example row: what a clerk would write in the column."""
    ids = {"record_id": "R0001", "household": "001", "case_id": "C0001",
           "redemption_id": "D0001", "person": "张三", "head": "张三", "grid": "一组"}
    if spec.id in ids:
        return ids[spec.id]
    if kind == "cases" and spec.id == "step" and ruleset.checklists:
        item = ruleset.checklists[0]
        for p in item.procedures:
            if p.steps:
                return p.steps[0].name
    if spec.default is not None:  # what an empty cell means, shown
        d = spec.default
        return float(d) if isinstance(d, Decimal) else d
    if not spec.required:  # an example fills what must be filled, no more
        return None
    if choices:
        return choices[0]
    if spec.type == "date":
        return _example_day(ruleset)
    if spec.type in ("decimal", "integer"):
        low = spec.min if spec.min is not None else 0
        return int(max(low, 1)) if spec.max is None or spec.max >= 1 else float(spec.max)
    if spec.type == "boolean":
        return "是"
    return spec.label or spec.id


def _note(spec: FieldSpec, choices: Sequence[str]) -> str:
    """The 说明 sheet's words for a column."""
    parts: list[str] = []
    if spec.type == "date":
        parts.append("写日期，如 2024-03-05（也可写 2024/3/5、2024年3月5日）")
    elif spec.type == "text":
        parts.append("文字；编号请保持文本格式，如 001 不要写成 1")
    elif spec.type in ("decimal", "integer"):
        parts.append("写数字" if spec.type == "decimal" else "写整数")
        if spec.min is not None:
            parts.append(f"不小于 {spec.min}")
        if spec.max is not None:
            parts.append(f"不大于 {spec.max}")
    if choices:
        shown = "、".join(choices[:12]) + ("…" if len(choices) > 12 else "")
        parts.append(f"从下拉列表中选：{shown}")
    if spec.default is not None:
        parts.append(f"留空按 {spec.default}")
    return "；".join(parts)


def _columns(ruleset: Ruleset, kind: str) -> list[_Column]:
    out = []
    for spec in template_fields(ruleset, kind):
        choices = _choices(ruleset, kind, spec)
        out.append(_Column(spec, choices, _example(ruleset, kind, spec, choices),
                           _note(spec, choices)))
    return out


def import_template(ruleset: Ruleset, kind: str) -> bytes:
    """The template workbook for ``kind`` (records, households, cases, redemptions), as bytes."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    if kind not in KINDS:
        raise ValueError(kind)
    cols = _columns(ruleset, kind)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _SHEET[kind]
    lists = wb.create_sheet(_LISTS)
    lists.sheet_state = "hidden"
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    grey = Font(color="808080", italic=True)
    list_col = 0
    for j, col in enumerate(cols, 1):
        spec = col.spec
        letter = get_column_letter(j)
        cell = ws.cell(1, j, _safe(spec.label or spec.id))
        cell.font = Font(bold=spec.required)
        cell.fill = head_fill
        cell.alignment = Alignment(horizontal="center")
        example = ws.cell(2, j, _safe(col.example))
        example.font = grey
        fmt = {"date": "yyyy-mm-dd", "text": "@", "integer": "0"}.get(spec.type)
        if fmt:
            example.number_format = fmt
            ws.column_dimensions[letter].number_format = fmt
        rng = f"{letter}2:{letter}{_ROWS}"
        if col.choices:
            list_col += 1
            lcol = get_column_letter(list_col)
            lists.cell(1, list_col, _safe(spec.label or spec.id))
            for i, value in enumerate(col.choices, 2):
                lists.cell(i, list_col, _safe(value)).number_format = "@"
            ref = f"{quote_sheetname(_LISTS)}!${lcol}$2:${lcol}${len(col.choices) + 1}"
            # a field's own values, items, steps and goods are all there is: stop anything
            # else; an activity outside the rules' names is only warned about (it is kept and
            # listed as unmatched)
            strict = bool(spec.values) or spec.type == "boolean" or kind in ("cases",
                                                                             "redemptions")
            dv = DataValidation(type="list", formula1=ref, allow_blank=not spec.required,
                                showErrorMessage=True, errorStyle="stop" if strict else "warning",
                                errorTitle="不在列表中",
                                error=f"“{spec.label or spec.id}”请从下拉列表中选择")
            dv.add(rng)
            ws.add_data_validation(dv)
        elif spec.type in ("decimal", "integer"):
            dv = DataValidation(type="decimal" if spec.type == "decimal" else "whole",
                                operator="greaterThanOrEqual" if spec.max is None else "between",
                                formula1=str(spec.min if spec.min is not None else -10 ** 9),
                                formula2=None if spec.max is None else str(spec.max),
                                allow_blank=True, errorTitle="不是数字",
                                error=f"“{spec.label or spec.id}”请写数字")
            dv.add(rng)
            ws.add_data_validation(dv)
        shown = [spec.label or spec.id, _shown(col.example), *col.choices[:20]]
        ws.column_dimensions[letter].width = min(40, max(10, max(map(text_width, shown)) + 4))
    ws.freeze_panes = "A2"
    _explain_sheet(wb, ruleset, kind, cols)
    from xiangyue.report.cells import text_cells

    text_cells(wb)  # a label or allowed value from the rule file is text, never a formula
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _safe(v: Any) -> Any:
    """A value from the rule file as a cell can hold it (control characters shown)."""
    from xiangyue.report.terminal import visible

    return visible(v, keep="\n") if isinstance(v, str) else v


def _shown(v: Any) -> str:
    if isinstance(v, dt.date):
        return v.isoformat()
    return "" if v is None else str(v)


def _explain_sheet(wb: Any, ruleset: Ruleset, kind: str, cols: Sequence[_Column]) -> None:
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet("说明")
    title = f"{ruleset.village or ''}{_SHEET[kind]}导入模板（{ruleset.name or ''} {ruleset.version or ''}）"
    ws.append([_safe(title.strip())])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["第 1 行是表头，请勿修改；第 2 行是示例（灰色），填写时请覆盖或删除。加粗的列必须填写。"
               "其他列（如 序号、联系电话）可以加在后面，导入时随记录保存。"])
    ws.append([])
    ws.append(["列名", "英文名", "类型", "必填", "说明"])
    for c in ws[4]:
        c.font = Font(bold=True)
    for col in cols:
        spec = col.spec
        ws.append([_safe(spec.label or spec.id), spec.id, _TYPE_WORDS[spec.type][0],
                   "是" if spec.required else "", _safe(col.note)])
    for letter, width in zip("ABCDE", (14, 16, 8, 6, 80)):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=5):
        row[4].alignment = Alignment(wrap_text=True)
