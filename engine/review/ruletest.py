"""``xiangyue test``: run the examples kept in rule files and in ``*.test.yaml`` files.

An example is a small table of records (or cases) with what the village meeting expects
(``model.Example``; the ``examples:`` section of a rule file)::

    examples:
      - name: 志愿服务每月最多 10 分
        period: 2024-03
        records:
          - {记录编号: R1, 户号: H1, 日期: 2024-03-01, 事项: 志愿服务, 数量: 4}
          - {记录编号: R2, 户号: H1, 日期: 2024-03-08, 事项: 志愿服务, 数量: 2}
        expect:
          totals: {H1: 12}
          by_rule: {H1: {volunteer: 10, volunteer_long: 2}}

``expect`` may hold ``totals`` (household -> points), ``by_rule`` (household -> rule -> points),
``vetoed`` (the households vetoed, exactly), ``unmatched`` / ``not_covered`` (record ids,
exactly), ``earned``/``deducted`` (per household), ``pending``/``invalid`` (record ids), ``board``
(``red``/``black``/``progress``: the households listed, in order), ``cases``
(case id -> ``status`` and/or ``findings``, the finding kinds) and ``duties`` (recurring duty,
by id or Chinese name -> period -> ``compliant`` / ``late`` / ``missed`` / ``pending``, as of
``as_of``; only the periods listed are compared). Columns are named as in a
records table (id, Chinese label or alias) and converted by the table reader's converters, so
an example reads exactly as a spreadsheet row would. A missing ``记录编号`` is numbered R1, R2,
... in row order. Without ``period``, the example's period is the month, else quarter, else year
that holds all its records. ``as_of`` (for cases) defaults to the period's last day.

A test file ``NAME.test.yaml`` names its rule file and carries more examples::

    ruleset: jingou.yaml        # relative to the test file
    examples: [...]

``xiangyue test jingou.yaml`` also runs ``jingou.test.yaml`` and ``jingou.*.test.yaml`` beside
it. Coverage: a rule is covered when some example's ledger has an entry for it; a limit
(a rule's limit, deduction_limit, once, highest_only; a category's limit, deduction_limit) when some
ledger entry shows it binding.
"""

from __future__ import annotations

import datetime as dt
import functools
import glob
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from xiangyue.rules import model as m
from xiangyue.errors import Diagnostic, Pos, XiangyueError
from xiangyue.points.evaluate import evaluate
from xiangyue.points.results import Evaluation
from xiangyue.points.inputs import Inputs
from xiangyue.i18n import Msg, register
from xiangyue.periods import Period, parse_period, period_of

__all__ = ["Failure", "ExampleResult", "Coverage", "TestReport", "run_tests", "run_example",
           "EXPECT_KEYS", "render_text"]

EXPECT_KEYS = ("totals", "by_rule", "earned", "deducted", "vetoed", "unmatched", "not_covered", "pending",
               "invalid", "board", "cases", "duties")

register(
    {
        "E-TEST-COLUMN": Msg(
            zh="算例“{example}”：不认识的列“{column}”",
            en="example '{example}': unknown column '{column}'",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-TEST-CELL": Msg(
            zh="算例“{example}”第 {row} 行：{detail_zh}",
            en="example '{example}' row {row}: {detail_en}",
        ),
        "E-TEST-EXPECT": Msg(
            zh="算例“{example}”：expect 中不认识的“{key}”",
            en="example '{example}': unknown '{key}' in expect",
            hint_zh="可用：" + "、".join(EXPECT_KEYS),
            hint_en="known: " + ", ".join(EXPECT_KEYS),
        ),
        "E-TEST-EXPECT-SHAPE": Msg(
            zh="算例“{example}”：expect 的“{key}”应写成{shape_zh}",
            en="example '{example}': expect '{key}' should be {shape_en}",
        ),
        "E-TEST-PERIOD": Msg(
            zh="算例“{example}”：期间“{value}”无法识别",
            en="example '{example}': period '{value}' is not understood",
            hint_zh="写成 2024-03、2024-Q1 或 2024",
            hint_en="write 2024-03, 2024-Q1 or 2024",
        ),
        "E-TEST-NOT-OBJECT": Msg(
            zh="测试文件的最外层应是“键: 值”的映射",
            en="the top level of a test file must be a mapping of keys to values",
        ),
        "E-TEST-RULE": Msg(
            zh="算例“{example}”：没有编号为“{rule}”的规则",
            en="example '{example}': there is no rule '{rule}'",
        ),
    }
)

_SHAPES = {
    "totals": ("“户号: 分数”", "a mapping household: points"),
    "by_rule": ("“户号: {规则编号: 分数}”", "a mapping household: {rule: points}"),
    "vetoed": ("户号列表", "a list of households"),
    "unmatched": ("记录编号列表", "a list of record ids"),
    "not_covered": ("记录编号列表", "a list of record ids"),
    "pending": ("记录编号列表", "a list of record ids"),
    "invalid": ("记录编号列表", "a list of record ids"),
    "earned": ("“户号: 分数”", "a mapping household: points"),
    "deducted": ("“户号: 分数”", "a mapping household: points"),
    "board": ("{red: [户号…], black: [户号…], progress: [户号…]}", "{red: [...], black: [...], progress: [...]}"),
    "cases": ("“事项编号: {status: …, findings: […]}”", "a mapping case id: {status, findings}"),
    "duties": ("“清单事项: {期间: 状态}”", "a mapping item: {period: status}"),
}


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Failure:
    """One expectation not met: what was checked, expected and actual values, and the ledger
    lines (or case findings) that explain the actual value."""

    check: str  # e.g. "totals.H1", "by_rule.H1.volunteer", "vetoed", "board.red", "cases.C01.status"
    expected: Any
    actual: Any
    explain: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "expected": self.expected, "actual": self.actual,
                "explain": list(self.explain)}


@dataclass
class ExampleResult:
    name: str
    pos: Pos
    ruleset: str
    failures: list[Failure]
    evaluation: Evaluation | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.pos.file, "line": self.pos.line, "ruleset": self.ruleset,
                "passed": self.passed, "failures": [f.to_json() for f in self.failures]}


@dataclass
class Coverage:
    """Which rules and limits of one rule file the examples exercise."""

    rules: list[str]  # every rule id, file order
    covered_rules: set[str]
    limits: list[tuple[str, str, str]]  # (rules|categories, id, limit), file order
    bound_limits: set[tuple[str, str, str]]

    @property
    def uncovered_rules(self) -> list[str]:
        return [r for r in self.rules if r not in self.covered_rules]

    @property
    def unbound_limits(self) -> list[tuple[str, str, str]]:
        return [x for x in self.limits if x not in self.bound_limits]

    @property
    def full(self) -> bool:
        return not self.uncovered_rules and not self.unbound_limits

    def to_json(self) -> dict[str, Any]:
        return {"rules": {"total": len(self.rules), "covered": len(self.rules) - len(self.uncovered_rules),
                          "uncovered": self.uncovered_rules},
                "limits": {"total": len(self.limits), "binding": len(self.limits) - len(self.unbound_limits),
                           "not_binding": [{"section": s, "id": i, "limit": lim}
                                           for s, i, lim in self.unbound_limits]},
                "full": self.full}


@dataclass
class TestReport:
    results: list[ExampleResult]
    coverage: dict[str, Coverage]  # rule file -> coverage

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[ExampleResult]:
        return [r for r in self.results if not r.passed]

    def to_json(self) -> dict[str, Any]:
        return {"examples": [r.to_json() for r in self.results],
                "coverage": {f: c.to_json() for f, c in self.coverage.items()},
                "summary": {"examples": len(self.results), "passed": len(self.results) - len(self.failed),
                            "failed": len(self.failed)}}


# --------------------------------------------------------------------------------------------
# Example sources: a rule file's own examples, or a test file's


@dataclass
class _Source:
    """Examples as written (plain data) with a way to find each value's position."""

    ruleset: m.Ruleset
    examples: list[dict[str, Any]]
    pos: Any  # callable: path tuple under the example list -> Pos
    key_pos: Any


def _rule_file_source(path: str) -> _Source:
    from xiangyue.rules.pipeline import build, load_effective

    eff = load_effective(path)
    rs = build(eff)
    return _Source(rs, list(eff.data.get("examples") or []),
                   lambda p: eff.pos(("examples",) + p), lambda p: eff.key_pos(("examples",) + p))


@functools.lru_cache(maxsize=1)
def _test_file_schema() -> dict[str, Any]:
    from xiangyue.rules.schema import ruleset_schema

    rs = ruleset_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": ["ruleset", "examples"],
        "properties": {"ruleset": {"type": "string", "minLength": 1},
                       "description": {"type": "string"},
                       "examples": rs["properties"]["examples"]},
        "$defs": rs.get("$defs", {}),
    }


def _test_file_source(path: str) -> _Source:
    from xiangyue.rules.pipeline import load_ruleset
    from xiangyue.rules.schema import load_checked_yaml

    doc = load_checked_yaml(path, _test_file_schema(), "E-TEST-NOT-OBJECT")
    target = doc.data["ruleset"]
    full = target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)
    rs = load_ruleset(os.path.normpath(full))
    return _Source(rs, list(doc.data["examples"]), lambda p: doc.pos(("examples",) + p),
                   lambda p: doc.key_pos(("examples",) + p))


# --------------------------------------------------------------------------------------------
# Rows to typed records (the table reader's converters)


def _typed_rows(rows: list[dict[str, Any]], fields: tuple[m.FieldSpec, ...], section: str,
                index: int, name: str, src: _Source, diags: list[Diagnostic],
                number_key: str | None = None) -> list[dict[str, Any]]:
    from xiangyue.data.tables import CellError, CellConverter, suggest_column, match_header

    convs = {f.id: CellConverter(f) for f in fields}
    out: list[dict[str, Any]] = []
    for j, row in enumerate(rows):
        typed: dict[str, Any] = {}
        given: set[str] = set()
        ok = True
        for col, value in row.items():
            spec = match_header(col, fields)
            if spec is None:
                zh, en = suggest_column(col, fields)
                p = src.key_pos((index, section, j, col))
                diags.append(Diagnostic("E-TEST-COLUMN", p.file, p.line, p.column,
                                        args={"example": name, "column": col, "suggest_zh": zh,
                                              "suggest_en": en}))
                ok = False
                continue
            given.add(spec.id)
            try:
                typed[spec.id] = convs[spec.id].value(value)
            except CellError as err:
                p = src.pos((index, section, j, col))
                d = Diagnostic(err.code, args=err.args_)
                diags.append(Diagnostic("E-TEST-CELL", p.file, p.line, p.column,
                                        args={"example": name, "row": j + 1, "detail_zh": d.message("zh"),
                                              "detail_en": d.message("en")}))
                ok = False
        if number_key is not None and typed.get(number_key) is None:
            typed[number_key] = f"R{j + 1}"
        for f in fields:
            if f.id in given or f.id in typed:
                continue
            try:
                typed[f.id] = convs[f.id].value(None)
            except CellError as err:
                p = src.pos((index, section, j))
                d = Diagnostic(err.code, args=err.args_)
                diags.append(Diagnostic("E-TEST-CELL", p.file, p.line, p.column,
                                        args={"example": name, "row": j + 1, "detail_zh": d.message("zh"),
                                              "detail_en": d.message("en")}))
                ok = False
        if ok:
            p = src.pos((index, section, j))
            typed["_file"], typed["_row"], typed["_line"] = p.file, p.line, p.line
            out.append(typed)
    return out


def _check_expect(expect: dict[str, Any], rs: m.Ruleset, index: int, name: str, src: _Source,
                  diags: list[Diagnostic]) -> None:
    rule_ids = {r.id for r in rs.rules}
    for key, value in expect.items():
        if key not in EXPECT_KEYS:
            p = src.key_pos((index, "expect", key))
            diags.append(Diagnostic("E-TEST-EXPECT", p.file, p.line, p.column, args={"example": name, "key": key}))
            continue
        good = {
            "totals": isinstance(value, dict),
            "by_rule": isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()),
            "vetoed": isinstance(value, list),
            "unmatched": isinstance(value, list),
            "not_covered": isinstance(value, list),
            "pending": isinstance(value, list),
            "invalid": isinstance(value, list),
            "earned": isinstance(value, dict),
            "deducted": isinstance(value, dict),
            "board": isinstance(value, dict) and set(value) <= {"red", "black", "progress"}
            and all(isinstance(v, list) for v in value.values()),
            "cases": isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()),
            "duties": isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()),
        }[key]
        if not good:
            p = src.pos((index, "expect", key))
            zh, en = _SHAPES[key]
            diags.append(Diagnostic("E-TEST-EXPECT-SHAPE", p.file, p.line, p.column,
                                    args={"example": name, "key": key, "shape_zh": zh, "shape_en": en}))
            continue
        if key == "by_rule":
            for hh, rules in value.items():
                for rid in rules:
                    if rid not in rule_ids:
                        p = src.key_pos((index, "expect", "by_rule", hh, rid))
                        diags.append(Diagnostic("E-TEST-RULE", p.file, p.line, p.column,
                                                args={"example": name, "rule": rid}))


@dataclass
class _Prepared:
    name: str
    pos: Pos
    period: Period
    records: list[dict[str, Any]]
    households: list[dict[str, Any]] | None
    cases: list[dict[str, Any]]
    as_of: dt.date
    expect: dict[str, Any]


def _infer_period(records: list[dict[str, Any]], fallback: dt.date) -> Period:
    days = [r["date"] for r in records if isinstance(r.get("date"), dt.date)] or [fallback]
    for kind in ("month", "quarter", "year"):
        p = period_of(min(days), kind)
        if max(days) in p:
            return p
    return period_of(min(days), "year")


def _prepare(src: _Source, diags: list[Diagnostic]) -> list[_Prepared]:
    from xiangyue.checklists.check import case_field_specs

    rs = src.ruleset
    out = []
    for i, ex in enumerate(src.examples):
        name = str(ex.get("name"))
        before = len(diags)
        records = _typed_rows(list(ex.get("records") or []), rs.fields, "records", i, name, src, diags,
                              number_key="record_id")
        households = _typed_rows(list(ex.get("households") or []), rs.household_fields, "households", i,
                                 name, src, diags) if ex.get("households") else None
        cases = _typed_rows(list(ex.get("cases") or []), case_field_specs(rs), "cases", i, name, src, diags)
        expect = ex.get("expect") if isinstance(ex.get("expect"), dict) else {}
        _check_expect(expect, rs, i, name, src, diags)
        as_of = None
        if ex.get("as_of") is not None:
            as_of = dt.date.fromisoformat(str(ex["as_of"]))
        period = None
        if ex.get("period") is not None:
            try:
                period = parse_period(str(ex["period"]))
            except XiangyueError:
                p = src.pos((i, "period"))
                diags.append(Diagnostic("E-TEST-PERIOD", p.file, p.line, p.column,
                                        args={"example": name, "value": ex["period"]}))
        if len(diags) > before:
            continue
        case_days = [c["date"] for c in cases if isinstance(c.get("date"), dt.date)]
        if period is None:
            period = _infer_period(records, as_of or (max(case_days) if case_days else dt.date.today()))
        if as_of is None:
            as_of = period.end
        out.append(_Prepared(name, src.pos((i,)), period, records, households, cases, as_of, expect))
    return out


# --------------------------------------------------------------------------------------------
# Running


def _dec(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


def _story(ev: Evaluation, household: str, lang: str) -> list[str]:
    from xiangyue.points.explain import story_of, story_text

    if ev.result(household) is None:
        return []
    return story_text(story_of(ev, household), lang).rstrip("\n").split("\n")


def _boards_of(ev: Evaluation, previous: Evaluation | None = None) -> dict[str, list[str]]:
    """The households on each board, in board order (the boards of :mod:`xiangyue.points.boards`);
    ``previous`` (the previous period's evaluation) gives the progress board."""
    from xiangyue.points.boards import compute_boards

    b = compute_boards(ev, previous=previous)
    out = {"red": [e.household for e in b.red], "black": [e.household for e in b.black]}
    if b.progress is not None:
        out["progress"] = [e.household for e in b.progress]
    return out


def run_example(rs: m.Ruleset, ex: _Prepared, lang: str = "zh") -> ExampleResult:
    """Evaluate one prepared example and compare with what it expects."""
    failures: list[Failure] = []
    expect = ex.expect
    ev = evaluate(rs, Inputs(ex.records, ex.households), ex.period, with_ledger=True)
    if "totals" in expect:
        for hh, want in expect["totals"].items():
            res = ev.result(str(hh))
            got = sum((r.total for r in ev.results if r.household == str(hh)), Decimal(0)) if res else None
            if got is None or got != _dec(want):
                failures.append(Failure(f"totals.{hh}", _dec(want), got, _story(ev, str(hh), lang)))
    if "by_rule" in expect:
        for hh, rules in expect["by_rule"].items():
            res = ev.result(str(hh))
            for rid, want in rules.items():
                got = res.by_rule.get(rid, Decimal(0)) if res else None
                if got is None or got != _dec(want):
                    lines = [line for line in _story(ev, str(hh), lang)]
                    failures.append(Failure(f"by_rule.{hh}.{rid}", _dec(want), got, lines))
    if "vetoed" in expect:
        want_v = sorted(str(h) for h in expect["vetoed"])
        got_v = sorted({r.household for r in ev.results if r.vetoed})
        if want_v != got_v:
            explain = [line for h in sorted(set(want_v) ^ set(got_v)) for line in _story(ev, h, lang)]
            failures.append(Failure("vetoed", want_v, got_v, explain))
    for key in ("earned", "deducted"):
        for hh, want in (expect.get(key) or {}).items():
            rows = [r for r in ev.results if r.household == str(hh)]
            got = sum((getattr(r, key) for r in rows), Decimal(0)) if rows else None
            if got is None or got != _dec(want):
                failures.append(Failure(f"{key}.{hh}", _dec(want), got, _story(ev, str(hh), lang)))
    for key, issues in (("unmatched", ev.unmatched), ("not_covered", ev.not_covered),
                        ("pending", ev.pending), ("invalid", ev.invalid)):
        if key in expect:
            want_r = sorted(str(r) for r in expect[key])
            got_r = sorted(str(i.record_id) for i in issues)
            if want_r != got_r:
                failures.append(Failure(key, want_r, got_r))
    if "board" in expect:
        before = None
        if rs.boards.progress is not None and "progress" in expect["board"]:
            from xiangyue.points.boards import previous_period

            prev = previous_period(ex.period)
            before = evaluate(rs, Inputs(ex.records, ex.households), prev, with_ledger=False)
        boards = _boards_of(ev, before)
        for side, want_b in expect["board"].items():
            want_list = [str(h) for h in want_b]
            got_list = boards.get(side, [])
            if got_list != want_list:
                vetoed = " 一票否决" if lang != "en" else " vetoed"
                explain = [f"{r.household}: {r.total}" + (vetoed if r.vetoed else "") for r in ev.results]
                failures.append(Failure(f"board.{side}", want_list, got_list, explain))
    if "cases" in expect:
        failures.extend(_case_failures(rs, ex, lang))
    if "duties" in expect:
        failures.extend(_duty_failures(rs, ex, lang))
    return ExampleResult(ex.name, ex.pos, rs.file, failures, ev)


def _case_failures(rs: m.Ruleset, ex: _Prepared, lang: str) -> list[Failure]:
    from xiangyue.checklists.check import check_cases

    report = check_cases(rs, ex.cases, ex.as_of, file=ex.pos.file, duties=False)
    by_id = {c.case_id: c for c in report.cases}
    out = []
    for cid, want in ex.expect["cases"].items():
        got = by_id.get(str(cid))
        explain = [f"{f.kind}: {f.message(lang)}" for f in got.findings] if got else []
        if "status" in want:
            actual = got.status if got else None
            if actual != want["status"]:
                out.append(Failure(f"cases.{cid}.status", want["status"], actual, explain))
        if "findings" in want:
            want_f = sorted(str(k) for k in (want["findings"] or []))
            got_f = sorted(f.kind for f in got.findings) if got else None
            if got_f != want_f:
                out.append(Failure(f"cases.{cid}.findings", want_f, got_f, explain))
    return out


def _duty_failures(rs: m.Ruleset, ex: _Prepared, lang: str = "zh") -> list[Failure]:
    """``expect: duties``: the listed periods of each recurring duty, by status."""
    from xiangyue.checklists.check import check_cases

    report = check_cases(rs, ex.cases, ex.as_of, file=ex.pos.file)
    got: dict[tuple[str, str], Any] = {}
    for d in report.duties:
        if d.status != "duplicate":
            got[(d.item, d.period)] = d
    out = []
    for key, periods in ex.expect["duties"].items():
        item = rs.item(str(key))
        iid = item.id if item is not None else str(key)
        for period, want in periods.items():
            duty = got.get((iid, str(period)))
            actual = duty.status if duty else None
            if actual != str(want):
                explain = []
                if duty is not None:
                    done = (f"，{duty.date} 完成（{duty.case_id}）" if lang != "en" else
                            f", done {duty.date} ({duty.case_id})") if duty.date else ""
                    explain = [(f"{duty.period}：期限 {duty.due}" if lang != "en" else
                                f"{duty.period}: due {duty.due}") + done]
                out.append(Failure(f"duties.{key}.{period}", str(want), actual, explain))
    return out


# ledger reasons → the rule file's keys, which the coverage report names
_FILE_KEY = {"cap": "limit", "deduction_cap": "deduction_limit"}


def _coverage(rs: m.Ruleset, results: Iterable[ExampleResult]) -> Coverage:
    rules = [r.id for r in rs.rules]
    limits: list[tuple[str, str, str]] = []
    for r in rs.rules:
        for key in ("limit", "deduction_limit", "once", "highest_only"):
            if getattr(r, key):
                limits.append(("rules", r.id, key))
    for c in rs.categories:
        for key in ("limit", "deduction_limit"):
            if getattr(c, key):
                limits.append(("categories", c.id, key))
    covered: set[str] = set()
    bound: set[tuple[str, str, str]] = set()
    for res in results:
        ev = res.evaluation
        if ev is None or ev.ledger is None:
            continue
        for e in ev.ledger:
            if e.record_id is None:
                continue
            covered.add(e.rule)
            for reason in e.reasons:
                lim = reason.get("limit")
                if lim in ("category_cap", "category_deduction_cap"):
                    bound.add(("categories", e.category or "", _FILE_KEY[lim[len("category_"):]]))
                else:
                    bound.add(("rules", e.rule, _FILE_KEY.get(lim, lim)))
    return Coverage(rules, covered, limits, bound)


def _discover(paths: Iterable[str]) -> list[str]:
    """The files to run: each path, and beside each rule file its ``.test.yaml`` files."""
    out: list[str] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            out.append(p)

    for p in paths:
        add(p)
        if not p.endswith(".test.yaml") and os.path.isfile(p):
            stem = p[: -len(".yaml")] if p.endswith(".yaml") else os.path.splitext(p)[0]
            for extra in sorted(glob.glob(glob.escape(stem) + ".test.yaml")
                                + glob.glob(glob.escape(stem) + ".*.test.yaml")):
                add(extra)
    return out


def run_tests(paths: Iterable[str], lang: str = "zh") -> TestReport:
    """Run every example of the given rule files and test files.

    A file that cannot be loaded (a rule file with errors, a malformed test file or example)
    raises :class:`XiangyueError` (exit 2) listing the problems of every file; nothing is run.
    """
    sources: list[_Source] = []
    diags: list[Diagnostic] = []
    for p in _discover(paths):
        try:
            sources.append(_test_file_source(p) if p.endswith(".test.yaml") else _rule_file_source(p))
        except XiangyueError as err:
            diags.extend(err.diagnostics)
    prepared = [(src, _prepare(src, diags)) for src in sources]
    if diags:
        raise XiangyueError(diags, kind="unusable")
    results: list[ExampleResult] = []
    rulesets: dict[str, m.Ruleset] = {}  # real path -> the first ruleset loaded from it
    runs: dict[str, list[ExampleResult]] = {}
    for src, examples in prepared:
        key = os.path.realpath(src.ruleset.file)
        rs = rulesets.setdefault(key, src.ruleset)
        for ex in examples:
            res = run_example(src.ruleset, ex, lang)
            res.ruleset = rs.file
            results.append(res)
            runs.setdefault(key, []).append(res)
    coverage = {rs.file: _coverage(rs, runs.get(key, [])) for key, rs in rulesets.items()}
    return TestReport(results, coverage)


# --------------------------------------------------------------------------------------------
# Text report


def _v(value: object) -> str:
    if value is None:
        return "（无）"
    if isinstance(value, Decimal):
        from xiangyue.report.jsonout import decimal_text

        return decimal_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(str(x) for x in value) + "]"
    return str(value)


def render_text(report: TestReport, lang: str) -> str:
    en = lang == "en"
    out: list[str] = []
    for r in report.results:
        where = f"{r.pos.file}:{r.pos.line}"
        if r.passed:
            out.append(f"[{'PASS' if en else '通过'}] {r.name}  ({where})")
            continue
        out.append(f"[{'FAIL' if en else '失败'}] {r.name}  ({where})")
        for f in r.failures:
            if en:
                out.append(f"    {f.check}: expected {_v(f.expected)}, got {_v(f.actual)}")
            else:
                out.append(f"    {f.check}：期望 {_v(f.expected)}，实际 {_v(f.actual)}")
            out.extend(f"      | {line}" for line in f.explain)
    out.append("")
    for file, cov in report.coverage.items():
        n_rules, n_lim = len(cov.rules), len(cov.limits)
        un_r, un_l = cov.uncovered_rules, cov.unbound_limits
        if en:
            out.append(f"Coverage of {file}: rules {n_rules - len(un_r)}/{n_rules}, "
                       f"limits binding {n_lim - len(un_l)}/{n_lim}")
            if un_r:
                out.append("  rules no example exercises: " + ", ".join(un_r))
            if un_l:
                out.append("  limits no example shows binding: "
                           + ", ".join(f"{ {'rules': 'rule', 'categories': 'category'}[s]} {i} {lim}"
                                       for s, i, lim in un_l))
        else:
            out.append(f"{file} 覆盖情况：规则 {n_rules - len(un_r)}/{n_rules}，"
                       f"上限起作用 {n_lim - len(un_l)}/{n_lim}")
            if un_r:
                out.append("  没有算例的规则：" + "、".join(un_r))
            if un_l:
                names = {"rules": "规则", "categories": "类别"}
                out.append("  没有算例触及的限制：" + "、".join(f"{names[s]} {i} 的 {lim}" for s, i, lim in un_l))
    n, failed = len(report.results), len(report.failed)
    if en:
        out.append(f"{n} example(s): {n - failed} passed, {failed} failed")
    else:
        out.append(f"共 {n} 个算例：{n - failed} 个通过，{failed} 个未通过")
    return "\n".join(out) + "\n"
