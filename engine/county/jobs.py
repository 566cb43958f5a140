"""The county commands as library calls: every village of a manifest, one task each.

``evaluate_county``, ``report_county``, ``replay_county`` and ``lint_county`` load the manifest
(a manifest that cannot be used raises, exit 2), run the village tasks of
:mod:`xiangyue.county.tasks` on Dask (:mod:`xiangyue.county.cluster`; ``workers=0`` runs them
one by one in this process, without Dask) and gather the outcomes in the manifest's order. A
village that fails is in the result with its errors; it never stops the others.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Sequence

from xiangyue.county.manifest import County, VillageEntry, load_county
from xiangyue.county.tasks import Outcome, evaluate_task, lint_task, replay_task, report_task
from xiangyue.errors import Diagnostic, XiangyueError, format_diagnostic
from xiangyue.i18n import Msg, register
from xiangyue.periods import parse_period

__all__ = ["CountyRun", "evaluate_county", "report_county", "replay_county", "lint_county",
           "run_tasks"]

ZERO = Decimal(0)

register(
    {
        "E-COUNTY-NO-TEMPLATE": Msg(
            zh="县级清单没有写 template（各村规则文件所用的县级模板），无法比较新模板",
            en="the county manifest names no template (the county template the villages extend), "
            "so a new template cannot be compared with it",
            hint_zh="在 county.yaml 中加上 template: templates/模板.yaml",
            hint_en="add template: templates/TEMPLATE.yaml to county.yaml",
        ),
        "E-COUNTY-NO-POLICY": Msg(
            zh="没有县级审查要点文件",
            en="no county policy file",
            hint_zh="在 county.yaml 中写 policy: policies/要点.policy.yaml，或用 --policy 指定",
            hint_en="add policy: policies/POLICY.policy.yaml to county.yaml, or give --policy",
        ),
        "E-COUNTY-OUTPUT-DIR": Msg(
            zh="无法写入输出文件夹 {path}：{reason}",
            en="cannot write to the output folder {path}: {reason}",
            hint_zh="换一个文件夹，或检查权限",
            hint_en="choose another folder, or check its permissions",
        ),
    }
)


@dataclass
class CountyRun:
    """One command over the county: each village's outcome, in the manifest's order."""

    county: County
    command: str
    period: str | None
    outcomes: list[Outcome]
    files: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def village_json(self, o: Outcome, keys: Sequence[str], lang: str = "zh") -> dict[str, Any]:
        """``keys`` of the village's values (None for a failed village), then ``error`` (the
        messages, one per line) and ``errors`` (each diagnostic)."""
        out: dict[str, Any] = {"village": o.village, "name": o.name}
        for k in keys:
            out[k] = o.values.get(k)
        out["error"] = ("\n".join(format_diagnostic(d, lang, caret=False) for d in o.errors)
                        if o.errors else None)
        out["errors"] = [d.to_json(lang) for d in o.errors]
        return out


def run_tasks(task: Callable[..., Outcome], villages: Sequence[VillageEntry], *args: Any,
              scheduler: str | None = None, workers: int | None = None,
              on_done: Callable[[Outcome], None] | None = None, **kwargs: Any) -> list[Outcome]:
    """Every village's task on Dask, or (``workers=0``, no scheduler) here, one by one."""
    if workers == 0 and not scheduler:
        out = []
        for v in villages:
            o = task(v, *args, **kwargs)
            if on_done is not None:
                on_done(o)
            out.append(o)
        return out
    from xiangyue.county.cluster import run_villages

    return run_villages(task, villages, *args, scheduler=scheduler, workers=workers, on_done=on_done,
                        **kwargs)


# --------------------------------------------------------------------------------------------
# county evaluate

EVALUATE_KEYS = ("households", "total", "mean", "median", "vetoed", "unmatched", "records", "units")


def evaluate_county(manifest: str | os.PathLike, period: str, *, output_dir: str | None = None,
                    save: bool = True, engine: str = "auto", scheduler: str | None = None,
                    workers: int | None = None, lang: str = "zh",
                    on_done: Callable[[Outcome], None] | None = None) -> CountyRun:
    """Evaluate every village for ``period`` (each run stored in the village's database when
    ``save``); with ``output_dir``, write each village's full evaluation JSON there as
    ``<village id>.json`` (what ``xiangyue evaluate --format json`` prints)."""
    county = load_county(manifest)
    key = parse_period(period).key
    if output_dir:
        _make_dir(output_dir)
    outcomes = run_tasks(evaluate_task, county.villages, key, save=save, engine=engine,
                         document=bool(output_dir), lang=lang, scheduler=scheduler, workers=workers,
                         on_done=on_done)
    run = CountyRun(county, "evaluate", key, outcomes)
    if output_dir:
        for o in outcomes:
            if o.ok and o.document is not None:
                path = os.path.join(output_dir, f"{o.village}.json")
                _write(path, o.document)
                run.files.append(path)
                o.document = None
    return run


def evaluation_json(run: CountyRun, lang: str = "zh") -> dict[str, Any]:
    ok = [o for o in run.outcomes if o.ok]
    return {
        "county": run.county.name,
        "period": run.period,
        "villages": [run.village_json(o, EVALUATE_KEYS, lang) for o in run.outcomes],
        "summary": {
            "villages": len(run.outcomes),
            "households": sum(o.values["households"] for o in ok),
            "total": sum((o.values["total"] for o in ok), ZERO),
            "failed": len(run.failed),
            "records": sum(o.values["records"] for o in ok),
        },
        "files": list(run.files),
    }


def _make_dir(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise XiangyueError(Diagnostic("E-COUNTY-OUTPUT-DIR", file=path, args={
            "path": path, "reason": err.strerror or str(err)})) from None


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as err:
        raise XiangyueError(Diagnostic("E-COUNTY-OUTPUT-DIR", file=path, args={
            "path": path, "reason": err.strerror or str(err)})) from None


# --------------------------------------------------------------------------------------------
# county report

REPORT_KEYS = ("households", "total", "mean", "median", "distribution", "vetoed", "red", "black",
               "records", "unmatched", "unmatched_share", "checklists", "publication", "ruleset")


def report_county(manifest: str | os.PathLike, period: str, *, as_of: dt.date | None = None,
                  scheduler: str | None = None, workers: int | None = None,
                  on_done: Callable[[Outcome], None] | None = None) -> CountyRun:
    """The district's dashboard for ``period`` (nothing is stored in the villages' databases)."""
    county = load_county(manifest)
    key = parse_period(period).key
    outcomes = run_tasks(report_task, county.villages, key, as_of=as_of, today=dt.date.today(),
                         scheduler=scheduler, workers=workers, on_done=on_done)
    return CountyRun(county, "report", key, outcomes)


def report_json(run: CountyRun, lang: str = "zh") -> dict[str, Any]:
    ok = [o for o in run.outcomes if o.ok]
    households = sum(o.values["households"] for o in ok)
    total = sum((o.values["total"] for o in ok), ZERO)
    by_kind: dict[str, int] = {}
    for o in ok:
        for k, n in o.values["checklists"]["by_kind"].items():
            by_kind[k] = by_kind.get(k, 0) + n
    from fractions import Fraction

    from xiangyue.points.boards import round_half_up

    return {
        "county": run.county.name,
        "period": run.period,
        "villages": [run.village_json(o, REPORT_KEYS, lang) for o in run.outcomes],
        "summary": {
            "villages": len(run.outcomes),
            "households": households,
            "total": total,
            "mean": round_half_up(Fraction(total) / households) if households else None,
            "vetoed": sum(o.values["vetoed"] for o in ok),
            "records": sum(o.values["records"] for o in ok),
            "unmatched": sum(o.values["unmatched"] for o in ok),
            "published": sum(1 for o in ok if o.values["publication"]["published"]),
            "violations_by_kind": by_kind,
            "failed": len(run.failed),
        },
    }


# --------------------------------------------------------------------------------------------
# county replay

REPLAY_KEYS = ("uses_template", "equivalent", "households", "gain", "lose", "same", "sum_delta",
               "old_total", "new_total", "largest_gain", "largest_loss", "boards", "largest")


def replay_county(manifest: str | os.PathLike, new_template: str, period: str, *, top: int = 5,
                  scheduler: str | None = None, workers: int | None = None,
                  on_done: Callable[[Outcome], None] | None = None) -> CountyRun:
    """Every village's rule file rebuilt on ``new_template`` (in place of the manifest's
    template) and replayed on its records for ``period``."""
    county = load_county(manifest)
    key = parse_period(period).key
    if not county.template:
        raise XiangyueError(Diagnostic("E-COUNTY-NO-TEMPLATE", file=county.file))
    from xiangyue.rules.source import load_yaml

    try:
        load_yaml(new_template)  # a missing or unreadable new template stops everything: exit 2
    except XiangyueError as err:
        raise XiangyueError(err.diagnostics) from None
    new_abs = os.path.abspath(new_template)
    outcomes = run_tasks(replay_task, county.villages, key, county.template, new_abs, top=top,
                         scheduler=scheduler, workers=workers, on_done=on_done)
    return CountyRun(county, "replay", key, outcomes,
                     extra={"template": county.template, "new_template": new_abs})


def replay_json(run: CountyRun, lang: str = "zh") -> dict[str, Any]:
    ok = [o for o in run.outcomes if o.ok]

    def board(b: str, way: str) -> int:
        return sum(len(o.values["boards"][b][way]) for o in ok)

    return {
        "county": run.county.name,
        "period": run.period,
        "template": run.extra["template"],
        "new_template": run.extra["new_template"],
        "villages": [run.village_json(o, REPLAY_KEYS, lang) for o in run.outcomes],
        "summary": {
            "villages": len(run.outcomes),
            "changed": sum(1 for o in ok if o.values["gain"] or o.values["lose"]),
            "households": sum(o.values["households"] for o in ok),
            "gain": sum(o.values["gain"] for o in ok),
            "lose": sum(o.values["lose"] for o in ok),
            "entered_red": board("red", "entered"), "left_red": board("red", "left"),
            "entered_black": board("black", "entered"), "left_black": board("black", "left"),
            "sum_delta": sum((o.values["sum_delta"] for o in ok), ZERO),
            "failed": len(run.failed),
        },
    }


# --------------------------------------------------------------------------------------------
# county lint


def lint_county(manifest: str | os.PathLike, *, policy: str | None = None,
                scheduler: str | None = None, workers: int | None = 0) -> CountyRun:
    """Every village's rule file against the county policy (``policy``, else the manifest's).
    A static check: by default run here (``workers=0``), on Dask when asked."""
    from xiangyue.review.lint import load_policy

    county = load_county(manifest)
    path = policy or county.policy
    if not path:
        raise XiangyueError(Diagnostic("E-COUNTY-NO-POLICY", file=county.file))
    loaded = load_policy(path)
    outcomes = run_tasks(lint_task, county.villages, loaded, scheduler=scheduler, workers=workers)
    return CountyRun(county, "lint", None, outcomes, extra={"policy": loaded.file})


def lint_json(run: CountyRun, lang: str = "zh") -> dict[str, Any]:
    villages = []
    for o in run.outcomes:
        entry = run.village_json(o, ("file",), lang)
        findings = o.values.get("findings") or []
        entry["findings"] = [d.to_json(lang) | {"policy": d.args.get("policy")} for d in findings]
        villages.append(entry)
    ok = [o for o in run.outcomes if o.ok]
    return {
        "county": run.county.name,
        "policy": run.extra["policy"],
        "villages": villages,
        "summary": {"villages": len(run.outcomes),
                    "meeting": sum(1 for o in ok if not o.values["findings"]),
                    "findings": sum(len(o.values["findings"]) for o in ok),
                    "failed": len(run.failed)},
    }
