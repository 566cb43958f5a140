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
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "loads", "decimal_text"]

_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def decimal_text(value: Decimal) -> str:
    """The JSON number text for ``value``, exact."""
    if not value.is_finite():
        raise ValueError(f"cannot write {value} as a JSON number")
    if value == value.to_integral_value():
        return str(int(value))
    as_float = repr(float(value))
    if "e" not in as_float and "n" not in as_float and Decimal(as_float) == value:
        return as_float
    # More digits than a float holds: the plain decimal notation, still a valid JSON number.
    return format(value, "f")


def dumps(obj: Any, *, indent: int | None = 2, sort_keys: bool = False) -> str:
    """``obj`` as JSON text (dicts, lists, tuples, str, int, bool, None, Decimal, float, date)."""
    parts: list[str] = []
    _write(obj, parts, indent, 0, sort_keys)
    return "".join(parts)


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


def loads(text: str) -> Any:
    """Parse JSON, numbers with a fraction as exact :class:`Decimal`."""
    return json.loads(text, parse_float=Decimal)


def _write(obj: Any, out: list[str], indent: int | None, depth: int, sort_keys: bool) -> None:
    if obj is None:
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
            _write(value, out, indent, depth + 1, sort_keys)
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
            _write(value, out, indent, depth + 1, sort_keys)
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
