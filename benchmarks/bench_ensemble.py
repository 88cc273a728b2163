"""Ensemble throughput and the cost of one run as the model grows.

1. Throughput: a ``baseline`` ensemble (``Ensemble(...).execute()``, as ``negsim run baseline
   --runs N`` does) with 1 and 2 local worker processes, and the speed-up; optionally also on
   the ``dask`` backend (a private 2-worker LocalCluster on 127.0.0.1). Wall times include
   starting the worker processes (and the cluster), as a user waits for them.
2. The cost of one run (``Runner.row(index, seed)``, what every ensemble member costs: draw
   the uncertain parameters, build, run, summarise) as a function of citizens per public
   (1k, 10k, 100k) and of the number of meetings (``protocol.rounds`` = 12, 24, 48); median
   milliseconds over ``--samples`` runs each, every run with its own seed, after one warm-up.

Not a test: nothing here asserts on speed. Figures depend on the machine and on its load
(printed at the start).

    python benchmarks/bench_ensemble.py [--runs 2000] [--samples 30] [--no-dask]
"""

from __future__ import annotations

import argparse
import os
import platform
from importlib.metadata import version
from time import perf_counter

import numpy as np

from sim import __version__
from sim.ensemble import Ensemble, run_seed
from sim.loading import resolve
from sim.runner import Runner

SCENARIO = "baseline"
CITIZENS = (1_000, 10_000, 100_000)
ROUNDS = (12, 24, 48)


def cpus() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    total = os.cpu_count()
    return f"{usable} usable of {total}" if usable not in (None, total) else str(total)


def header(runs: int, samples: int) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"negsim {__version__} ensemble benchmark, scenario '{SCENARIO}'")
    print(f"CPUs: {cpus()}; load average (1, 5, 15 min) at start: {load}")
    print(f"Python {platform.python_version()} ({platform.machine()}), numpy {np.__version__}, "
          f"mesa {version('mesa')}, dask {version('dask')}, distributed {version('distributed')}")
    print(f"throughput: {runs:,} runs per configuration; one-run cost: median of {samples} runs "
          "(1 warm-up)\n")


def table(title: str, columns: list[tuple[str, int]], rows: list[list[str]]) -> None:
    """A plain fixed-width table: first column left-aligned, the others right-aligned."""
    print(title)
    line = "".join(f"{name:<{w}}" if i == 0 else f"{name:>{w}}"
                   for i, (name, w) in enumerate(columns))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("".join(f"{cell:<{w}}" if i == 0 else f"{cell:>{w}}"
                      for i, (cell, (_, w)) in enumerate(zip(row, columns, strict=True))))
    print()


# --------------------------------------------------------------------------- throughput


def throughput(runner: Runner, runs: int, dask: bool) -> None:
    configs = [("local, 1 worker", 1, "local"), ("local, 2 workers", 2, "local")]
    if dask:
        configs.append(("dask, 2 workers", 2, "dask"))
    rows, base = [], None
    for label, workers, backend in configs:
        first: list[float] = []
        t0 = perf_counter()
        ens = Ensemble(runner, runs, seed=0, workers=workers, backend=backend).execute(
            lambda n, first=first, t0=t0: first or first.append(perf_counter() - t0))
        assert len(ens.rows) == runs and not ens.interrupted  # a broken run is no figure
        rate = runs / ens.elapsed_s
        base = base or ens.elapsed_s
        per_run = np.median([r["elapsed_ms"] for r in ens.rows])
        rows.append([label, f"{ens.elapsed_s:.2f}", f"{first[0]:.2f}", f"{rate:,.0f}",
                     f"{base / ens.elapsed_s:.2f}x", f"{per_run:.2f}"])
    table(f"1. Ensemble throughput: {runs:,} runs of '{SCENARIO}' (wall time incl. start-up)",
          [("configuration", 18), ("wall s", 8), ("1st result s", 14), ("runs/s", 8),
           ("speed-up", 10), ("median ms/run in worker", 25)], rows)
    print("1st result s: until the first run (or chunk of runs) came back: start-up plus one "
          "chunk.\n")


# --------------------------------------------------------------------------- one run


def one_run_ms(runner: Runner, samples: int) -> tuple[np.ndarray, float]:
    """Milliseconds per ``Runner.row`` call (timed from outside), and mean meetings held."""
    runner.row(0, run_seed(0, 0))  # warm-up, not counted
    times, meetings = [], []
    for i in range(1, samples + 1):
        t0 = perf_counter()
        row = runner.row(i, run_seed(0, i))
        times.append((perf_counter() - t0) * 1e3)
        meetings.append(row.get("meetings") or 0)
    return np.array(times), float(np.mean(meetings))


def cost_table(title: str, label: str, values, sets_of, samples: int) -> None:
    rows, first = [], None
    for v in values:
        runner = Runner(resolve(SCENARIO, sets_of(v)).data)
        times, meetings = one_run_ms(runner, samples)
        p10, p50, p90 = np.percentile(times, [10, 50, 90])
        first = first or p50
        rows.append([f"{v:,}", f"{p50:.2f}", f"{p10:.2f}", f"{p90:.2f}", f"{meetings:.1f}",
                     f"{p50 / first:.2f}x", f"{p50 / meetings:.3f}" if meetings else "-"])
    table(title, [(label, 22), ("median ms", 11), ("p10 ms", 9), ("p90 ms", 9),
                  ("meetings", 10), ("vs first", 10), ("ms/meeting", 12)], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000,
                        help="ensemble size for the throughput table (default 2,000)")
    parser.add_argument("--samples", type=int, default=30,
                        help="timed runs per configuration of the one-run tables (default 30)")
    parser.add_argument("--no-dask", dest="dask", action="store_false",
                        help="skip the dask backend in the throughput table")
    args = parser.parse_args()
    if args.runs < 1 or args.samples < 1:
        parser.error("--runs and --samples must be at least 1")

    header(args.runs, args.samples)
    throughput(Runner(resolve(SCENARIO).data), args.runs, args.dask)
    cost_table(f"2. One run vs citizens per public (both publics; {ROUNDS[0]} rounds)",
               "citizens per public", CITIZENS,
               lambda n: [f"parties.japan.public.citizens={n}",
                          f"parties.russia.public.citizens={n}"], args.samples)
    cost_table("3. One run vs meetings (protocol.rounds; 10,000 citizens per public)",
               "protocol.rounds", ROUNDS, lambda n: [f"protocol.rounds={n}"], args.samples)


if __name__ == "__main__":  # required: worker processes are spawned and re-import this file
    main()
