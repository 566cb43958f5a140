"""Diagnostics: errors as values with positions, and the one root exception.

Every stage (load, validate, parse, check, import, evaluate) reports what is wrong with the
user's input as :class:`Diagnostic` values, collected and reported together. A stage that
cannot go on raises :class:`XiangyueError` carrying the diagnostics found so far; the CLI turns
it into a message and an exit code, never a traceback.

Messages are bilingual: a diagnostic holds a message ``code`` and its arguments; the text is
looked up in :mod:`xiangyue.i18n` for the language asked for. A diagnostic may also carry
ready text in both languages (``zh``/``en``) for messages built elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable


@dataclass(frozen=True, order=True)
class Pos:
    """A place in a file: 1-based line and column (for tables: row and column name)."""

    file: str = ""
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the user's input.

    ``code`` is stable (documented in docs/errors.md) and names the message in the catalogue;
    ``args`` fills the message's placeholders. ``column`` is an int for text files and a
    column *name* for tables (row = line). ``severity`` is "error" or "warning".
    """

    code: str
    file: str = ""
    line: int = 0
    column: int | str = 0
    args: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"
    source_line: str | None = None  # the offending line, for the caret view
    span: int = 1  # width of the caret underline, in characters

    def message(self, lang: str = "zh") -> str:
        from xiangyue.i18n import message

        return message(self.code, lang, **self.args)

    def hint(self, lang: str = "zh") -> str | None:
        from xiangyue.i18n import hint

        return hint(self.code, lang, **self.args)

    def sort_key(self) -> tuple:
        col = self.column if isinstance(self.column, int) else 0
        return (self.file, self.line, col, self.code)

    def location(self) -> str:
        if self.line and self.column not in (0, ""):
            return f"{self.file}:{self.line}:{self.column}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message(lang),
        }
        if isinstance(self.column, str):  # a table: line is the row as the spreadsheet shows it
            out["row"] = self.line
        h = self.hint(lang)
        if h:
            out["hint"] = h
        return out

    def at(self, file: str, line: int, column: int | str) -> "Diagnostic":
        """The same diagnostic moved to another place (e.g. an expression inside a YAML file)."""
        from dataclasses import replace

        return replace(self, file=file, line=line, column=column)


#: The kinds of failure (see :class:`XiangyueError`).
KINDS = ("unusable", "errors", "refused")


class XiangyueError(Exception):
    """The root of every error this package raises for a user's mistake.

    It carries the diagnostics that explain it and its ``kind`` (one of :data:`KINDS`):
    ``unusable`` (the input could not be used at all), ``errors`` (the input was read and has
    errors, e.g. a rule file that fails its checks) or ``refused`` (a well-formed request the
    rules refuse, e.g. a redemption beyond the balance). The CLI maps kinds to exit codes
    (``xiangyue.cli.options.EXIT_CODES``); the library never chooses one.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic, kind: str = "unusable"):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = sorted(diagnostics, key=Diagnostic.sort_key)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(
            f"{first.location()}: {first.code}: {first.message('en')}" if first else "error"
        )


class RulesetError(XiangyueError):
    """A rule file (or a template it extends) is invalid."""

    def __init__(self, diagnostics: Iterable[Diagnostic] | Diagnostic):
        super().__init__(diagnostics, kind="errors")


class InputError(XiangyueError):
    """A data file (records, households, cases, redemptions) could not be used."""


class StoreError(XiangyueError):
    """The village database could not be opened or written (locked, busy, not a database)."""


def format_diagnostic(d: Diagnostic, lang: str = "zh", *, caret: bool = True) -> str:
    """``file:line:column: code: message`` then the source line with a caret, then the hint."""
    from xiangyue.i18n import label

    where = f"{d.location()}: " if d.location() else ""
    head = f"{where}{d.code}: {d.message(lang)}"
    if d.severity == "warning":
        head = f"{where}{d.code}: {label('warning', lang)}: {d.message(lang)}"
    from xiangyue.report.terminal import visible

    lines = [visible(head, keep="\n")]
    if caret and d.source_line is not None and isinstance(d.column, int) and d.column > 0:
        src = _visible_tabs_kept(d.source_line.rstrip("\n"))
        lines.append("    " + src)
        lines.append("    " + _caret_pad(src, d.column - 1) + "^" * max(1, _display_width(src[d.column - 1 : d.column - 1 + max(1, d.span)])))
    h = d.hint(lang)
    if h:
        lines.append(visible(f"    {label('hint', lang)}: {h}", keep="\n"))
    return "\n".join(lines)


def _visible_tabs_kept(src: str) -> str:
    """The source line with control characters shown; each shown as ``?`` so the caret still
    points at the right column."""
    from xiangyue.report.terminal import visible

    return "".join(ch if ch == "\t" or visible(ch) == ch else "?" for ch in src)


def _display_width(text: str) -> int:
    from xiangyue.report.terminal import text_width

    return text_width(text)


def _caret_pad(src: str, upto: int) -> str:
    """Spaces as wide on screen as ``src[:upto]`` (wide CJK characters count twice)."""
    pad = []
    for ch in src[:upto]:
        if ch == "\t":
            pad.append("\t")
        else:
            pad.append(" " * _display_width(ch))
    return "".join(pad)
