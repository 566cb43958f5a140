"""Compliance checking (清单制): does each case follow its checklist item's procedure?

A *case* is one use of a listed power or one service request. Case files have one row per step
taken (``case_id, item, title, amount, step, date, attended, eligible, approved``); rows with the
same ``case_id`` are one case. :func:`check_cases` groups the rows, resolves each case's item (by
id or Chinese name), chooses the procedure whose ``when`` condition holds for the case, and
reports the findings defined by the reference page (docs/compliance.md), as of a date:

==============  ===========================================================================
skipped         a required step is missing while a later step of the procedure is present
out_of_order    a step is dated before a step that comes earlier in the procedure
late            a step came after its "within" deadline (the N-th day after is still on time)
overdue         a "within" step is missing, its anchor step is present and the as-of date is
                past the deadline (the deadline day itself is not past)
too_early       a step came before its "at least" date (the N-th day after is the earliest)
quorum          a meeting where attended/eligible < quorum (exact fractions: 2 of 3 is 2/3)
majority        a meeting where approved/attended <= majority (exactly half is not a majority)
unknown_item    the case names no item of the list
unknown_step    the case has a step its procedure does not name
no_procedure    no procedure of the item applies (e.g. the amount is empty, so the threshold
                that picks 四议两公开 cannot be applied)
==============  ===========================================================================

Status: **violation** with any finding; else **compliant** when the procedure's last step is
present; else **pending**.

Items with a ``schedule`` (recurring duties, 村级事务清单) are judged period by period in
:mod:`xiangyue.checklists.duties` from the same grouped cases; a case of an item that has only
a schedule is one row with a date (and optionally its ``period``), needs no step, and is not
listed among the checked cases.

Decisions on what the reference page leaves open (also in docs/compliance.md):

- A step taken too early, late or out of order still counts as *taken*: it is never also
  reported as skipped, and a case whose last step was taken (even late) is not "pending".
- A deadline whose anchor step is missing is not checked (neither late, overdue nor
  too_early): there is no date to count from. The missing anchor is reported as skipped when a
  later step is present; otherwise the case is simply pending.
- A step missing past its deadline while a later step is present is both skipped and overdue:
  both definitions hold, and the overdue finding carries the deadline the reviewer needs.
- A meeting step whose counts are not recorded cannot show its quorum (or majority): it gets the
  quorum (or majority) finding with a message saying the count is missing.
- An item with several procedures and no matching condition (typically an empty amount on
  村级重大事项决策) gets a ``no_procedure`` finding, so the case is a violation to be looked at;
  its steps are still checked against every procedure of the item for unknown_step.
- Steps dated after the as-of date are checked like any other; the as-of date only decides
  overdue (and so pending vs violation).
- Rows of one case that disagree (two different items or amounts; the item compared by id, so
  ``major_decision`` and 村级重大事项决策 agree), a step recorded twice, a row without case
  id / step / date, or impossible meeting counts (eligible 0, attended > eligible, approved > attended, negative) are input errors (``InputError``, every
  one reported with its row), not findings: the file must be corrected before it can be judged.
  An empty item or amount on one row takes the value given on the case's other rows; the
  title is free text and the first one given is shown. (The same rules as
  ``xiangyue cases import``, so a file checked directly and an imported one agree.)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Mapping

from xiangyue.errors import Diagnostic, InputError, Pos, XiangyueError
from xiangyue.i18n import Msg, message, register
from xiangyue.rules.model import (BUILTIN_CASE_FIELDS, ChecklistItem, Deadline, FieldSpec, Procedure,
                                  Ruleset, Step)
from xiangyue.checklists.workdays import add_days
from xiangyue.checklists.duties import DUTY_STATUSES, DUPLICATE, Duty, judge_duties

__all__ = [
    "CASE_FIELDS",
    "KINDS",
    "STATUSES",
    "Case",
    "CaseResult",
    "CaseStep",
    "ComplianceReport",
    "Finding",
    "check_case",
    "case_field_specs",
    "check_case_file",
    "check_cases",
    "check_store",
    "group_cases",
    "parse_as_of",
    "read_case_file",
]

#: Built-in case columns: id -> Chinese header name.
CASE_FIELDS: dict[str, str] = {f.id: f.label or f.id for f in BUILTIN_CASE_FIELDS}
STEP_FIELDS = ("step", "date", "attended", "eligible", "approved")

#: Finding kinds, in the order they are listed within one step.
KINDS: tuple[str, ...] = (
    "unknown_item",
    "no_procedure",
    "skipped",
    "out_of_order",
    "late",
    "overdue",
    "too_early",
    "quorum",
    "majority",
    "unknown_step",
)
STATUSES: tuple[str, ...] = ("violation", "pending", "compliant")

register(
    {
        # --- findings (plain Chinese for the notice board; English with --lang en) ---
        "F-SKIPPED": Msg(
            zh="缺少“{step}”：后面的“{later}”已在 {later_date} 办理，却没有“{step}”的记录",
            en="“{step}” is missing although the later step “{later}” was taken on {later_date}",
        ),
        "F-OUT-OF-ORDER": Msg(
            zh="“{step}”（{date}）早于它前面的步骤“{anchor}”（{anchor_date}），顺序颠倒",
            en="“{step}” ({date}) is dated before the earlier step “{anchor}” ({anchor_date})",
        ),
        "F-LATE": Msg(
            zh="{step}应在{anchor}后{days}{unit_zh}内完成（最迟 {deadline}），实际 {date} 完成，晚了{n}日",
            en="“{step}” was due within {days} {unit_en} after “{anchor}” (by {deadline}) "
            "but was taken on {date}, {n} day(s) late",
        ),
        "F-OVERDUE": Msg(
            zh="{step}应在{anchor}后{days}{unit_zh}内完成（最迟 {deadline}），截至 {as_of} 仍未完成，已逾期{n}日",
            en="“{step}” was due within {days} {unit_en} after “{anchor}” (by {deadline}) "
            "and is still missing on {as_of}, {n} day(s) overdue",
        ),
        "F-TOO-EARLY": Msg(
            zh="{step}应在{anchor}满{days}{unit_zh}后才能办理（最早 {deadline}），实际 {date} 就已办理，早了{n}日",
            en="“{step}” must come at least {days} {unit_en} after “{anchor}” (not before "
            "{deadline}) but was taken on {date}, {n} day(s) early",
        ),
        "F-QUORUM": Msg(
            zh="{step}应到{eligible}人，实到{attended}人，不足{quorum_zh}，不够开会人数",
            en="“{step}”: {attended} of {eligible} eligible attended, fewer than {quorum_en}",
        ),
        "F-QUORUM-UNRECORDED": Msg(
            zh="{step}是会议，但没有记录{missing_zh}，无法确认到会人数达到应到人数的{quorum_zh}",
            en="“{step}” is a meeting but {missing_en} not recorded, so the quorum of "
            "{quorum_en} cannot be shown",
        ),
        "F-MAJORITY": Msg(
            zh="{step}到会{attended}人，赞成{approved}人，没有超过到会人数的{majority_zh}",
            en="“{step}”: {approved} of {attended} attending approved, not more than {majority_en}",
        ),
        "F-MAJORITY-UNRECORDED": Msg(
            zh="{step}是会议，但没有记录{missing_zh}，无法确认赞成人数超过到会人数的{majority_zh}",
            en="“{step}” is a meeting but {missing_en} not recorded, so a majority of more "
            "than {majority_en} cannot be shown",
        ),
        "F-UNKNOWN-ITEM": Msg(
            zh="清单中没有“{item}”这个事项",
            en="the lists have no item “{item}”",
        ),
        "F-UNKNOWN-ITEM-EMPTY": Msg(
            zh="没有填写清单事项，无法核对程序",
            en="the case names no checklist item, so its procedure cannot be checked",
        ),
        "F-UNKNOWN-STEP": Msg(
            zh="“{procedure}”没有“{step}”这一步（{date}）",
            en="the procedure “{procedure}” has no step “{step}” ({date})",
        ),
        "F-NO-PROCEDURE-EMPTY": Msg(
            zh="没有填写金额，无法确定“{item}”应走哪个程序（{procedures}）",
            en="the amount is empty, so it cannot be decided which procedure of “{item}” "
            "applies ({procedures})",
        ),
        "F-NO-PROCEDURE": Msg(
            zh="“{item}”没有适用于本事项的程序（金额 {amount}；可选程序：{procedures}）",
            en="no procedure of “{item}” applies to this case (amount {amount}; "
            "procedures: {procedures})",
        ),
        # --- input errors in case rows ---
        "E-CASE-MISSING": Msg(
            zh="缺少{column}",
            en="{column} is missing",
            hint_zh="每一行都要写事项编号、步骤和日期",
            hint_en="every row needs a case id, a step and a date",
        ),
        "E-CASE-DISAGREE": Msg(
            zh="事项 {case_id} 的{column}前后不一致：第 {first_line} 行是“{first}”，这一行是“{value}”",
            en="case {case_id} has two different values for {column}: “{first}” on row "
            "{first_line} and “{value}” here",
            hint_zh="同一事项编号的各行是同一件事，{column}要写成一样（或只在一行写）",
            hint_en="rows with the same case id are one case; give {column} once or the same on every row",
        ),
        "E-CASE-STEP-TWICE": Msg(
            zh="事项 {case_id} 的步骤“{step}”记录了两次（第一次在第 {first_line} 行）",
            en="case {case_id} records step “{step}” twice (first on row {first_line})",
            hint_zh="每个步骤只写一行；重开的会议请只保留有效的那一次",
            hint_en="write one row per step; for a meeting held again keep only the one that counts",
        ),
        "E-CASE-DUTY-TWICE": Msg(
            zh="事项 {case_id} 写了两行（第一次在第 {first_line} 行）；定期事项的一次办理只写一行",
            en="case {case_id} has two rows (the first on row {first_line}); a recurring duty's "
            "case is one row",
            hint_zh="同一期又办了一次请用新的事项编号（会报告为重复）；不同期的请分别编号并填写期间",
            hint_en="another case for the same period needs its own case id (it is reported as a "
            "duplicate); cases for other periods need their own ids and periods",
        ),
        "E-AS-OF": Msg(
            zh="核对日期“{text}”无法识别",
            en="as-of date '{text}' is not understood",
            hint_zh="写成 2024-06-30 这样的格式",
            hint_en="write it as YYYY-MM-DD, e.g. 2024-06-30",
        ),
        "E-AS-OF-DAY": Msg(
            zh="核对日期“{text}”不存在",
            en="the as-of date '{text}' does not exist",
            hint_zh="检查月份和日期，例如 2 月没有 30 日",
            hint_en="check month and day, e.g. February has no 30th",
        ),
        "E-CASE-DATE": Msg(
            zh="日期“{value}”无法识别",
            en="date '{value}' is not understood",
            hint_zh="日期写成 2024-06-01 这样的格式",
            hint_en="write dates as YYYY-MM-DD, e.g. 2024-06-01",
        ),
        "E-CASE-COUNTS": Msg(
            zh="会议人数不合理：{problem_zh}",
            en="meeting counts do not add up: {problem_en}",
            hint_zh="检查到会人数、应到人数、赞成人数",
            hint_en="check the attended, eligible and approved counts",
        ),
    }
)

_KIND_RANK = {k: i for i, k in enumerate(KINDS)}


# --------------------------------------------------------------------------------------------
# Cases


@dataclass(frozen=True)
class CaseStep:
    """One row of a case: a step taken on a date (with counts for meetings)."""

    name: str
    date: dt.date
    attended: int | None = None
    eligible: int | None = None
    approved: int | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Case:
    """The rows of one case, grouped. ``values`` holds the case-level fields (``item``,
    ``title``, ``amount`` and any extra case field) that procedure conditions read."""

    case_id: str
    item: str | None
    title: str | None
    amount: Decimal | None
    steps: tuple[CaseStep, ...]
    values: Mapping[str, Any] = field(default_factory=dict, compare=False)
    pos: Pos = Pos()
    #: where each case-level field was first given: field id -> (file, row, column header)
    field_at: Mapping[str, tuple[str, int, str]] = field(default_factory=dict, compare=False)
    #: the header each built-in column has in the file (for positions of later checks)
    columns: Mapping[str, str] = field(default_factory=dict, compare=False)


def parse_as_of(text: str | None, today: dt.date | None = None) -> dt.date:
    """The report's as-of date (today when not given), in any form a date cell accepts
    (``2024-06-30``, ``2024/6/30``, ``2024年6月30日``, see :func:`xiangyue.periods.parse_date_text`)."""
    from xiangyue.periods import DateTextError, parse_date_text

    if text is None or not str(text).strip():
        return today or dt.date.today()
    try:
        return parse_date_text(str(text))
    except DateTextError as err:
        code = "E-AS-OF-DAY" if err.kind == "day" else "E-AS-OF"
        raise InputError(Diagnostic(code, file="--as-of", args={"text": text})) from None


def case_field_specs(ruleset: Ruleset) -> tuple[FieldSpec, ...]:
    """The columns of a case file: the rule file's case fields, with any built-in case field
    the rule file does not declare added in front."""
    declared = {f.id for f in ruleset.case_fields}
    return tuple(f for f in BUILTIN_CASE_FIELDS if f.id not in declared) + tuple(ruleset.case_fields)


@dataclass(frozen=True)
class CaseRow:
    """One row of a case file with its position (``columns``: field id -> header as written)."""

    values: Mapping[str, Any]
    line: int = 0
    file: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)


def read_case_file(ruleset: Ruleset, path: str, *, encoding: str | None = None,
                   ) -> tuple[list[CaseRow], list[Diagnostic]]:
    """Read a case file (CSV, XLSX, JSONL) with the ruleset's case columns.

    Returns the rows that could be read and every diagnostic (errors and warnings) found.
    """
    from xiangyue.data.tables import read_table

    table = read_table(path, case_field_specs(ruleset), encoding=encoding)
    rows = [CaseRow(values=v, line=line, file=table.file, columns=table.columns)
            for v, line in zip(table.rows, table.lines)]
    return rows, list(table.diagnostics)


def check_case_file(ruleset: Ruleset, path: str, as_of: dt.date, *,
                    encoding: str | None = None, start: dt.date | None = None) -> ComplianceReport:
    """Check a case file directly, without importing it into the village database.

    Every problem of the file (bad cells, unknown columns, rows of a case that disagree, a step
    recorded twice, impossible meeting counts) is collected and raised together as one
    :class:`InputError`; warnings travel with the report (``ComplianceReport.warnings``).
    """
    rows, diags = read_case_file(ruleset, path, encoding=encoding)
    errors = [d for d in diags if d.severity == "error"]
    warnings = tuple(d for d in diags if d.severity != "error")
    try:
        cases = group_cases(rows, file=str(path), ruleset=ruleset)
    except InputError as err:
        errors.extend(err.diagnostics)
        cases = []
    if errors:
        raise InputError(errors + list(warnings))
    report = check_cases(ruleset, cases, as_of, file=str(path), start=start)
    return replace(report, warnings=warnings)


def check_store(ruleset: Ruleset, db_path: str, as_of: dt.date, *,
                start: dt.date | None = None) -> ComplianceReport:
    """Check the cases imported into the village database (``xiangyue cases import``).

    Rows keep the file and row they were imported from, so a problem points at the sheet the
    clerk can correct.
    """
    from xiangyue.data.store import open_store

    fields = case_field_specs(ruleset)
    where = (FieldSpec("source_file", "text"), FieldSpec("source_row", "integer"))
    store = open_store(db_path, create=False)
    try:
        rows = []
        for r in store.iter_cases(fields + where):
            src, line = r.pop("source_file", None), r.pop("source_row", None)
            rows.append(CaseRow(values=r, line=line or 0, file=src or db_path))
    finally:
        store.close()
    return check_cases(ruleset, rows, as_of, file=db_path, start=start)


def _row_parts(row: Any, file: str, index: int) -> tuple[Mapping[str, Any], Pos, Mapping[str, str]]:
    """A row's values, its position and the header text of each of its columns.

    Rows are mappings (field id -> typed value) or objects with ``values`` and ``line`` (and
    optionally ``file`` and ``columns``: field id -> header as the user wrote it).
    """
    if isinstance(row, Mapping):
        values = row
        line = int(row.get("_line") or 0)
        columns: Mapping[str, str] = {}
        rfile = str(row.get("_file") or file)
    else:
        values = getattr(row, "values")
        line = int(getattr(row, "line", 0) or 0)
        columns = getattr(row, "columns", None) or {}
        rfile = str(getattr(row, "file", "") or file)
    return values, Pos(rfile, line, 0), columns


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _text(value: Any) -> str | None:
    if _empty(value):
        return None
    return str(value).strip()


#: Case-level fields whose values must agree across the rows of one case (they decide the
#: procedure, or the period a recurring duty's case fulfils); other case-level fields
#: (title, extras) take the first value given.
AGREE_FIELDS = ("item", "amount", "period")


def schedule_only(ruleset: Ruleset | None, item: Any) -> bool:
    """Whether ``item`` (id or Chinese name) is a recurring duty without a procedure: its
    case is one row with a date, and needs no step."""
    if ruleset is None or _empty(item):
        return False
    found = ruleset.item(str(item).strip())
    return found is not None and found.schedule is not None and not found.procedures


def group_cases(rows: Iterable[Any], file: str = "", ruleset: Ruleset | None = None) -> list[Case]:
    """Group step rows into cases (file order of first appearance).

    Raises :class:`InputError` with every problem found (rows of one case that name different
    items or amounts, a step twice, missing case id / step / date, impossible meeting counts).
    With ``ruleset``, an item written as its id on one row and its Chinese name on another
    agrees.
    """

    def same(fid: str, a: Any, b: Any) -> bool:
        if fid == "item" and ruleset is not None:
            ia, ib = ruleset.item(str(a)), ruleset.item(str(b))
            if ia is not None or ib is not None:
                return ia is ib
        return a == b

    diags: list[Diagnostic] = []
    order: list[str] = []
    heads: dict[str, dict[str, Any]] = {}
    first_lines: dict[str, dict[str, int]] = {}
    steps: dict[str, list[CaseStep]] = {}
    step_lines: dict[str, dict[str, int]] = {}
    headers: dict[str, str] = {}
    first_files: dict[tuple[str, str], str] = {}

    for index, row in enumerate(rows, start=1):
        values, pos, columns = _row_parts(row, file, index)
        line = pos.line or index + 1  # header is row 1 when rows carry no position

        def col(fid: str) -> str:
            return columns.get(fid) or CASE_FIELDS.get(fid, fid)

        def diag(code: str, fid: str, **args: Any) -> None:
            diags.append(Diagnostic(code, file=pos.file, line=line, column=col(fid), args=args))

        case_id = _text(values.get("case_id"))
        for fid, header in columns.items():
            headers.setdefault(fid, header)
        item = values.get("item")
        if _empty(item) and case_id in heads:
            item = heads[case_id].get("item")
        needed = ("case_id", "date") if schedule_only(ruleset, item) else ("case_id", "step", "date")
        missing = [f for f in needed if _empty(values.get(f))]
        for fid in missing:
            diag("E-CASE-MISSING", fid, column=col(fid))
        if case_id is None:
            continue
        if case_id not in heads:
            order.append(case_id)
            heads[case_id] = {}
            first_lines[case_id] = {}
            steps[case_id] = []
            step_lines[case_id] = {}
        head = heads[case_id]
        for fid, value in values.items():
            if fid in STEP_FIELDS or fid == "case_id" or str(fid).startswith("_") or _empty(value):
                continue
            if isinstance(value, str):
                value = value.strip()
            if fid not in head:
                head[fid] = value
                first_lines[case_id][fid] = line
                first_files[(case_id, fid)] = pos.file
            elif fid in AGREE_FIELDS and not same(fid, head[fid], value):
                diag(
                    "E-CASE-DISAGREE",
                    fid,
                    case_id=case_id,
                    column=col(fid),
                    first=head[fid],
                    value=value,
                    first_line=first_lines[case_id][fid],
                )
        if missing:
            continue
        name = "" if _empty(values.get("step")) else str(values["step"]).strip()
        if name == "" and name in step_lines[case_id]:
            diag("E-CASE-DUTY-TWICE", "date", case_id=case_id, first_line=step_lines[case_id][name])
            continue
        if name in step_lines[case_id]:
            diag(
                "E-CASE-STEP-TWICE",
                "step",
                case_id=case_id,
                step=name,
                first_line=step_lines[case_id][name],
            )
            continue
        step_lines[case_id][name] = line
        counts: dict[str, int | None] = {}
        problem = None
        for fid in ("attended", "eligible", "approved"):
            value = values.get(fid)
            counts[fid] = None if _empty(value) else _as_int(value)
            if not _empty(value) and counts[fid] is None:
                problem = (fid, f"{CASE_FIELDS[fid]}“{value}”不是整数", f"{fid} '{value}' is not a whole number")
        problem = problem or _count_problem(**counts)
        if problem:
            diag("E-CASE-COUNTS", problem[0], problem_zh=problem[1], problem_en=problem[2])
            continue
        date = _as_date(values["date"])
        if date is None:
            diag("E-CASE-DATE", "date", value=values["date"])
            continue
        steps[case_id].append(CaseStep(name=name, date=date, pos=Pos(pos.file, line, 0), **counts))

    if diags:
        raise InputError(diags)
    cases = []
    for case_id in order:
        head = heads[case_id]
        amount = head.get("amount")
        if amount is not None and not isinstance(amount, Decimal):
            amount = Decimal(str(amount))
        first_line = min([*first_lines[case_id].values(), *step_lines[case_id].values()] or [0])
        cases.append(
            Case(
                case_id=case_id,
                item=_text(head.get("item")),
                title=_text(head.get("title")),
                amount=amount,
                steps=tuple(steps[case_id]),
                values={"case_id": case_id, "item": None, "title": None, "amount": None, **head},
                pos=Pos(file, first_line, 0),
                field_at={fid: (first_files[(case_id, fid)], ln, headers.get(fid) or CASE_FIELDS.get(fid, fid))
                          for fid, ln in first_lines[case_id].items()},
                columns=dict(headers),
            )
        )
    return cases


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def _count_problem(
    attended: int | None, eligible: int | None, approved: int | None
) -> tuple[str, str, str] | None:
    """(column, zh, en) when meeting counts are impossible."""
    for fid, value, zh in (
        ("attended", attended, "到会人数"),
        ("eligible", eligible, "应到人数"),
        ("approved", approved, "赞成人数"),
    ):
        if value is not None and value < 0:
            return fid, f"{zh}是负数（{value}）", f"{fid} is negative ({value})"
    if eligible == 0:
        return "eligible", "应到人数为 0", "eligible is 0"
    if attended is not None and eligible is not None and attended > eligible:
        return (
            "attended",
            f"到会{attended}人，多于应到的{eligible}人",
            f"{attended} attended but only {eligible} are eligible",
        )
    if approved is not None and attended is not None and approved > attended:
        return (
            "approved",
            f"赞成{approved}人，多于到会的{attended}人",
            f"{approved} approved but only {attended} attended",
        )
    return None


# --------------------------------------------------------------------------------------------
# Findings and results


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a case.

    ``date`` is the step's date (None when the step is missing); ``anchor``/``anchor_date`` the
    step it is compared with; ``deadline`` the last allowed day (late, overdue) or the first
    allowed day (too_early); ``days`` how many days late, overdue or early.
    """

    kind: str
    step: str | None
    code: str = field(compare=False, repr=False, default="")
    date: dt.date | None = None
    anchor: str | None = None
    anchor_date: dt.date | None = None
    deadline: dt.date | None = None
    days: int | None = None
    calendar: str | None = None
    attended: int | None = None
    eligible: int | None = None
    approved: int | None = None
    args: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def message(self, lang: str = "zh") -> str:
        return message(self.code, lang, **self.args)

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "step": self.step, "message": self.message(lang)}
        for key in ("date", "anchor", "anchor_date", "deadline", "days", "calendar",
                    "attended", "eligible", "approved"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, dt.date) else value
        return out


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    item: str | None  # the item's id, or the text as written when unknown
    item_name: str | None
    list: str | None
    title: str | None
    amount: Decimal | None
    procedure: str | None
    procedure_name: str | None
    status: str
    findings: tuple[Finding, ...]
    steps: tuple[CaseStep, ...]

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "item": self.item,
            "item_name": self.item_name,
            "list": self.list,
            "title": self.title,
            "amount": self.amount,
            "procedure": self.procedure,
            "procedure_name": self.procedure_name,
            "status": self.status,
            "findings": [f.to_json(lang) for f in self.findings],
            "steps": [{"step": s.name, "date": s.date.isoformat()} for s in self.steps],
        }


UNLISTED = "unlisted"  # by_list key of the cases whose item is in no list


@dataclass(frozen=True)
class ComplianceReport:
    as_of: dt.date
    village: str
    ruleset_name: str
    version: str
    cases: tuple[CaseResult, ...]
    items: tuple[ChecklistItem, ...] = field(default=(), compare=False, repr=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)
    #: recurring duties (村级事务清单): every judged period of every scheduled item
    duties: tuple[Duty, ...] = ()

    @property
    def has_violations(self) -> bool:
        return any(c.status == "violation" for c in self.cases)

    @property
    def has_failed_duties(self) -> bool:
        """Whether a recurring duty was done late or missed (``check`` exits 1, as for a
        violation)."""
        return any(d.status in ("late", "missed") for d in self.duties)

    def duty_summary(self) -> dict[str, Any]:
        """Counts of judged periods per status (``total`` counts periods; ``duplicate`` the
        further cases for fulfilled periods), and the same per scheduled item."""
        def zero() -> dict[str, int]:
            return {"total": 0} | {s: 0 for s in DUTY_STATUSES} | {DUPLICATE: 0}

        total = zero()
        by_item: dict[str, dict[str, Any]] = {}
        for it in self.items:
            if it.schedule is not None:
                by_item[it.id] = {"name": it.name, "list": it.list, "every": it.schedule.every} | zero()
        for d in self.duties:
            for bucket in (total, by_item.setdefault(d.item, {"name": d.name, "list": d.list} | zero())):
                bucket[d.status] += 1
                if d.status != DUPLICATE:
                    bucket["total"] += 1
        return total | {"by_item": by_item}

    def summary(self) -> dict[str, Any]:
        """Counts per item (ruleset order, then unknown items), per list (cases of unknown
        items under ``UNLISTED``, so every list's counts add up to all cases), per status, per
        kind."""
        by_item: dict[str, dict[str, Any]] = {}
        case_items = [it for it in self.items if it.procedures]  # not the schedule-only duties
        for it in case_items:
            by_item[it.id] = {"name": it.name, "list": it.list, "total": 0} | {s: 0 for s in STATUSES}
        unknown = sorted({c.item or "" for c in self.cases if c.list is None}, key=_natural)
        for key in unknown:
            by_item[key] = {"name": key, "list": None, "total": 0} | {s: 0 for s in STATUSES}
        by_list: dict[str, dict[str, int]] = {}
        for it in case_items:
            by_list.setdefault(it.list, {"total": 0} | {s: 0 for s in STATUSES})
        by_status = {s: 0 for s in STATUSES}
        by_kind = {k: 0 for k in KINDS}
        for c in self.cases:
            entry = by_item[c.item or ""]
            entry["total"] += 1
            entry[c.status] += 1
            lst = c.list if c.list is not None else UNLISTED
            bucket = by_list.setdefault(lst, {"total": 0} | {s: 0 for s in STATUSES})
            bucket["total"] += 1
            bucket[c.status] += 1
            by_status[c.status] += 1
            for f in c.findings:
                by_kind[f.kind] += 1
        out = {
            "by_item": by_item,
            "by_list": by_list,
            "by_status": by_status,
            "by_kind": {k: n for k, n in by_kind.items() if n},
        }
        if any(it.schedule is not None for it in self.items):
            out["duties"] = self.duty_summary()
        return out

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        """Plain data (dates as ISO text; amounts stay :class:`Decimal`)."""
        return {
            "as_of": self.as_of.isoformat(),
            "village": self.village,
            "ruleset": self.ruleset_name,
            "version": self.version,
            "cases": [c.to_json(lang) for c in self.cases],
            "duties": [d.to_json() for d in self.duties],
            "summary": self.summary(),
        }


# --------------------------------------------------------------------------------------------
# Checking


def _natural(text: str) -> tuple:
    """Sort key: digit runs compare as numbers (C2 before C10); the raw text breaks ties."""
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p)
    return (parts, text)


def _fraction_words(frac: Fraction, lang: str) -> str:
    zh_digits = "零一二三四五六七八九十"
    if frac == Fraction(1, 2):
        return "一半" if lang == "zh" else "half"
    if frac == Fraction(2, 3) and lang == "en":
        return "two thirds"
    if lang == "zh" and frac.denominator <= 10 and frac.numerator <= 10:
        return f"{zh_digits[frac.denominator]}分之{zh_digits[frac.numerator]}"
    return f"{frac.numerator}/{frac.denominator}"


def _unit_args(deadline: Deadline) -> dict[str, str]:
    if deadline.calendar == "working":
        return {"unit_zh": "个工作日", "unit_en": "working days"}
    return {"unit_zh": "日", "unit_en": "days"}


def choose_procedure(item: ChecklistItem, case: Case) -> Procedure | None:
    """The first procedure of ``item`` whose condition holds for the case (None when none does).

    A condition that cannot be evaluated (an empty amount compared with a number) does not hold.
    """
    values = dict(case.values)
    values.setdefault("amount", case.amount)
    for proc in item.procedures:
        if proc.when_fn is None:
            return proc
        try:
            ok = proc.when_fn(values)
        except (TypeError, ArithmeticError, KeyError, XiangyueError):
            ok = False
        if ok:
            return proc
    return None


def check_case(ruleset: Ruleset, case: Case, as_of: dt.date) -> CaseResult:
    """Check one case; see the module docstring for the findings and decisions."""
    item = ruleset.item(case.item) if case.item is not None else None
    if item is None:
        args = {"item": case.item} if case.item else {}
        code = "F-UNKNOWN-ITEM" if case.item else "F-UNKNOWN-ITEM-EMPTY"
        finding = Finding("unknown_item", None, code=code, args=args)
        return _result(case, None, None, case.item, (finding,), "violation")

    proc = choose_procedure(item, case)
    if proc is None:
        names = "、".join(p.name for p in item.procedures)
        if case.amount is None:
            f = Finding("no_procedure", None, code="F-NO-PROCEDURE-EMPTY",
                        args={"item": item.name, "procedures": names})
        else:
            f = Finding("no_procedure", None, code="F-NO-PROCEDURE",
                        args={"item": item.name, "procedures": names, "amount": case.amount})
        known = {s.name for p in item.procedures for s in p.steps}
        findings = [f] + [
            Finding("unknown_step", s.name, code="F-UNKNOWN-STEP", date=s.date,
                    args={"procedure": item.name, "step": s.name, "date": s.date.isoformat()})
            for s in case.steps if s.name not in known
        ]
        return _result(case, item, None, item.id, tuple(findings), "violation")

    findings = _procedure_findings(proc, case, as_of)
    last = proc.steps[-1].name if proc.steps else None
    taken = {s.name for s in case.steps}
    if findings:
        status = "violation"
    elif last is not None and last in taken:
        status = "compliant"
    else:
        status = "pending"
    return _result(case, item, proc, item.id, tuple(findings), status)


def _result(case: Case, item: ChecklistItem | None, proc: Procedure | None, item_key: str | None,
            findings: tuple[Finding, ...], status: str) -> CaseResult:
    return CaseResult(
        case_id=case.case_id,
        item=item_key,
        item_name=item.name if item else None,
        list=item.list if item else None,
        title=case.title,
        amount=case.amount,
        procedure=proc.id if proc else None,
        procedure_name=proc.name if proc else None,
        status=status,
        findings=findings,
        steps=case.steps,
    )


def _procedure_findings(proc: Procedure, case: Case, as_of: dt.date) -> list[Finding]:
    index = {s.name: i for i, s in enumerate(proc.steps)}
    taken = {s.name: s for s in case.steps if s.name in index}
    ranked: list[tuple[tuple, Finding]] = []

    def add(i: int, f: Finding) -> None:
        ranked.append(((i, _KIND_RANK[f.kind]), f))

    for i, step in enumerate(proc.steps):
        row = taken.get(step.name)
        if row is None:
            later = next((taken[s.name] for s in proc.steps[i + 1 :] if s.name in taken), None)
            if later is not None:
                add(i, Finding("skipped", step.name, code="F-SKIPPED", anchor=later.name,
                               anchor_date=later.date,
                               args={"step": step.name, "later": later.name,
                                     "later_date": later.date.isoformat()}))
            if step.within is not None:
                f = _overdue(step, step.within, taken, as_of)
                if f is not None:
                    add(i, f)
            continue

        earlier = [taken[s.name] for s in proc.steps[:i] if s.name in taken]
        after = [e for e in earlier if e.date > row.date]
        if after:
            worst = max(after, key=lambda e: e.date)  # max keeps the first of equal dates
            add(i, Finding("out_of_order", step.name, code="F-OUT-OF-ORDER", date=row.date,
                           anchor=worst.name, anchor_date=worst.date,
                           args={"step": step.name, "date": row.date.isoformat(),
                                 "anchor": worst.name, "anchor_date": worst.date.isoformat()}))
        if step.within is not None:
            f = _late(step, step.within, row, taken)
            if f is not None:
                add(i, f)
        if step.not_before is not None:
            f = _too_early(step, step.not_before, row, taken)
            if f is not None:
                add(i, f)
        if step.meeting is not None:
            for f in _meeting(step, row):
                add(i, f)

    n = len(proc.steps)
    for j, row in enumerate(case.steps):
        if row.name not in index:
            add(n + j, Finding("unknown_step", row.name, code="F-UNKNOWN-STEP", date=row.date,
                               args={"procedure": proc.name, "step": row.name,
                                     "date": row.date.isoformat()}))
    ranked.sort(key=lambda rf: rf[0])
    return [f for _, f in ranked]


def _deadline_args(step: Step, d: Deadline, anchor: CaseStep, due: dt.date) -> dict[str, Any]:
    return {"step": step.name, "anchor": d.after, "days": d.days,
            "deadline": due.isoformat(), "anchor_date": anchor.date.isoformat(), **_unit_args(d)}


def _late(step: Step, d: Deadline, row: CaseStep, taken: dict[str, CaseStep]) -> Finding | None:
    anchor = taken.get(d.after)
    if anchor is None:
        return None
    due = add_days(anchor.date, d.days, d.calendar)
    if row.date <= due:
        return None
    n = (row.date - due).days
    return Finding("late", step.name, code="F-LATE", date=row.date, anchor=d.after,
                   anchor_date=anchor.date, deadline=due, days=n, calendar=d.calendar,
                   args=_deadline_args(step, d, anchor, due) | {"date": row.date.isoformat(), "n": n})


def _overdue(step: Step, d: Deadline, taken: dict[str, CaseStep], as_of: dt.date) -> Finding | None:
    anchor = taken.get(d.after)
    if anchor is None:
        return None
    due = add_days(anchor.date, d.days, d.calendar)
    if as_of <= due:
        return None
    n = (as_of - due).days
    return Finding("overdue", step.name, code="F-OVERDUE", anchor=d.after,
                   anchor_date=anchor.date, deadline=due, days=n, calendar=d.calendar,
                   args=_deadline_args(step, d, anchor, due) | {"as_of": as_of.isoformat(), "n": n})


def _too_early(step: Step, d: Deadline, row: CaseStep, taken: dict[str, CaseStep]) -> Finding | None:
    anchor = taken.get(d.after)
    if anchor is None:
        return None
    earliest = add_days(anchor.date, d.days, d.calendar)
    if row.date >= earliest:
        return None
    n = (earliest - row.date).days
    return Finding("too_early", step.name, code="F-TOO-EARLY", date=row.date, anchor=d.after,
                   anchor_date=anchor.date, deadline=earliest, days=n, calendar=d.calendar,
                   args=_deadline_args(step, d, anchor, earliest) | {"date": row.date.isoformat(), "n": n})


_COUNT_WORDS = {"attended": ("到会人数", "attended"), "eligible": ("应到人数", "eligible"),
                "approved": ("赞成人数", "approved")}


def _missing_args(names: list[str]) -> dict[str, str]:
    zh = "、".join(_COUNT_WORDS[n][0] for n in names)
    en = " and ".join(_COUNT_WORDS[n][1] for n in names)
    return {"missing_zh": zh, "missing_en": en + (" are" if len(names) > 1 else " is")}


def _meeting(step: Step, row: CaseStep) -> list[Finding]:
    m = step.meeting
    assert m is not None
    out: list[Finding] = []
    counts = {"date": row.date, "attended": row.attended, "eligible": row.eligible,
              "approved": row.approved}
    q = {"step": step.name, "quorum_zh": _fraction_words(m.quorum, "zh"),
         "quorum_en": _fraction_words(m.quorum, "en")}
    missing = [n for n in ("attended", "eligible") if getattr(row, n) is None]
    if missing:
        out.append(Finding("quorum", step.name, code="F-QUORUM-UNRECORDED", **counts,
                           args=q | _missing_args(missing)))
    elif Fraction(row.attended, row.eligible) < m.quorum:  # type: ignore[arg-type]
        out.append(Finding("quorum", step.name, code="F-QUORUM", **counts,
                           args=q | {"attended": row.attended, "eligible": row.eligible}))
    j = {"step": step.name, "majority_zh": _fraction_words(m.majority, "zh"),
         "majority_en": _fraction_words(m.majority, "en")}
    missing = [n for n in ("attended", "approved") if getattr(row, n) is None]
    if missing:
        out.append(Finding("majority", step.name, code="F-MAJORITY-UNRECORDED", **counts,
                           args=j | _missing_args(missing)))
    elif row.attended == 0 or Fraction(row.approved, row.attended) <= m.majority:  # type: ignore[arg-type]
        out.append(Finding("majority", step.name, code="F-MAJORITY", **counts,
                           args=j | {"attended": row.attended, "approved": row.approved}))
    return out


def check_cases(
    ruleset: Ruleset, cases: Iterable[Any], as_of: dt.date, *, file: str = "",
    start: dt.date | None = None, duties: bool = True,
) -> ComplianceReport:
    """Check every case as of ``as_of``; cases come out sorted by case id.

    Cases of scheduled items (村级事务清单) fulfil the periods of their item's schedule, judged
    from ``effective.from`` (or ``start``, ``check --from``) to ``as_of``
    (:mod:`xiangyue.checklists.duties`; ``duties=False`` leaves them out, e.g. for a rule
    file's examples, which pin cases); a case of an item with only a schedule has no
    procedure to check and is not listed among the cases.

    ``cases`` holds step rows (mappings from case field id to typed value, or row objects with
    ``values`` and ``line``) or already grouped :class:`Case` objects. Raises
    :class:`InputError` when the rows cannot be used (see :func:`group_cases`) or when a
    working-day deadline falls outside the years the holiday calendar covers.
    """
    items = list(cases)
    grouped = [c for c in items if isinstance(c, Case)]
    rows = [r for r in items if not isinstance(r, Case)]
    if rows:
        grouped.extend(group_cases(rows, file=file, ruleset=ruleset))
    results: list[CaseResult] = []
    diags: list[Diagnostic] = []
    ordered = sorted(grouped, key=lambda c: _natural(c.case_id))
    for case in ordered:
        if schedule_only(ruleset, case.item):
            continue  # a recurring duty's case: judged with its item's periods below
        try:
            results.append(check_case(ruleset, case, as_of))
        except XiangyueError as err:
            where = {"hint_zh": f"涉及事项 {case.case_id}", "hint_en": f"in case {case.case_id}"}
            for d in err.diagnostics:
                if not d.line:
                    d = replace(d.at(case.pos.file or file, case.pos.line, ""),
                                args={**d.args, **where})
                diags.append(d)
    judged: tuple[Duty, ...] = ()
    try:
        if duties:
            judged = judge_duties(ruleset, ordered, as_of, start=start, choose=_chooser(ruleset))
    except XiangyueError as err:
        diags.extend(d if d.file else replace(d, file=file) for d in err.diagnostics)
    if diags:
        raise InputError(diags)
    return ComplianceReport(
        as_of=as_of,
        village=ruleset.village,
        ruleset_name=ruleset.name,
        version=ruleset.version,
        cases=tuple(results),
        items=ruleset.checklists,
        duties=judged,
    )


def _chooser(ruleset: Ruleset):
    """``choose(case)``: the procedure a case of a scheduled item follows (None if none)."""
    def choose(case: Case) -> Procedure | None:
        item = ruleset.item(case.item) if case.item else None
        return choose_procedure(item, case) if item is not None else None
    return choose
