"""The one evaluation door: ``evaluate(ruleset, inputs, period, engine=...)``.

Two evaluators compute the same :class:`~xiangyue.points.results.Evaluation`:

* ``reference`` (:mod:`xiangyue.points.reference`): record by record, the definition;
* ``fast`` (:mod:`xiangyue.points.columnar`): whole columns at once (numpy/Arrow); it refuses,
  with :class:`~xiangyue.points.columnar.expr.Unsupported` naming the construct, what it cannot
  compute exactly;
* ``auto``: the columnar evaluator when it can, else the reference one; the evaluation's
  ``engine`` (:class:`EngineChoice`) says which ran and why.

A differential test keeps the two identical (tests/test_differential.py).
"""

from __future__ import annotations

from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.i18n import Msg, register
from xiangyue.periods import Period
from xiangyue.points import reference
from xiangyue.points.inputs import Inputs
from xiangyue.points.results import EngineChoice, Evaluation
from xiangyue.rules.model import Ruleset

__all__ = ["ENGINES", "EngineChoice", "evaluate"]

ENGINES = ("auto", "fast", "reference")

register(
    {
        "E-ENGINE-UNSUPPORTED": Msg(
            zh="快速计算引擎（--engine fast）不能精确计算这份规则文件：{reason}",
            en="the fast engine (--engine fast) cannot compute this rule file exactly: {reason}",
            hint_zh="去掉 --engine fast（默认 auto 会自动改用参考引擎），或用 --engine reference",
            hint_en="drop --engine fast (the default auto falls back to the reference engine), or use --engine reference",
        ),
        "E-ENGINE-MISSING": Msg(
            zh="快速计算引擎需要 numpy 和 pyarrow：{reason}",
            en="the fast engine needs numpy and pyarrow: {reason}",
            hint_zh="重新安装：pip install xiangyue",
            hint_en="reinstall: pip install xiangyue",
        ),
    }
)


def evaluate(ruleset: Ruleset, inputs: Inputs, period: Period, *, engine: str = "reference",
             with_ledger: bool = True) -> Evaluation:
    """Score every household of ``inputs`` for ``period`` with the chosen evaluator.

    ``fast`` on a rule file the columnar evaluator cannot compute exactly raises a
    :class:`XiangyueError` (kind ``input``, code ``E-ENGINE-UNSUPPORTED``) naming the construct;
    ``auto`` then falls back to the reference evaluator and says why in ``evaluation.engine``.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    reason = None
    if inputs.store is None and not isinstance(inputs.records, (list, tuple)) and \
            not hasattr(inputs.records, "columns"):  # a CSV read to columns lists itself
        inputs.records = list(inputs.records)  # read once: a fallback must see them too
    if engine != "reference":
        try:
            from xiangyue.points.columnar.evaluate import Unsupported, evaluate as columnar
        except ImportError as err:  # numpy / pyarrow missing
            if engine == "fast":
                raise XiangyueError([Diagnostic("E-ENGINE-MISSING", args={"reason": str(err)})],
                                    kind="unusable") from None
            reason = f"numpy/pyarrow not installed ({err})"
        else:
            try:
                ev = columnar(ruleset, inputs, period, with_ledger=with_ledger)
                ev.engine = EngineChoice("fast")
                return ev
            except Unsupported as why:
                if engine == "fast":
                    raise XiangyueError([Diagnostic("E-ENGINE-UNSUPPORTED",
                                                    args={"reason": str(why)})],
                                        kind="unusable") from None
                reason = str(why)
    ev = reference.evaluate(ruleset, inputs, period, with_ledger=with_ledger)
    ev.engine = EngineChoice("reference", reason)
    return ev
