"""The checked rule file as typed, immutable objects.

This is what every later stage reads: the evaluator, the checklist checker, boards, the
supermarket, diff and lint. It is produced by :func:`xiangyue.rules.pipeline.load_ruleset` after the
file has been loaded (source), validated (schema), its expressions parsed (parser) and checked
(checker). Every object keeps the position (:class:`~xiangyue.errors.Pos`) of the YAML node it
came from, so later stages can point back into the file ("rule volunteer, jingou.yaml:42").

Expressions are kept twice: as a parsed tree (``*_expr``, for printing, diffing, the columnar
compiler) and as a compiled Python callable (``*_fn``) that takes a record (a dict from field
id to typed value) and returns the value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Literal

from xiangyue.errors import Pos
from xiangyue.rules.nodes import Expr

PeriodKind = Literal["month", "quarter", "year"]
PERIOD_KINDS: tuple[str, ...] = ("month", "quarter", "year")
#: What a limit, once, escalation, highest_only or veto may be counted in: the reported kinds,
#: a day, an ISO week (Monday first) and ``ever`` (the whole history from ``effective.from``).
LimitPeriod = Literal["day", "week", "month", "quarter", "year", "ever"]
LIMIT_KINDS: tuple[str, ...] = ("day", "week", "month", "quarter", "year", "ever")

#: Chinese words a rule file may write for an enum word (``per: 月``, ``unit: 户``); the
#: effective file is read with them replaced (:func:`xiangyue.rules.pipeline.load_checked`).
ENUM_WORDS: dict[str, str] = {
    "日": "day", "天": "day", "周": "week", "月": "month", "季度": "quarter", "季": "quarter",
    "年": "year", "累计": "ever", "户": "household", "人": "person", "全部": "all", "首条": "first",
    "工作日": "working", "自然日": "calendar",
}
PERIOD_WORDS_ZH: dict[str, str] = {"day": "天", "week": "周", "month": "月", "quarter": "季度",
                                   "year": "年", "ever": "累计"}
FieldType = Literal["text", "decimal", "integer", "date", "boolean"]

Compiled = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class FieldSpec:
    """A column of the record (or case, or household) table.

    ``id`` is the ASCII name (``quantity``), ``label`` the Chinese name (``数量``); a table's
    header and an expression may use either. ``aliases`` are further accepted header names.
    """

    id: str
    type: FieldType
    label: str | None = None
    aliases: tuple[str, ...] = ()
    required: bool = False
    values: tuple[str, ...] | None = None  # allowed values (text fields)
    default: Any = None  # typed value used when the cell is empty
    min: Decimal | None = None
    max: Decimal | None = None
    pos: Pos = Pos()

    def names(self) -> tuple[str, ...]:
        """Every name this field answers to: id, label, aliases."""
        out = [self.id]
        if self.label:
            out.append(self.label)
        out.extend(self.aliases)
        return tuple(out)


# The built-in columns every rule file has (a rule file may add to them, never remove one);
# the one list the rule pipeline, the table readers, imports, checklists and diff read.
BUILTIN_RECORD_FIELDS = (
    FieldSpec("record_id", "text", "记录编号", required=True),
    FieldSpec("household", "text", "户号", required=True),
    FieldSpec("date", "date", "日期", required=True),
)
PERSON_FIELD = FieldSpec("person", "text", "成员", required=True)
BUILTIN_HOUSEHOLD_FIELDS = (
    FieldSpec("household", "text", "户号", required=True),
    FieldSpec("head", "text", "户主"),
    FieldSpec("grid", "text", "网格"),
)
BUILTIN_CASE_FIELDS = (
    FieldSpec("case_id", "text", "事项编号", required=True),
    FieldSpec("item", "text", "清单事项", required=True),
    FieldSpec("title", "text", "标题"),
    FieldSpec("amount", "decimal", "金额"),
    FieldSpec("step", "text", "步骤", default=""),  # empty for a recurring duty's one-row case
    FieldSpec("date", "date", "日期", required=True),
    FieldSpec("attended", "integer", "到会人数", min=Decimal(0)),
    FieldSpec("eligible", "integer", "应到人数", min=Decimal(0)),
    FieldSpec("approved", "integer", "赞成人数", min=Decimal(0)),
    FieldSpec("period", "text", "期间"),  # the period a recurring duty's case fulfils
)


@dataclass(frozen=True)
class Limit:
    """"At most ``max`` points per ``per``" or "at most ``times`` records per ``per``" (exactly
    one of the two is set). In a ``limit`` it counts points awarded / records awarded points; in
    a ``deduction_limit`` points taken / records that took points (``max`` is positive in both).
    Limits count what the household actually received, after every cut (docs/format.md)."""

    max: Decimal | None
    per: LimitPeriod
    times: int | None = None
    pos: Pos = Pos()

    def describe(self, lang: str = "zh") -> str:
        """``每月最多 10 分`` / ``每天限 1 次`` (``at most 10 per month`` / ``at most 1 time per day``)."""
        zh = PERIOD_WORDS_ZH.get(self.per, self.per)
        every = "累计" if self.per == "ever" else f"每{zh}"
        if lang == "en":
            per = "in all" if self.per == "ever" else f"per {self.per}"
            if self.times is not None:
                return f"at most {self.times} time{'s' if self.times != 1 else ''} {per}"
            return f"at most {self.max} {per}"
        if self.times is not None:
            return f"{every}限 {self.times} 次"
        return f"{every}最多 {self.max} 分"


@dataclass(frozen=True)
class Escalation:
    """Points by occurrence in a period: the n-th record the rule applies to in the period is
    awarded ``steps[n-1]``; records after the last step get the last step."""

    steps: tuple[Decimal, ...]
    per: LimitPeriod
    pos: Pos = Pos()


@dataclass(frozen=True)
class Table:
    """A named lookup table (``tables:``) any expression may read with ``查表(名称, 键)``.
    ``key_type``/``value_type`` are expression types (``text`` or ``number``); ``default`` is
    given for a key the table does not list (None: such a record cannot be scored)."""

    id: str
    name: str | None
    entries: tuple[tuple[Any, Any], ...]
    key_type: str
    value_type: str
    default: Any = None
    pos: Pos = Pos()

    def names(self) -> tuple[str, ...]:
        return (self.id,) + ((self.name,) if self.name and self.name != self.id else ())

    def as_dict(self) -> dict[Any, Any]:
        return dict(self.entries)


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    limit: tuple[Limit, ...] = ()  # each applies (the file's limit: one or a list)
    deduction_limit: tuple[Limit, ...] = ()
    pos: Pos = Pos()


@dataclass(frozen=True)
class Rule:
    """One line of the 积分细则.

    Order of application for one record (docs/format.md, "The order of the limits"):
    raw points (``points`` or ``escalation``), then ``once``, then ``highest_only``,
    then each of the rule's ``limit`` / ``deduction_limit`` in file order, then the category's.
    ``category`` is None for a rule without one.
    """

    id: str
    name: str
    category: str | None
    when_expr: Expr
    when_fn: Compiled
    points_expr: Expr | None  # None when escalation gives the points
    points_fn: Compiled | None
    limit: tuple[Limit, ...] = ()
    deduction_limit: tuple[Limit, ...] = ()
    once: LimitPeriod | None = None
    escalation: Escalation | None = None
    highest_only: LimitPeriod | None = None  # tiers: only the highest in the period counts
    veto: LimitPeriod | None = None  # 一票否决: the household is vetoed for this period kind
    description: str | None = None
    index: int = 0  # position in file order
    pos: Pos = Pos()


@dataclass(frozen=True)
class BasePoints:
    """Points every household of the register starts each period with (基础分)."""

    points: Decimal
    per: PeriodKind
    pos: Pos = Pos()


@dataclass(frozen=True)
class Meeting:
    """A meeting step: ``attended/eligible >= quorum`` and ``approved/attended > majority``."""

    quorum: Fraction
    majority: Fraction
    pos: Pos = Pos()


@dataclass(frozen=True)
class Deadline:
    """``within``: at most ``days`` after step ``after``; ``not_before``: at least ``days``
    after it. ``calendar`` is "calendar" (calendar days) or "working" (Chinese working days)."""

    days: int
    after: str
    calendar: Literal["calendar", "working"] = "calendar"
    pos: Pos = Pos()


@dataclass(frozen=True)
class Step:
    name: str
    meeting: Meeting | None = None
    within: Deadline | None = None
    not_before: Deadline | None = None
    pos: Pos = Pos()


@dataclass(frozen=True)
class Procedure:
    id: str
    name: str
    when_expr: Expr | None
    when_fn: Compiled | None  # takes a case dict (case field id -> value)
    steps: tuple[Step, ...]
    pos: Pos = Pos()

    def step(self, name: str) -> Step | None:
        for s in self.steps:
            if s.name == name:
                return s
        return None


#: How often a scheduled item falls due (``every``), canonical words.
SCHEDULE_EVERY: tuple[str, ...] = ("month", "quarter", "half_year", "year")
#: Words a rule file may write for ``every``: canonical word -> accepted spellings.
EVERY_WORDS: dict[str, tuple[str, ...]] = {
    "month": ("month", "monthly", "月", "每月", "月度"),
    "quarter": ("quarter", "quarterly", "季", "季度", "每季", "每季度"),
    "half_year": ("half_year", "half-year", "halfyear", "半年", "每半年", "半年度"),
    "year": ("year", "yearly", "annual", "年", "每年", "年度"),
}


@dataclass(frozen=True)
class Schedule:
    """A recurring duty (村级事务清单): due once every ``every``; the period's due date is
    ``days`` (calendar or Chinese working) days after the period's end (or start)."""

    every: Literal["month", "quarter", "half_year", "year"]
    days: int = 0
    after: Literal["period_end", "period_start"] = "period_end"
    calendar: Literal["calendar", "working"] = "calendar"
    pos: Pos = Pos()


@dataclass(frozen=True)
class ChecklistItem:
    """One item of a list (村级小微权力清单, 村级事务清单, 公共服务事项清单).

    An item has procedures (each case is checked step by step), a schedule (a recurring duty:
    every period must be fulfilled by a case), or both."""

    id: str
    name: str
    list: str
    procedures: tuple[Procedure, ...]
    pos: Pos = Pos()
    schedule: Schedule | None = None


#: Tie-breakers a board may name (``ties: [...]``), each with its Chinese word.
TIE_BREAKERS: dict[str, str] = {
    "fewer_deductions": "扣分少", "more_records": "记录多", "earlier_last_record": "最后记录早",
    "higher_total": "总分高", "more_earned": "得分高",
}


@dataclass(frozen=True)
class BoardRule:
    """How many households a ranked board lists and how it ranks them.

    The size is ``size`` ranks, or ``percent`` % of the households ranked for the period
    (rounded up), then kept within ``min`` and ``max``. ``rank_by`` is ``total`` or ``earned``
    (points earned, deductions left out; the progress board ranks the increase). ``ties``
    empty: every household tied at the last rank is listed (competition ranking 1, 2, 2, 4);
    else the tie-breakers (:data:`TIE_BREAKERS`) decide, in order, and only households equal on
    all of them share a rank."""

    size: int | None = 5
    percent: Decimal | None = None
    min: int | None = None
    max: int | None = None
    rank_by: str = "total"
    ties: tuple[str, ...] = ()

    def places(self, households: int) -> int:
        """The number of ranks listed when ``households`` are ranked for the period."""
        if self.percent is not None:
            n = -((-self.percent * households) // 100)  # rounded up
            n = int(n)
        else:
            n = self.size or 0
        if self.min is not None:
            n = max(n, self.min)
        if self.max is not None:
            n = min(n, self.max)
        return n


@dataclass(frozen=True)
class BoardSpec:
    """红黑榜 settings: the boards the file defines and the period kind they are posted for.

    ``red_size``/``black_size`` are the plain sizes (``red: 5``); ``red`` holds the full rule
    when the file gives one; ``black_below`` lists every household whose total is below it (the
    帮扶榜) instead of ranks; ``progress`` is the 进步榜 (largest increase of total over the
    previous period of the same length). ``shown`` names the boards a notice shows."""

    red_size: int = 5
    black_size: int = 5
    per: PeriodKind = "quarter"
    pos: Pos = Pos()
    red: BoardRule | None = None
    black_below: Decimal | None = None
    progress: BoardRule | None = None
    shown: tuple[str, ...] = ("red", "black")

    @property
    def red_rule(self) -> BoardRule:
        return self.red if self.red is not None else BoardRule(size=self.red_size)


DEFAULT_SIGNATORIES = ("村党组织", "村民委员会", "村务监督委员会")


@dataclass(frozen=True)
class NoticeSpec:
    """公示 settings (the rule file's ``notice:`` section): how many days villagers have to
    object, who signs (each signatory's seal line), where the notice is posted, whom to call,
    and a footnote printed at the bottom."""

    objection_days: int = 7
    signatories: tuple[str, ...] = DEFAULT_SIGNATORIES
    place: str | None = None
    phone: str | None = None
    footnote: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"objection_days": self.objection_days, "signatories": list(self.signatories),
                "place": self.place, "phone": self.phone, "footnote": self.footnote}


@dataclass(frozen=True)
class Selection:
    """评选, e.g. 美丽庭院. ``criteria`` is a list of expressions over per-household aggregates
    (see docs/format.md#selections); ``no_veto`` excludes vetoed households."""

    id: str
    name: str
    per: PeriodKind
    criteria: tuple[tuple[str, Expr, Compiled], ...]  # (source text, tree, callable)
    no_veto: bool = True
    pos: Pos = Pos()


@dataclass(frozen=True)
class StarLevel:
    stars: int
    min_total: Decimal
    name: str | None = None


@dataclass(frozen=True)
class Good:
    id: str
    name: str
    price: Decimal
    pos: Pos = Pos()


@dataclass(frozen=True)
class Market:
    """积分超市: catalogue and rules for spending points."""

    goods: tuple[Good, ...] = ()
    carry_over: Literal["keep", "yearly", "quarterly"] = "keep"
    min_total: Decimal | None = None  # households below this yearly total may not redeem
    vetoed_may_redeem: bool = False
    pos: Pos = Pos()


@dataclass(frozen=True)
class Adoption:
    meeting: str | None = None
    date: dt.date | None = None
    attended: int | None = None
    eligible: int | None = None
    approved: int | None = None


@dataclass(frozen=True)
class Example:
    """A small table of records (or cases) with what the village expects; run by
    ``xiangyue test``."""

    name: str
    period: str | None
    records: tuple[dict[str, Any], ...]
    households: tuple[dict[str, Any], ...]
    cases: tuple[dict[str, Any], ...]
    as_of: dt.date | None
    expect: dict[str, Any]
    pos: Pos = Pos()


@dataclass(frozen=True)
class Ruleset:
    """A whole checked rule file (after templates are applied)."""

    file: str
    sha256: str  # of the effective file's canonical content
    village: str
    name: str
    version: str
    effective_from: dt.date | None
    effective_until: dt.date | None
    adopted: Adoption
    unit: Literal["household", "person"]
    matching: Literal["all", "first"]
    fields: tuple[FieldSpec, ...]
    household_fields: tuple[FieldSpec, ...]
    case_fields: tuple[FieldSpec, ...]
    categories: tuple[Category, ...]
    rules: tuple[Rule, ...]
    base: BasePoints | None
    checklists: tuple[ChecklistItem, ...]
    boards: BoardSpec
    selections: tuple[Selection, ...]
    stars: tuple[StarLevel, ...]
    market: Market
    examples: tuple[Example, ...]
    extends: tuple[str, ...] = ()  # template files applied, outermost first
    #: ``counted_when``: records failing it are pending (neither scored nor counted anywhere)
    counted_when_expr: Expr | None = None
    counted_when_fn: Compiled | None = None
    counted_when_text: str | None = None
    tables: tuple[Table, ...] = ()
    #: the longest window of 近期次数 / count_recent in any rule (days; 0: none)
    window_days: int = 0
    notice: NoticeSpec = NoticeSpec()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    warnings: tuple[Any, ...] = field(default=(), compare=False, repr=False)  # Diagnostics

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def category(self, cat_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == cat_id), None)

    def item(self, key: str) -> ChecklistItem | None:
        """A checklist item by its id or its Chinese name."""
        return next((i for i in self.checklists if key in (i.id, i.name)), None)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if name in f.names()), None)

    def covers(self, day: dt.date) -> bool:
        if self.effective_from and day < self.effective_from:
            return False
        if self.effective_until and day > self.effective_until:
            return False
        return True
