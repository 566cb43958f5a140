"""Generate the bundled demo data for 金钩村 (deterministic: the same files every run).

    python rulesets/demo/make_demo.py

writes ``households.csv`` (农户名册), ``records.csv`` (2024 年一、二季度积分记录) and
``cases.csv`` (清单制事项) beside this script, with Chinese headers. The CSVs are committed;
this script only documents how they were made.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20240101

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = ["大山", "秀英", "建国", "桂芳", "志强", "玉兰", "德明", "春梅", "国华", "淑珍", "永福",
         "金凤", "长顺", "丽华", "文斌", "翠花", "宗明", "小芳", "光荣", "玉珍", "福贵", "海燕",
         "德胜", "素琴", "明亮", "红梅", "学军", "凤英", "开元", "月娥"]
GRIDS = [f"第{i}网格" for i in range(1, 6)]
RECORDERS = ["罗文书", "陈网格员", "杨组长", "何代表", "刘网格员"]


def households(rng: random.Random) -> list[dict[str, str]]:
    out, used = [], set()
    for i in range(60):
        while True:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            if name not in used:
                used.add(name)
                break
        out.append({"户号": f"JG{i + 1:03d}", "户主": name, "网格": GRIDS[i // 12]})
    return out


def _day(rng: random.Random, year: int, month: int, lo: int = 1, hi: int = 28) -> dt.date:
    return dt.date(year, month, rng.randint(lo, hi))


def records(rng: random.Random, hhs: list[dict[str, str]]) -> list[dict[str, str]]:
    rows: list[tuple[dt.date, str, str, str, str, str, str]] = []

    def add(day, hh, activity, qty="", grade="", level="", note=""):
        rows.append((day, hh, activity, qty, grade, level, note))

    ids = [h["户号"] for h in hhs]
    keen = set(rng.sample(ids, 10))  # keen volunteers: often over the monthly cap
    for month in range(1, 7):
        for hh in ids:
            # 坝坝会 on the 5th of each month; keen households also attend the grid meetings.
            if rng.random() < 0.65:
                add(dt.date(2024, month, 5), hh, "参加坝坝会")
            if hh in keen:
                for d in (12, 19, 26):
                    if rng.random() < 0.6:
                        add(dt.date(2024, month, d), hh, "参加坝坝会")
            # 志愿服务 (hours); keen volunteers do many.
            for _ in range(rng.choice([0, 0, 1, 1, 2]) + (3 if hh in keen else 0)):
                add(_day(rng, 2024, month), hh, "志愿服务", rng.choice(["1", "2", "2.5", "3", "4", "5"]))
            # 义务劳动 (half-days)
            if rng.random() < 0.4:
                add(_day(rng, 2024, month), hh, "义务劳动", rng.choice(["1", "2", "3", "5"]))
            # 庭院检查 on the 20th; a few re-inspections later in the month (once per month).
            grade = rng.choices(["优", "良", "差"], weights=[5, 4, 1])[0]
            add(dt.date(2024, month, 20), hh, "庭院检查", grade=grade)
            if grade == "差" or rng.random() < 0.03:
                add(dt.date(2024, month, 27), hh, "庭院检查", grade="优", note="整改后复查")
            # 垃圾分类 (bags)
            if rng.random() < 0.8:
                add(_day(rng, 2024, month), hh, "垃圾分类", rng.choice(["2", "3", "4", "6", "8", "12"]))
            if rng.random() < 0.04:
                add(_day(rng, 2024, month), hh, "乱扔垃圾")
        # 孝老爱亲: a few households, some twice a quarter
        for hh in rng.sample(ids, 5):
            add(_day(rng, 2024, month), hh, "孝老爱亲", note="照顾老人")

    # Hand-placed cases every limit and list shows.
    add(dt.date(2024, 3, 31), "JG007", "孝老爱亲", note="季度末")
    add(dt.date(2024, 4, 1), "JG007", "孝老爱亲", note="下季度第一天")
    for d in (3, 9, 14, 18, 23):  # 5 × -5 in March: at most 20 deducted per month
        add(dt.date(2024, 3, d), "JG044", "乱扔垃圾")
    add(dt.date(2024, 4, 12), "JG017", "违反禁渔", note="长江禁渔期垂钓")  # 一票否决
    add(dt.date(2024, 3, 16), "JG029", "焚烧秸秆")
    add(dt.date(2024, 4, 2), "JG052", "焚烧秸秆")
    add(dt.date(2024, 2, 8), "JG011", "获得表彰", level="县级", note="最美家庭")
    add(dt.date(2024, 5, 18), "JG011", "获得表彰", level="省级", note="文明家庭")
    add(dt.date(2024, 1, 26), "JG036", "获得表彰", level="市级", note="孝老爱亲模范")
    add(dt.date(2024, 1, 14), "JG023", "红白喜事简办", note="婚事简办")
    add(dt.date(2024, 2, 20), "JG048", "红白喜事简办", note="丧事简办")
    add(dt.date(2024, 5, 3), "JG048", "红白喜事简办", note="同年第二次")
    add(dt.date(2024, 2, 11), "JG058", "大操大办", note="寿宴超标")
    add(dt.date(2024, 3, 8), "JG031", "志原服务", "2", note="错别字")  # unmatched: a typo
    add(dt.date(2024, 5, 9), "JG040", "垃圾分内", "4", note="错别字")
    add(dt.date(2024, 3, 2), "JG003", "志愿服务", "6", note="满 4 小时")  # over cap in one go

    rows.sort(key=lambda r: (r[0], r[1]))
    out = []
    for i, (day, hh, activity, qty, grade, level, note) in enumerate(rows, 1):
        grid = int(hh[2:]) - 1
        out.append({"记录编号": f"R{day:%y%m}{i:04d}", "户号": hh, "日期": day.isoformat(),
                    "事项": activity, "数量": qty, "等级": grade, "级别": level,
                    "记录人": RECORDERS[grid // 12], "备注": note})
    return out


CASES = [
    # 四议两公开, compliant
    ("C2024-01", "村级重大事项决策", "村道硬化工程", "120000", [
        ("提议", "2024-01-05"), ("商议", "2024-01-08"), ("审议", "2024-01-12"),
        ("决议", "2024-01-20", 46, 55, 41), ("决议公开", "2024-01-25"), ("实施", "2024-03-01"),
        ("结果公开", "2024-03-20")]),
    # quorum not reached, and 决议公开 late
    ("C2024-02", "村级重大事项决策", "文化广场照明", "80000", [
        ("提议", "2024-02-01"), ("商议", "2024-02-03"), ("审议", "2024-02-06"),
        ("决议", "2024-02-10", 30, 55, 28), ("决议公开", "2024-02-20")]),
    # small amount: 一般程序, compliant
    ("C2024-03", "村级重大事项决策", "村委会屋面修缮", "30000", [
        ("商议", "2024-02-01"), ("公开", "2024-02-05"), ("实施", "2024-02-20")]),
    # 财务公开 45 days after 审批: late
    ("C2024-04", "村级财务支出", "办公用品采购", "1200", [
        ("经办", "2024-02-26"), ("监委会审核", "2024-02-28"), ("审批", "2024-03-01"),
        ("财务公开", "2024-04-15")]),
    # in progress
    ("C2024-05", "村级财务支出", "保洁员工资", "8000", [
        ("经办", "2024-06-20"), ("监委会审核", "2024-06-24"), ("审批", "2024-06-26")]),
    # 上报 only 4 days after 公示: too early
    ("C2024-06", "低保申请", "低保申请（第3网格）", "", [
        ("申请", "2024-03-01"), ("入户调查", "2024-03-05"), ("民主评议", "2024-03-10", 40, 55, 30),
        ("公示", "2024-03-12"), ("上报", "2024-03-16")]),
    # compliant
    ("C2024-07", "低保申请", "低保申请（第1网格）", "", [
        ("申请", "2024-04-01"), ("入户调查", "2024-04-03"), ("民主评议", "2024-04-08", 42, 55, 35),
        ("公示", "2024-04-10"), ("上报", "2024-04-18")]),
    ("C2024-08", "证明开具", "居住证明", "", [("申请", "2024-05-06"), ("出具", "2024-05-06")]),
    # 出具 4 days after 申请: late
    ("C2024-09", "证明开具", "亲属关系证明", "", [("申请", "2024-05-10"), ("出具", "2024-05-14")]),
    # in progress
    ("C2024-10", "村级重大事项决策", "产业路拓宽", "200000", [
        ("提议", "2024-06-03"), ("商议", "2024-06-10")]),
    # 商议 skipped
    ("C2024-11", "村级重大事项决策", "集体林地流转", "60000", [
        ("提议", "2024-05-06"), ("审议", "2024-05-15")]),
]


def cases() -> list[dict[str, str]]:
    out = []
    for case_id, item, title, amount, steps in CASES:
        for step in steps:
            name, day, *meeting = step
            attended, eligible, approved = (str(x) for x in meeting) if meeting else ("", "", "")
            out.append({"事项编号": case_id, "清单事项": item, "标题": title, "金额": amount,
                        "步骤": name, "日期": day, "到会人数": attended, "应到人数": eligible,
                        "赞成人数": approved})
    return out


def _write(name: str, rows: list[dict[str, str]]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)
    hhs = households(rng)
    _write("households.csv", hhs)
    _write("records.csv", records(rng, hhs))
    _write("cases.csv", cases())


if __name__ == "__main__":
    main()
