"""The ``dask`` backend of ensembles: runs go to a Dask cluster instead of local processes.

``negsim run NAME --runs N --backend dask`` starts a private :class:`distributed.LocalCluster`
on the loopback interface (``--workers`` processes of one thread each) and closes it afterwards;
with ``--scheduler tcp://HOST:PORT`` the runs go to an existing cluster instead (its workers
need negsim installed, at the same version).

What is sent where:

* The :class:`~sim.runner.Runner` (the resolved scenario data, a few kB pickled; it rebuilds
  itself on arrival) is scattered to the workers once, not shipped with every task.
* Tasks are chunks of ``(index, seed)`` pairs, sized as the local backend sizes them; a chunk
  comes back as its rows. Every row depends only on its ``(index, seed)`` (``Runner.row``), so
  the results are identical to the local backend's, whatever the cluster, the chunking, the
  order of completion, or a chunk re-run after a worker was lost.

Privacy and noise: the private cluster binds to 127.0.0.1 only (scheduler, nannies, workers,
and the scheduler's small HTTP server, on random ports); no dashboard is started (Bokeh is not
needed), and Dask has no telemetry. Dask's informational log lines (``distributed.*`` at INFO)
would mix into the command line's output: they are hidden while an ensemble runs; warnings and
errors still show.

Ctrl-C: the chunks not yet finished are cancelled, the finished ones are kept (the ensemble
reports ``interrupted``), and the :class:`KeyboardInterrupt` propagates to
:meth:`sim.ensemble.Ensemble.execute`. The terminal sends SIGINT to the whole process group:
the private cluster's worker processes ignore it, as the local backend's do, so that the client
alone decides what stops. A Ctrl-C while the private cluster starts (about 3 s) takes effect as
soon as it is up: Dask cannot close a cluster whose workers are half-started.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from sim.runner import Runner

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from sim.ensemble import Ensemble

LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT_S = 10
"""How long to wait for a ``--scheduler`` before giving up."""
START_TIMEOUT_S = 120
"""How long the private cluster's workers may take to start."""
LOG_LEVEL = logging.WARNING
"""The least severe ``distributed`` log records shown while an ensemble runs."""


class ClusterError(RuntimeError):
    """The Dask cluster could not be reached or could not be started."""


def chunk_size(n_tasks: int, slots: int) -> int:
    """Runs per task, as the local backend chooses them (``sim.batch.chunk_size``: about 8
    chunks per worker slot, at most 250)."""
    return max(1, min(250, n_tasks // (max(1, slots) * 8) or 1))


def run_chunk(runner: Runner, chunk: list[tuple[int, int]]) -> list[dict]:
    """The task a Dask worker runs: the rows of one chunk of ``(index, seed)`` pairs."""
    return [runner.row(i, s) for i, s in chunk]


# --------------------------------------------------------------------------- quiet, Ctrl-C


def _not_our_cancelled_chunk(record: logging.LogRecord) -> bool:
    """False for the warning a worker logs when it closes with one of our chunks still running
    (after Ctrl-C, by design); every other record passes."""
    msg = record.getMessage()
    return not ("ended with CancelledError" in msg and "negsim-chunk-" in msg)


def dask_setup(worker) -> None:
    """Preload hook of the private cluster's workers (runs in each worker process).

    * Ignore SIGINT. Workers started by :func:`start_local_cluster` ignore it from birth; this
      covers a worker that Dask restarts later (after one died).
    * Drop the one warning that closing the cluster after Ctrl-C is expected to produce, for
      chunks cancelled mid-run; other warnings and errors are untouched."""
    with contextlib.suppress(ValueError):  # not the main thread: nothing to do
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed.worker.state_machine").addFilter(_not_our_cancelled_chunk)


@contextlib.contextmanager
def quiet_dask_logs(level: int = LOG_LEVEL) -> Iterator[Callable[[int], None]]:
    """Raise the ``distributed`` logger to ``level`` (WARNING) while inside, then restore it;
    the value is a function that raises it further.

    Only informational records go: warnings and errors (a worker lost, a task failed) still
    reach the console."""
    log = logging.getLogger("distributed")
    before = log.level

    def at_least(least: int) -> None:
        if log.getEffectiveLevel() < least:
            log.setLevel(least)

    at_least(level)
    try:
        yield at_least
    finally:
        log.setLevel(before)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """While inside, SIGINT is ignored; processes started meanwhile ignore it for good (an
    ignored disposition survives ``exec``, a Python handler does not)."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """While inside, Ctrl-C does not interrupt: it is noted, and raised as
    :class:`KeyboardInterrupt` on the way out (in place of any error raised meanwhile)."""
    if not _in_main_thread():
        yield
        return
    pressed: list[int] = []

    def note(signum, frame) -> None:
        pressed.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    except Exception:
        if not pressed:
            raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- clusters


def local_cluster(workers: int) -> LocalCluster:
    """A LocalCluster of ``workers`` processes with one thread each, on loopback only, without
    dashboard; its workers run :func:`dask_setup`."""
    from distributed import LocalCluster

    return LocalCluster(
        host=LOOPBACK,
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        # No dashboard (it would need Bokeh). The scheduler still serves a few HTTP routes
        # (health, JSON info): on loopback, on a random port, never 0.0.0.0 or a fixed 8787.
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": f"{LOOPBACK}:0"},
        worker_dashboard_address=None,
        silence_logs=LOG_LEVEL,
        preload=[__name__],
    )


def start_local_cluster(stack: contextlib.ExitStack, workers: int) -> Client:
    """Start a private cluster of ``workers`` processes and a client of it, both closed by
    ``stack``; return once every worker is up.

    The scheduler starts first; the worker processes are then spawned with SIGINT ignored (a
    fraction of a second), so they never see the terminal's Ctrl-C; while they start up, a
    Ctrl-C is held back until they are up (see :func:`sigint_deferred`)."""
    from distributed import Client

    workers = max(1, workers)
    try:
        with sigint_deferred():
            with sigint_ignored():
                cluster = stack.enter_context(local_cluster(0))
                before = set(multiprocessing.active_children())
                cluster.scale(workers)
                deadline = time.monotonic() + START_TIMEOUT_S
                while (len(set(multiprocessing.active_children()) - before) < workers
                       and time.monotonic() < deadline):
                    time.sleep(0.01)
            client = stack.enter_context(Client(cluster, set_as_default=False))
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"the local Dask cluster did not start: {e}") from e
    return client


def connect(scheduler: str) -> Client:
    """A client of the scheduler at ``scheduler`` (e.g. ``tcp://127.0.0.1:8786``)."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler!r}: {e}") from e


# --------------------------------------------------------------------------- running


def run_on_dask(ensemble: Ensemble, tasks: list[tuple[int, int]],
                progress: Callable[[int], None] | None, scheduler: str | None = None) -> None:
    """Run ``tasks`` (``(index, seed)`` pairs) of ``ensemble`` on Dask, appending each finished
    chunk's rows to ``ensemble.rows`` (in completion order) and telling ``progress`` how many.

    ``scheduler``: the address of an existing scheduler, or None for a private local cluster of
    ``ensemble.workers`` processes, closed before returning."""
    if not tasks:
        return
    with quiet_dask_logs() as quiet, contextlib.ExitStack() as stack:
        try:
            if scheduler:
                client = stack.enter_context(connect(scheduler))
                slots = sum(client.nthreads().values()) or ensemble.workers
                ensemble.workers = slots  # report the cluster's size, not this machine's
            else:
                client = start_local_cluster(stack, ensemble.workers)
                slots = ensemble.workers
            _submit_and_collect(client, ensemble, tasks, progress, slots)
        except KeyboardInterrupt:
            # Closing the cluster now stops workers in the middle of a cancelled chunk; Dask
            # warns about each ("still alive after 4 s, killing"). Expected: errors only.
            quiet(logging.ERROR)
            raise


def _submit_and_collect(client: Client, ensemble: Ensemble, tasks: list[tuple[int, int]],
                        progress: Callable[[int], None] | None, slots: int) -> None:
    from distributed import as_completed

    size = chunk_size(len(tasks), slots)
    # Shipped once; tasks refer to it by key. hash=False: a fresh key, never another
    # client's scattered Runner.
    runner = client.scatter(ensemble.runner, broadcast=True, hash=False)
    tag = uuid.uuid4().hex[:12]
    futures = [
        client.submit(run_chunk, runner, tasks[start:start + size],
                      key=f"negsim-chunk-{tag}-{start}", pure=False)
        for start in range(0, len(tasks), size)
    ]
    pending = set(futures)
    try:
        for fut in as_completed(futures, loop=client.loop):
            rows = fut.result()
            ensemble.rows.extend(rows)
            pending.discard(fut)
            fut.release()
            if progress:
                progress(len(rows))
    except BaseException:
        _keep_finished(ensemble, pending)
        client.cancel(list(pending))
        raise
    finally:
        runner.release()


def _keep_finished(ensemble: Ensemble, pending: set) -> None:
    """After an interrupt: add the rows of chunks that finished but were not collected yet
    (never twice: an interrupt may fall between adding a chunk's rows and noting it)."""
    have = {r["index"] for r in ensemble.rows}
    for fut in pending:
        if fut.status != "finished":
            continue
        with contextlib.suppress(Exception):  # lost with the interrupt: nothing to keep
            ensemble.rows.extend(r for r in fut.result(timeout=5) if r["index"] not in have)
