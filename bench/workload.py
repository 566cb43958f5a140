"""The benchmark's workloads, generated deterministically (same seed, same files).

* ``synthetic``: a 40-rule file in our rule language over 40 activity types (constants,
  ``k × 数量``, lookup tables, ``且 数量 >= 4`` conditions, ``属于`` lists; half the rules
  with monthly caps or deduction caps, a category cap, once-per-month/quarter/year rules,
  one veto rule) and records over one year.
* ``jingou``: the reference village's rule file (``rulesets/examples/jingou.yaml``) and records
  of its own activities.

Records are written as a CSV file (the clerk's spreadsheet) with a small share of typos (an
activity no rule knows), in date order as a village collects them month by month.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JINGOU = ROOT / "rulesets" / "examples" / "jingou.yaml"

YEAR = 2024
N_ACTIVITIES = 40
N_CATEGORIES = 5


def activity(i: int) -> str:
    return f"事项{i + 1:02d}"


def synthetic_ruleset() -> str:
    """The 40-rule file (YAML text)."""
    out = [
        "xiangyue: 1",
        "village: 基准村",
        "name: 基准村积分细则（性能基准）",
        'version: "bench.1"',
        "effective:",
        f"  from: {YEAR}-01-01",
        f"  until: {YEAR}-12-31",
        "unit: household",
        "matching: all",
        "fields:",
        "  - {id: activity, label: 事项, type: text, required: true}",
        "  - {id: quantity, label: 数量, type: decimal, default: 1, min: 0}",
        "  - {id: grade, label: 等级, type: text, values: [优, 良, 差]}",
        "  - {id: recorded_by, label: 记录人, type: text}",
        "categories:",
        "  - id: 类别1",
        "    limit: {max: 40, per: month}",
    ]
    out += [f"  - id: 类别{c + 1}" for c in range(1, N_CATEGORIES)]
    out.append("rules:")
    for i in range(N_ACTIVITIES):
        a = activity(i)
        kind = i % 8
        cat = f"类别{i % N_CATEGORIES + 1}"
        rule = [f"  - id: r{i + 1:02d}", f"    name: 规则{i + 1:02d}", f"    category: {cat}"]
        if i >= 36:  # four bonus rules on activities that have their own rule too
            base = activity(i - 36)
            rule.append(f'    when: 事项 == "{base}" 且 数量 >= 4')
            rule.append("    points: 2")
            out += rule
            continue
        if i >= 32:  # the last activities are read through `属于` lists
            rule.append(f'    when: 事项 属于 ["{a}", "{activity(i + 4)}"]')
        else:
            rule.append(f'    when: 事项 == "{a}"')
        if kind == 0:
            rule += ["    points: 2", "    limit: {max: 10, per: month}"]
        elif kind == 1:
            rule += ["    points: 1.5 × 数量", "    limit: {max: 12, per: month}"]
        elif kind == 2:
            rule += ['    points: 按 等级 {"优" → 5, "良" → 2, "差" → -3}', "    once: month"]
        elif kind == 3:
            rule += ["    points: -5", "    deduction_limit: {max: 20, per: month}"]
        elif kind == 4:
            rule += ["    points: 0.5 × 数量"]
        elif kind == 5:
            rule += ["    points: 3", "    once: quarter"]
        elif kind == 6:
            rule += ["    points: 2 × 数量", "    limit: {max: 8, per: month}"]
        elif i == 7:
            rule += ["    points: -20", "    veto: year"]
        else:
            rule += ["    points: 10", "    once: year"]
        out += rule
    return "\n".join(out) + "\n"


HEADER = ["记录编号", "户号", "日期", "事项", "数量", "等级", "级别", "记录人", "备注"]
SYN_HEADER = ["记录编号", "户号", "日期", "事项", "数量", "等级", "记录人"]

JINGOU_ACTIVITIES = [  # (activity, weight)
    ("志愿服务", 20), ("义务劳动", 15), ("参加坝坝会", 20), ("庭院检查", 10), ("垃圾分类", 20),
    ("乱扔垃圾", 4), ("焚烧秸秆", 1), ("违反禁渔", 0.05), ("获得表彰", 1), ("孝老爱亲", 4),
    ("红白喜事简办", 1), ("大操大办", 1),
]
QUANTITIES = ["1", "2", "3", "4", "0.5", "1.5", "2.5", "", "6"]
GRADES = ["优", "良", "差"]
LEVELS = ["县级", "市级", "省级", "国家级"]
TYPO = 0.001  # share of records with an activity no rule knows


def _days(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=d) for d in range((dt.date(year + 1, 1, 1) - first).days)]


def write_records(path: Path, kind: str, n: int, households: int, seed: int = 20240101) -> Path:
    """``n`` records of ``kind`` ("synthetic" or "jingou") for ``households`` households."""
    rng = random.Random(seed)
    days = _days(YEAR)
    per_day = [n // len(days) + (1 if d < n % len(days) else 0) for d in range(len(days))]
    hh = [f"H{h:06d}" for h in range(households)]
    if kind == "jingou":
        acts = [a for a, _ in JINGOU_ACTIVITIES]
        weights = [w for _, w in JINGOU_ACTIVITIES]
        header = HEADER
    else:
        acts = [activity(i) for i in range(N_ACTIVITIES)]
        weights = [0.05 if i == 7 else 1 for i in range(len(acts))]  # the veto is rare
        header = SYN_HEADER
    rid = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for day, count in zip(days, per_day):
            iso = day.isoformat()
            chosen = rng.choices(acts, weights, k=count)
            homes = rng.choices(hh, k=count)
            qty = rng.choices(QUANTITIES, k=count)
            rows = []
            for a, h, q in zip(chosen, homes, qty):
                rid += 1
                if rng.random() < TYPO:
                    a = a[:-1] + "物"
                grade = level = ""
                if kind == "jingou":
                    if a == "庭院检查":
                        grade = rng.choice(GRADES)
                    elif a == "获得表彰":
                        level = rng.choice(LEVELS)
                    if a not in ("志愿服务", "义务劳动", "垃圾分类"):
                        q = ""
                    rows.append((f"{rid:09d}", h, iso, a, q, grade, level, "罗文书", ""))
                else:
                    if a.endswith(("03", "11", "19", "27", "35", "39")):  # lookup rules
                        grade = rng.choice(GRADES)
                    rows.append((f"{rid:09d}", h, iso, a, q, grade, "网格员"))
            w.writerows(rows)
    return path


def ruleset_path(kind: str, workdir: Path) -> Path:
    if kind == "jingou":
        return JINGOU
    p = workdir / "synthetic.yaml"
    text = synthetic_ruleset()
    if not p.exists() or p.read_text(encoding="utf-8") != text:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return p
