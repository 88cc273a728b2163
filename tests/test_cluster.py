"""The Dask backend (sim.cluster): the same rows and summaries as the local backend, through a
private loopback cluster or a scheduler address; interruption; quiet logs; the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from distributed import Client, LocalCluster
from typer.testing import CliRunner

import sim.cluster
from sim.cli import app
from sim.cluster import ClusterError, chunk_size, run_chunk
from sim.ensemble import Ensemble, run_seed
from sim.loading import resolve
from sim.runner import Runner

STRAIT = str(Path(__file__).parent / "fixtures" / "strait.yaml")
# Uncertain parameters, so that every run draws its own scenario from its seed.
UNCERTAIN = """parties:
  b:
    leader:
      approval: {dist: uniform, low: 0.3, high: 0.9, source: assumption}
protocol:
  ratification: {b: {dist: truncnormal, mean: 0.6, sd: 0.08, low: 0.4, high: 0.75}}
"""
VOLATILE = {"elapsed_s", "workers", "backend"}


def strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "elapsed_ms"} for r in rows]


def summary(ens: Ensemble) -> dict:
    return {k: v for k, v in ens.result().items() if k not in VOLATILE}


def dask_log_lines(text: str) -> list[str]:
    """Lines in Dask's log format (``time - distributed.x - LEVEL - message``)."""
    return [line for line in text.splitlines() if " - distributed." in line]


@pytest.fixture(scope="module")
def strait(tmp_path_factory) -> Runner:
    path = tmp_path_factory.mktemp("strait") / "strait_uncertain.yaml"
    path.write_text(f"extends: {STRAIT}\nname: strait_uncertain\n{UNCERTAIN}", encoding="utf-8")
    return Runner(resolve(str(path)).data)


@pytest.fixture(scope="module")
def baseline() -> Runner:
    return Runner(resolve("baseline").data)


@pytest.fixture(scope="module")
def scheduler():
    """An existing cluster, as `--scheduler ADDRESS` finds it: loopback, 2 workers."""
    with LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def strait_local(strait) -> dict[int, Ensemble]:
    return {w: Ensemble(strait, 120, seed=11, workers=w).execute() for w in (1, 2)}


# --------------------------------------------------------------------------- units


def test_chunks_like_the_local_backend():
    assert chunk_size(2000, 2) == 125
    assert chunk_size(100_000, 2) == 250
    assert chunk_size(5, 8) == 1
    assert chunk_size(10, 0) == 1


def test_a_chunk_is_its_rows(strait):
    tasks = [(i, run_seed(4, i)) for i in range(3)]
    assert strip(run_chunk(strait, tasks)) == strip([strait.row(i, s) for i, s in tasks])


# --------------------------------------------------------------------------- same results


def test_private_cluster_gives_the_local_rows(strait, strait_local, monkeypatch, capfd):
    """The default: a private LocalCluster, loopback only, no dashboard, no INFO logs, workers
    that ignore the terminal's Ctrl-C; closed afterwards."""
    assert strip(strait_local[1].rows) == strip(strait_local[2].rows)
    before = signal.getsignal(signal.SIGINT)  # CI may run us with SIGINT ignored
    clients, seen = [], {}
    start = sim.cluster.start_local_cluster
    monkeypatch.setattr(sim.cluster, "start_local_cluster",
                        lambda stack, n: clients.append(start(stack, n)) or clients[-1])

    def progress(n: int) -> None:
        if not seen:  # while the cluster is up: every address it listens on
            client = clients[0]
            cluster = client.cluster
            http = cluster.scheduler.http_server._sockets.values()
            seen.update(
                scheduler=[cluster.scheduler_address],
                workers=list(cluster.scheduler.workers),
                nannies=[w.address for w in cluster.workers.values()],
                http=[s.getsockname()[0] for s in http],
                sigint=set(client.run(signal.getsignal, signal.SIGINT).values()))

    ens = Ensemble(strait, 120, seed=11, workers=2, backend="dask").execute(progress)
    assert not ens.interrupted
    assert strip(ens.rows) == strip(strait_local[1].rows)
    assert summary(ens) == summary(strait_local[1]) == summary(strait_local[2])
    assert ens.result()["backend"] == "dask"

    assert len(clients) == 1 and clients[0].status == "closed"
    assert clients[0].cluster.status.name == "closed"
    assert len(seen["workers"]) == len(seen["nannies"]) == 2
    for addr in seen["scheduler"] + seen["workers"] + seen["nannies"]:
        assert addr.startswith("tcp://127.0.0.1:"), addr
    assert seen["http"] and set(seen["http"]) == {"127.0.0.1"}
    assert seen["sigint"] == {signal.SIG_IGN}
    assert signal.getsignal(signal.SIGINT) is before  # restored
    assert "bokeh" not in sys.modules
    out, err = capfd.readouterr()
    assert dask_log_lines(out + err) == []


def test_scheduler_address_gives_the_local_rows(strait, strait_local, baseline, scheduler):
    ens = Ensemble(strait, 120, seed=11, workers=2, backend="dask").execute(scheduler=scheduler)
    assert strip(ens.rows) == strip(strait_local[1].rows)
    assert summary(ens) == summary(strait_local[1])

    runs = {w: Ensemble(baseline, 50, seed=7, workers=w).execute() for w in (1, 2)}
    on_dask = Ensemble(baseline, 50, seed=7, workers=2, backend="dask").execute(
        scheduler=scheduler)
    assert len(on_dask.rows) == 50 and not on_dask.interrupted
    assert strip(on_dask.rows) == strip(runs[1].rows) == strip(runs[2].rows)
    assert summary(on_dask) == summary(runs[1]) == summary(runs[2])


def test_progress_counts_every_run(strait, scheduler):
    counts: list[int] = []
    Ensemble(strait, 37, seed=2, workers=2, backend="dask").execute(counts.append, scheduler)
    assert sum(counts) == 37
    assert all(c >= 1 for c in counts)


# --------------------------------------------------------------------------- interruption


class Stop(KeyboardInterrupt):
    """A Ctrl-C raised from inside the progress callback."""


def test_interrupt_keeps_finished_runs_and_cancels_the_rest(strait, scheduler):
    seen: list[int] = []

    def progress(n: int) -> None:
        seen.append(n)
        raise Stop  # Ctrl-C as soon as the first chunk is in

    ens = Ensemble(strait, 2000, seed=1, workers=2, backend="dask").execute(progress, scheduler)
    assert ens.interrupted
    assert 1 <= len(ens.rows) < 2000
    indices = [r["index"] for r in ens.rows]
    assert indices == sorted(set(indices))
    again = [strait.row(i, run_seed(1, i)) for i in indices]
    assert strip(ens.rows) == strip(again)

    # Nothing of ours is left on the cluster (cancelled chunks, the scattered Runner).
    with Client(scheduler, set_as_default=False) as client:
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(_task_count) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(_task_count) == 0


def _task_count(dask_scheduler) -> int:
    return len(dask_scheduler.tasks)


def test_ctrl_c_while_the_private_cluster_starts(strait, monkeypatch, capfd):
    """Held back until the workers are up (Dask cannot close half-started workers), then the
    cluster is closed and the ensemble reports the interrupt."""
    before = signal.getsignal(signal.SIGINT)  # CI may run us with SIGINT ignored
    made = []
    make = sim.cluster.local_cluster
    monkeypatch.setattr(sim.cluster, "local_cluster", lambda n: made.append(make(n)) or made[-1])
    spawning = sim.cluster.sigint_ignored

    @contextlib.contextmanager
    def then_ctrl_c():
        with spawning():
            yield
        os.kill(os.getpid(), signal.SIGINT)  # the workers are spawned, not yet started

    monkeypatch.setattr(sim.cluster, "sigint_ignored", then_ctrl_c)
    ens = Ensemble(strait, 2000, seed=1, workers=2, backend="dask").execute()
    assert ens.interrupted and ens.rows == []
    assert len(made) == 1 and made[0].status.name == "closed"
    assert signal.getsignal(signal.SIGINT) is before
    out, err = capfd.readouterr()
    assert dask_log_lines(out + err) == [] and "Traceback" not in err


def test_unreachable_scheduler_is_a_clear_error(strait, monkeypatch):
    monkeypatch.setattr(sim.cluster, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        Ensemble(strait, 5, workers=1, backend="dask").execute(scheduler="tcp://127.0.0.1:9")


def test_ctrl_c_on_the_command_line(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it, while the workers start:
    exit 130, no traceback or Dask log lines, and no process left behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "run", "baseline", "--runs", "100000", "--backend",
         "dask", "--workers", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        cwd=tmp_path, env={**os.environ, "NEGSIM_STORE": str(tmp_path / "results.duckdb")})
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        while len(parent.children()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # the resource tracker, then the 2 workers, are spawned
        time.sleep(0.5)  # the workers are starting: Ctrl-C is held back until they are up
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["interrupted"] and result["completed"] < 100_000
    assert result["completed"] % 250 == 0  # whole chunks only
    assert "Traceback" not in err and dask_log_lines(err) == [], err
    assert "interrupted: kept the" in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the worker processes are gone too
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("processes of the interrupted ensemble are still running")


# --------------------------------------------------------------------------- command line


def test_cli_backends_give_the_same_numbers(capfd, tmp_path, monkeypatch):
    monkeypatch.setenv("NEGSIM_STORE", str(tmp_path / "results.duckdb"))  # ensembles are saved
    cli = CliRunner()
    results = {}
    for label, extra in (("local-1", ["--workers", "1"]), ("local-2", ["--workers", "2"]),
                         ("dask", ["--backend", "dask", "--workers", "2"])):
        r = cli.invoke(app, ["run", "baseline", "--runs", "40", "--seed", "3", "--json", *extra])
        assert r.exit_code == 0, (label, r.output, r.exception)
        data = json.loads(r.stdout)
        assert data["backend"] == label.split("-")[0]
        assert dask_log_lines(r.stderr) == []
        # experiment_id: each invocation is saved as a new experiment.
        results[label] = {k: v for k, v in data.items() if k not in {*VOLATILE, "experiment_id"}}
    assert results["dask"]["completed"] == 40
    assert results["local-1"] == results["local-2"] == results["dask"]
    out, err = capfd.readouterr()  # worker processes write to the real stderr
    assert dask_log_lines(out + err) == []
