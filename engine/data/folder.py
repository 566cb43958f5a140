"""``xiangyue init``: a working folder for a village, ready to edit and run.

The folder gets:

* ``<village>.yaml``, the rule file to edit: the reference village's rules (金钩村) renamed
  for the village, or, with a county template, a short file that ``extends`` a copy of the
  template (kept beside it, so the folder is complete on its own);
* ``示例数据/``: the reference village's example register, records and cases, to try the
  commands on before the village's own data exist;
* ``导入模板/``: the import workbooks of ``xiangyue template`` (户籍名册, 积分记录,
  清单事项, 兑换登记), to fill in Excel;
* ``使用说明.md``: the monthly routine in ten lines.

The new rule file is loaded and its examples run before :func:`init_folder` returns, so a
folder that ``init`` made always validates and passes ``xiangyue test``. Nothing is
overwritten: a folder that already holds the files is refused.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from xiangyue.errors import Diagnostic, InputError
from xiangyue.i18n import Msg, register
from xiangyue.report.output import atomic_write, safe_filename

__all__ = ["InitResult", "init_folder"]

register({
    "E-INIT-EXISTS": Msg(
        zh="{path} 已存在，init 不会覆盖它", en="{path} already exists; init does not overwrite it",
        hint_zh="换一个文件夹，或先把旧文件移走", hint_en="choose another folder, or move the old files away"),
    "E-INIT-VILLAGE": Msg(
        zh="村名不能为空", en="the village name is empty",
        hint_zh="例如 --village 丰隆村", hint_en="e.g. --village 丰隆村"),
})


@dataclass
class InitResult:
    folder: str
    ruleset: str
    files: list[str] = field(default_factory=list)
    examples: int = 0

    def to_json(self) -> dict[str, object]:
        return {"folder": self.folder, "ruleset": self.ruleset, "files": list(self.files),
                "examples": self.examples}


_GUIDE = """# {village} 使用说明

这个文件夹是 {village} 的积分制工作文件夹，由 `xiangyue init` 生成。

1. **改规则**：用记事本或 VS Code 打开 `{rules}`，按村民会议通过的积分细则修改。
   每改一处，运行 `xiangyue validate {rules}` 检查；运行 `xiangyue test {rules}` 核对算例。
2. **导入户籍名册**：在 Excel 里填好 `导入模板/户籍名册.xlsx`（第 2 行是示例，填写时覆盖），然后
   `xiangyue households import 导入模板/户籍名册.xlsx -r {rules}`。
3. **每月导入积分记录**：`xiangyue records import 积分记录.xlsx -r {rules}`。
4. **计分**：`xiangyue evaluate --period 2024-Q1`；某户的每一分：`xiangyue explain 户号 --period 2024-Q1`。
5. **红黑榜预览**：`xiangyue board --period 2024-Q1`（`--format html` 生成的预览页标有“预览·未公示”）。
6. **公示**：`xiangyue publish --period 2024-Q1 --date 2024-04-03 --format pdf --output-dir 公示`，
   打印 `公示` 文件夹里的 PDF 张贴。公示期、落款单位、联系电话在规则文件的 `notice:` 一节。
7. **积分存折**：`xiangyue passbook 户号 --period 2024 --format pdf --output 存折.pdf`。
8. **积分细则公示表**：`xiangyue rules-notice --format pdf --output 积分细则.pdf`。

先用示例数据试一试：
`xiangyue households import 示例数据/households.csv -r {rules} --db 试用.db`，
`xiangyue records import 示例数据/records.csv -r {rules} --db 试用.db`，
`xiangyue board --period 2024-Q1 --db 试用.db`。

所有命令加 `--help` 可看说明；`--lang en` 用英文。
"""


def _reference_rules() -> str:
    return resources.files("xiangyue.rulesets").joinpath("examples/jingou.yaml").read_text(
        encoding="utf-8")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _village_rules(village: str, town: str | None, county: str | None) -> str:
    """The reference village's rule file, renamed for ``village``."""
    text = _reference_rules()
    text = re.sub(r"(?m)^village: .*$", f"village: {_quoted(village)}", text, count=1)
    text = re.sub(r"(?m)^name: .*$", f"name: {_quoted(village + '积分制管理细则')}", text, count=1)
    for key, value in (("town", town), ("county", county)):
        if value:
            text = re.sub(rf"(?m)^{key}: .*$", f"{key}: {_quoted(value)}", text, count=1)
        else:
            text = re.sub(rf"(?m)^{key}: .*\n", "", text, count=1)
    header = (f"# {village}积分制管理细则（由 xiangyue init 根据金钩村示例生成，请按本村村民会议"
              f"通过的细则修改）\n")
    return header + text


def _extending_rules(village: str, template: str, town: str | None, county: str | None) -> str:
    year = dt.date.today().year
    lines = [f"# {village}积分制管理细则：在模板 {template} 的基础上修改（由 xiangyue init 生成）",
             f"extends: {_quoted(template)}", "xiangyue: 1", f"village: {_quoted(village)}"]
    if town:
        lines.append(f"town: {_quoted(town)}")
    if county:
        lines.append(f"county: {_quoted(county)}")
    lines += [f"name: {_quoted(village + '积分制管理细则')}", f'version: "{year}.1"',
              "effective:", f"  from: {year}-01-01",
              "# 本村增加的规则写在 rules: 下；与模板编号相同的规则会替换模板的规则",
              "# 不用的模板规则写在 remove: 下，例如 remove: {rules: [banquet]}",
              "notice:", "  objection_days: 7",
              "  signatories: [村党组织, 村民委员会, 村务监督委员会]", ""]
    return "\n".join(lines)


def init_folder(folder: str | os.PathLike[str], village: str, *, template: str | None = None,
                town: str | None = None, county: str | None = None) -> InitResult:
    """Make the working folder (see the module docstring); raise :class:`InputError` when a
    file would be overwritten, or the template or the result is not a valid rule file."""
    from xiangyue.review.ruletest import run_tests
    from xiangyue.rules.pipeline import load_ruleset

    village = (village or "").strip()
    if not village:
        raise InputError(Diagnostic("E-INIT-VILLAGE", file="--village"))
    out = Path(folder)
    rules_name = safe_filename(f"{village}.yaml", fallback="village.yaml")
    rules = out / rules_name
    planned = [rules, out / "使用说明.md", out / "示例数据", out / "导入模板"]
    tpl_copy = None
    if template is not None:
        load_ruleset(template)  # the template must itself be a valid rule file
        tpl_copy = out / safe_filename(Path(template).name)
        planned.append(tpl_copy)
    for p in planned:
        if p.exists():
            raise InputError(Diagnostic("E-INIT-EXISTS", file=str(p), args={"path": str(p)}))
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if tpl_copy is not None:
        shutil.copyfile(template, tpl_copy)  # type: ignore[arg-type]
        written.append(str(tpl_copy))
        atomic_write(rules, _extending_rules(village, tpl_copy.name, town, county))
    else:
        atomic_write(rules, _village_rules(village, town, county))
    written.append(str(rules))
    try:
        rs = load_ruleset(rules)
        report = run_tests([str(rules)])
        if not report.ok:  # pragma: no cover - the shipped rules pass their own examples
            raise RuntimeError(f"the new rule file fails {len(report.failed)} example(s)")
    except BaseException:
        for p in written:  # nothing half-made is left behind
            os.unlink(p)
        raise
    examples = out / "示例数据"
    examples.mkdir()
    demo = resources.files("xiangyue.rulesets").joinpath("demo")
    for name in ("households.csv", "records.csv", "cases.csv"):
        target = examples / name
        target.write_bytes(demo.joinpath(name).read_bytes())
        written.append(str(target))
    forms = out / "导入模板"
    forms.mkdir()
    # the import workbooks of `xiangyue template`: headers, drop-downs, an example row, 说明
    from xiangyue.report.import_templates import import_template

    for name, kind in (("户籍名册.xlsx", "households"), ("积分记录.xlsx", "records"),
                       ("清单事项.xlsx", "cases"), ("兑换登记.xlsx", "redemptions")):
        atomic_write(forms / name, import_template(rs, kind))
        written.append(str(forms / name))
    atomic_write(out / "使用说明.md", _GUIDE.format(village=village, rules=rules_name))
    written.append(str(out / "使用说明.md"))
    return InitResult(str(out), str(rules), written, len(report.results))
