"""Terminal output helpers shared by the commands: aligned tables, colour, a progress bar.

* **Width.** Chinese characters take two columns on a terminal; :func:`text_width` counts them
  so :func:`table` lines columns up under one another.
* **Colour** only where it helps (red board red, black board and refusals bold), and never when
  the output is piped or redirected, when ``NO_COLOR`` is set (https://no-color.org) or when
  ``TERM=dumb``; ``FORCE_COLOR`` turns it on regardless. :func:`color_enabled` decides.
  Escape codes are added after alignment, so they never shift a column.
* **Progress.** :class:`Progress` draws a one-line bar on stderr for a long job, and only once
  the job has run for more than a second on a terminal; piped output stays clean.
"""

from __future__ import annotations

import os
import functools
import re
import sys
import time
import unicodedata
from typing import IO, Iterable, Iterator, Sequence, TypeVar

__all__ = ["visible", "text_width", "pad", "table", "color_enabled", "style", "Progress", "progress"]

T = TypeVar("T")

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
          "magenta": "35", "cyan": "36"}


# C0 and C1 control characters, DEL, and the bidirectional overrides that can make text read
# differently from what it is ("Trojan Source")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, keep: str = "\n\t") -> str:
    """``text`` with every control character other than those in ``keep`` shown as an escape
    (``ESC`` → ``\\x1b``, U+202E → ``\\u202e``), so text from a rule file or the data can
    never move the cursor, recolour or retitle a terminal, or hide what it says."""
    def show(m: re.Match[str]) -> str:
        ch = m.group()
        if ch in keep:
            return ch
        # \u form above ASCII: inside a JSON string it is still a valid escape
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x80 else f"\\u{ord(ch):04x}"

    if not isinstance(text, str):
        return text
    if _printable(text, keep):  # nothing to show (a long report: a check much quicker than sub)
        return text
    return _control_except(keep).sub(show, text)


def _printable(text: str, keep: str) -> bool:
    """True when ``text`` has no character :data:`_CONTROL` matches but those in ``keep``:
    every character it matches is non-printable (``str.isprintable``), so printable lines
    (split at the line breaks ``keep`` lets through) have none."""
    if "\n" in keep:
        return all(line.isprintable() for line in text.split("\n"))
    return text.isprintable()


@functools.lru_cache(maxsize=8)
def _control_except(keep: str) -> re.Pattern[str]:
    """:data:`_CONTROL` not matching the characters of ``keep``: the line breaks of a long
    output are not each handed to a Python function (160,000 of them in a board's JSON)."""
    if not keep:
        return _CONTROL
    return re.compile(f"(?![{re.escape(keep)}])" + _CONTROL.pattern)


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide and full-width characters count twice,
    combining marks nothing)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns."""
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill


def color_enabled(stream: IO[str] | None = None) -> bool:
    """Whether to colour output written to ``stream`` (default stdout)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def style(text: str, *styles: str, enabled: bool = True) -> str:
    """``text`` wrapped in ANSI codes for ``styles`` ("bold", "red", ...) when ``enabled``."""
    if not enabled or not styles or not text:
        return text
    codes = ";".join(_CODES[s] for s in styles)
    return f"\x1b[{codes}m{text}\x1b[0m"


def table(header: Sequence[str] | None, rows: Sequence[Sequence[str]], *,
          right: Iterable[int] = (), row_styles: Sequence[Sequence[str]] | None = None,
          color: bool = False, gap: str = "  ", indent: str = "") -> str:
    """Rows of cells as aligned lines (a rule under the header). ``right``: columns aligned
    right (numbers); ``row_styles[i]``: styles for row ``i`` when ``color``."""
    right = set(right)
    all_rows = [[visible(str(c), keep="") for c in r]
                for r in (([list(header)] if header else []) + [list(r) for r in rows])]
    if not all_rows:
        return ""
    ncols = max(len(r) for r in all_rows)
    widths = [0] * ncols
    for r in all_rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], text_width(cell))
    lines = []

    def line(cells: Sequence[str]) -> str:
        out = [pad(cells[i] if i < len(cells) else "", widths[i], i in right) for i in range(ncols)]
        return (indent + gap.join(out)).rstrip()

    if header:
        lines.append(style(line(list(header)), "bold", enabled=color))
        lines.append(indent + gap.join("─" * w for w in widths))
    for i, r in enumerate(rows):
        text = line(r)
        st = row_styles[i] if row_styles is not None and i < len(row_styles) else ()
        lines.append(style(text, *st, enabled=color))
    return "\n".join(lines)


class Progress:
    """A progress bar on ``stream`` (default stderr), drawn only on a terminal and only after
    ``delay`` seconds, so quick jobs and piped output show nothing.

    Use as a context manager; call :meth:`advance` as work is done."""

    def __init__(self, total: int | None, label: str = "", *, stream: IO[str] | None = None,
                 delay: float = 1.0, width: int = 30, clock=time.monotonic):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.width = width
        self.clock = clock
        self.done = 0
        # Plain characters, no colour: shown on a terminal whatever NO_COLOR says.
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(os.environ.get("XIANGYUE_PROGRESS")) or (
            os.environ.get("TERM") != "dumb" and bool(isatty and isatty()))
        self.started = clock()
        self.drawn = False
        self._last = 0.0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self) -> str:
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * self.width)
            bar = "█" * filled + "░" * (self.width - filled)
            return f"{self.label} {bar} {self.done}/{self.total}"
        return f"{self.label} {self.done}"

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.delay or (self.drawn and now - self._last < 0.1):
            return
        self._last = now
        self.drawn = True
        self.stream.write("\r" + self.render())
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * text_width(self.render()) + "\r")
            self.stream.flush()
            self.drawn = False


def progress(items: Iterable[T], total: int | None = None, label: str = "", **kw) -> Iterator[T]:
    """Iterate ``items`` with a :class:`Progress` bar."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, label, **kw) as bar:
        for item in items:
            yield item
            bar.advance()


_SGR = re.compile(r"\x1b\[[0-9;]*m")


class VisibleStream:
    """A text stream that shows control characters written to it (:func:`visible`), letting
    through only line breaks, tabs, carriage returns (the progress bar) and the colour codes
    :func:`style` makes. The CLI puts one in front of stdout and stderr: the last guard that no
    escape sequence from a rule file or the data reaches the terminal raw."""

    def __init__(self, stream: IO[str]):
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            return self._stream.write(text)
        out, last = [], 0
        for m in _SGR.finditer(text):
            out.append(visible(text[last:m.start()], keep="\n\t\r"))
            out.append(m.group())
            last = m.end()
        out.append(visible(text[last:], keep="\n\t\r"))
        shown = "".join(out)
        try:
            self._stream.write(shown)
        except UnicodeEncodeError:  # a terminal that cannot show Chinese: "?" rather than a crash
            enc = getattr(self._stream, "encoding", None) or "ascii"
            self._stream.write(shown.encode(enc, "replace").decode(enc))
        return len(text)

    def __getattr__(self, name: str):
        if name == "buffer":  # writers must go through write(), not around it
            raise AttributeError(name)
        return getattr(self._stream, name)
