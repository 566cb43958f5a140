"""JSON output with exact numbers.

``json.dumps`` cannot print a :class:`~decimal.Decimal` as a number. :func:`dumps` does: an
integral value prints as an integer (``12``), any other value as the shortest text that reads
back as exactly that decimal (``12.5``, ``0.1``; never ``0.30000000000000004``). Readers that
parse floats as decimals (``json.loads(text, parse_float=Decimal)``, see :func:`loads`) get the
exact value back. Non-ASCII text is kept as is (``ensure_ascii=False``). Dates print as ISO
text.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads", "decimal_text", "dumps_records"]

_encode_str = json.encoder.encode_basestring  # what JSONEncoder(ensure_ascii=False) writes for a str


def decimal_text(value: Decimal) -> str:
    """The JSON number text for ``value``, exact."""
    return _decimal_text(value)[0]


def _decimal_text(value: Decimal) -> tuple[str, bool]:
    """(:func:`decimal_text`, whether every decimal equal to ``value`` has that text: true
    but for the plain notation, which keeps trailing zeros)."""
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as a JSON number")
    if value == value.to_integral_value():
        return str(int(value)), True
    as_float = repr(float(value))
    if "e" not in as_float and "n" not in as_float and Decimal(as_float) == value:
        return as_float, True
    # More digits than a float holds: the plain decimal notation, still a valid JSON number.
    return format(value, "f"), False


def dumps(obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``obj`` as JSON text (dicts, lists, tuples, str, int, bool, None, Decimal, float, date).

    On one line (``indent=None``), what the C encoder can write the same is written by it:
    decimals as the int or float that prints as :func:`decimal_text`, dates as text
    (:func:`_plain`); anything else (a decimal no float prints exactly, keys other than text)
    takes the writer below."""
    if indent is None:
        try:
            plain = _plain(obj)
        except _Unplain:
            pass
        else:
            return _encode_plain_sorted(plain) if sort_keys else _encode_plain(plain)
    parts: list[str] = []
    _Writer(parts, indent, sort_keys).write(obj, 0)
    return "".join(parts)


_encode_plain = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_encode_plain_sorted = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True).encode
_AS_IS = frozenset({str, int, bool, type(None)})


class _Unplain(Exception):
    """A value the C encoder would not write as :func:`dumps` does."""


def _plain_decimal(value: Decimal) -> int | float:
    text = str(value)
    if text.isdigit() or (text[0] == "-" and text[1:].isdigit() and text != "-0"):
        return int(text)
    f = float(text)
    if repr(f) == text and not f.is_integer():  # the float's shortest text is the decimal's
        return f
    out = decimal_text(value)  # raises for NaN and infinities, as dumps does
    if out.lstrip("-").isdigit():
        return int(out)
    if repr(float(out)) == out:
        return float(out)
    raise _Unplain


def _plain(obj: Any) -> Any:
    """``obj`` with decimals as ints/floats that print as :func:`decimal_text` and dates as
    ISO text; raises :class:`_Unplain` for what would print otherwise."""
    t = type(obj)
    if t in _AS_IS:
        return obj
    if t is Decimal:
        return _plain_decimal(obj)
    if t is dict:
        out = {}
        for k, v in obj.items():
            if type(k) is not str:
                raise _Unplain
            tv = type(v)
            out[k] = v if tv in _AS_IS else _plain_decimal(v) if tv is Decimal else _plain(v)
        return out
    if t is list or t is tuple:
        return [v if type(v) in _AS_IS else _plain(v) for v in obj]
    if t is float:
        if obj != obj or obj in (float("inf"), float("-inf")):
            raise _Unplain  # dumps raises its own ValueError
        return obj
    if t is dt.date or t is dt.datetime:
        return obj.isoformat()
    raise _Unplain


def dumps_records(items: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> str:
    """``dumps(items, indent=None)`` of flat dicts of text, numbers and None, the same text
    through the C encoder (stored ledger reasons: a million of them in a run)."""
    out = []
    for d in items:
        e: dict[str, Any] = {}
        for k, v in d.items():
            if isinstance(v, Decimal):
                if not v.is_finite():
                    raise ValueError(f"cannot write {v} as a JSON number")
                if v == v.to_integral_value():
                    v = int(v)
                else:
                    f = float(v)
                    r = repr(f)
                    if "e" in r or "n" in r or Decimal(r) != v:
                        return dumps(items, indent=None)
                    v = f
            elif not (v is None or isinstance(v, (str, int, float))) or not isinstance(k, str):
                return dumps(items, indent=None)
            e[k] = v
        out.append(e)
    return json.dumps(out, ensure_ascii=False, allow_nan=False)


_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(text: str) -> Any:
    """Parse JSON, numbers with a fraction as exact :class:`Decimal` (one decoder for every
    call: ``json.loads`` with ``parse_float`` builds a new one each time)."""
    if not isinstance(text, str):
        return json.loads(text, parse_float=Decimal)
    return _DECODER.decode(text)


class _Writer:
    """:func:`_write` for the common case, in fewer steps: values of the plain types (exactly
    str, int, bool, None, Decimal, dict, list) are written without a call each, a key's text
    and a decimal's text are made once per output (a village's 20,000 households repeat the
    same keys and few distinct amounts); anything else goes through :func:`_write`, so the
    text is the same."""

    def __init__(self, out: list[str], indent: int | None, sort_keys: bool):
        self.out = out
        self.indent = indent
        self.sort_keys = sort_keys
        self.keys: dict[str, str] = {}  # key -> its JSON text and ": "
        self.decimals: dict[Decimal, str] = {}
        self.layouts: list[tuple[str, str, str]] = []

    def scalar(self, v: Any) -> str | None:
        """The text of ``v`` when it is a plain scalar, else None."""
        t = type(v)
        if t is str:
            return _encode_str(v)
        if t is Decimal:
            try:
                text = self.decimals.get(v)
            except TypeError:  # a signalling NaN (refused by decimal_text)
                text = None
            if text is None:
                text, same = _decimal_text(v)
                if same:
                    self.decimals[v] = text
            return text
        if t is int:
            return int.__repr__(v)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        return None

    def layout(self, depth: int) -> tuple[str, str, str]:
        while len(self.layouts) <= depth:
            self.layouts.append(_layout(self.indent, len(self.layouts)))
        return self.layouts[depth]

    def write(self, obj: Any, depth: int) -> None:
        out = self.out
        t = type(obj)
        if t is dict:
            if not obj:
                out.append("{}")
                return
            if self.sort_keys:
                items: Any = sorted(obj.items(), key=lambda kv: str(kv[0]))
            else:
                items = obj.items()
            nl, pad, pad_close = self.layout(depth)
            sep = ("," if self.indent is not None else ", ") + nl + pad
            keys = self.keys
            scalar = self.scalar
            out.append("{" + nl + pad)
            first = True
            for key, value in items:
                if not first:
                    out.append(sep)
                first = False
                k = keys.get(key) if type(key) is str else None
                if k is None:
                    k = _encode_str(_key(key)) + ": "
                    if type(key) is str:
                        keys[key] = k
                text = scalar(value)
                if text is not None:
                    out.append(k + text)
                else:
                    out.append(k)
                    self.write(value, depth + 1)
            out.append(nl + pad_close + "}")
        elif t is list:
            if not obj:
                out.append("[]")
                return
            nl, pad, pad_close = self.layout(depth)
            sep = ("," if self.indent is not None else ", ") + nl + pad
            scalar = self.scalar
            out.append("[" + nl + pad)
            first = True
            for value in obj:
                if not first:
                    out.append(sep)
                first = False
                text = scalar(value)
                if text is not None:
                    out.append(text)
                else:
                    self.write(value, depth + 1)
            out.append(nl + pad_close + "]")
        else:
            text = self.scalar(obj)
            if text is not None:
                out.append(text)
            else:
                _write(obj, out, self.indent, depth, self.sort_keys, self)


def _write(obj: Any, out: list[str], indent: int | None, depth: int, sort_keys: bool,
           writer: _Writer | None = None) -> None:
    if writer is not None and type(obj) in (dict, list):
        writer.write(obj, depth)
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_encode_str(obj))
    elif isinstance(obj, Decimal):
        out.append(decimal_text(obj))
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(json.dumps(obj, allow_nan=False))
    elif isinstance(obj, (dt.date, dt.datetime)):
        out.append(_encode_str(obj.isoformat()))
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        items = sorted(obj.items(), key=lambda kv: str(kv[0])) if sort_keys else obj.items()
        nl, pad, pad_close = _layout(indent, depth)
        out.append("{")
        first = True
        for key, value in items:
            if not first:
                out.append("," if indent is not None else ", ")
            first = False
            out.append(nl + pad)
            out.append(_encode_str(_key(key)))
            out.append(": ")
            _write(value, out, indent, depth + 1, sort_keys, writer)
        out.append(nl + pad_close + "}")
    elif isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        nl, pad, pad_close = _layout(indent, depth)
        out.append("[")
        first = True
        for value in obj:
            if not first:
                out.append("," if indent is not None else ", ")
            first = False
            out.append(nl + pad)
            _write(value, out, indent, depth + 1, sort_keys, writer)
        out.append(nl + pad_close + "]")
    else:
        raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _layout(indent: int | None, depth: int) -> tuple[str, str, str]:
    if indent is None:
        return "", "", ""
    return "\n", " " * (indent * (depth + 1)), " " * (indent * depth)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, Decimal):
        return decimal_text(key)
    if isinstance(key, (dt.date, dt.datetime)):
        return key.isoformat()
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
