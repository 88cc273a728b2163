"""Wall time of one full baseline run, with and without the publics.

Times what `negsim run baseline` does after loading: ``NegotiationModel(scenario, seed)``, then
``run_model()``, then ``sim.results.result_of(model)``. The scenario is loaded and compiled once
beforehand; one warm-up run per configuration is excluded; every timed run has its own seed.
Not a test: nothing here asserts on speed.

    python benchmarks/bench_run.py [--runs N] [--citizens N]
"""

from __future__ import annotations

import argparse
import os
import platform
from time import perf_counter

import mesa
import numpy as np

from sim import __version__
from sim.compiled import compile_scenario
from sim.loading import load_scenario
from sim.model import NegotiationModel
from sim.results import result_of

SCENARIO = "baseline"
MIN_RUNS = 20


def one_run(scenario, seed: int, publics: bool) -> tuple[float, int]:
    """Milliseconds for one run, and the number of meetings it held."""
    t0 = perf_counter()
    model = NegotiationModel(scenario, seed, publics=publics)
    model.run_model()
    result = result_of(model)
    return (perf_counter() - t0) * 1000.0, len(result.trace)


def bench(scenario, runs: int, publics: bool) -> tuple[np.ndarray, float]:
    one_run(scenario, 0, publics)  # warm-up, not counted
    times, meetings = zip(*(one_run(scenario, seed, publics) for seed in range(1, runs + 1)),
                          strict=True)
    return np.array(times), float(np.mean(meetings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50,
                        help=f"timed runs per configuration (default 50, at least {MIN_RUNS})")
    parser.add_argument("--citizens", type=int, default=10_000,
                        help="citizens per public (default 10,000)")
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    if args.citizens < 2:
        parser.error("--citizens must be at least 2")

    # Which parties have a public, so that --citizens can be applied as `negsim --set` would.
    probe = load_scenario(SCENARIO)
    sets = [f"parties.{pid}.public.citizens={args.citizens}"
            for pid, party in probe.parties.items() if party.public is not None]
    t0 = perf_counter()
    scenario = load_scenario(SCENARIO, sets)
    compiled = compile_scenario(scenario)
    _ = compiled.analysis  # the exact analysis is computed once, on first use
    load_ms = (perf_counter() - t0) * 1000.0

    print(f"negsim {__version__} benchmark: one full '{SCENARIO}' run "
          f"({args.citizens:,} citizens per public, {args.runs} timed runs, 1 warm-up)")
    print(f"CPUs {os.cpu_count()}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"mesa {mesa.__version__}, {platform.machine()}")
    print(f"load + compile '{SCENARIO}' once (incl. exact analysis): {load_ms:.1f} ms\n")
    print(f"{'configuration':<16}{'median ms':>11}{'p10 ms':>9}{'p90 ms':>9}{'meetings/run':>14}")
    for label, publics in (("with publics", True), ("no publics", False)):
        times, meetings = bench(scenario, args.runs, publics)
        p10, p50, p90 = np.percentile(times, [10, 50, 90])
        print(f"{label:<16}{p50:>11.2f}{p10:>9.2f}{p90:>9.2f}{meetings:>14.1f}")


if __name__ == "__main__":
    main()
