"""Semantic diff of two rule files (their effective form, after templates are applied).

A reviewer wants to know what a village's new rule file *does* differently, not which lines
moved. So both files go through the whole pipeline (:func:`xiangyue.rules.pipeline.load_ruleset`)
and the checked :class:`~xiangyue.rules.model.Ruleset` objects are compared part by part:

- rules, categories, fields, checklist items, procedures, steps, selections and goods are
  matched by **id**; an item that disappears under one id and reappears under another with the
  same content is a **rename**, not a removal plus an addition;
- order is ignored except where it changes a result: rule order when ``matching: first``
  (only the first matching rule counts) and step order within a procedure (always);
- expressions are compared as **trees** after every field name is resolved to the field's id,
  so ``2 × 数量`` and ``2*quantity`` are the same when 数量 is quantity's label; ``in`` lists
  and lookup tables with literal keys compare as sets; trees are printed back with
  :func:`xiangyue.rules.printer.to_source`;
- metadata (village, name, version, effective dates, adoption) is listed separately.

Every change carries a sentence in Chinese and English ("志愿服务：每月上限由 10 分改为 8 分").
:func:`canonical_text` prints the same comparable view as text (``xiangyue show-effective``,
a ``git diff`` textconv).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable

from xiangyue.rules import model as m
from xiangyue.rules import nodes as n
from xiangyue.errors import Diagnostic, Pos, XiangyueError
from xiangyue.rules.printer import to_source

__all__ = ["Change", "Diff", "diff_rulesets", "diff_files", "load_pair", "load_one", "canonical_text",
           "SECTIONS"]

#: Sections in the order a report lists them; ``metadata`` last.
SECTIONS: tuple[str, ...] = ("rules", "categories", "checklists", "fields", "household_fields",
                             "case_fields", "selections", "tables", "settings", "metadata")

PER_ZH = {"day": "天", "week": "周", "month": "月", "quarter": "季度", "year": "年", "ever": "累计"}
PER_EN = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year",
          "ever": "ever"}
BUILTIN_FIELD_IDS = {f.id for f in (*m.BUILTIN_RECORD_FIELDS, m.PERSON_FIELD)}
BUILTIN_HOUSEHOLD_IDS = {f.id for f in m.BUILTIN_HOUSEHOLD_FIELDS}
BUILTIN_CASE_IDS = {f.id for f in m.BUILTIN_CASE_FIELDS}
SELECTION_NAMES = {"总分": "total", "一票否决": "vetoed"}
SELECTION_FUNCTIONS = {"计数": "count", "得分": "points"}  # selection criteria's own functions
_ZH_FUNCTIONS = {v: k for k, v in SELECTION_FUNCTIONS.items()}


def _function_name(name: str) -> str:
    """A function's canonical (ASCII) name, whichever of its names the author wrote."""
    from xiangyue.rules.functions import lookup

    f = lookup(name)
    return f.name if f is not None else SELECTION_FUNCTIONS.get(name, name)


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Change:
    """One difference between the two files.

    ``kind``: added | removed | changed | renamed. ``path`` names what changed
    (``rules.volunteer.limit``). ``old``/``new`` are plain values (expressions as text, limits as
    ``{"max", "per"}``). ``rule``/``item`` say which rule or checklist item it belongs to.
    """

    kind: str
    section: str
    path: str
    zh: str
    en: str
    old: Any = None
    new: Any = None
    rule: str | None = None
    item: str | None = None
    old_pos: Pos | None = field(default=None, compare=False)
    new_pos: Pos | None = field(default=None, compare=False)

    @property
    def metadata(self) -> bool:
        return self.section == "metadata"

    def message(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "section": self.section, "path": self.path}
        if self.rule is not None:
            out["rule"] = self.rule
        if self.item is not None:
            out["item"] = self.item
        out["old"] = _plain(self.old, lang)
        out["new"] = _plain(self.new, lang)
        out["message"] = self.message(lang)
        out["metadata"] = self.metadata
        for key, pos in (("old_at", self.old_pos), ("new_at", self.new_pos)):
            if pos is not None and pos.line:
                out[key] = f"{pos.file}:{pos.line}"
        return out


@dataclass
class Diff:
    """Every change from ``old`` to ``new``, in report order (section, then file order)."""

    old: m.Ruleset
    new: m.Ruleset
    changes: list[Change]

    @property
    def equivalent(self) -> bool:
        return not self.changes

    @property
    def rule_changes(self) -> list[Change]:
        return [c for c in self.changes if not c.metadata]

    @property
    def metadata_changes(self) -> list[Change]:
        return [c for c in self.changes if c.metadata]

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        def side(rs: m.Ruleset) -> dict[str, Any]:
            return {"file": rs.file, "village": rs.village, "name": rs.name, "version": rs.version,
                    "sha256": rs.sha256}

        return {"old": side(self.old), "new": side(self.new), "equivalent": self.equivalent,
                "changes": [c.to_json(lang) for c in self.changes]}


def _plain(value: Any, lang: str) -> Any:
    """A change's old/new value as JSON-ready data (expressions printed in ``lang``)."""
    if isinstance(value, _Shown):
        return value.text(lang)
    if isinstance(value, dict):
        return {k: _plain(v, lang) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, lang) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class _Shown:
    """An expression to show: the normalized tree and how to spell its field names."""

    expr: n.Expr  # canonical: compared
    shown: n.Expr = field(compare=False)  # names resolved, the author's order: printed
    labels: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # field id -> label

    def text(self, lang: str, canonical: bool = False) -> str:
        tree = self.expr if canonical else self.shown
        if lang == "en":
            return to_source(tree, "en")
        zh = {**dict(self.labels), **{v: k for k, v in SELECTION_NAMES.items()}}
        return to_source(_rename(tree, zh.get, _ZH_FUNCTIONS.get), "zh")


# --------------------------------------------------------------------------------------------
# Loading both files


def load_pair(old_path: str, new_path: str, *, old_name: str | None = None,
              new_name: str | None = None, base_dir: str | None = None
              ) -> tuple[m.Ruleset, m.Ruleset]:
    """Load both files; if either is invalid raise one :class:`XiangyueError` (exit 2) with the
    errors of both, so no partial diff is ever shown.

    ``base_dir``: resolve ``extends`` from this folder instead of each file's own (a git
    driver gets the old version as a temporary file outside the repository).
    """
    out: list[m.Ruleset] = []
    diags: list[Diagnostic] = []
    for path, name in ((old_path, old_name), (new_path, new_name)):
        try:
            out.append(load_one(path, name, base_dir))
        except XiangyueError as err:
            diags.extend(err.diagnostics)
    if diags:
        raise XiangyueError(diags, kind="unusable")
    return out[0], out[1]


def load_one(path: str, name: str | None = None, base_dir: str | None = None) -> m.Ruleset:
    """:func:`xiangyue.rules.pipeline.load_ruleset`, with ``extends`` optionally resolved from
    ``base_dir`` (see :func:`load_pair`). Examples are not loaded: a diff compares the rules,
    and stale examples (a renamed rule) must not hide the diff from a reviewer."""
    from xiangyue.rules.pipeline import load_ruleset

    return load_ruleset(path, name, base_dir=base_dir, examples=False)


def diff_files(old_path: str, new_path: str, **kwargs: Any) -> Diff:
    """Load two rule files (see :func:`load_pair`) and diff them."""
    old, new = load_pair(old_path, new_path, **kwargs)
    return diff_rulesets(old, new)


# --------------------------------------------------------------------------------------------
# Expressions


def _rename(expr: n.Expr, resolve: Callable[[str], str | None],
            functions: Callable[[str], str | None] = _function_name) -> n.Expr:
    """The tree with each name replaced by ``resolve(name)`` (kept when None) and each
    function name by ``functions(name)`` (default: its canonical name)."""
    def go(e: n.Expr) -> n.Expr:
        if isinstance(e, n.Name):
            return n.Name(resolve(e.name) or e.name)
        if isinstance(e, n.Unary):
            return n.Unary(e.op, go(e.operand))
        if isinstance(e, n.Binary):
            return n.Binary(e.op, go(e.left), go(e.right))
        if isinstance(e, n.In):
            return n.In(go(e.operand), tuple(go(o) for o in e.options), e.negated)
        if isinstance(e, n.Cond):
            return n.Cond(go(e.test), go(e.then), go(e.otherwise))
        if isinstance(e, n.Lookup):
            return n.Lookup(go(e.key), tuple((go(k), go(v)) for k, v in e.table),
                            go(e.default) if e.default is not None else None)
        if isinstance(e, n.Call):
            return n.Call(functions(e.func) or e.func, tuple(go(a) for a in e.args))
        return e

    return go(expr)


_LITERALS = (n.Number, n.Text, n.Date, n.Bool)


def _literal_key(e: n.Expr) -> tuple[str, str]:
    return (type(e).__name__, str(e.value))  # type: ignore[union-attr]


def _canonical(expr: n.Expr) -> n.Expr:
    """Order-free parts in a fixed order: ``in`` lists and lookup tables with literal keys."""
    def go(e: n.Expr) -> n.Expr:
        if isinstance(e, n.Unary):
            return n.Unary(e.op, go(e.operand))
        if isinstance(e, n.Binary):
            return n.Binary(e.op, go(e.left), go(e.right))
        if isinstance(e, n.In):
            opts = tuple(go(o) for o in e.options)
            if all(isinstance(o, _LITERALS) for o in opts):
                opts = tuple(sorted(set(opts), key=_literal_key))
            return n.In(go(e.operand), opts, e.negated)
        if isinstance(e, n.Cond):
            return n.Cond(go(e.test), go(e.then), go(e.otherwise))
        if isinstance(e, n.Lookup):
            table = tuple((go(k), go(v)) for k, v in e.table)
            if all(isinstance(k, _LITERALS) for k, _ in table):
                table = tuple(sorted(table, key=lambda kv: _literal_key(kv[0])))
            return n.Lookup(go(e.key), table, go(e.default) if e.default is not None else None)
        if isinstance(e, n.Call):
            return n.Call(e.func, tuple(go(a) for a in e.args))
        return e

    return go(expr)


class _Side:
    """One ruleset with the helpers that make its parts comparable with the other side's."""

    def __init__(self, rs: m.Ruleset, field_map: dict[str, str] | None = None,
                 cat_map: dict[str, str] | None = None):
        self.rs = rs
        self.field_map = field_map or {}  # old field id -> new field id (renames)
        self.cat_map = cat_map or {}  # old category id -> new category id (renames)
        self.names: dict[str, str] = {}
        for f in (*rs.fields, *rs.case_fields):
            for name in f.names():
                self.names.setdefault(name, self.field_map.get(f.id, f.id))
        self.labels = tuple(sorted({(self.field_map.get(f.id, f.id), f.label)
                                    for f in (*rs.fields, *rs.case_fields) if f.label}))

    def expr(self, e: n.Expr | None) -> _Shown | None:
        if e is None:
            return None
        resolved = _rename(e, lambda name: self.names.get(name) or SELECTION_NAMES.get(name))
        return _Shown(_canonical(resolved), resolved, self.labels)

    def category(self, cid: str | None) -> str | None:
        return self.cat_map.get(cid, cid) if cid is not None else None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, _Shown) and isinstance(b, _Shown):
        return a.expr == b.expr
    return a == b


# --------------------------------------------------------------------------------------------
# Wording helpers


def _num(d: Decimal | int | None) -> str:
    if d is None:
        return "-"
    if isinstance(d, Decimal):
        text = format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")
        return text
    return str(d)


def _limit_value(lims: tuple[m.Limit, ...]) -> Any:
    """One limit as ``{"max"|"times", "per"}``, several as a list of those, none as None."""
    out = [{"times": lim.times, "per": lim.per} if lim.times is not None
           else {"max": lim.max, "per": lim.per} for lim in lims]
    if not out:
        return None
    return out[0] if len(out) == 1 else out


def _limit_words(lim: Any, kind: str, lang: str) -> str:
    """"每月最多 10 分" / "at most 10 points per month" (kind: limit | deduction_limit)."""
    if lim is None:
        return "无" if lang == "zh" else "none"
    if isinstance(lim, list):
        return ("，" if lang == "zh" else "; ").join(_limit_words(one, kind, lang) for one in lim)
    per = lim["per"]
    if lang == "en":
        verb = "taken" if kind == "deduction_limit" else ""
        every = "in all" if per == "ever" else f"per {PER_EN[per]}"
        if "times" in lim:
            return f"at most {lim['times']} times {every}"
        return f"at most {_num(lim['max'])} points {verb + ' ' if verb else ''}{every}"
    verb = "扣" if kind == "deduction_limit" else ""
    every = "累计" if per == "ever" else f"每{PER_ZH[per]}"
    if "times" in lim:
        return f"{every}限 {lim['times']} 次"
    return f"{every}最多{verb} {_num(lim['max'])} 分"


def _per_words(per: str | None, what: str, lang: str) -> str:
    """Words for once / highest_only / veto with their period."""
    if per is None:
        return "无" if lang == "zh" else "none"
    if lang == "en":
        return {"once": f"once per {per}", "highest_only": f"only the highest per {per}",
                "veto": f"veto for the {per}"}[what]
    p = PER_ZH[per]
    return {"once": f"每{p}只计一次", "highest_only": f"每{p}只计最高一次",
            "veto": f"一票否决（当{p}）"}[what]


def _esc_value(e: m.Escalation | None) -> dict[str, Any] | None:
    return None if e is None else {"steps": list(e.steps), "per": e.per}


def _esc_words(e: dict[str, Any] | None, lang: str) -> str:
    if e is None:
        return "无" if lang == "zh" else "none"
    steps = "、".join(_num(s) for s in e["steps"]) if lang == "zh" else ", ".join(
        _num(s) for s in e["steps"])
    if lang == "en":
        return f"by occurrence per {e['per']}: {steps}"
    return f"每{PER_ZH[e['per']]}按次数 {steps} 分"


def _show(value: Any, lang: str) -> str:
    if value is None:
        return "无" if lang == "zh" else "none"
    if isinstance(value, _Shown):
        return value.text(lang)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, Decimal):
        return _num(value)
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "zh" else ", ").join(_show(v, lang) for v in value) or (
            "无" if lang == "zh" else "none")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _points_sign(rule: m.Rule, rs: m.Ruleset | None) -> int:
    """1 when the rule only gives points, -1 when it only takes them, 0 otherwise."""
    from xiangyue.review.lint import points_range

    lo, hi = points_range(rule, rs)
    if lo is not None and lo >= 0 and hi is not None and hi > 0:
        return 1
    if hi is not None and hi <= 0 and lo is not None and lo < 0:
        return -1
    return 0


def _rule_kind(rule: m.Rule, lang: str, rs: m.Ruleset | None = None) -> str:
    sign = _points_sign(rule, rs)
    if lang == "en":
        return {1: "points item", -1: "deduction item", 0: "rule"}[sign]
    return {1: "加分项", -1: "扣分项", 0: "规则"}[sign]


# --------------------------------------------------------------------------------------------
# Views: each part of a ruleset as comparable values


# the rule file's keys and the model's attributes for the two limits
_LIMIT_ATTR = {"limit": "limit", "deduction_limit": "deduction_limit"}

RULE_ASPECTS = ("name", "category", "when", "points", "escalation", "limit", "deduction_limit",
                "once", "highest_only", "veto", "description")


def _rule_view(side: _Side, r: m.Rule) -> dict[str, Any]:
    return {
        "name": r.name,
        "category": side.category(r.category),
        "when": side.expr(r.when_expr),
        "points": side.expr(r.points_expr),
        "escalation": _esc_value(r.escalation),
        "limit": _limit_value(r.limit),
        "deduction_limit": _limit_value(r.deduction_limit),
        "once": r.once,
        "highest_only": r.highest_only,
        "veto": r.veto,
        "description": r.description,
    }


def _board_rule_view(r: m.BoardRule | None) -> Any:
    if r is None:
        return None
    view = {"size": f"{_num(r.percent)}%" if r.percent is not None else r.size, "min": r.min,
            "max": r.max, "rank_by": r.rank_by if r.rank_by != "total" else None,
            "ties": list(r.ties) or None}
    return {k: v for k, v in view.items() if v is not None}


def _boards_view(b: m.BoardSpec) -> dict[str, Any]:
    """The boards as comparable values: a plain size (``5``) or the rule's settings."""
    red = _board_rule_view(b.red) if b.red is not None else b.red_size
    black = {"below": b.black_below} if b.black_below is not None else b.black_size
    return {"red": red, "black": black, "progress": _board_rule_view(b.progress),
            "shown": list(b.shown)}


def _table_view(t: m.Table) -> dict[str, Any]:
    return {"name": t.name, "keys": t.key_type, "default": t.default,
            "entries": {str(k): v for k, v in t.entries}}


def _cat_view(c: m.Category) -> dict[str, Any]:
    return {"name": c.name, "limit": _limit_value(c.limit), "deduction_limit": _limit_value(c.deduction_limit)}


FIELD_ASPECTS = ("type", "label", "aliases", "required", "values", "default", "min", "max")


def _field_view(f: m.FieldSpec) -> dict[str, Any]:
    return {"type": f.type, "label": f.label, "aliases": sorted(f.aliases), "required": f.required,
            "values": sorted(f.values) if f.values is not None else None, "default": f.default,
            "min": f.min, "max": f.max}


def _step_view(s: m.Step) -> dict[str, Any]:
    def dl(d: m.Deadline | None) -> dict[str, Any] | None:
        return None if d is None else {"days": d.days, "after": d.after, "calendar": d.calendar}

    meeting = None
    if s.meeting is not None:
        meeting = {"quorum": str(s.meeting.quorum), "majority": str(s.meeting.majority)}
    return {"meeting": meeting, "within": dl(s.within), "not_before": dl(s.not_before)}


def _proc_view(side: _Side, p: m.Procedure) -> dict[str, Any]:
    return {"name": p.name, "when": side.expr(p.when_expr),
            "steps": [(s.name, _step_view(s)) for s in p.steps]}


def _item_view(side: _Side, it: m.ChecklistItem) -> dict[str, Any]:
    return {"name": it.name, "list": it.list,
            "procedures": {p.id: _proc_view(side, p) for p in it.procedures},
            "schedule": _schedule_words(it.schedule)}


_EVERY_ZH = {"month": "每月", "quarter": "每季度", "half_year": "每半年", "year": "每年"}


def _schedule_words(sc: m.Schedule | None) -> tuple[str, str] | None:
    """A recurring duty's schedule in words (zh, en): 每季度，期末后 10 日内."""
    if sc is None:
        return None
    anchor_zh = "期末" if sc.after == "period_end" else "期初"
    unit_zh = "个工作日" if sc.calendar == "working" else "日"
    unit_en = "working days" if sc.calendar == "working" else "days"
    anchor_en = "the period's end" if sc.after == "period_end" else "the period's start"
    return (f"{_EVERY_ZH[sc.every]}，{anchor_zh}后 {sc.days} {unit_zh}内",
            f"every {sc.every}, within {sc.days} {unit_en} after {anchor_en}")


def _comparable(view: dict[str, Any]) -> Any:
    """A view as a value ``==`` compares structurally (expressions by tree)."""
    def go(v: Any) -> Any:
        if isinstance(v, _Shown):
            return ("expr", v.expr)
        if isinstance(v, dict):
            return tuple(sorted((k, go(x)) for k, x in v.items()))
        if isinstance(v, (list, tuple)):
            return tuple(go(x) for x in v)
        return v

    return go(view)


def _match_renames(removed: list[str], added: list[str], old_view: Callable[[str], Any],
                   new_view: Callable[[str], Any]) -> list[tuple[str, str]]:
    """Pairs (old id, new id) whose content is equal: first exact, each used once."""
    pairs: list[tuple[str, str]] = []
    left = list(added)
    for oid in removed:
        ov = old_view(oid)
        hit = next((nid for nid in left if new_view(nid) == ov), None)
        if hit is not None:
            pairs.append((oid, hit))
            left.remove(hit)
    return pairs


# --------------------------------------------------------------------------------------------
# The diff


class _Differ:
    def __init__(self, old: m.Ruleset, new: m.Ruleset):
        self.old_rs, self.new_rs = old, new
        self.changes: list[Change] = []

    def add(self, kind: str, section: str, path: str, zh: str, en: str, old: Any = None,
            new: Any = None, *, rule: str | None = None, item: str | None = None,
            old_pos: Pos | None = None, new_pos: Pos | None = None) -> None:
        self.changes.append(Change(kind, section, path, zh, en, old, new, rule, item, old_pos, new_pos))

    # ---- fields -------------------------------------------------------------------------
    def fields(self, section: str, old: Iterable[m.FieldSpec], new: Iterable[m.FieldSpec],
               builtin: set[str]) -> dict[str, str]:
        o = {f.id: f for f in old if f.id not in builtin}
        nw = {f.id: f for f in new if f.id not in builtin}
        removed = [i for i in o if i not in nw]
        added = [i for i in nw if i not in o]
        renames = _match_renames(removed, added, lambda i: _comparable(_field_view(o[i])),
                                 lambda i: _comparable(_field_view(nw[i])))
        title_zh = {"fields": "记录字段", "household_fields": "户籍字段", "case_fields": "事项字段"}[section]
        title_en = {"fields": "record field", "household_fields": "household field",
                    "case_fields": "case field"}[section]
        for oid, nid in renames:
            label = nw[nid].label or nid
            self.add("renamed", section, f"{section}.{nid}",
                     f"{title_zh}“{label}”的编号由 {oid} 改为 {nid}（内容未变）",
                     f"{title_en} '{label}': id {oid} renamed to {nid} (content unchanged)",
                     oid, nid, old_pos=o[oid].pos, new_pos=nw[nid].pos)
        renamed_old = {a for a, _ in renames}
        renamed_new = {b for _, b in renames}
        for fid in removed:
            if fid in renamed_old:
                continue
            f = o[fid]
            self.add("removed", section, f"{section}.{fid}",
                     f"删除{title_zh}：{f.label or fid}（{fid}）", f"removed {title_en}: {fid}",
                     _field_view(f), None, old_pos=f.pos)
        for fid in nw:
            if fid in o:
                self._field_aspects(section, title_zh, title_en, o[fid], nw[fid])
            elif fid not in renamed_new:
                f = nw[fid]
                self.add("added", section, f"{section}.{fid}",
                         f"新增{title_zh}：{f.label or fid}（{fid}，{f.type}）",
                         f"added {title_en}: {fid} ({f.type})", None, _field_view(f), new_pos=f.pos)
        return dict(renames)

    def _field_aspects(self, section: str, tz: str, te: str, a: m.FieldSpec, b: m.FieldSpec) -> None:
        va, vb = _field_view(a), _field_view(b)
        names = {"type": ("类型", "type"), "label": ("中文名", "label"), "aliases": ("别名", "aliases"),
                 "required": ("必填", "required"), "values": ("可选值", "allowed values"),
                 "default": ("默认值", "default"), "min": ("最小值", "minimum"), "max": ("最大值", "maximum")}
        for asp in FIELD_ASPECTS:
            if va[asp] != vb[asp]:
                zh, en = names[asp]
                self.add("changed", section, f"{section}.{b.id}.{asp}",
                         f"{tz} {b.label or b.id}：{zh}由 {_show(va[asp], 'zh')} 改为 {_show(vb[asp], 'zh')}",
                         f"{te} {b.id}: {en} changed from {_show(va[asp], 'en')} to {_show(vb[asp], 'en')}",
                         va[asp], vb[asp], old_pos=a.pos, new_pos=b.pos)

    # ---- categories ---------------------------------------------------------------------
    def category_renames(self) -> dict[str, str]:
        """Old id -> new id for categories that changed id only: same name or limits and the
        rules of the old one all belong to the new one."""
        o = {c.id: c for c in self.old_rs.categories}
        nw = {c.id: c for c in self.new_rs.categories}
        removed = [i for i in o if i not in nw]
        added = [i for i in nw if i not in o]
        out: dict[str, str] = {}
        new_rules = {r.id: r for r in self.new_rs.rules}
        for oid in removed:
            members = [r.id for r in self.old_rs.rules if r.category == oid]
            targets = {new_rules[rid].category for rid in members if rid in new_rules}
            if len(targets) != 1:
                continue
            nid = targets.pop()
            if nid in added and nid not in out.values():
                oc, nc = o[oid], nw[nid]
                if (_limit_value(oc.limit), _limit_value(oc.deduction_limit)) == (
                        _limit_value(nc.limit), _limit_value(nc.deduction_limit)):
                    out[oid] = nid
        return out

    def categories(self, renames: dict[str, str]) -> None:
        o = {c.id: c for c in self.old_rs.categories}
        nw = {c.id: c for c in self.new_rs.categories}
        for oid, nid in renames.items():
            self.add("renamed", "categories", f"categories.{nid}",
                     f"类别“{oid}”改名为“{nid}”（上限未变，所属规则随之改过去）",
                     f"category '{oid}' renamed to '{nid}' (limits unchanged; its rules moved with it)",
                     oid, nid, old_pos=o[oid].pos, new_pos=nw[nid].pos)
        for cid, c in o.items():
            if cid not in nw and cid not in renames:
                self.add("removed", "categories", f"categories.{cid}", f"删除类别：{cid}",
                         f"removed category: {cid}", _cat_view(c), None, old_pos=c.pos)
        for cid, c in nw.items():
            if cid in renames.values():
                self._category_aspects(o[next(k for k, v in renames.items() if v == cid)], c)
            elif cid not in o:
                extra_zh = "".join(f"，{_limit_words(_limit_value(lim), k, 'zh')}"
                                   for k, lim in (("limit", c.limit), ("deduction_limit", c.deduction_limit)) if lim)
                extra_en = "".join(f", {_limit_words(_limit_value(lim), k, 'en')}"
                                   for k, lim in (("limit", c.limit), ("deduction_limit", c.deduction_limit)) if lim)
                self.add("added", "categories", f"categories.{cid}", f"新增类别：{cid}{extra_zh}",
                         f"added category: {cid}{extra_en}", None, _cat_view(c), new_pos=c.pos)
            else:
                self._category_aspects(o[cid], c)

    def _category_aspects(self, a: m.Category, b: m.Category) -> None:
        implicit = a.name == a.id and b.name == b.id  # no name written: the id renamed it
        if a.name != b.name and not implicit:
            self.add("changed", "categories", f"categories.{b.id}.name",
                     f"类别 {b.id}：名称由“{a.name}”改为“{b.name}”",
                     f"category {b.id}: name changed from '{a.name}' to '{b.name}'", a.name, b.name,
                     old_pos=a.pos, new_pos=b.pos)
        for key in ("limit", "deduction_limit"):
            self._limit(f"categories.{b.id}.{key}", "categories", f"类别 {b.id}", f"category {b.id}",
                        key, getattr(a, _LIMIT_ATTR[key]), getattr(b, _LIMIT_ATTR[key]), None)

    # ---- limits (rules and categories) ---------------------------------------------------
    def _limit(self, path: str, section: str, who_zh: str, who_en: str, key: str,
               a: tuple[m.Limit, ...], b: tuple[m.Limit, ...], rule: str | None) -> None:
        va, vb = _limit_value(a), _limit_value(b)
        if va == vb:
            return
        ded = key == "deduction_limit"
        what_zh = "扣分上限" if ded else "上限"
        what_en = "deduction limit" if ded else "limit"
        pos = dict(old_pos=a[0].pos if a else None, new_pos=b[0].pos if b else None)
        if va is None:
            self.add("added", section, path, f"{who_zh}：新增{what_zh}，{_limit_words(vb, key, 'zh')}",
                     f"{who_en}: new {what_en}, {_limit_words(vb, key, 'en')}", va, vb, rule=rule, **pos)
        elif vb is None:
            self.add("removed", section, path,
                     f"{who_zh}：取消{what_zh}（原为{_limit_words(va, key, 'zh')}）",
                     f"{who_en}: {what_en} removed (was {_limit_words(va, key, 'en')})", va, vb,
                     rule=rule, **pos)
        elif (isinstance(va, dict) and isinstance(vb, dict) and "max" in va and "max" in vb
              and va["per"] == vb["per"]):
            per = va["per"]
            self.add("changed", section, path,
                     f"{who_zh}：每{PER_ZH[per]}{what_zh}由 {_num(va['max'])} 分改为 {_num(vb['max'])} 分",
                     f"{who_en}: {what_en} per {per} changed from {_num(va['max'])} to "
                     f"{_num(vb['max'])} points", va, vb, rule=rule, **pos)
        else:
            self.add("changed", section, path,
                     f"{who_zh}：{what_zh}由{_limit_words(va, key, 'zh')}改为{_limit_words(vb, key, 'zh')}",
                     f"{who_en}: {what_en} changed from {_limit_words(va, key, 'en')} to "
                     f"{_limit_words(vb, key, 'en')}", va, vb, rule=rule, **pos)

    # ---- rules ----------------------------------------------------------------------------
    def rules(self, old_side: _Side, new_side: _Side) -> None:
        o = {r.id: r for r in self.old_rs.rules}
        nw = {r.id: r for r in self.new_rs.rules}
        ov = {i: _rule_view(old_side, r) for i, r in o.items()}
        nv = {i: _rule_view(new_side, r) for i, r in nw.items()}
        removed = [i for i in o if i not in nw]
        added = [i for i in nw if i not in o]

        def content(view: dict[str, Any], with_name: bool) -> Any:
            return _comparable({k: v for k, v in view.items() if with_name or k != "name"})

        renames = _match_renames(removed, added, lambda i: content(ov[i], True),
                                 lambda i: content(nv[i], True))
        rest_removed = [i for i in removed if i not in {a for a, _ in renames}]
        rest_added = [i for i in added if i not in {b for _, b in renames}]
        renames += _match_renames(rest_removed, rest_added, lambda i: content(ov[i], False),
                                  lambda i: content(nv[i], False))
        ren_old = dict(renames)
        ren_new = {b: a for a, b in renames}

        for rid, r in o.items():  # removals, in the old file's order
            if rid not in nw and rid not in ren_old:
                kz, ke = _rule_kind(r, "zh", self.old_rs), _rule_kind(r, "en", self.old_rs)
                self.add("removed", "rules", f"rules.{rid}", f"删除{kz}：{r.name}（{rid}）",
                         f"removed {ke}: {r.name} ({rid})", self._rule_json(ov[rid]), None, rule=rid,
                         old_pos=r.pos)
        for rid, r in nw.items():  # the rest, in the new file's order
            if rid in ren_new:
                oid = ren_new[rid]
                self.add("renamed", "rules", f"rules.{rid}",
                         f"规则编号由 {oid} 改为 {rid}（{r.name}，内容未变）",
                         f"rule id {oid} renamed to {rid} ({r.name}, content unchanged)", oid, rid,
                         rule=rid, old_pos=o[oid].pos, new_pos=r.pos)
                self._rule_aspects(o[oid], r, ov[oid], nv[rid])
            elif rid not in o:
                self.add("added", "rules", f"rules.{rid}", *self._added_rule_words(r, nv[rid]),
                         None, self._rule_json(nv[rid]), rule=rid, new_pos=r.pos)
            else:
                self._rule_aspects(o[rid], r, ov[rid], nv[rid])
        self._rule_order(ren_new)

    def _rule_json(self, view: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in view.items() if v is not None}

    def _added_rule_words(self, r: m.Rule, view: dict[str, Any]) -> tuple[str, str]:
        def summary(lang: str) -> str:
            parts = []
            if view["points"] is not None:
                pts = _show(view["points"], lang)
                parts.append(f"{pts} 分" if lang == "zh" else f"{pts} points")
            if view["escalation"] is not None:
                parts.append(_esc_words(view["escalation"], lang))
            for key in ("limit", "deduction_limit"):
                if view[key] is not None:
                    parts.append(_limit_words(view[key], key, lang))
            for key in ("once", "highest_only", "veto"):
                if view[key] is not None:
                    parts.append(_per_words(view[key], key, lang))
            cond = _show(view["when"], lang)
            if lang == "zh":
                return f"{'，'.join(parts)}（类别 {view['category']}；条件：{cond}）"
            return f"{', '.join(parts)} (category {view['category']}; when {cond})"

        return (f"新增{_rule_kind(r, 'zh', self.new_rs)}：{r.name} {summary('zh')}",
                f"added {_rule_kind(r, 'en', self.new_rs)}: {r.name} {summary('en')}")

    def _rule_aspects(self, a: m.Rule, b: m.Rule, va: dict[str, Any], vb: dict[str, Any]) -> None:
        rid, who = b.id, b.name
        base = f"rules.{rid}"
        pos = dict(old_pos=a.pos, new_pos=b.pos)
        if va["name"] != vb["name"]:
            self.add("changed", "rules", f"{base}.name", f"规则 {rid}：名称由“{va['name']}”改为“{vb['name']}”",
                     f"rule {rid}: name changed from '{va['name']}' to '{vb['name']}'", va["name"],
                     vb["name"], rule=rid, **pos)
        if va["category"] != vb["category"]:
            def cat(c: str | None, lang: str) -> str:
                if c is None:
                    return "无（不属于任何类别）" if lang == "zh" else "none"
                return f"“{c}”" if lang == "zh" else f"'{c}'"

            self.add("changed", "rules", f"{base}.category",
                     f"{who}：类别由{cat(va['category'], 'zh')}改为{cat(vb['category'], 'zh')}",
                     f"{who}: category changed from {cat(va['category'], 'en')} to "
                     f"{cat(vb['category'], 'en')}",
                     va["category"], vb["category"], rule=rid, **pos)
        for key, zh, en in (("when", "适用条件", "condition"), ("points", "分值", "points")):
            x, y = va[key], vb[key]
            if _same(x, y):
                continue
            if x is None or y is None:
                self.add("changed", "rules", f"{base}.{key}",
                         f"{who}：{zh}由 {_show(x, 'zh')} 改为 {_show(y, 'zh')}",
                         f"{who}: {en} changed from {_show(x, 'en')} to {_show(y, 'en')}", x, y,
                         rule=rid, **pos)
                continue
            self.add("changed", "rules", f"{base}.{key}",
                     f"{who}：{zh}由 {x.text('zh')} 改为 {y.text('zh')}",
                     f"{who}: {en} changed from {x.text('en')} to {y.text('en')}", x, y, rule=rid, **pos)
        if va["escalation"] != vb["escalation"]:
            x, y = va["escalation"], vb["escalation"]
            self.add("changed" if x and y else "added" if y else "removed", "rules", f"{base}.escalation",
                     f"{who}：按次数计分由 {_esc_words(x, 'zh')} 改为 {_esc_words(y, 'zh')}",
                     f"{who}: points by occurrence changed from {_esc_words(x, 'en')} to "
                     f"{_esc_words(y, 'en')}", x, y, rule=rid, **pos)
        for key in ("limit", "deduction_limit"):
            self._limit(f"{base}.{key}", "rules", who, who, key, getattr(a, _LIMIT_ATTR[key]),
                        getattr(b, _LIMIT_ATTR[key]), rid)
        for key, zh, en in (("once", "次数限制", "once-per-period limit"),
                            ("highest_only", "只计最高", "highest-only limit"),
                            ("veto", "一票否决", "veto")):
            x, y = va[key], vb[key]
            if x == y:
                continue
            if x is None:
                self.add("added", "rules", f"{base}.{key}", f"{who}：新增{zh}，{_per_words(y, key, 'zh')}",
                         f"{who}: new {en}: {_per_words(y, key, 'en')}", x, y, rule=rid, **pos)
            elif y is None:
                self.add("removed", "rules", f"{base}.{key}",
                         f"{who}：取消{zh}（原为{_per_words(x, key, 'zh')}）",
                         f"{who}: {en} removed (was {_per_words(x, key, 'en')})", x, y, rule=rid, **pos)
            else:
                self.add("changed", "rules", f"{base}.{key}",
                         f"{who}：由{_per_words(x, key, 'zh')}改为{_per_words(y, key, 'zh')}",
                         f"{who}: changed from {_per_words(x, key, 'en')} to {_per_words(y, key, 'en')}",
                         x, y, rule=rid, **pos)
        if va["description"] != vb["description"]:
            self.add("changed", "rules", f"{base}.description", f"{who}：说明文字有改动",
                     f"{who}: description changed", va["description"], vb["description"], rule=rid, **pos)

    def _rule_order(self, ren_new: dict[str, str]) -> None:
        """Rule order matters only when the first matching rule alone counts."""
        if self.old_rs.matching != "first" and self.new_rs.matching != "first":
            return
        old_ids = [r.id for r in self.old_rs.rules]
        new_as_old = [ren_new.get(r.id, r.id) for r in self.new_rs.rules]
        common = set(old_ids) & set(new_as_old)
        a = [i for i in old_ids if i in common]
        b = [i for i in new_as_old if i in common]
        if a == b:
            return
        names = {r.id: r.name for r in self.old_rs.rules}
        az = " → ".join(names[i] for i in a)
        bz = " → ".join(names[i] for i in b)
        self.add("changed", "rules", "rules.order",
                 f"规则顺序改变（只计第一条适用的规则，顺序会改变结果）：{az} 改为 {bz}",
                 f"rule order changed (only the first matching rule counts, so order matters): "
                 f"{' -> '.join(a)} became {' -> '.join(b)}", a, b)

    # ---- checklists -----------------------------------------------------------------------
    def checklists(self, old_side: _Side, new_side: _Side) -> None:
        o = {i.id: i for i in self.old_rs.checklists}
        nw = {i.id: i for i in self.new_rs.checklists}
        ov = {k: _item_view(old_side, v) for k, v in o.items()}
        nv = {k: _item_view(new_side, v) for k, v in nw.items()}
        removed = [i for i in o if i not in nw]
        added = [i for i in nw if i not in o]
        renames = _match_renames(removed, added, lambda i: _comparable(ov[i]), lambda i: _comparable(nv[i]))
        ren_old, ren_new = dict(renames), {b: a for a, b in renames}
        for iid, it in o.items():
            if iid not in nw and iid not in ren_old:
                self.add("removed", "checklists", f"checklists.{iid}",
                         f"删除清单事项：{it.name}（{iid}）", f"removed checklist item: {it.name} ({iid})",
                         iid, None, item=iid, old_pos=it.pos)
        for iid, it in nw.items():
            if iid in ren_new:
                self.add("renamed", "checklists", f"checklists.{iid}",
                         f"清单事项编号由 {ren_new[iid]} 改为 {iid}（{it.name}，内容未变）",
                         f"checklist item id {ren_new[iid]} renamed to {iid} ({it.name}, unchanged)",
                         ren_new[iid], iid, item=iid, old_pos=o[ren_new[iid]].pos, new_pos=it.pos)
            elif iid not in o:
                steps = lambda p, sep: sep.join(s.name for s in p.steps)  # noqa: E731
                zh = "；".join(f"{p.name}：{steps(p, '→')}" for p in it.procedures)
                en = "; ".join(f"{p.id}: {steps(p, ' -> ')}" for p in it.procedures)
                if it.schedule is not None:
                    words = _schedule_words(it.schedule)
                    assert words is not None
                    zh, en = "；".join(x for x in (zh, words[0]) if x), "; ".join(x for x in (en, words[1]) if x)
                self.add("added", "checklists", f"checklists.{iid}",
                         f"新增清单事项：{it.name}（{it.list}）{zh}", f"added checklist item: {it.name} ({iid}) {en}",
                         None, iid, item=iid, new_pos=it.pos)
            else:
                self._item(o[iid], it, ov[iid], nv[iid])

    def _item(self, a: m.ChecklistItem, b: m.ChecklistItem, va: dict, vb: dict) -> None:
        iid = b.id
        pos = dict(old_pos=a.pos, new_pos=b.pos)
        for key, zh, en in (("name", "名称", "name"), ("list", "所属清单", "list")):
            if va[key] != vb[key]:
                self.add("changed", "checklists", f"checklists.{iid}.{key}",
                         f"清单事项 {iid}：{zh}由“{va[key]}”改为“{vb[key]}”",
                         f"checklist item {iid}: {en} changed from '{va[key]}' to '{vb[key]}'",
                         va[key], vb[key], item=iid, **pos)
        if va["schedule"] != vb["schedule"]:
            none = ("无", "none")
            old, new = va["schedule"] or none, vb["schedule"] or none
            self.add("changed", "checklists", f"checklists.{iid}.schedule",
                     f"清单事项 {iid}：周期由“{old[0]}”改为“{new[0]}”",
                     f"checklist item {iid}: schedule changed from '{old[1]}' to '{new[1]}'",
                     old[1], new[1], item=iid, **pos)
        pa = {p.id: p for p in a.procedures}
        pb = {p.id: p for p in b.procedures}
        for pid, p in pa.items():
            if pid not in pb:
                self.add("removed", "checklists", f"checklists.{iid}.procedures.{pid}",
                         f"{b.name}：删除程序“{p.name}”", f"{iid}: removed procedure {pid}", pid, None,
                         item=iid, old_pos=p.pos)
        for pid, p in pb.items():
            if pid not in pa:
                self.add("added", "checklists", f"checklists.{iid}.procedures.{pid}",
                         f"{b.name}：新增程序“{p.name}”：{'→'.join(s.name for s in p.steps)}",
                         f"{iid}: added procedure {pid}: {' -> '.join(s.name for s in p.steps)}",
                         None, pid, item=iid, new_pos=p.pos)
            else:
                self._procedure(b, pa[pid], p, va["procedures"][pid], vb["procedures"][pid])

    def _procedure(self, item: m.ChecklistItem, a: m.Procedure, b: m.Procedure, va: dict, vb: dict) -> None:
        iid, base = item.id, f"checklists.{item.id}.procedures.{b.id}"
        who_zh, who_en = f"{item.name}／{b.name}", f"{iid}/{b.id}"
        pos = dict(old_pos=a.pos, new_pos=b.pos)
        if va["name"] != vb["name"]:
            self.add("changed", "checklists", f"{base}.name",
                     f"{item.name}：程序名称由“{va['name']}”改为“{vb['name']}”",
                     f"{who_en}: name changed from '{va['name']}' to '{vb['name']}'", va["name"], vb["name"],
                     item=iid, **pos)
        if not _same(va["when"], vb["when"]):
            self.add("changed", "checklists", f"{base}.when",
                     f"{who_zh}：适用条件由 {_show(va['when'], 'zh')} 改为 {_show(vb['when'], 'zh')}",
                     f"{who_en}: condition changed from {_show(va['when'], 'en')} to {_show(vb['when'], 'en')}",
                     va["when"], vb["when"], item=iid, **pos)
        sa = [s.name for s in a.steps]
        sb = [s.name for s in b.steps]
        for k, s in enumerate(a.steps):
            if s.name not in sb:
                self.add("removed", "checklists", f"{base}.steps.{s.name}",
                         f"{who_zh}：删除步骤“{s.name}”", f"{who_en}: removed step '{s.name}'", s.name, None,
                         item=iid, old_pos=s.pos)
        for k, s in enumerate(b.steps):
            if s.name not in sa:
                after = f"（在“{sb[k - 1]}”之后）" if k else "（作为第一步）"
                after_en = f" (after '{sb[k - 1]}')" if k else " (as the first step)"
                self.add("added", "checklists", f"{base}.steps.{s.name}",
                         f"{who_zh}：新增步骤“{s.name}”{after}", f"{who_en}: added step '{s.name}'{after_en}",
                         None, s.name, item=iid, new_pos=s.pos)
        ca = [x for x in sa if x in sb]
        cb = [x for x in sb if x in sa]
        if ca != cb:
            self.add("changed", "checklists", f"{base}.steps.order",
                     f"{who_zh}：步骤顺序由 {'→'.join(ca)} 改为 {'→'.join(cb)}",
                     f"{who_en}: step order changed from {' -> '.join(ca)} to {' -> '.join(cb)}", ca, cb,
                     item=iid, **pos)
        steps_a = dict(va["steps"])
        for name, view in vb["steps"]:
            if name not in steps_a:
                continue
            old = steps_a[name]
            for key, zh, en in (("meeting", "会议要求", "meeting rule"), ("within", "期限", "deadline"),
                                ("not_before", "最早时间", "earliest date")):
                if old[key] != view[key]:
                    self.add("changed", "checklists", f"{base}.steps.{name}.{key}",
                             f"{who_zh}：步骤“{name}”的{zh}由 {_step_words(old[key], key, 'zh')} 改为 "
                             f"{_step_words(view[key], key, 'zh')}",
                             f"{who_en}: step '{name}' {en} changed from {_step_words(old[key], key, 'en')} "
                             f"to {_step_words(view[key], key, 'en')}", old[key], view[key], item=iid,
                             old_pos=a.step(name).pos, new_pos=b.step(name).pos)  # type: ignore[union-attr]

    # ---- selections, settings, metadata ------------------------------------------------------
    def selections(self, old_side: _Side, new_side: _Side) -> None:
        def view(side: _Side, s: m.Selection) -> dict[str, Any]:
            crit = sorted((side.expr(e) for _, e, _ in s.criteria), key=lambda x: repr(x.expr))  # type: ignore[union-attr]
            return {"name": s.name, "per": s.per, "criteria": crit, "no_veto": s.no_veto}

        o = {s.id: s for s in self.old_rs.selections}
        nw = {s.id: s for s in self.new_rs.selections}
        for sid, s in o.items():
            if sid not in nw:
                self.add("removed", "selections", f"selections.{sid}", f"删除评选：{s.name}",
                         f"removed selection: {s.name} ({sid})", sid, None, old_pos=s.pos)
        for sid, s in nw.items():
            if sid not in o:
                self.add("added", "selections", f"selections.{sid}", f"新增评选：{s.name}",
                         f"added selection: {s.name} ({sid})", None, sid, new_pos=s.pos)
                continue
            va, vb = view(old_side, o[sid]), view(new_side, s)
            for key, zh, en in (("name", "名称", "name"), ("per", "周期", "period"),
                                ("criteria", "评选条件", "criteria"), ("no_veto", "排除一票否决户", "excludes vetoed")):
                if _comparable({"x": va[key]}) != _comparable({"x": vb[key]}):
                    self.add("changed", "selections", f"selections.{sid}.{key}",
                             f"评选 {s.name}：{zh}由 {_show(va[key], 'zh')} 改为 {_show(vb[key], 'zh')}",
                             f"selection {sid}: {en} changed from {_show(va[key], 'en')} to {_show(vb[key], 'en')}",
                             va[key], vb[key], old_pos=o[sid].pos, new_pos=s.pos)

    def tables(self) -> None:
        """Named tables (``tables:``): added, removed, and each key added, removed or changed."""
        ta = {t.id: t for t in self.old_rs.tables}
        tb = {t.id: t for t in self.new_rs.tables}
        for tid in list(ta) + [t for t in tb if t not in ta]:
            x, y = ta.get(tid), tb.get(tid)
            vx = None if x is None else _table_view(x)
            vy = None if y is None else _table_view(y)
            if vx == vy:
                continue
            pos = dict(old_pos=x.pos if x else None, new_pos=y.pos if y else None)
            if x is None or y is None:
                kind = "added" if x is None else "removed"
                zh, en = ("新增", "added") if x is None else ("删除", "removed")
                self.add(kind, "tables", f"tables.{tid}", f"{zh}表：{tid}", f"{en} table: {tid}", vx, vy, **pos)
                continue
            ex, ey = vx["entries"], vy["entries"]
            for k in list(ex) + [k for k in ey if k not in ex]:
                if ex.get(k) == ey.get(k):
                    continue
                self.add("changed", "tables", f"tables.{tid}.entries.{k}",
                         f"表 {tid}：“{k}”由 {_show(ex.get(k), 'zh')} 改为 {_show(ey.get(k), 'zh')}",
                         f"table {tid}: '{k}' changed from {_show(ex.get(k), 'en')} to {_show(ey.get(k), 'en')}",
                         ex.get(k), ey.get(k), **pos)
            for key in ("name", "keys", "default"):
                if vx[key] != vy[key]:
                    self.add("changed", "tables", f"tables.{tid}.{key}",
                             f"表 {tid}：{key} 由 {_show(vx[key], 'zh')} 改为 {_show(vy[key], 'zh')}",
                             f"table {tid}: {key} changed from {_show(vx[key], 'en')} to {_show(vy[key], 'en')}",
                             vx[key], vy[key], **pos)

    def settings(self) -> None:
        a, b = self.old_rs, self.new_rs
        unit = {"household": ("户", "household"), "person": ("人", "person")}
        if a.unit != b.unit:
            self.add("changed", "settings", "unit", f"计分单位由“按{unit[a.unit][0]}”改为“按{unit[b.unit][0]}”",
                     f"scoring unit changed from {a.unit} to {b.unit}", a.unit, b.unit)
        if a.matching != b.matching:
            words = {"all": ("适用的规则都计分", "every matching rule counts"),
                     "first": ("只计第一条适用的规则", "only the first matching rule counts")}
            self.add("changed", "settings", "matching",
                     f"计分方式由“{words[a.matching][0]}”改为“{words[b.matching][0]}”",
                     f"matching changed from '{words[a.matching][1]}' to '{words[b.matching][1]}'",
                     a.matching, b.matching)
        ba, bb = a.base, b.base
        va = None if ba is None else {"points": ba.points, "per": ba.per}
        vb = None if bb is None else {"points": bb.points, "per": bb.per}
        if va != vb:
            def bw(v: dict | None, lang: str) -> str:
                if v is None:
                    return "无" if lang == "zh" else "none"
                return (f"每{PER_ZH[v['per']]} {_num(v['points'])} 分" if lang == "zh"
                        else f"{_num(v['points'])} points per {v['per']}")
            self.add("changed" if va and vb else "added" if vb else "removed", "settings", "base",
                     f"基础分由 {bw(va, 'zh')} 改为 {bw(vb, 'zh')}",
                     f"base points changed from {bw(va, 'en')} to {bw(vb, 'en')}", va, vb)
        for key, zh, en in (("red_size", "红榜名额（名次）", "red board size"),
                            ("black_size", "黑榜名额（名次）", "black board size"),
                            ("per", "红黑榜周期", "board period")):
            x, y = getattr(a.boards, key), getattr(b.boards, key)
            if x != y:
                self.add("changed", "settings", f"boards.{key}", f"{zh}由 {_show(x, 'zh')} 改为 {_show(y, 'zh')}",
                         f"{en} changed from {x} to {y}", x, y)
        va_b, vb_b = _boards_view(a.boards), _boards_view(b.boards)
        for key, zh, en in (("red", "红榜规则", "red board rule"), ("black", "黑榜规则", "black board rule"),
                            ("progress", "进步榜", "progress board")):
            x, y = va_b[key], vb_b[key]
            if x != y and (isinstance(x, dict) or isinstance(y, dict) or key == "progress"):
                kind = "added" if x is None else "removed" if y is None else "changed"
                self.add(kind, "settings", f"boards.{key}",
                         f"{zh}由 {_show(x, 'zh')} 改为 {_show(y, 'zh')}",
                         f"{en} changed from {_show(x, 'en')} to {_show(y, 'en')}", x, y)
        sa = [(s.stars, s.min_total, s.name) for s in a.stars]
        sb = [(s.stars, s.min_total, s.name) for s in b.stars]
        if sa != sb:
            def sw(v: list, lang: str) -> str:
                if not v:
                    return "无" if lang == "zh" else "none"
                return ("、".join(f"{s}星≥{_num(t)}" for s, t, _ in v) if lang == "zh"
                        else ", ".join(f"{s} stars >= {_num(t)}" for s, t, _ in v))
            self.add("changed", "settings", "stars", f"星级标准由 {sw(sa, 'zh')} 改为 {sw(sb, 'zh')}",
                     f"star levels changed from {sw(sa, 'en')} to {sw(sb, 'en')}",
                     [{"stars": s, "min": t} for s, t, _ in sa], [{"stars": s, "min": t} for s, t, _ in sb])
        self._market(a.market, b.market)

    def _market(self, a: m.Market, b: m.Market) -> None:
        for key, zh, en in (("carry_over", "积分结转方式", "carry-over"), ("min_total", "兑换最低年度总分", "minimum yearly total"),
                            ("vetoed_may_redeem", "一票否决户可兑换", "vetoed households may redeem")):
            x, y = getattr(a, key), getattr(b, key)
            if x != y:
                self.add("changed", "settings", f"market.{key}",
                         f"积分超市：{zh}由 {_show(x, 'zh')} 改为 {_show(y, 'zh')}",
                         f"points supermarket: {en} changed from {_show(x, 'en')} to {_show(y, 'en')}", x, y)
        ga = {g.id: g for g in a.goods}
        gb = {g.id: g for g in b.goods}
        for gid, g in ga.items():
            if gid not in gb:
                self.add("removed", "settings", f"market.goods.{gid}", f"积分超市：下架“{g.name}”",
                         f"points supermarket: removed '{g.name}'", {"name": g.name, "price": g.price}, None)
        for gid, g in gb.items():
            if gid not in ga:
                self.add("added", "settings", f"market.goods.{gid}",
                         f"积分超市：新增“{g.name}”，{_num(g.price)} 分",
                         f"points supermarket: added '{g.name}' for {_num(g.price)} points", None,
                         {"name": g.name, "price": g.price})
            elif (ga[gid].name, ga[gid].price) != (g.name, g.price):
                old = ga[gid]
                self.add("changed", "settings", f"market.goods.{gid}",
                         f"积分超市：“{old.name}”由 {_num(old.price)} 分改为“{g.name}” {_num(g.price)} 分",
                         f"points supermarket: '{old.name}' {_num(old.price)} points became "
                         f"'{g.name}' {_num(g.price)} points",
                         {"name": old.name, "price": old.price}, {"name": g.name, "price": g.price})

    def metadata(self) -> None:
        a, b = self.old_rs, self.new_rs
        ra, rb = a.raw, b.raw
        items: list[tuple[str, str, str, Any, Any]] = [
            ("village", "村名", "village", a.village, b.village),
            ("town", "乡镇", "town", ra.get("town"), rb.get("town")),
            ("county", "区县", "county", ra.get("county"), rb.get("county")),
            ("name", "规则名称", "name", a.name, b.name),
            ("version", "版本", "version", a.version, b.version),
            ("description", "说明", "description", ra.get("description"), rb.get("description")),
            ("effective.from", "生效日期", "effective from", a.effective_from, b.effective_from),
            ("effective.until", "失效日期", "effective until", a.effective_until, b.effective_until),
            ("adopted.meeting", "表决会议", "adopted at", a.adopted.meeting, b.adopted.meeting),
            ("adopted.date", "表决日期", "adoption date", a.adopted.date, b.adopted.date),
            ("adopted.attended", "到会人数", "attended", a.adopted.attended, b.adopted.attended),
            ("adopted.eligible", "应到人数", "eligible", a.adopted.eligible, b.adopted.eligible),
            ("adopted.approved", "赞成人数", "approved", a.adopted.approved, b.adopted.approved),
            ("counted_when", "计分条件 counted_when", "counted_when", _expr_text(a.counted_when_expr),
             _expr_text(b.counted_when_expr)),
        ]
        for path, zh, en, x, y in items:
            if x == y or (x in (None, "") and y in (None, "")):
                continue
            kind = "added" if x in (None, "") else "removed" if y in (None, "") else "changed"
            self.add(kind, "metadata", f"metadata.{path}", f"{zh}由 {_show(x or None, 'zh')} 改为 {_show(y or None, 'zh')}",
                     f"{en} changed from {_show(x or None, 'en')} to {_show(y or None, 'en')}", x, y)


def _expr_text(expr: Any) -> str | None:
    """An expression printed canonically (equal trees print the same), or None."""
    if expr is None:
        return None
    from xiangyue.rules.printer import to_source

    return to_source(expr)


def _step_words(v: dict[str, Any] | None, key: str, lang: str) -> str:
    if v is None:
        return "无" if lang == "zh" else "none"
    if key == "meeting":
        if lang == "zh":
            return f"到会不少于 {v['quorum']}、赞成超过 {v['majority']}"
        return f"quorum {v['quorum']}, majority over {v['majority']}"
    unit_zh = "个工作日" if v["calendar"] == "working" else "日"
    unit_en = "working days" if v["calendar"] == "working" else "days"
    if key == "within":
        return (f"“{v['after']}”后 {v['days']} {unit_zh}内" if lang == "zh"
                else f"within {v['days']} {unit_en} after '{v['after']}'")
    return (f"“{v['after']}”满 {v['days']} {unit_zh}后" if lang == "zh"
            else f"at least {v['days']} {unit_en} after '{v['after']}'")


def diff_rulesets(old: m.Ruleset, new: m.Ruleset) -> Diff:
    """Every change from ``old`` to ``new`` (see the module docstring)."""
    d = _Differ(old, new)
    field_renames = d.fields("fields", old.fields, new.fields, BUILTIN_FIELD_IDS)
    d.fields("household_fields", old.household_fields, new.household_fields, BUILTIN_HOUSEHOLD_IDS)
    field_renames.update(d.fields("case_fields", old.case_fields, new.case_fields, BUILTIN_CASE_IDS))
    field_changes = d.changes
    d.changes = []
    cat_renames = d.category_renames()
    old_side = _Side(old, field_renames, cat_renames)
    new_side = _Side(new)
    d.rules(old_side, new_side)
    d.categories(cat_renames)
    d.checklists(old_side, new_side)
    d.changes.extend(field_changes)
    d.selections(old_side, new_side)
    d.settings()
    d.tables()
    d.metadata()
    order = {s: i for i, s in enumerate(SECTIONS)}
    changes = sorted(d.changes, key=lambda c: order[c.section])  # stable: keeps file order
    return Diff(old, new, changes)


# --------------------------------------------------------------------------------------------
# Canonical text (show-effective, git textconv)


def canonical_text(rs: m.Ruleset, lang: str = "zh") -> str:
    """The effective rule file as canonical, comparable text: sections and items sorted by id
    where order does not matter, expressions normalized and printed in ``lang``. Two files
    that :func:`diff_rulesets` finds equivalent print the same text."""
    side = _Side(rs)
    lines: list[str] = []

    def emit(key: str, value: Any, indent: int) -> None:
        pad = "  " * indent
        if isinstance(value, dict):
            body = {k: v for k, v in value.items() if v is not None and v != [] and v != {}}
            lines.append(f"{pad}{key}:")
            for k, v in body.items():
                emit(str(k), v, indent + 1)
        elif isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            lines.append(f"{pad}{key}:")
            for k, v in value:
                emit(str(k), v, indent + 1)
        else:
            text = value.text(lang, canonical=True) if isinstance(value, _Shown) else _show(value, lang)
            lines.append(f"{pad}{key}: {text}")

    emit("metadata", {"village": rs.village, "town": rs.raw.get("town"), "county": rs.raw.get("county"),
                      "name": rs.name, "version": rs.version, "description": rs.raw.get("description"),
                      "effective": {"from": rs.effective_from, "until": rs.effective_until},
                      "adopted": {"meeting": rs.adopted.meeting, "date": rs.adopted.date,
                                  "attended": rs.adopted.attended, "eligible": rs.adopted.eligible,
                                  "approved": rs.adopted.approved}}, 0)
    emit("settings", {"unit": rs.unit, "matching": rs.matching,
                      "counted_when": side.expr(rs.counted_when_expr) if rs.counted_when_expr is not None else None,
                      "base": None if rs.base is None else {"points": rs.base.points, "per": rs.base.per},
                      "boards": {**_boards_view(rs.boards), "per": rs.boards.per}}, 0)
    for section, fields, builtin in (("fields", rs.fields, BUILTIN_FIELD_IDS),
                                     ("household_fields", rs.household_fields, BUILTIN_HOUSEHOLD_IDS),
                                     ("case_fields", rs.case_fields, BUILTIN_CASE_IDS)):
        emit(section, {f.id: _field_view(f) for f in sorted(fields, key=lambda f: f.id) if f.id not in builtin}, 0)
    emit("tables", {t.id: _table_view(t) for t in sorted(rs.tables, key=lambda t: t.id)}, 0)
    emit("categories", {c.id: _cat_view(c) for c in sorted(rs.categories, key=lambda c: c.id)}, 0)
    rules = rs.rules if rs.matching == "first" else sorted(rs.rules, key=lambda r: r.id)
    emit("rules", [(r.id, _rule_view(side, r)) for r in rules], 0)
    emit("checklists", {i.id: {"name": i.name, "list": i.list, "procedures": {
        p.id: {"name": p.name, "when": side.expr(p.when_expr),
               "steps": [(f"{k + 1}. {s.name}", _step_view(s)) for k, s in enumerate(p.steps)]}
        for p in sorted(i.procedures, key=lambda p: p.id)}} for i in sorted(rs.checklists, key=lambda i: i.id)}, 0)
    emit("selections", {s.id: {"name": s.name, "per": s.per, "no_veto": s.no_veto,
                               "criteria": sorted(_show(side.expr(e), lang) for _, e, _ in s.criteria)}
                        for s in sorted(rs.selections, key=lambda s: s.id)}, 0)
    if rs.stars:
        emit("stars", {str(s.stars): s.min_total for s in rs.stars}, 0)
    if rs.market.goods or rs.market.min_total is not None:
        emit("market", {"carry_over": rs.market.carry_over, "min_total": rs.market.min_total,
                        "vetoed_may_redeem": rs.market.vetoed_may_redeem,
                        "goods": {g.id: {"name": g.name, "price": g.price}
                                  for g in sorted(rs.market.goods, key=lambda g: g.id)}}, 0)
    return "\n".join(lines) + "\n"
