"""The names a rule file knows for a text field (the activities its rules compare 事项 with),
and the closest of them to a name no rule knows (``志原服务`` -> ``志愿服务``).

A rule matches an activity by comparing the field with literals: ``事项 == "志愿服务"``,
``事项 in ["义务劳动", "投工投劳"]``, ``按 事项 {"志愿服务" → 2, ...}``. Those literals are the
field's *vocabulary*. When every rule's condition ties the field to its literals that way, the
vocabulary is *closed*: a record whose activity is not in it can match no rule, whatever its
other cells say, and the import can say so at once.

Closeness: clerks type with a pinyin input method, so the commonest typo is a character of
the same sound (志原 for 志愿) that shares no stroke with the right one; names are compared
both as characters and as toneless pinyin (pypinyin), the better of the two counting.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from xiangyue.rules import nodes as n
from xiangyue.rules.model import FieldSpec, Ruleset

__all__ = ["Vocabulary", "vocabulary", "closest_names"]

_EQ_OPS = {"==", "!="}
#: How alike (0..1) a known name must be to be suggested.
CUTOFF = 0.6


@dataclass(frozen=True)
class Vocabulary:
    """The literals the rules compare ``field`` with, in file order; ``closed``: every rule's
    condition ties the field to them (a value outside can match no rule)."""

    field: FieldSpec
    names: tuple[str, ...]
    closed: bool

    def unknown(self, value: object) -> bool:
        """Whether no rule can match a record with this value (closed vocabularies only)."""
        return self.closed and isinstance(value, str) and value not in self.names

    def suggest(self, value: str, n: int = 3) -> list[str]:
        return closest_names(value, self.names, n)


def _refers(node: n.Expr, names: frozenset[str]) -> bool:
    return isinstance(node, n.Name) and node.name in names


def _literals(expr: n.Expr, names: frozenset[str], out: list[str]) -> tuple[int, int]:
    """Collect the text literals ``expr`` compares the field with into ``out``; returns
    (references to the field, of which inside such a comparison)."""
    refs = tied = 0
    for node in n.walk(expr):
        if _refers(node, names):
            refs += 1
        if isinstance(node, n.Binary) and node.op in _EQ_OPS:
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if _refers(a, names) and isinstance(b, n.Text):
                    out.append(b.value)
                    tied += 1
        elif isinstance(node, n.In) and _refers(node.operand, names):
            texts = [o.value for o in node.options if isinstance(o, n.Text)]
            out.extend(texts)
            if len(texts) == len(node.options):
                tied += 1
        elif isinstance(node, n.Lookup) and _refers(node.key, names):
            texts = [k.value for k, _ in node.table if isinstance(k, n.Text)]
            out.extend(texts)
            if len(texts) == len(node.table):
                tied += 1
    return refs, tied


def _activity_field(ruleset: Ruleset) -> FieldSpec | None:
    fields = [f for f in ruleset.fields if f.type == "text"]
    for f in fields:
        if f.id == "activity" or f.label == "事项":
            return f
    return None


def vocabulary(ruleset: Ruleset, field: FieldSpec | None = None) -> Vocabulary | None:
    """The vocabulary of ``field`` (default: the activity field, 事项) in ``ruleset``'s rules;
    None when the rule file has no such field or no rule compares it with a literal."""
    field = field or _activity_field(ruleset)
    if field is None:
        return None
    names = frozenset(field.names())
    found: list[str] = []
    closed = bool(ruleset.rules)
    for rule in ruleset.rules:
        refs, tied = _literals(rule.when_expr, names, found)
        # closed only if every rule's condition names the field, and only in comparisons with
        # literals (a rule that ignores the field, or tests it another way, may match anything)
        if refs == 0 or tied < refs:
            closed = False
        if rule.points_expr is not None:
            _literals(rule.points_expr, names, found)
    if field.values:
        found.extend(field.values)
    if not found:
        return None
    return Vocabulary(field, tuple(dict.fromkeys(found)), closed)


@lru_cache(maxsize=4096)
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text))


def _likeness(a: str, b: str) -> float:
    chars = difflib.SequenceMatcher(None, a, b).ratio()
    if a.isascii() and b.isascii():
        return chars
    sound = difflib.SequenceMatcher(None, _pinyin(a), _pinyin(b)).ratio()
    # the same sound is a strong hint, but a little less than the same characters
    return max(chars, sound * 0.95)


def closest_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` names of ``known`` most like ``name`` (characters or pinyin), best first;
    none when ``name`` is itself known or nothing is close enough."""
    known = list(dict.fromkeys(known))
    text = (name or "").strip()
    if not text or text in known:
        return []
    scored = sorted(((_likeness(text, k), i, k) for i, k in enumerate(known)),
                    key=lambda t: (-t[0], t[1]))
    return [k for score, _, k in scored[:n] if score >= CUTOFF]


def suggestion_words(names: Sequence[str], lang: str = "zh") -> str:
    """``是不是“志愿服务”？`` / ``did you mean '志愿服务'?`` (empty without names)."""
    if not names:
        return ""
    if lang == "en":
        return "did you mean " + " or ".join(f"'{s}'" for s in names) + "?"
    return "是不是" + "或".join(f"“{s}”" for s in names) + "？"
