"""Where the villages' tasks run: a Dask cluster (``dask.distributed``).

By default a local cluster sized to the machine (one single-threaded worker process per core:
an evaluation is pure Python, so processes, not threads, run villages side by side), bound
to the loopback address only. With ``scheduler`` (``tcp://HOST:PORT``) the same tasks go to
an existing cluster started with ``dask scheduler`` and ``dask worker`` (docs/county.md):
its workers must have xiangyue installed and see the county folder at the same path.

Every village is one task; results are put back in the manifest's order, whatever order they
finish in. A task lost with its worker (killed, out of memory) is that village's error.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from xiangyue.county.manifest import VillageEntry
from xiangyue.county.tasks import Outcome
from xiangyue.errors import Diagnostic, XiangyueError
from xiangyue.i18n import Msg, register

__all__ = ["county_client", "run_villages", "require_dask"]

INSTALL = "pip install 'xiangyue[county]'"
CONNECT_TIMEOUT = 15  # seconds to reach a scheduler
WORKERS_TIMEOUT = 60  # seconds to wait for the workers asked for

register(
    {
        "E-COUNTY-NO-DASK": Msg(
            zh="县级命令需要 Dask（dask.distributed），但没有安装",
            en="the county commands need Dask (dask.distributed), which is not installed",
            hint_zh="安装：" + INSTALL,
            hint_en="install it: " + INSTALL,
        ),
        "E-COUNTY-SCHEDULER-ADDRESS": Msg(
            zh="调度器地址“{address}”应写成 tcp://主机:端口",
            en="the scheduler address '{address}' must be written tcp://HOST:PORT",
            hint_zh="例如 --scheduler tcp://192.168.1.10:8786（dask scheduler 启动时打印的地址）",
            hint_en="e.g. --scheduler tcp://192.168.1.10:8786 (the address dask scheduler prints)",
        ),
        "E-COUNTY-SCHEDULER": Msg(
            zh="无法连接调度器 {address}：{detail}",
            en="cannot reach the scheduler at {address}: {detail}",
            hint_zh="确认 dask scheduler 已在该机器上运行、端口未被防火墙挡住（docs/county.md）",
            hint_en="check that dask scheduler runs on that machine and its port is open (docs/county.md)",
        ),
        "E-COUNTY-NO-WORKERS": Msg(
            zh="调度器 {address} 在 {seconds} 秒内只有 {have} 个工作进程（需要 {want} 个）",
            en="the scheduler at {address} had {have} workers after {seconds} s ({want} wanted)",
            hint_zh="在各台机器上运行 dask worker {address}",
            hint_en="run dask worker {address} on each machine",
        ),
        "E-COUNTY-TASK-LOST": Msg(
            zh="村“{village}”的任务没有完成：{detail}",
            en="the task of village '{village}' did not finish: {detail}",
            hint_zh="工作进程可能因内存不足或被停止而退出；重新运行，或减少每台机器的工作进程数",
            hint_en="a worker may have run out of memory or been stopped; run again, or use fewer "
            "workers per machine",
        ),
    }
)

_ADDRESS_RE = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d{1,5})?$|^(tcp|tls)://\[[0-9A-Fa-f:]+\](:\d{1,5})?$")


def require_dask() -> Any:
    """The ``distributed`` module, or an error that says how to install it (exit 2)."""
    try:
        import distributed
    except ImportError:
        raise XiangyueError(Diagnostic("E-COUNTY-NO-DASK")) from None
    return distributed


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def county_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client: to ``scheduler``, or to a new local cluster of ``workers`` processes on
    127.0.0.1 (closed on exit). With ``scheduler``, waits until ``workers`` (default 1) are
    connected."""
    distributed = require_dask()
    if scheduler:
        if not _ADDRESS_RE.match(scheduler):
            raise XiangyueError(Diagnostic("E-COUNTY-SCHEDULER-ADDRESS", args={"address": scheduler}))
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise XiangyueError(Diagnostic("E-COUNTY-SCHEDULER", args={
                "address": scheduler, "detail": str(exc) or type(exc).__name__})) from None
        try:
            want = workers or 1
            try:
                client.wait_for_workers(want, timeout=WORKERS_TIMEOUT)
            except (TimeoutError, OSError):
                have = len(client.scheduler_info().get("workers", {}))
                raise XiangyueError(Diagnostic("E-COUNTY-NO-WORKERS", args={
                    "address": scheduler, "have": have, "want": want,
                    "seconds": WORKERS_TIMEOUT})) from None
            yield client
        finally:
            client.close()
        return
    n = workers or default_workers()
    cluster = distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def run_villages(task: Callable[..., Outcome], villages: Sequence[VillageEntry], *args: Any,
                 client: Any = None, scheduler: str | None = None, workers: int | None = None,
                 on_done: Callable[[Outcome], None] | None = None, **kwargs: Any) -> list[Outcome]:
    """``task(village, *args, **kwargs)`` for every village, each an independent task on the
    cluster (``client``, else one from :func:`county_client`); the outcomes in the villages'
    order. ``on_done`` is called as each village finishes (progress)."""
    if client is None:
        with county_client(scheduler, workers) as own:
            return run_villages(task, villages, *args, client=own, on_done=on_done, **kwargs)
    distributed = require_dask()
    futures = {client.submit(task, v, *args, pure=False, key=f"village-{i}-{v.id}-{os.urandom(4).hex()}",
                             **kwargs): (i, v) for i, v in enumerate(villages)}
    outcomes: list[Outcome | None] = [None] * len(villages)
    for future in distributed.as_completed(list(futures), loop=client.loop):
        i, v = futures[future]
        try:
            outcome = future.result()
        except Exception as exc:  # noqa: BLE001 — the task was lost (worker died), not a bug of ours
            outcome = Outcome(v.id, v.name, errors=(Diagnostic(
                "E-COUNTY-TASK-LOST", file=v.rules,
                args={"village": v.id, "detail": f"{type(exc).__name__}: {exc}"}),))
        finally:
            future.release()
        outcomes[i] = outcome
        if on_done is not None:
            on_done(outcome)
    return [o for o in outcomes if o is not None]
