"""The county manifest (``county.yaml``): which villages a county has, and where their files are.

::

    xiangyue_county: 1
    county: 江阳区
    template: templates/jiangyang-county.yaml     # optional: the template villages extend
    policy: policies/jiangyang-county.policy.yaml  # optional: the county guardrails
    villages:
      - {id: jingou, name: 金钩村, rules: villages/jingou/jingou.yaml, db: villages/jingou/xiangyue.db}

The file is read like a rule file (:mod:`xiangyue.rules.source`, checked against
``schemas/county.schema.json``): every problem at its line and column, all reported together.
Paths are relative to the manifest's folder and may not leave it (no absolute path, no ``..``
above the folder): a county folder moved or shared with the workers keeps working. A ``\\``
in a path (written on Windows) is read as ``/``.

Whether the files exist is not a manifest error: a village whose rule file or database is
missing is reported with the other failures of that village, and the other villages go on.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from xiangyue.errors import Diagnostic, Pos, XiangyueError
from xiangyue.i18n import Msg, register
from xiangyue.rules.source import YamlDoc

__all__ = ["County", "VillageEntry", "load_county", "county_schema"]

register(
    {
        "E-COUNTY-NOT-OBJECT": Msg(
            zh="县级清单文件的最外层应是“键: 值”的映射（county、villages 等）",
            en="the top level of a county manifest must be a mapping (county, villages, ...)",
            hint_zh="参考 docs/county.md，或用 xiangyue county init 文件夹 生成",
            hint_en="see docs/county.md, or write one with xiangyue county init FOLDER",
        ),
        "E-COUNTY-PATH-OUTSIDE": Msg(
            zh="路径“{path}”在县级清单所在的文件夹之外",
            en="the path '{path}' leaves the folder of the county manifest",
            hint_zh="路径相对于清单所在的文件夹书写，不能是绝对路径，也不能用 .. 跳出这个文件夹；"
            "把村的文件夹放进县的文件夹",
            hint_en="write paths relative to the manifest's folder, neither absolute nor going "
            "above it with ..; put the villages' folders inside the county's folder",
        ),
        "E-COUNTY-DUPLICATE-ID": Msg(
            zh="村编号“{id}”重复（第一次出现在第 {first} 行）",
            en="the village id '{id}' is used twice (first on line {first})",
            hint_zh="每个村用不同的编号",
            hint_en="give every village its own id",
        ),
        "E-COUNTY-DUPLICATE-DB": Msg(
            zh="数据库“{path}”已被第 {first} 行的村使用",
            en="the database '{path}' is already the database of the village on line {first}",
            hint_zh="每个村有自己的数据库文件",
            hint_en="every village has a database file of its own",
        ),
    }
)


@dataclass(frozen=True)
class VillageEntry:
    """One village of the manifest. ``rules`` and ``db`` are absolute paths (the same on every
    machine that mounts the county folder at the same place); ``pos`` is the entry's place in
    the manifest."""

    id: str
    name: str
    rules: str
    db: str
    pos: Pos

    def to_json(self) -> dict[str, Any]:
        return {"village": self.id, "name": self.name, "rules": self.rules, "db": self.db}


@dataclass(frozen=True)
class County:
    """A loaded, checked manifest."""

    file: str
    folder: str  # absolute
    name: str
    villages: tuple[VillageEntry, ...]
    template: str | None = None
    template_pos: Pos | None = None
    policy: str | None = None
    policy_pos: Pos | None = None

    def village(self, vid: str) -> VillageEntry | None:
        return next((v for v in self.villages if v.id == vid), None)


@functools.lru_cache(maxsize=1)
def county_schema() -> dict[str, Any]:
    text = resources.files("xiangyue.schemas").joinpath("county.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


_DRIVE_RE = re.compile(r"^[A-Za-z]:")


def inside(folder: str, written: str) -> str | None:
    """``written`` (relative, ``/`` or ``\\`` separated) resolved in ``folder``; None when it is
    absolute or climbs out of ``folder``."""
    text = written.replace("\\", "/")
    if text.startswith("/") or _DRIVE_RE.match(text):
        return None
    norm = posixpath.normpath(text)
    if norm == ".." or norm.startswith("../"):
        return None
    return os.path.join(folder, *norm.split("/"))


def load_county(path: str | os.PathLike) -> County:
    """Load and check a county manifest; raise :class:`XiangyueError` (exit 2) listing every
    problem, each at its line and column."""
    from xiangyue.rules.schema import load_checked_yaml

    doc = load_checked_yaml(path, county_schema(), "E-COUNTY-NOT-OBJECT")
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    diags: list[Diagnostic] = []

    def resolved(key_path: tuple) -> str:
        written = _get(doc.data, key_path)
        full = inside(folder, written)
        if full is None:
            diags.append(_at(doc, "E-COUNTY-PATH-OUTSIDE", key_path, path=written))
            return ""
        return full

    data = doc.data
    template = resolved(("template",)) if "template" in data else None
    policy = resolved(("policy",)) if "policy" in data else None
    villages: list[VillageEntry] = []
    ids: dict[str, int] = {}
    dbs: dict[str, int] = {}
    for i, v in enumerate(data["villages"]):
        rules = resolved(("villages", i, "rules"))
        db = resolved(("villages", i, "db"))
        pos = doc.pos(("villages", i))
        vid = v["id"]
        if vid in ids:
            diags.append(_at(doc, "E-COUNTY-DUPLICATE-ID", ("villages", i, "id"), id=vid, first=ids[vid]))
        else:
            ids[vid] = pos.line
        key = os.path.normcase(os.path.normpath(db))
        if db and key in dbs:
            diags.append(_at(doc, "E-COUNTY-DUPLICATE-DB", ("villages", i, "db"), path=v["db"],
                             first=dbs[key]))
        elif db:
            dbs[key] = pos.line
        villages.append(VillageEntry(vid, v.get("name") or vid, rules, db, pos))
    if diags:
        raise XiangyueError(sorted(diags, key=Diagnostic.sort_key))
    return County(doc.file, folder, data["county"], tuple(villages),
                  template, doc.pos(("template",)) if template else None,
                  policy, doc.pos(("policy",)) if policy else None)


def _get(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def _at(doc: YamlDoc, code: str, where: tuple, **args: Any) -> Diagnostic:
    p = doc.pos(where)
    raw = doc.raw.get(where) or ""
    return Diagnostic(code, p.file, p.line, p.column, args=args, source_line=doc.source_line(p.line),
                      span=max(1, len(raw)))
