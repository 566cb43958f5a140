"""Structure checks of a rule file against ``schemas/ruleset.schema.json``.

The JSON Schema (draft 2020-12) is the single source of truth for the file's structure; this
module runs it with ``iter_errors`` (every error, not just the first), maps each error's path
back to the YAML line and column, says which rule or item it belongs to, and words it in
Chinese and English with a hint (an unknown key gets "did you mean").
"""

from __future__ import annotations

import contextlib
import difflib
import os
import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from xiangyue.errors import Diagnostic
from xiangyue.i18n import Msg, did_you_mean, register
from xiangyue.rules.source import YamlDoc

if TYPE_CHECKING:  # jsonschema (~40 ms to import) is imported when a file is validated
    import jsonschema
    from jsonschema.exceptions import ValidationError

register(
    {
        "E-SCHEMA-UNKNOWN-KEY": Msg(
            zh="{where}不认识的键“{key}”",
            en="{where_en}unknown key '{key}'",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-SCHEMA-REQUIRED": Msg(
            zh="{where}缺少“{key}”",
            en="{where_en}'{key}' is missing",
            hint_zh="加上 {key}: …",
            hint_en="add {key}: …",
        ),
        "E-SCHEMA-TYPE": Msg(
            zh="{where}“{key}”应是{want_zh}，这里写的是“{value}”",
            en="{where_en}'{key}' must be {want_en}, found '{value}'",
            hint_zh="{type_hint_zh}",
            hint_en="{type_hint_en}",
        ),
        "E-SCHEMA-ENUM": Msg(
            zh="{where}“{key}”只能是：{allowed}（这里是“{value}”）",
            en="{where_en}'{key}' must be one of: {allowed_en} (found '{value}')",
            hint_zh="{suggest_zh}",
            hint_en="{suggest_en}",
        ),
        "E-SCHEMA-PATTERN": Msg(
            zh="{where}“{key}”的写法不对：“{value}”",
            en="{where_en}'{key}' is not written correctly: '{value}'",
            hint_zh="{pattern_hint_zh}",
            hint_en="{pattern_hint_en}",
        ),
        "E-SCHEMA-RANGE": Msg(
            zh="{where}“{key}”的值 {value} 超出范围（{bound_zh}）",
            en="{where_en}'{key}' = {value} is out of range ({bound_en})",
        ),
        "E-SCHEMA-EMPTY": Msg(
            zh="{where}“{key}”不能为空",
            en="{where_en}'{key}' must not be empty",
        ),
        "E-SCHEMA-UNIQUE": Msg(
            zh="{where}“{key}”中有重复的值",
            en="{where_en}'{key}' lists a value twice",
        ),
        "E-SCHEMA-OTHER": Msg(
            zh="{where}“{key}”不符合规则文件格式：{detail}",
            en="{where_en}'{key}' does not fit the rule file format: {detail}",
        ),
        "E-SCHEMA-ROOT": Msg(
            zh="规则文件的最外层应是“键: 值”的映射",
            en="the top level of a rule file must be a mapping of keys to values",
            hint_zh="参考 rulesets/examples/jingou.yaml 的写法",
            hint_en="see rulesets/examples/jingou.yaml",
        ),
    }
)

_TYPE_NAMES = {
    "string": ("文字", "text"),
    "number": ("数", "a number"),
    "integer": ("整数", "a whole number"),
    "boolean": ("true 或 false", "true or false"),
    "object": ("“键: 值”映射", "a mapping (key: value)"),
    "array": ("列表（每项以 - 开头）", "a list (items starting with -)"),
    "null": ("空", "empty"),
}

_RENAMED = {"cap": "limit", "deduction_cap": "deduction_limit"}  # keys of earlier drafts

_PATTERN_HINTS = {
    r"^\d{4}-\d{2}-\d{2}$": ("日期写成 2024-03-01", "write dates as 2024-03-01"),
    r"^\s*\d+\s*/\s*\d+\s*$": ("写成分数，例如 2/3", "write a fraction, e.g. 2/3"),
    r"^[A-Za-z_][A-Za-z0-9_]*$": ("字段编号只用英文字母、数字和下划线，例如 quantity；中文名写在 label",
                                  "field ids use ASCII letters, digits and _, e.g. quantity; put the Chinese name in label"),
}


@functools.lru_cache(maxsize=1)
def _schema_text() -> str:
    return resources.files("xiangyue.schemas").joinpath("ruleset.schema.json").read_text(
        encoding="utf-8")


@functools.lru_cache(maxsize=1)
def ruleset_schema() -> dict[str, Any]:
    return json.loads(_schema_text())


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(ruleset_schema())


def _owner(data: Any, path: tuple) -> tuple[str, str]:
    """"规则 volunteer：" — the rule/item/field an error belongs to (cloud-custodian style)."""
    names = {"rules": ("规则", "rule"), "categories": ("类别", "category"), "checklists": ("清单事项", "item"),
             "fields": ("字段", "field"), "household_fields": ("字段", "field"), "case_fields": ("字段", "field"),
             "selections": ("评选", "selection"), "examples": ("算例", "example")}
    if len(path) >= 2 and path[0] in names and isinstance(path[1], int):
        try:
            item = data[path[0]][path[1]]
        except (KeyError, IndexError, TypeError):
            item = None
        ident = item.get("id") or item.get("name") if isinstance(item, dict) else None
        zh, en = names[path[0]]
        label = ident if ident is not None else f"#{path[1] + 1}"
        return f"{zh} {label}：", f"{en} {label}: "
    return "", ""


def _key(path: tuple) -> str:
    for p in reversed(path):
        if isinstance(p, str):
            return p
    return "(根)" if not path else str(path[-1])


def _value_text(doc: YamlDoc, path: tuple, value: Any) -> str:
    raw = doc.raw.get(path)
    if raw is not None:
        text = raw
    elif isinstance(value, (dict, list)):
        text = "{…}" if isinstance(value, dict) else "[…]"
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def best_error(error: ValidationError) -> ValidationError:
    """For oneOf/anyOf, the branch the author most likely meant (the deepest error)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        # prefer an error from the branch whose type matched the value
        typed = [e for e in error.context if e.validator != "type"]
        pool = typed or list(error.context)
        return max(pool, key=lambda e: len(e.absolute_path))
    return error


def structural_errors(doc: YamlDoc) -> list[tuple[Diagnostic | None, tuple]]:
    """Every structural problem of one rule file, positioned in that file, with its data path.

    The path lets later stages skip the parts of the file whose shape cannot be trusted while
    still checking the rest (so an author sees all mistakes in one run). An entry without a
    diagnostic marks a part to skip whose problem another entry already reports.
    """
    data = doc.data
    if not isinstance(data, dict):
        p = doc.pos(())
        return [(Diagnostic("E-SCHEMA-ROOT", p.file, p.line, p.column), ())]
    marker = _valid_marker(data)
    if marker is not None and os.path.exists(marker):
        return []  # this very content was found valid before
    out = []
    for e in _validator().iter_errors(data):
        best = best_error(e)
        path = tuple(best.absolute_path)
        if best.validator == "additionalProperties" and isinstance(best.instance, dict):
            allowed = list((best.schema.get("properties") or {}).keys())
            extra = [k for k in best.instance if k not in allowed][:1]
            path += tuple(extra)
            # `categorys:` was meant as `categories:`: the checks that need what the author
            # meant are skipped, so one typo gives one error, not one per rule
            meant = difflib.get_close_matches(extra[0], allowed, n=1, cutoff=0.75) if extra else []
            if meant:
                out.append((None, path[:-1] + (meant[0],)))
        out.append((error_diagnostic(doc, best), path))
    if not out and marker is not None:
        _remember_valid(marker)
    return out


#: bump when structural_errors finds problems another way (markers of the old way are unused)
_MARKERS = "valid-1"


def _valid_marker(data: Any) -> str | None:
    """The file that says a rule file with exactly ``data`` (its ``repr``: keys, order and
    types) has no structural problem under this schema, in the user's private cache folder
    (:mod:`xiangyue.rules.cache`); None when there is none. A command that loads a valid rule
    file again does not import jsonschema."""
    import hashlib

    from xiangyue.rules.cache import private_folder

    folder = private_folder()
    if folder is None:
        return None
    from xiangyue import __version__

    # the package's version too: a new release may check more (formats, its own rules) than
    # its schema text shows
    h = hashlib.sha256(f"{_MARKERS}\n{__version__}\n".encode())
    h.update(_schema_text().encode("utf-8"))
    h.update(b"\0" + repr(data).encode("utf-8", "surrogatepass"))
    return os.path.join(folder, _MARKERS, h.hexdigest())


def _remember_valid(marker: str) -> None:
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(marker), mode=0o700, exist_ok=True)
        with open(marker, "x", encoding="ascii"):
            pass


def validate_document(doc: YamlDoc) -> list[Diagnostic]:
    """Every structural problem of one rule file, positioned in that file."""
    return [d for d, _ in structural_errors(doc) if d is not None]


def error_diagnostic(doc: YamlDoc, error: ValidationError) -> Diagnostic:
    path = tuple(error.absolute_path)
    where_zh, where_en = _owner(doc.data, path)
    base = {"where": where_zh, "where_en": where_en, "key": _key(path)}
    v = error.validator
    instance = error.instance

    def diag(code: str, at: tuple, use_key_pos: bool = False, **args) -> Diagnostic:
        p = doc.key_pos(at) if use_key_pos else doc.pos(at)
        shown = (str(at[-1]) if at else "") if use_key_pos else (doc.raw.get(at) or "")
        return Diagnostic(code, p.file, p.line, p.column, args={**base, **args},
                          source_line=doc.source_line(p.line),
                          span=len(shown) if shown and "\n" not in shown else 1)

    if v == "additionalProperties":
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extras = [k for k in instance if k not in allowed] if isinstance(instance, dict) else []
        key = extras[0] if extras else "?"
        if key in _RENAMED and _RENAMED[key] in allowed:
            zh, en = f"现在写作 {_RENAMED[key]}", f"now written {_RENAMED[key]}"
        else:
            zh, en = did_you_mean(key, allowed, otherwise=("可用的键：" + "、".join(allowed),
                                                          "known keys: " + ", ".join(allowed)))
        base["key"] = key
        return diag("E-SCHEMA-UNKNOWN-KEY", path + (key,), use_key_pos=True, suggest_zh=zh, suggest_en=en)
    if v == "required":
        missing = [k for k in error.validator_value if not (isinstance(instance, dict) and k in instance)]
        base["key"] = missing[0] if missing else "?"
        return diag("E-SCHEMA-REQUIRED", path)
    if v == "type":
        want = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        want_zh = "或".join(_TYPE_NAMES.get(w, (w, w))[0] for w in want)
        want_en = " or ".join(_TYPE_NAMES.get(w, (w, w))[1] for w in want)
        hint_zh = hint_en = ""
        if isinstance(instance, str) and ("number" in want or "integer" in want):
            hint_zh, hint_en = "数不要加引号，也不要以 0 开头（如 010）", "do not quote numbers or start them with 0 (like 010)"
        elif isinstance(instance, str) and "：" in instance:
            hint_zh, hint_en = "这一行用了全角冒号“：”，请改为半角“: ”", "this line uses a full-width colon '：'; use ': '"
        elif "object" in want:
            hint_zh, hint_en = "在下一行缩进写出 键: 值", "write key: value pairs on the following, indented lines"
        return diag("E-SCHEMA-TYPE", path, want_zh=want_zh, want_en=want_en,
                    value=_value_text(doc, path, instance), type_hint_zh=hint_zh, type_hint_en=hint_en)
    if v in ("enum", "const"):
        allowed_values = error.validator_value if v == "enum" else [error.validator_value]
        words = [str(a) for a in allowed_values if str(a).isascii()]
        chinese = [str(a) for a in allowed_values if not str(a).isascii()]
        allowed = "、".join(words) + (f"（或 {'、'.join(chinese)}）" if chinese and words else "")
        allowed_en = ", ".join(words) + (f" (or {', '.join(chinese)})" if chinese and words else "")
        if not words:
            allowed = "、".join(chinese)
            allowed_en = ", ".join(chinese)
        zh, en = did_you_mean(instance, allowed_values, n=1, cutoff=0.4)
        return diag("E-SCHEMA-ENUM", path, allowed=allowed, allowed_en=allowed_en,
                    value=_value_text(doc, path, instance),
                    suggest_zh=zh, suggest_en=en)
    if v == "pattern":
        hint = _PATTERN_HINTS.get(error.validator_value, ("编号不能含空格、引号、冒号、逗号和括号",
                                                          "ids may not contain spaces, quotes, colons, commas or brackets"))
        return diag("E-SCHEMA-PATTERN", path, value=_value_text(doc, path, instance),
                    pattern_hint_zh=hint[0], pattern_hint_en=hint[1])
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sym = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        bound = f"{sym} {error.validator_value}"
        return diag("E-SCHEMA-RANGE", path, value=_value_text(doc, path, instance), bound_zh="应 " + bound,
                    bound_en="must be " + bound)
    if v in ("minItems", "minLength"):
        return diag("E-SCHEMA-EMPTY", path)
    if v == "uniqueItems":
        return diag("E-SCHEMA-UNIQUE", path)
    return diag("E-SCHEMA-OTHER", path, detail=error.message)


def load_checked_yaml(path: str | os.PathLike, schema: dict[str, Any], not_object_code: str) -> YamlDoc:
    """A YAML file that is not a rule file (a county policy, a test file) checked against its
    own JSON Schema: every problem at its line and column, raised together (exit 2)."""
    from xiangyue.errors import XiangyueError
    from xiangyue.rules.source import load_yaml

    try:
        doc = load_yaml(path)
    except XiangyueError as err:
        raise XiangyueError(err.diagnostics, kind="unusable") from None
    if not isinstance(doc.data, dict):
        p = doc.pos(())
        raise XiangyueError(Diagnostic(not_object_code, p.file, p.line, p.column), kind="unusable")
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    diags = [error_diagnostic(doc, best_error(e)) for e in validator.iter_errors(doc.data)]
    if diags:
        raise XiangyueError(diags, kind="unusable")
    return doc
