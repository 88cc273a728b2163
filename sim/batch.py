"""Many runs of many scenarios in one process pool: the engine under sweeps and sensitivity
analysis.

A *task* is ``(runner_id, index, seed)``: run ``index`` (with its seed) of ``runners[runner_id]``.
Every grid point of a sweep, every SALib sample of a sensitivity analysis is one :class:`Runner`;
their runs all go through one pool, so the pool starts once and stays busy across points.

Each row depends only on its runner and its seed, and rows come back sorted by
``(runner_id, index)``, so results do not depend on the number of workers or on the order in
which chunks finish. Worker processes are started with the ``spawn`` context (forking a process
that runs Rich's refresh thread is unsafe) and ignore SIGINT: the parent handles Ctrl-C, lets the
chunks already running finish, and keeps their rows (``Batch.interrupted`` is then True).

Workers receive the runners' pickled *state* once (at start-up) and build a runner only when a
chunk first needs it, keeping the last few: a sensitivity analysis with thousands of samples
does not compile thousands of scenarios in every worker.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np

from sim.runner import Runner

Task = tuple[int, int, int]
"""``(runner_id, index, seed)``."""

_KEEP = 4  # runners kept built in a worker (tasks arrive grouped by runner)
_ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_seed(master: int, index: int) -> int:
    """The seed of run ``index`` of an ensemble with master seed ``master``: derived from the
    two alone (numpy ``SeedSequence(master, spawn_key=(index,))``), so results do not depend on
    workers, backend or finishing order; a 63-bit int, so ``negsim run --seed`` reproduces any
    member on its own."""
    state = np.random.SeedSequence(master, spawn_key=(index,)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def chunk_size(n_tasks: int, workers: int) -> int:
    """Big enough to amortise inter-process traffic, small enough to balance and to stop fast."""
    return max(1, min(250, n_tasks // (workers * 8) or 1))


@dataclass
class Batch:
    """The rows of a batch (each tagged with ``runner_id``), sorted by ``(runner_id, index)``."""

    rows: list[dict] = field(default_factory=list)
    interrupted: bool = False
    elapsed_s: float = 0.0
    workers: int = 1


def common_tasks(n_runners: int, runs: int, seed: int) -> list[Task]:
    """``runs`` runs of every runner with the same seeds ``run_seed(seed, i)`` (common random
    numbers: the points differ only in their parameters, not in their luck)."""
    seeds = [run_seed(seed, i) for i in range(runs)]
    return [(r, i, s) for r in range(n_runners) for i, s in enumerate(seeds)]


def _row(runner: Runner, runner_id: int, index: int, seed: int) -> dict:
    return {"runner_id": runner_id, **runner.row(index, seed)}


# --------------------------------------------------------------------------- worker side

_SPECS: list[tuple[type, dict]] = []
_BUILT: OrderedDict[int, Runner] = OrderedDict()


def _init_worker(specs: list[tuple[type, dict]]) -> None:
    global _SPECS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and keeps results
    _SPECS = specs
    _BUILT.clear()


def _runner(runner_id: int) -> Runner:
    runner = _BUILT.get(runner_id)
    if runner is None:
        cls, state = _SPECS[runner_id]
        runner = cls.__new__(cls)
        runner.__setstate__(state)
        _BUILT[runner_id] = runner
        while len(_BUILT) > _KEEP:
            _BUILT.popitem(last=False)
    else:
        _BUILT.move_to_end(runner_id)
    return runner


def _run_chunk(chunk: list[Task]) -> list[dict]:
    return [_row(_runner(r), r, i, s) for r, i, s in chunk]


def _spec(runner: Runner) -> tuple[type, dict]:
    """What a worker needs to rebuild a runner (its state, not the compiled scenario)."""
    return type(runner), runner.__getstate__()


# --------------------------------------------------------------------------- parent side


def run_batch(runners: Sequence[Runner], tasks: Iterable[Task], workers: int = 1,
              progress: Callable[[int], None] | None = None) -> Batch:
    """Run every task; ``progress(n)`` is told how many runs just finished.

    ``workers <= 1`` runs in this process. Ctrl-C stops early and keeps the finished runs
    (``interrupted`` is then True); a run that raises is a row with ``status == "failed"``.
    """
    tasks = list(tasks)
    for r, _, _ in tasks:
        if not 0 <= r < len(runners):
            raise ValueError(f"task names runner {r}, but there are {len(runners)} runners")
    batch = Batch(workers=max(1, workers))
    start = time.perf_counter()
    try:
        if workers <= 1:
            for r, i, s in tasks:
                batch.rows.append(_row(runners[r], r, i, s))
                if progress:
                    progress(1)
        elif tasks:
            _run_pool(runners, tasks, workers, progress, batch.rows)
    except KeyboardInterrupt:
        batch.interrupted = True
    batch.rows.sort(key=lambda row: (row["runner_id"], row["index"]))
    batch.elapsed_s = time.perf_counter() - start
    return batch


def _run_pool(runners, tasks, workers, progress, rows: list[dict]) -> None:
    size = chunk_size(len(tasks), workers)
    # One BLAS thread per worker: the workers already fill the cores.
    for var in _ONE_THREAD:
        os.environ.setdefault(var, "1")
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=([_spec(r) for r in runners],))
    pending = {pool.submit(_run_chunk, c) for c in chunks(tasks, size)}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                got = fut.result()
                rows.extend(got)
                if progress:
                    progress(len(got))
    except KeyboardInterrupt:
        for fut in pending:
            fut.cancel()
        for fut in pending:  # chunks already running finish and are kept
            if not fut.cancelled():
                with contextlib.suppress(Exception):  # a chunk lost to the interrupt
                    rows.extend(fut.result())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
