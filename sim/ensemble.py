"""Monte Carlo ensembles: many runs of one scenario, each with its own seed, summarised as the
EnsembleResult of BRIEF §7.

Run i's seed is derived from the master seed S and i alone (numpy ``SeedSequence(S,
spawn_key=(i,))``), so an ensemble's results do not depend on the number of workers, the backend
or the order in which runs finish.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim import __version__
from sim.batch import chunk_size, chunks, run_batch, run_seed
from sim.runner import Runner

__all__ = ["Ensemble", "chunk_size", "chunks", "run_seed", "summarise", "wilson"]

STATUSES = ("ratified", "signed_not_ratified", "no_agreement")
Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927, JASA 22); well behaved
    near 0 and 1, unlike the normal approximation."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# --------------------------------------------------------------------------- execution


@dataclass
class Ensemble:
    """An ensemble in progress or done: its rows, in run order once finished."""

    runner: Runner
    runs: int
    seed: int = 0
    workers: int = 1
    backend: str = "local"
    rows: list[dict] = field(default_factory=list)
    interrupted: bool = False
    elapsed_s: float = 0.0

    def tasks(self) -> list[tuple[int, int]]:
        return [(i, run_seed(self.seed, i)) for i in range(self.runs)]

    def execute(self, progress: Callable[[int], None] | None = None,
                scheduler: str | None = None) -> Ensemble:
        """Run everything; ``progress(n)`` is told how many runs just finished. Ctrl-C stops
        early and keeps the finished runs (``interrupted`` is then True)."""
        start = time.perf_counter()
        tasks = self.tasks()
        if self.backend == "dask":
            from sim.cluster import run_on_dask

            try:
                run_on_dask(self, tasks, progress, scheduler)
            except KeyboardInterrupt:
                self.interrupted = True
        else:
            batch = run_batch([self.runner], [(0, i, s) for i, s in tasks], self.workers,
                              progress)
            self.rows.extend({k: v for k, v in r.items() if k != "runner_id"}
                             for r in batch.rows)
            self.interrupted = batch.interrupted
        self.rows.sort(key=lambda r: r["index"])
        self.elapsed_s = time.perf_counter() - start
        return self

    # ----------------------------------------------------------------------- summary
    def result(self) -> dict:
        return summarise(self)


def summarise(e: Ensemble) -> dict:
    """The EnsembleResult of BRIEF §7."""
    rows = e.rows
    ok = [r for r in rows if r["status"] != "failed"]
    n = len(ok)
    parties = list(e.runner.nominal.parties)

    def share(k: int) -> dict:
        lo, hi = wilson(k, n)
        return {"count": k, "p": round(k / n, 6) if n else None,
                "low": round(lo, 6), "high": round(hi, 6)}

    status = Counter(r["status"] for r in ok)
    classes = Counter(r["outcome_class"] for r in ok)
    class_names = [*e.runner._nominal.class_names, "status quo"]
    signed = [r for r in ok if r["status"] != "no_agreement"]
    rounds = np.array([r["round"] for r in signed], dtype=float)

    def spread(values) -> dict | None:
        v = np.array([x for x in values if x is not None], dtype=float)
        if v.size == 0:
            return None
        return {"mean": round(float(v.mean()), 6), "p10": round(float(np.quantile(v, 0.1)), 6),
                "median": round(float(np.median(v)), 6),
                "p90": round(float(np.quantile(v, 0.9)), 6)}

    return {
        "negsim_version": __version__,
        "scenario": {"name": e.runner.name, "sha256": e.runner.sha256},
        "seed": e.seed,
        "runs": e.runs,
        "completed": len(rows),
        "interrupted": e.interrupted,
        "failed_runs": len(rows) - n,
        "status": {s: share(status.get(s, 0)) for s in STATUSES},
        "agreement": share(len(signed)),
        "outcome_class": {c: share(classes.get(c, 0)) for c in class_names},
        "rounds_to_agreement": None if rounds.size == 0 else {
            **spread(rounds),
            "histogram": {str(int(k)): int(v) for k, v in
                          sorted(Counter(rounds.astype(int).tolist()).items())},
        },
        "at_agreement": {
            "utility": {p: spread(r[f"utility_{p}"] for r in signed) for p in parties},
            "support": {p: spread(r[f"support_{p}"] for r in signed) for p in parties},
        },
        "uncertain_parameters": [p.name for p in e.runner.params],
        "failed": [{"index": r["index"], "seed": r["seed"], "error": r["error"]}
                   for r in rows if r["status"] == "failed"][:100],
        "workers": e.workers,
        "backend": e.backend,
        "elapsed_s": round(e.elapsed_s, 3),
    }


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
