"""Global sensitivity analysis with SALib: which uncertain parameters move the outcome?

The *problem* (SALib's word) is the list of parameters and their ranges: by default every
distribution in the scenario, over ``Distribution.bounds()`` (its low/high, or mean +- 3 sd);
or the parameters named, each ``dotted.path`` (it must hold a distribution) or
``dotted.path=lo:hi`` (any number in the scenario, over that range; the range is checked by the
schema at both ends before anything runs; an integer field gets rounded values).

Each SALib sample is one scenario: a :class:`Runner` whose named parameters are fixed at the
sample's values. Its model output is estimated by a small ensemble of ``runs_per_sample`` runs
with the seeds ``run_seed(seed, i)``, the same at every sample (common random numbers, so that
the outputs differ by the parameters, not by luck); uncertain parameters left out of the problem
are drawn from those seeds, alike at every sample. Outputs per sample: ``p_ratified`` (the share
of runs ending in a ratified agreement) and ``utility_<party>`` (each leader's mean utility,
the reservation utility when there is no deal).

Methods (SALib 1.6):

* ``sobol``: Saltelli's sampling scheme on a scrambled Sobol' sequence
  (``SALib.sample.sobol.sample``, formerly ``saltelli.sample``) and Sobol' indices
  (``SALib.analyze.sobol.analyze``): first-order ``S1`` (the share of output variance due to
  the parameter alone) and total ``ST`` (including all its interactions), each with the
  half-width of its bootstrap confidence interval (``_conf``). ``samples`` is the base sample
  size N, a power of 2; the model is evaluated at N (D + 2) points (N (2D + 2) with
  ``second_order``, which adds ``S2``).
* ``morris``: elementary effects on ``samples`` trajectories of a ``num_levels`` grid
  (``SALib.sample.morris``, ``SALib.analyze.morris``): ``mu_star`` (mean absolute effect, in the
  output's units per full range of the parameter), its ``mu_star_conf``, ``mu`` and ``sigma``
  (spread of the effects: non-linearity or interactions). N (D + 1) points.

Reproducibility: the sampler is given ``seed=seed``, so ``SALib.sample.sobol.sample(problem, N,
calc_second_order=..., seed=seed)`` re-creates the design; the analysis's bootstrap uses
``seed + 1`` (``SALib.analyze.sobol`` treats a seed of 0 as "no seed").
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim import __version__
from sim.batch import common_tasks, run_batch
from sim.loading import Problem, ScenarioError
from sim.runner import Runner
from sim.sweep import format_value, scenario_with
from sim.uncertainty import uncertain_parameters

Method = Literal["sobol", "morris"]
INDICES = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"),
           "morris": ("mu_star", "mu_star_conf", "sigma", "mu")}


@dataclass(frozen=True)
class Factor:
    """One parameter of the problem."""

    name: str
    low: float
    high: float
    origin: str  # "distribution" or "range"
    integer: bool = False

    def value(self, x: float) -> float | int:
        return int(round(x)) if self.integer else float(x)


def parse_range(spec: str) -> tuple[str, float, float]:
    """``"dotted.path=lo:hi"`` -> ``(path, lo, hi)``; raises ValueError."""
    path, _, rng = spec.partition("=")
    path = path.strip()
    parts = rng.split(":")
    if not path or any(not p.strip() for p in path.split(".")) or len(parts) != 2:
        raise ValueError(f"parameter {spec!r}: expected dotted.path or dotted.path=lo:hi")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"parameter {spec!r}: lo and hi must be numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"parameter {spec!r}: expected finite lo < hi")
    return path, lo, hi


def _lookup(data: dict, path: tuple) -> tuple[bool, Any]:
    node: Any = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _split(path: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))


def problem_of(data: dict, names: Sequence[str] | None = None,
               origins: dict | None = None) -> tuple[list[Factor], dict]:
    """The factors of the problem and the scenario data to run them on: named ranges without
    a distribution become uniform distributions (source kept), so that every factor is an
    uncertain parameter a :class:`Runner` can fix. Raises ScenarioError naming the field."""
    uncertain = {p.name: p for p in uncertain_parameters(data)}
    if names is None:
        if not uncertain:
            raise ScenarioError([Problem("--param", "", "this scenario has no uncertain "
                                         "parameters (distributions); name some as "
                                         "dotted.path=lo:hi")])
        names = list(uncertain)
    if not names:
        raise ValueError("no parameters to analyse")
    factors: list[Factor] = []
    problems: list[Problem] = []
    for spec in names:
        if "=" in spec:
            path, lo, hi = parse_range(spec)
            current = _lookup(data, _split(path))[1]
            if isinstance(current, dict):
                current = current.get("value")
            integer = isinstance(current, int) and not isinstance(current, bool)
            factors.append(Factor(path, lo, hi, "range", integer))
            continue
        path = spec.strip()
        if path in uncertain:
            lo, hi = uncertain[path].distribution.bounds()
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                problems.append(Problem("--param", path, f"its distribution has no spread "
                                        f"({lo}..{hi}); give a range: {path}=lo:hi"))
                continue
            factors.append(Factor(path, float(lo), float(hi), "distribution"))
        elif _lookup(data, _split(path))[0]:
            problems.append(Problem("--param", path, "has no distribution in this scenario; "
                                    f"give a range: {path}=lo:hi"))
        else:
            problems.append(Problem("--param", path, "no such field in this scenario"))
    for f in factors:
        # Both ends through the schema, as --set would set them: a bad path or value (a
        # range, or a distribution's mean +- 3 sd, beyond what the field allows) is named.
        for end in (f.value(f.low), f.value(f.high)):
            try:
                scenario_with(data, [f"{f.name}={format_value(end)}"], origins, "--param")
            except ScenarioError as e:
                known = {str(p) for p in problems}
                problems.extend(p for p in e.problems if str(p) not in known)
    seen = [f.name for f in factors]
    dup = {n for n in seen if seen.count(n) > 1}
    if dup:
        raise ValueError(f"parameter named twice: {', '.join(sorted(dup))}")
    if problems:
        raise ScenarioError(problems)
    return factors, _with_ranges(data, [f for f in factors if f.origin == "range"])


def _with_ranges(data: dict, factors: list[Factor]) -> dict:
    data = copy.deepcopy(data)
    for f in factors:
        path = _split(f.name)
        node = data
        for part in path[:-1]:
            node = node[part]
        current = node[path[-1]]
        source = current.get("source") if isinstance(current, dict) else None
        node[path[-1]] = {"dist": "uniform", "low": f.low, "high": f.high,
                          **({"source": source} if source else {})}
    return data


def _salib_problem(factors: list[Factor]) -> dict:
    return {"num_vars": len(factors), "names": [f.name for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def sensitivity(data: dict, method: Method = "sobol", samples: int = 64,
                names: Sequence[str] | None = None, runs_per_sample: int = 10, seed: int = 0,
                workers: int = 1, progress: Callable[[int], None] | None = None, *,
                origins: dict | None = None, publics: bool = True, num_levels: int = 4,
                second_order: bool = False, num_resamples: int = 100,
                conf_level: float = 0.95,
                on_total: Callable[[int], None] | None = None) -> dict:
    """Global sensitivity of P(ratified agreement) and each leader's mean utility.

    ``samples``: Sobol's base sample size N (a power of 2) or Morris's number of trajectories.
    ``names``: parameters as ``dotted.path`` (holding a distribution) or ``dotted.path=lo:hi``;
    None: every uncertain parameter. Bad names raise ScenarioError (field named) or ValueError
    (syntax), before anything runs. All model runs share one pool of ``workers`` processes;
    ``on_total(n)`` is told the number of runs first, ``progress(n)`` as runs finish. Ctrl-C
    raises KeyboardInterrupt (indices need every sample).

    Returns ``{"negsim_version", "scenario": {"name", "sha256"}, "method", "seed", "samples",
    "points", "runs_per_sample", "runs", "parameters": [{"name", "low", "high", "origin"}],
    "outputs", "indices", "design", "failed_runs", "workers", "elapsed_s"}``. ``indices`` has
    one dict per output and parameter: ``{"output", "parameter", "S1", "S1_conf", "ST",
    "ST_conf"}`` (Sobol; plus ``S2`` (dict by other parameter) with ``second_order``) or
    ``{"output", "parameter", "mu_star", "mu_star_conf", "sigma", "mu"}`` (Morris); an index
    that is undefined (an output that never varies, for Sobol) is None. ``design`` has one
    dict per model evaluation: ``point``, the parameter values and the outputs.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in INDICES:
        raise ValueError(f"method must be 'sobol' or 'morris', not {method!r}")
    if runs_per_sample < 1:
        raise ValueError(f"runs_per_sample must be at least 1, got {runs_per_sample}")
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        lower = 1 << max(1, samples.bit_length() - 1)
        raise ValueError(f"Sobol needs a power of 2 for samples (the base sample size), got "
                         f"{samples}: try {lower} or {lower * 2}")
    if method == "morris" and samples < 2:
        raise ValueError(f"Morris needs at least 2 trajectories, got {samples}")

    factors, run_data = problem_of(data, names, origins)
    problem = _salib_problem(factors)
    if method == "sobol":
        X = sobol_sample.sample(problem, samples, calc_second_order=second_order, seed=seed)
    else:
        X = morris_sample.sample(problem, samples, num_levels=num_levels, seed=seed)

    base = Runner(data, publics=publics)
    parties = list(base.nominal.parties)
    points = [{f.name: f.value(x) for f, x in zip(factors, row, strict=True)} for row in X]
    runners = [Runner(run_data, publics=publics, fixed=p) for p in points]
    tasks = common_tasks(len(runners), runs_per_sample, seed)
    if on_total:
        on_total(len(tasks))
    batch = run_batch(runners, tasks, workers, progress)
    if batch.interrupted:
        raise KeyboardInterrupt

    outputs = ["p_ratified", *(f"utility_{p}" for p in parties)]
    Y = np.full((len(points), len(outputs)), np.nan)
    by_point: list[list[dict]] = [[] for _ in points]
    for row in batch.rows:
        by_point[row["runner_id"]].append(row)
    failed = 0
    for j, rows in enumerate(by_point):
        ok = [r for r in rows if r["status"] != "failed"]
        failed += len(rows) - len(ok)
        if not ok:
            raise RuntimeError(f"every run of sample {j} ({points[j]}) failed: "
                               f"{rows[0]['error'] if rows else 'no runs'}")
        Y[j, 0] = np.mean([r["status"] == "ratified" for r in ok])
        for k, p in enumerate(parties, start=1):
            Y[j, k] = np.mean([r[f"utility_{p}"] for r in ok])

    indices: list[dict] = []
    for k, out in enumerate(outputs):
        y = Y[:, k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 for an output that is flat
            if method == "sobol":
                si = sobol_analyze.analyze(problem, y, calc_second_order=second_order,
                                           num_resamples=num_resamples, conf_level=conf_level,
                                           seed=seed + 1)
            else:
                si = morris_analyze.analyze(problem, X, y, num_resamples=num_resamples,
                                            conf_level=conf_level, num_levels=num_levels,
                                            seed=seed + 1)
        flat = float(np.ptp(y)) == 0.0
        for i, f in enumerate(factors):
            entry: dict = {"output": out, "parameter": f.name}
            for key in INDICES[method]:
                entry[key] = None if flat and method == "sobol" else _num(si[key][i])
            if method == "sobol" and second_order:
                entry["S2"] = {g.name: (None if flat else _num(si["S2"][i][j]))
                               for j, g in enumerate(factors) if j != i}
            indices.append(entry)

    design = [{"point": j, **p, **{o: round(float(Y[j, k]), 6) for k, o in enumerate(outputs)}}
              for j, p in enumerate(points)]
    return {
        "negsim_version": __version__,
        "scenario": {"name": base.name, "sha256": base.sha256},
        "method": method,
        "seed": seed,
        "samples": samples,
        "points": len(points),
        "runs_per_sample": runs_per_sample,
        "runs": len(tasks),
        "parameters": [{"name": f.name, "low": f.low, "high": f.high, "origin": f.origin}
                       for f in factors],
        "outputs": outputs,
        "indices": indices,
        "design": design,
        "failed_runs": failed,
        "workers": batch.workers,
        "elapsed_s": round(batch.elapsed_s, 3),
    }


def _num(x: Any) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None
