"""Templates: a county keeps a rule file that villages extend (``extends: county.yaml``).

The effective file is the template with the village's file laid over it:

- list sections of items with ids (``rules``, ``categories``, ``checklists``, ``fields``,
  ``household_fields``, ``case_fields``, ``selections``, market goods are not merged) are merged
  by id: an item with a template item's id *replaces* it in place; new items are appended in
  the village's order; ``remove: {rules: [id, ...], ...}`` drops inherited items;
- every other top-level key (name, effective, boards, market, ...) is taken from the village's
  file when it has it, else from the template;
- ``examples`` are not inherited: they prove what *this* file does.

A template may itself extend another (the chain is applied outermost first). A missing
template or a cycle is an error pointing at the ``extends`` line. Every value of the effective
file remembers the file and place it came from (:class:`Effective.where`), so later errors
point into the file where the mistake is.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from xiangyue.errors import Diagnostic, Pos, RulesetError
from xiangyue.i18n import Msg, register
from xiangyue.rules.source import YamlDoc, load_yaml

MERGED_SECTIONS = ("fields", "household_fields", "case_fields", "categories", "rules", "checklists", "selections")
NOT_INHERITED = ("examples", "extends", "remove")
MAX_CHAIN = 8

register(
    {
        "E-TEMPLATE-MISSING": Msg(
            zh="找不到模板文件“{path}”",
            en="template file '{path}' not found",
            hint_zh="extends 的路径相对于本文件所在的文件夹",
            hint_en="the path in extends is relative to this file's folder",
        ),
        "E-TEMPLATE-CYCLE": Msg(
            zh="模板循环引用：{chain}",
            en="templates extend each other in a cycle: {chain}",
            hint_zh="去掉其中一个 extends",
            hint_en="remove one of the extends",
        ),
        "E-TEMPLATE-NOT-RULES": Msg(
            zh="“{path}”不是规则文件，不能用作模板（{why}）",
            en="'{path}' is not a rule file and cannot be extended ({why_en})",
            hint_zh="extends 只能引用县里或村里的规则文件（.yaml）；这个文件的内容不会被读取或显示",
            hint_en="extends may only name a rule file (.yaml); the file's content is neither "
                    "used nor shown",
        ),
        "E-TEMPLATE-DEPTH": Msg(
            zh="模板层数太多（超过 {max} 层）",
            en="too many levels of templates (more than {max})",
        ),
        "E-TEMPLATE-REMOVE": Msg(
            zh="remove 中的“{id}”在模板的 {section} 中不存在",
            en="'{id}' in remove is not in the template's {section}",
            hint_zh="检查编号是否写对：{suggest}",
            hint_en="check the id: {suggest}",
        ),
    }
)


@dataclass
class Effective:
    """The effective rule file and where each of its parts was written."""

    data: dict[str, Any]
    docs: list[YamlDoc]  # outermost template first, the village's file last
    origins: dict[tuple, tuple[YamlDoc, tuple]] = field(default_factory=dict)

    @property
    def main(self) -> YamlDoc:
        return self.docs[-1]

    def where(self, path: tuple) -> tuple[YamlDoc, tuple]:
        """The document and the path in it that ``path`` of the effective data came from."""
        path = tuple(path)
        for cut in range(len(path), -1, -1):
            hit = self.origins.get(path[:cut])
            if hit is not None:
                doc, base = hit
                return doc, base + path[cut:]
        return self.main, path

    def pos(self, path: tuple) -> Pos:
        doc, p = self.where(path)
        return doc.pos(p)

    def key_pos(self, path: tuple) -> Pos:
        doc, p = self.where(path)
        return doc.key_pos(p)

    def raw(self, path: tuple) -> str | None:
        doc, p = self.where(path)
        return doc.raw.get(p)

    def source_line(self, file: str, line: int) -> str | None:
        for doc in self.docs:
            if doc.file == file:
                return doc.source_line(line)
        return None


def _extends_list(doc: YamlDoc) -> list[tuple[str, tuple]]:
    data = doc.data if isinstance(doc.data, dict) else {}
    ext = data.get("extends")
    if isinstance(ext, str):
        return [(ext, ("extends",))]
    if isinstance(ext, list):
        return [(e, ("extends", i)) for i, e in enumerate(ext) if isinstance(e, str)]
    return []


def load_chain(path: str | os.PathLike, display_name: str | None = None, *,
               base_dir: str | os.PathLike | None = None,
               substitute: Mapping[str, str | os.PathLike] | None = None) -> list[YamlDoc]:
    """Load a file and every template it extends: outermost template first, ``path`` last.

    ``base_dir``: the folder the *first* file's ``extends`` paths are relative to, when that is
    not the file's own folder (a ``git diff`` driver reads the old version from a temporary
    file; its templates are found beside the file's place in the repository).
    ``substitute``: templates to read from another file, by the real path of the template
    named in ``extends`` (a county trying a new version of its template on every village).
    """
    chain: list[YamlDoc] = []
    seen: list[str] = []
    swap = {os.path.realpath(k): os.fspath(v) for k, v in (substitute or {}).items()}

    def visit(p: Path, name: str, depth: int, origin: Pos | None) -> None:
        real = os.path.realpath(p)
        if depth and real in swap:
            p, name = Path(swap[real]), swap[real]
            real = os.path.realpath(p)
        if real in seen:
            names = [os.path.basename(s) for s in seen[seen.index(real):]] + [os.path.basename(real)]
            raise RulesetError(Diagnostic("E-TEMPLATE-CYCLE", origin.file, origin.line, origin.column,
                                          args={"chain": " → ".join(names)}))
        if depth > MAX_CHAIN:
            raise RulesetError(Diagnostic("E-TEMPLATE-DEPTH", origin.file, origin.line, origin.column,
                                          args={"max": MAX_CHAIN}))
        doc = load_yaml(p, display_name=name) if origin is None else _load_template(p, name, origin)
        seen.append(real)
        folder = Path(base_dir) if (base_dir is not None and depth == 0) else p.parent
        for target, tpath in _extends_list(doc):
            tp = (folder / target) if not os.path.isabs(target) else Path(target)
            at = doc.pos(tpath)
            if not os.path.lexists(tp):
                raise RulesetError(Diagnostic("E-TEMPLATE-MISSING", at.file, at.line, at.column,
                                              args={"path": target}))
            tname = os.path.normpath(os.path.join(os.path.dirname(name), target)) if not os.path.isabs(target) else target
            visit(tp, tname, depth + 1, at)
        seen.pop()
        chain.append(doc)

    visit(Path(path), display_name or os.fspath(path), 0, None)
    # a template reached twice (diamond) is applied once, at its first place
    unique: list[YamlDoc] = []
    names: set[str] = set()
    for doc in chain:
        if doc.file not in names:
            unique.append(doc)
            names.add(doc.file)
    return unique


_REASONS = {
    "suffix": ("不是 .yaml 文件", "not a .yaml file"),
    "special": ("不是普通文件（文件夹、设备或管道）", "not a regular file (a folder, device or pipe)"),
    "unreadable": ("无法作为 YAML 读取", "cannot be read as YAML"),
    "keys": ("内容不是规则文件的各项", "its content is not the sections of a rule file"),
}


def _refuse(path: str, why: str, at: Pos) -> RulesetError:
    zh, en = _REASONS[why]
    return RulesetError(Diagnostic("E-TEMPLATE-NOT-RULES", at.file, at.line, at.column,
                                   args={"path": path, "why": zh, "why_en": en}))


def _load_template(p: Path, name: str, at: Pos) -> YamlDoc:
    """Load a file an ``extends`` names, only if it is a rule file: a ``.yaml``/``.yml`` regular
    file holding a mapping of rule-file sections. Anything else (a password file, a device, a
    FIFO, a folder) is refused with one error at the ``extends`` line that quotes nothing of
    the file, so a rule file cannot make the tool print a local file."""
    import stat

    from xiangyue.rules.schema import ruleset_schema

    if p.suffix.lower() not in (".yaml", ".yml"):
        raise _refuse(name, "suffix", at)
    try:
        mode = os.stat(p).st_mode
    except OSError:
        raise RulesetError(Diagnostic("E-TEMPLATE-MISSING", at.file, at.line, at.column,
                                      args={"path": name})) from None
    if not stat.S_ISREG(mode):
        raise _refuse(name, "special", at)
    try:
        doc = load_yaml(p, display_name=name)
    except RulesetError as err:
        if any(d.code == "E-FILE-NOTFOUND" for d in err.diagnostics):
            raise RulesetError(Diagnostic("E-TEMPLATE-MISSING", at.file, at.line, at.column,
                                          args={"path": name})) from None
        raise _refuse(name, "unreadable", at) from None
    known = set(ruleset_schema()["properties"])
    if not isinstance(doc.data, dict) or not doc.data or not set(map(str, doc.data)) <= known:
        raise _refuse(name, "keys", at)
    return doc


def merge(docs: list[YamlDoc]) -> tuple[Effective, list[Diagnostic]]:
    """Lay each document over the ones before it (see the module docstring)."""
    data: dict[str, Any] = {}
    origins: dict[tuple, tuple[YamlDoc, tuple]] = {}
    diags: list[Diagnostic] = []
    last = len(docs) - 1
    for level, doc in enumerate(docs):
        src = doc.data if isinstance(doc.data, dict) else {}
        removes = src.get("remove") if isinstance(src.get("remove"), dict) else {}
        for section, ids in removes.items():
            if not isinstance(ids, list):
                continue
            # an id the templates do not have is a mistake even when they lack the whole section
            inherited = data.get(section) if isinstance(data.get(section), list) else []
            present = {item.get("id"): i for i, item in enumerate(inherited) if isinstance(item, dict)}
            for j, rid in enumerate(ids):
                if rid not in present:
                    at = doc.pos(("remove", section, j))
                    close = difflib.get_close_matches(str(rid), [str(k) for k in present], n=3)
                    diags.append(Diagnostic("E-TEMPLATE-REMOVE", at.file, at.line, at.column,
                                            args={"id": rid, "section": section, "suggest": ", ".join(close) or "-"}))
            if section not in data:
                continue
            keep = [i for i, item in enumerate(data[section])
                    if not (isinstance(item, dict) and item.get("id") in ids)]
            _reindex(data, origins, section, keep)
        for key, value in src.items():
            if key in NOT_INHERITED and level != last:
                continue
            if key in ("extends", "remove"):
                continue
            if key in MERGED_SECTIONS and isinstance(value, list) and isinstance(data.get(key), list):
                current = data[key]
                index = {item.get("id"): i for i, item in enumerate(current) if isinstance(item, dict)}
                for j, item in enumerate(value):
                    iid = item.get("id") if isinstance(item, dict) else None
                    if iid is not None and iid in index:
                        i = index[iid]
                        current[i] = item
                    else:
                        current.append(item)
                        i = len(current) - 1
                    origins[(key, i)] = (doc, (key, j))
                continue
            for stale in [p for p in origins if p and p[0] == key]:
                del origins[stale]
            origins[(key,)] = (doc, (key,))
            if key in MERGED_SECTIONS and isinstance(value, list):
                value = list(value)  # merged into later: never mutate the document's own list
                for i in range(len(value)):
                    origins[(key, i)] = (doc, (key, i))
            data[key] = value
    return Effective(data, docs, origins), diags


def _reindex(data: dict, origins: dict, section: str, keep: list[int]) -> None:
    old = data[section]
    data[section] = [old[i] for i in keep]
    moved = {}
    for new_i, old_i in enumerate(keep):
        hit = origins.get((section, old_i))
        if hit is not None:
            moved[(section, new_i)] = hit
    for stale in [p for p in origins if len(p) == 2 and p[0] == section]:
        del origins[stale]
    origins.update(moved)
