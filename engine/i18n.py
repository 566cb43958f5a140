"""Message catalogue: every user-facing text in Chinese (default) and English.

Each module registers the messages of the diagnostics it raises, beside the code that raises
them::

    register({
        "E-YAML-ALIAS": Msg(
            zh="不允许使用 YAML 锚点或别名（{name}）",
            en="YAML anchors and aliases are not allowed ({name})",
            hint_zh="把内容直接写出来", hint_en="write the content out in full"),
    })

The language is chosen by ``--lang`` or, failing that, the locale (``LANG``/``LC_ALL``
starting with ``en`` gives English; everything else Chinese).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Msg:
    zh: str
    en: str
    hint_zh: str | None = None
    hint_en: str | None = None


_CATALOGUE: dict[str, Msg] = {}

_LABELS = {
    "hint": ("提示", "hint"),
    "warning": ("警告", "warning"),
    "error": ("错误", "error"),
    "errors_found": ("共发现 {n} 个错误", "{n} error(s) found"),
    "valid": ("{file}：校验通过", "{file}: valid"),
}


def register(messages: dict[str, Msg]) -> None:
    """Add messages to the catalogue (codes are unique across the package)."""
    for code, msg in messages.items():
        if code in _CATALOGUE and _CATALOGUE[code] != msg:
            raise ValueError(f"message code registered twice with different text: {code}")
        _CATALOGUE[code] = msg


def codes() -> dict[str, Msg]:
    return dict(_CATALOGUE)


def default_lang() -> str:
    for var in ("XIANGYUE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        val = os.environ.get(var)
        if val:
            return "en" if val.lower().startswith("en") else "zh"
    return "zh"


def _fill(template: str, args: dict[str, Any]) -> str:
    try:
        return template.format(**args)
    except (KeyError, IndexError, ValueError):
        return template


def message(code: str, lang: str = "zh", **args: Any) -> str:
    # A diagnostic built from ready text (e.g. jsonschema's own message) carries it in args.
    if code not in _CATALOGUE:
        text = args.get(lang) or args.get("zh") or args.get("en")
        return str(text) if text else code
    msg = _CATALOGUE[code]
    return _fill(msg.en if lang == "en" else msg.zh, args)


def hint(code: str, lang: str = "zh", **args: Any) -> str | None:
    extra = args.get("hint_en" if lang == "en" else "hint_zh")
    msg = _CATALOGUE.get(code)
    base = None
    if msg is not None:
        template = msg.hint_en if lang == "en" else msg.hint_zh
        base = _fill(template, args) if template else None
    if base and extra:
        return f"{base}; {extra}" if lang == "en" else f"{base}；{extra}"
    return base or extra


def label(key: str, lang: str = "zh", **args: Any) -> str:
    zh, en = _LABELS[key]
    return _fill(en if lang == "en" else zh, args)


def text(zh: str, en: str, lang: str) -> str:
    """Pick one of two ready texts."""
    return en if lang == "en" else zh


def did_you_mean(word: str, options, *, n: int = 3, cutoff: float = 0.5,
                 otherwise: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """A "did you mean" hint in both languages (``otherwise`` when nothing is close). An option
    equal to ``word`` but for upper/lower case (``APPROVED`` for ``approved``) is named first and
    alone; otherwise the closest options by spelling, compared ignoring case."""
    import difflib

    opts = [str(o) for o in options]
    same = [o for o in opts if o.casefold() == str(word).casefold()]
    if same:
        close = same[:1]
    else:
        folded = {}
        for o in opts:
            folded.setdefault(o.casefold(), o)
        close = [folded[c] for c in difflib.get_close_matches(str(word).casefold(), list(folded),
                                                               n=n, cutoff=cutoff)]
    if not close:
        return otherwise
    return "是不是：" + "、".join(close) + "？", "did you mean: " + ", ".join(close) + "?"
