"""Writes ruleset.schema.json (the schema is data; this script only keeps it readable to edit).

Run: python schemas/make_schema.py   — a test checks the committed JSON equals this output.
"""

import json
from pathlib import Path

ID = r"^[^\s\"'`：:，,（）()\[\]{}#]+$"
PERIOD = {"enum": ["month", "quarter", "year", "月", "季度", "季", "年"],
          "description": "month 月 | quarter 季度 | year 年"}
LIMIT_PERIOD = {"enum": ["day", "week", "month", "quarter", "year", "ever",
                         "日", "天", "周", "月", "季度", "季", "年", "累计"],
                "description": "day 日/天 | week 周 (ISO, Monday first) | month 月 | quarter 季度 | year 年 | "
                               "ever 累计 (the whole history from effective.from)"}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "YYYY-MM-DD"}
NUM = {"type": "number"}
POS_NUM = {"type": "number", "exclusiveMinimum": 0}
EXPR = {"type": ["string", "number", "boolean"], "minLength": 1,
        "description": "An expression of the xiangyue language (docs/expressions.md)"}
TEXT = {"type": "string", "minLength": 1}


def obj(props, required=(), **extra):
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


ONE_LIMIT = obj({"max": POS_NUM, "times": {"type": "integer", "minimum": 1},
                 "per": {"$ref": "#/$defs/limit_period"}}, ["per"],
                description="At most `max` points, or at most `times` records, per `per` (per household "
                            "or person); exactly one of max and times. 每期最多多少分，或每期限几次。")
LIMIT = {"oneOf": [ONE_LIMIT, {"type": "array", "items": ONE_LIMIT, "minItems": 1}],
         "description": "one limit, or a list of limits that all apply"}

FIELD = obj(
    {
        "id": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
               "description": "ASCII name of the column, e.g. quantity"},
        "label": {**TEXT, "description": "Chinese name, e.g. 数量"},
        "aliases": {"type": "array", "items": TEXT, "uniqueItems": True},
        "type": {"enum": ["text", "decimal", "integer", "date", "boolean"]},
        "required": {"type": "boolean"},
        "values": {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1, "uniqueItems": True,
                   "description": "allowed values (text fields)"},
        "default": {"type": ["string", "number", "boolean"]},
        "min": NUM,
        "max": NUM,
        "description": {"type": "string"},
    },
    ["id", "type"],
)

RULE = obj(
    {
        "id": {"type": "string", "pattern": ID, "description": "unique id of the rule, e.g. volunteer"},
        "name": {**TEXT, "description": "the rule's Chinese name, e.g. 志愿服务"},
        "category": TEXT,
        "description": {"type": "string"},
        "when": EXPR,
        "points": EXPR,
        "limit": LIMIT,
        "deduction_limit": LIMIT,
        "once": {"$ref": "#/$defs/limit_period"},
        "escalation": obj({"per": {"$ref": "#/$defs/limit_period"},
                           "steps": {"type": "array", "items": NUM, "minItems": 1}}, ["per", "steps"]),
        "highest_only": {"$ref": "#/$defs/limit_period"},
        "veto": {"$ref": "#/$defs/veto_period"},
    },
    ["id"],
)

TIE_BREAKER = {"enum": ["fewer_deductions", "more_records", "earlier_last_record", "higher_total", "more_earned",
                        "扣分少", "记录多", "最后记录早", "总分高", "得分高"]}
BOARD_RULE = obj(
    {"size": {"oneOf": [{"type": "integer", "minimum": 0},
                        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$"}],
              "description": "ranks listed, or a percentage of the households ranked (rounded up), e.g. 10%"},
     "min": {"type": "integer", "minimum": 0}, "max": {"type": "integer", "minimum": 0},
     "rank_by": {"enum": ["total", "earned", "总分", "得分"]},
     "ties": {"oneOf": [{"enum": ["all", "全部"]}, {"type": "array", "items": TIE_BREAKER, "minItems": 1}],
              "description": "all: every household tied at the last rank is listed; or tie-breakers, in order"}},
    description="a ranked board: size (N or N%), min, max, rank_by, ties")

DEADLINE = obj({"days": {"type": "integer", "minimum": 0}, "after": TEXT,
                "calendar": {"enum": ["calendar", "working", "自然日", "工作日"]}}, ["days", "after"])
FRACTION = {"type": ["string", "number"], "pattern": r"^\s*\d+\s*/\s*\d+\s*$",
            "description": "a fraction such as 2/3, or a decimal such as 0.5"}
STEP = {
    "oneOf": [
        {**TEXT, "description": "a step with no conditions, by name"},
        obj({"name": TEXT, "meeting": obj({"quorum": FRACTION, "majority": FRACTION}, ["quorum", "majority"]),
             "within": DEADLINE, "not_before": DEADLINE, "description": {"type": "string"}}, ["name"]),
    ]
}
PROCEDURE = obj({"id": {"type": "string", "pattern": ID}, "name": TEXT, "when": EXPR,
                 "steps": {"type": "array", "items": STEP, "minItems": 1}}, ["steps"])
SCHEDULE = obj(
    {
        "every": {"type": "string", "minLength": 1,
                  "examples": ["month", "quarter", "half_year", "year", "每月", "每季度", "每半年", "每年"],
                  "description": "month 每月 | quarter 每季度 | half_year 每半年 | year 每年"},
        "due": obj({"days": {"type": "integer", "minimum": 0,
                             "description": "days after the anchor; 0 = on the anchor day"},
                    "after": {"enum": ["period_end", "period_start"],
                              "description": "count from the period's last day (period_end) or first day"},
                    "calendar": {"enum": ["calendar", "working"]}},
                   ["days"], description="the due date of each period (default: the period's last day)"),
        "description": {"type": "string"},
    },
    ["every"],
    description="A recurring duty (村级事务清单): every period must be fulfilled by a case.",
)
ITEM = obj({"id": {"type": "string", "pattern": ID}, "name": TEXT, "list": TEXT, "description": {"type": "string"},
            "procedures": {"type": "array", "items": PROCEDURE, "minItems": 1},
            "schedule": SCHEDULE}, ["id", "name"])

ROW = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
EXAMPLE = obj(
    {
        "name": TEXT,
        "period": {"type": ["string", "integer"]},
        "as_of": DATE,
        "households": {"type": "array", "items": ROW},
        "records": {"type": "array", "items": ROW},
        "cases": {"type": "array", "items": ROW},
        "expect": {"type": "object", "description": "totals / by_rule / vetoed / board / cases / duties (docs/format.md#examples)"},
    },
    ["name", "expect"],
)

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://xiangyue.example/schemas/ruleset.schema.json",
    "title": "xiangyue rule file (乡约规则文件)",
    "description": "A village's points rules (积分细则) and checklists (清单). See docs/format.md.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "xiangyue": {"const": 1, "description": "format version of this file"},
        "extends": {"oneOf": [TEXT, {"type": "array", "items": TEXT, "minItems": 1}],
                    "description": "template file(s) this file extends, relative to this file"},
        "remove": obj({"rules": {"type": "array", "items": TEXT}, "categories": {"type": "array", "items": TEXT},
                       "checklists": {"type": "array", "items": TEXT}, "fields": {"type": "array", "items": TEXT},
                       "selections": {"type": "array", "items": TEXT}},
                      description="ids inherited from a template that this file removes"),
        "village": TEXT,
        "town": TEXT,
        "county": TEXT,
        "name": TEXT,
        "version": {"type": ["string", "number"]},
        "description": {"type": "string"},
        "effective": obj({"from": DATE, "until": DATE}),
        "adopted": obj({"meeting": TEXT, "date": DATE, "attended": {"type": "integer", "minimum": 0},
                        "eligible": {"type": "integer", "minimum": 0},
                        "approved": {"type": "integer", "minimum": 0}, "note": {"type": "string"}}),
        "unit": {"enum": ["household", "person", "户", "人"]},
        "matching": {"enum": ["all", "first", "全部", "首条"]},
        "counted_when": {**EXPR, "description": "only records meeting this condition are scored and counted; "
                                                "the others are listed as pending (e.g. 状态 == \"已审核\")"},
        "fields": {"type": "array", "items": FIELD},
        "household_fields": {"type": "array", "items": FIELD},
        "case_fields": {"type": "array", "items": FIELD},
        "categories": {"type": "array", "items": obj({"id": TEXT, "name": TEXT, "limit": LIMIT,
                                                        "deduction_limit": LIMIT, "description": {"type": "string"}},
                                                       ["id"])},
        "base": obj({"points": NUM, "per": {"$ref": "#/$defs/period"}}, ["points", "per"]),
        "rules": {"type": "array", "items": RULE},
        "tables": {"type": "array", "description": "named lookup tables, read in expressions with 查表(表名, 键)",
                   "items": obj({"id": {"type": "string", "pattern": ID}, "name": TEXT,
                                 "description": {"type": "string"},
                                 "entries": {"type": "object", "minProperties": 1,
                                             "additionalProperties": {"type": ["number", "string"]}},
                                 "keys": {"enum": ["text", "number"],
                                          "description": "the keys' type (default text): number to look up by a number"},
                                 "default": {"type": ["number", "string"]}}, ["id", "entries"])},
        "boards": obj({"red": {"oneOf": [{"type": "integer", "minimum": 0}, BOARD_RULE]},
                       "black": {"oneOf": [{"type": "integer", "minimum": 0},
                                           obj({"size": {"type": "integer", "minimum": 0}}, ["size"]),
                                           obj({"below": NUM}, ["below"],
                                               description="every household whose total is below this (帮扶榜)")]},
                       "progress": {"oneOf": [{"type": "integer", "minimum": 0}, BOARD_RULE]},
                       "per": {"$ref": "#/$defs/period"}}),
        "stars": {"type": "array", "items": obj({"stars": {"type": "integer", "minimum": 1}, "min": NUM,
                                                  "name": TEXT}, ["stars", "min"])},
        "selections": {"type": "array", "items": obj({"id": {"type": "string", "pattern": ID}, "name": TEXT,
                                                       "per": {"$ref": "#/$defs/period"},
                                                       "no_veto": {"type": "boolean"},
                                                       "criteria": {"type": "array", "items": EXPR, "minItems": 1}},
                                                      ["id", "name", "criteria"])},
        "market": obj({"carry_over": {"enum": ["keep", "yearly", "quarterly"]}, "min_total": NUM,
                       "vetoed_may_redeem": {"type": "boolean"},
                       "goods": {"type": "array", "items": obj({"id": TEXT, "name": TEXT, "price": POS_NUM},
                                                               ["id", "name", "price"])}}),
        "notice": obj({"objection_days": {"type": "integer", "minimum": 1, "maximum": 90,
                                          "description": "days villagers have to object (公示期)"},
                       "signatories": {"type": "array", "items": TEXT, "maxItems": 6,
                                       "description": "who signs and seals (落款), e.g. 村党组织"},
                       "place": TEXT, "phone": {"type": ["string", "integer"]},
                       "footnote": {"type": "string"}},
                      description="公示 settings: objection period, signatories, place, contact phone, "
                      "footnote"),
        "checklists": {"type": "array", "items": ITEM},
        "examples": {"type": "array", "items": EXAMPLE},
    },
    "$defs": {"period": PERIOD, "limit_period": LIMIT_PERIOD,
              "veto_period": {"enum": ["day", "week", "month", "quarter", "year",
                                       "日", "天", "周", "月", "季度", "季", "年"],
                              "description": "the period a 一票否决 marks the household vetoed for"}},
}

if __name__ == "__main__":
    import sys

    if "--print" in sys.argv:
        print(json.dumps(SCHEMA, ensure_ascii=False, indent=2))
        raise SystemExit(0)
    out = Path(__file__).with_name("ruleset.schema.json")
    out.write_text(json.dumps(SCHEMA, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(out)
