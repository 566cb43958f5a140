"""A small generated county for the county tests: village folders with a rule file (a copy of
the reference 金钩村 file, or of 丰隆村's file extending the county template) and a database
of generated records, imported as a clerk imports them."""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"
FENGLONG = ROOT / "rulesets" / "examples" / "fenglong.yaml"
TEMPLATE = ROOT / "rulesets" / "templates" / "jiangyang-county.yaml"
POLICY = ROOT / "rulesets" / "policies" / "jiangyang-county.policy.yaml"

JINGOU_ACTS = ["志愿服务", "义务劳动", "参加坝坝会", "庭院检查", "垃圾分类", "乱扔垃圾", "焚烧秸秆",
               "违反禁渔", "获得表彰", "孝老爱亲", "红白喜事简办", "大操大办", "打麻将"]  # the last: unmatched
TEMPLATE_ACTS = ["志愿服务", "义务劳动", "庭院检查", "乱扔垃圾", "焚烧秸秆", "违反禁渔", "红白喜事简办",
                 "乱倒建筑垃圾", "打麻将"]


@dataclass(frozen=True)
class Spec:
    id: str
    name: str
    kind: str  # jingou | template
    households: int
    records: int
    seed: int


DEFAULT = (Spec("jingou", "金钩村", "jingou", 30, 400, 1),
           Spec("shuangqiao", "双桥村", "jingou", 24, 300, 2),
           Spec("fenglong", "丰隆村", "template", 20, 260, 3),
           Spec("baisha", "白沙村", "template", 26, 320, 4))


def write_rules(spec: Spec, folder: Path) -> Path:
    if spec.kind == "jingou":
        text = JINGOU.read_text(encoding="utf-8").replace("village: 金钩村", f"village: {spec.name}", 1)
    else:
        text = FENGLONG.read_text(encoding="utf-8").replace(
            "extends: ../templates/jiangyang-county.yaml", "extends: ../../templates/jiangyang-county.yaml", 1
        ).replace("village: 丰隆村", f"village: {spec.name}", 1)
    path = folder / f"{spec.id}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_tables(spec: Spec, folder: Path) -> tuple[Path, Path]:
    rng = random.Random(spec.seed)
    prefix = spec.id[:2].upper()
    households = [f"{prefix}{i:03d}" for i in range(1, spec.households + 1)]
    hpath = folder / "households.csv"
    with hpath.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["户号", "户主", "网格"])
        for i, h in enumerate(households):
            w.writerow([h, f"户主{i + 1}", f"第{i % 3 + 1}网格"])
    acts = JINGOU_ACTS if spec.kind == "jingou" else TEMPLATE_ACTS
    weights = [8 if a in ("志愿服务", "义务劳动", "垃圾分类", "参加坝坝会", "庭院检查") else
               0.3 if a in ("违反禁渔", "焚烧秸秆") else 1 for a in acts]
    header = ["记录编号", "户号", "日期", "事项", "数量", "等级"] + (["级别"] if spec.kind == "jingou" else [])
    rpath = folder / "records.csv"
    start = dt.date(2024, 1, 1)
    with rpath.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header + ["记录人", "备注"])
        for n in range(spec.records):
            a = rng.choices(acts, weights)[0]
            qty = rng.choice(["1", "2", "3", "4", "0.5", "6"]) if a in ("志愿服务", "义务劳动", "垃圾分类") else ""
            grade = rng.choice(["优", "良", "差"]) if a == "庭院检查" else ""
            row = [f"R{n + 1:05d}", rng.choice(households), (start + dt.timedelta(days=rng.randrange(366))).isoformat(),
                   a, qty, grade]
            if spec.kind == "jingou":
                row.append(rng.choice(["县级", "市级", "省级"]) if a == "获得表彰" else "")
            w.writerow(row + ["文书", ""])
    return hpath, rpath


def make_county(root: Path, specs: tuple[Spec, ...] = DEFAULT) -> Path:
    """``root/county.yaml`` with the villages of ``specs`` under ``root/villages``."""
    from xiangyue import Village

    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "policies").mkdir(exist_ok=True)
    shutil.copy(TEMPLATE, root / "templates" / "jiangyang-county.yaml")
    shutil.copy(POLICY, root / "policies" / "jiangyang-county.policy.yaml")
    lines = ["xiangyue_county: 1", "county: 江阳区", "template: templates/jiangyang-county.yaml",
             "policy: policies/jiangyang-county.policy.yaml", "villages:"]
    for spec in specs:
        folder = root / "villages" / spec.id
        folder.mkdir(parents=True, exist_ok=True)
        rules = write_rules(spec, folder)
        hpath, rpath = write_tables(spec, folder)
        village = Village(folder / "xiangyue.db", rules)
        village.import_households(hpath)
        village.import_records(rpath)
        lines.append(f"  - {{id: {spec.id}, name: {spec.name}, rules: villages/{spec.id}/{spec.id}.yaml, "
                     f"db: villages/{spec.id}/xiangyue.db}}")
    manifest = root / "county.yaml"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest
