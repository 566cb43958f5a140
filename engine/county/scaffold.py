"""``xiangyue county init DIR``: write a county manifest from a folder of village folders.

A village folder is a folder (anywhere up to three levels below DIR) holding a village
database (``*.db``, ``*.sqlite``, ``*.sqlite3``) and one rule file (``*.yaml``/``*.yml``, not a
policy ``*.policy.yaml`` nor a rule test ``*.test.yaml``); its id is the folder's name, its
name the rule file's ``village:``. Folders without a database (templates, policies, notes)
are not villages. The county template is the file every village's rule file ``extends``
(when they all extend the same one inside DIR), the policy the one ``*.policy.yaml`` in DIR;
both can be named instead. The manifest is checked by loading it back before it replaces
anything; an existing ``county.yaml`` is kept unless ``force``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from xiangyue.county.manifest import County, load_county
from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.i18n import Msg, register

__all__ = ["InitResult", "init_county", "MANIFEST_NAME"]

MANIFEST_NAME = "county.yaml"
DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")
RULE_SUFFIXES = (".yaml", ".yml")
NOT_RULES = (".policy.yaml", ".policy.yml", ".test.yaml", ".test.yml", "_test.yaml", "_test.yml")
MAX_DEPTH = 3

register(
    {
        "E-COUNTY-INIT-NODIR": Msg(
            zh="“{path}”不是文件夹",
            en="'{path}' is not a folder",
            hint_zh="给出放着各村文件夹的县文件夹",
            hint_en="name the county folder that holds the villages' folders",
        ),
        "E-COUNTY-INIT-EMPTY": Msg(
            zh="“{path}”中没有找到村文件夹（含一个数据库文件和一个规则文件的文件夹）",
            en="no village folder (a folder with a database and a rule file) found in '{path}'",
            hint_zh="每个村一个文件夹，放入该村的规则文件和数据库（.db）",
            hint_en="give each village a folder holding its rule file and its database (.db)",
        ),
        "E-COUNTY-INIT-RULES": Msg(
            zh="村文件夹“{folder}”中有 {count} 个规则文件（{files}），应恰好一个",
            en="the village folder '{folder}' holds {count} rule files ({files}); it needs exactly one",
            hint_zh="每个村文件夹只放本村的一个规则文件，或手工编辑 county.yaml",
            hint_en="keep one rule file in each village folder, or write county.yaml by hand",
        ),
        "E-COUNTY-INIT-DBS": Msg(
            zh="村文件夹“{folder}”中有 {count} 个数据库文件（{files}），应恰好一个",
            en="the village folder '{folder}' holds {count} databases ({files}); it needs exactly one",
            hint_zh="每个村文件夹只放本村的一个数据库，或手工编辑 county.yaml",
            hint_en="keep one database in each village folder, or write county.yaml by hand",
        ),
        "E-COUNTY-INIT-EXISTS": Msg(
            zh="“{path}”已存在，未改动",
            en="'{path}' already exists; it was not changed",
            hint_zh="加 --force 覆盖它",
            hint_en="add --force to replace it",
        ),
        "E-COUNTY-INIT-OUTSIDE": Msg(
            zh="“{path}”不在县文件夹“{folder}”中",
            en="'{path}' is not inside the county folder '{folder}'",
            hint_zh="把模板和审查要点文件放进县文件夹",
            hint_en="put the template and the policy inside the county folder",
        ),
    }
)


@dataclass
class InitResult:
    path: str
    county: County
    skipped: list[str] = field(default_factory=list)  # folders without a database


def _rel(folder: Path, path: Path) -> str:
    return path.relative_to(folder).as_posix()


def _village_folders(root: Path) -> tuple[list[Path], list[str]]:
    found: list[Path] = []
    skipped: list[str] = []

    def visit(folder: Path, depth: int) -> None:
        subs = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: p.name)
        for sub in subs:
            files = [p for p in sub.iterdir() if p.is_file()]
            if any(p.suffix.lower() in DB_SUFFIXES for p in files):
                found.append(sub)
            elif any(p.suffix.lower() in (".yaml", ".yml") for p in files):
                skipped.append(_rel(root, sub))  # a village without data yet: not its subfolders
            elif depth < MAX_DEPTH:
                before = len(found)
                visit(sub, depth + 1)
                if len(found) == before:
                    skipped.append(_rel(root, sub))
            else:
                skipped.append(_rel(root, sub))

    visit(root, 1)
    return found, skipped


_ID_BAD = re.compile(r"[\s\"'`:,()（），：/\\<>|?*]+")


def _quote(text: str) -> str:
    """A YAML scalar for ``text``: plain when unambiguous, else double-quoted (JSON escapes
    are YAML escapes)."""
    import json

    if re.fullmatch(r"[A-Za-z0-9_\u4e00-\u9fff][A-Za-z0-9_./\-\u4e00-\u9fff]*", text) and \
            not re.fullmatch(r"(?i)y|n|yes|no|true|false|on|off|null|~|[-+.\d_]+[eE]?[-+\d_]*", text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _top_level(path: Path) -> dict:
    """The rule file's top-level keys ({} when it cannot be read: ``county evaluate`` will
    report that village's errors)."""
    from xiangyue.rules.source import load_yaml

    try:
        data = load_yaml(path).data
    except XiangyueError:
        return {}
    return data if isinstance(data, dict) else {}


def init_county(folder: str | os.PathLike, *, name: str | None = None, template: str | None = None,
                policy: str | None = None, force: bool = False) -> InitResult:
    """Write ``folder/county.yaml`` listing every village folder in ``folder``."""
    root = Path(folder)
    if not root.is_dir():
        raise XiangyueError(Diagnostic("E-COUNTY-INIT-NODIR", file=str(folder), args={"path": str(folder)}))
    root = root.resolve()
    target = root / MANIFEST_NAME
    diags: list[Diagnostic] = []
    if target.exists() and not force:
        diags.append(Diagnostic("E-COUNTY-INIT-EXISTS", file=str(target), args={"path": str(target)}))
    folders, skipped = _village_folders(root)
    if not folders:
        diags.append(Diagnostic("E-COUNTY-INIT-EMPTY", file=str(folder), args={"path": str(folder)}))
    entries: list[tuple[str, str, str, str]] = []
    extends: set[Path] = set()
    counties: set[str] = set()
    for sub in folders:
        files = sorted(p for p in sub.iterdir() if p.is_file())
        dbs = [p for p in files if p.suffix.lower() in DB_SUFFIXES]
        rules = [p for p in files if p.suffix.lower() in RULE_SUFFIXES
                 and not p.name.lower().endswith(NOT_RULES) and p.name != MANIFEST_NAME]
        rel = _rel(root, sub)
        if len(rules) != 1:
            diags.append(Diagnostic("E-COUNTY-INIT-RULES", file=rel, args={
                "folder": rel, "count": len(rules), "files": "、".join(p.name for p in rules) or "-"}))
        if len(dbs) != 1:
            diags.append(Diagnostic("E-COUNTY-INIT-DBS", file=rel, args={
                "folder": rel, "count": len(dbs), "files": "、".join(p.name for p in dbs)}))
        if len(rules) != 1 or len(dbs) != 1:
            continue
        top = _top_level(rules[0])
        village, county, ext = top.get("village"), top.get("county"), top.get("extends")
        if isinstance(county, str):
            counties.add(county)
        for target_text in ([ext] if isinstance(ext, str) else ext if isinstance(ext, list) else []):
            if isinstance(target_text, str):
                extends.add((sub / target_text).resolve())
        vid = _ID_BAD.sub("-", sub.name).lstrip(".") or "village"
        entries.append((vid, village if isinstance(village, str) and village else sub.name,
                        _rel(root, rules[0]), _rel(root, dbs[0])))
    named: dict[str, str | None] = {}
    for key, given in (("template", template), ("policy", policy)):
        if given is None:
            named[key] = None
            continue
        p = Path(given) if os.path.isabs(given) else (Path.cwd() / given)
        p = p.resolve()
        try:
            named[key] = _rel(root, p)
        except ValueError:
            diags.append(Diagnostic("E-COUNTY-INIT-OUTSIDE", file=given, args={"path": given,
                                                                               "folder": str(root)}))
    if diags:
        raise XiangyueError(diags)
    if template is None and len(extends) == 1:
        only = next(iter(extends))
        if only.is_file() and only.is_relative_to(root):
            named["template"] = _rel(root, only)
    if policy is None:
        policies = sorted(p for p in root.rglob("*.policy.y*ml") if len(p.relative_to(root).parts) <= MAX_DEPTH)
        if len(policies) == 1:
            named["policy"] = _rel(root, policies[0])
    county_name = name or (next(iter(counties)) if len(counties) == 1 else root.name)
    lines = [f"# {county_name}县级清单：由 xiangyue county init 生成；路径相对于本文件所在的文件夹。",
             "# County manifest written by `xiangyue county init`; paths are relative to this folder.",
             "xiangyue_county: 1",
             f"county: {_quote(county_name)}"]
    for key in ("template", "policy"):
        if named[key]:
            lines.append(f"{key}: {_quote(named[key])}")  # type: ignore[arg-type]
    lines.append("villages:")
    seen: dict[str, int] = {}
    for vid, vname, rules_rel, db_rel in entries:
        seen[vid] = seen.get(vid, 0) + 1
        uid = vid if seen[vid] == 1 else f"{vid}-{seen[vid]}"
        lines.append(f"  - {{id: {_quote(uid)}, name: {_quote(vname)}, rules: {_quote(rules_rel)}, "
                     f"db: {_quote(db_rel)}}}")
    text = "\n".join(lines) + "\n"
    tmp = root / f".{MANIFEST_NAME}.tmp"
    tmp.write_text(text, encoding="utf-8")
    try:
        load_county(tmp)  # what was written reads back, or nothing is replaced
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return InitResult(str(target), load_county(target), skipped)
