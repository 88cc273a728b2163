"""Parameter sweeps in the manner of NetLogo's BehaviorSpace: a grid over one or two scenario
fields, an ensemble at every grid point.

A grid is written ``dotted.path=lo:hi:steps``: ``steps`` (>= 2) evenly spaced values from ``lo``
to ``hi``, both included. Each grid point is its own scenario, made exactly as ``--set
dotted.path=value`` makes one (a sourced number keeps its source; a distribution is replaced by
the value) and validated by the schema before anything runs.

Every point runs the same seeds ``run_seed(seed, i)``, i = 0 .. runs_per_point - 1 (common random
numbers): differences between points come from the parameters, not from luck, and the uncertain
parameters that are not swept are drawn alike at every point.

For each point the table gives P(agreement) (a deal was signed, ratified or not), P(ratified
agreement) and the probability of each outcome class, each with its Wilson 95% interval
(``_low`` / ``_high``), over the runs that did not fail.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from sim import __version__
from sim.batch import common_tasks, run_batch
from sim.ensemble import wilson
from sim.io import atomic_write_text
from sim.loading import ScenarioError, apply_sets, validate_data
from sim.runner import Runner

Grid = tuple[str, list[float | int]]

def _number(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"grid {spec!r}: {what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"grid {spec!r}: {what} must be finite, got {text!r}")
    return value


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def parse_grid(spec: str) -> Grid:
    """``"dotted.path=lo:hi:steps"`` -> ``(path, values)``: ``steps`` (an integer >= 2) evenly
    spaced values from ``lo`` to ``hi`` inclusive. Integer ``lo`` and ``hi`` whose gap divides
    evenly give integers (``protocol.rounds=4:16:4`` -> 4, 8, 12, 16); otherwise floats, rounded
    to 12 significant digits (0.3:0.75:4 -> 0.3, 0.45, 0.6, 0.75). Raises ValueError."""
    if "=" not in spec:
        raise ValueError(f"grid {spec!r}: expected dotted.path=lo:hi:steps")
    path, _, rng = spec.partition("=")
    path = path.strip()
    if not path or any(not part.strip() for part in path.split(".")):
        raise ValueError(f"grid {spec!r}: expected dotted.path=lo:hi:steps (empty field path)")
    parts = rng.split(":")
    if len(parts) != 3:
        raise ValueError(f"grid {spec!r}: expected lo:hi:steps after '=', e.g. "
                         f"{path}=0.3:0.7:5")
    lo_t, hi_t, steps_t = (p.strip() for p in parts)
    lo, hi = _number(lo_t, "lo", spec), _number(hi_t, "hi", spec)
    if not _is_int(steps_t):
        raise ValueError(f"grid {spec!r}: steps must be a whole number, got {steps_t!r}")
    steps = int(steps_t)
    if steps < 2:
        raise ValueError(f"grid {spec!r}: steps must be at least 2 (lo and hi), got {steps}")
    if lo == hi:
        raise ValueError(f"grid {spec!r}: lo and hi must differ")
    if _is_int(lo_t) and _is_int(hi_t) and (int(hi) - int(lo)) % (steps - 1) == 0:
        step = (int(hi) - int(lo)) // (steps - 1)
        return path, [int(lo) + k * step for k in range(steps)]
    return path, [float(f"{v:.12g}") for v in np.linspace(lo, hi, steps)]


def format_value(value: float | int) -> str:
    """A grid value as ``--set`` text (integers stay integers)."""
    return str(value) if isinstance(value, int) else repr(float(value))


def scenario_with(data: dict, assignments: Sequence[str], origins: dict | None = None,
                  label: str = "--grid") -> dict:
    """The scenario data with ``dotted.path=value`` assignments applied as ``--set`` applies
    them, validated by the schema (and calibrated); raises :class:`ScenarioError` naming each
    bad field, with ``label`` in place of ``--set`` as the problems' origin."""
    origins = dict(origins or {})
    new, problems = apply_sets(data, assignments, origins)
    try:
        validate_data(new, origins, str(data.get("name", "scenario")), problems)
    except ScenarioError as e:
        raise ScenarioError([replace(p, file=label) if p.file == "--set" else p
                             for p in e.problems]) from None
    return new


def sweep(data: dict, grids: Sequence[str | Grid], runs_per_point: int, seed: int = 0,
          workers: int = 1, progress: Callable[[int], None] | None = None, *,
          origins: dict | None = None, publics: bool = True,
          csv_path: str | Path | None = None,
          on_total: Callable[[int], None] | None = None) -> dict:
    """Sweep one or two scenario fields over a grid; an ensemble of ``runs_per_point`` runs
    at every point, all in one process pool of ``workers`` processes (1: in this process).

    ``data`` is resolved scenario data (``resolve(ref).data``; pass ``origins`` too for file
    and line numbers in errors). ``grids`` are ``"path=lo:hi:steps"`` strings or parsed
    ``(path, values)`` pairs. Every point is validated before anything runs: a bad path or
    value raises :class:`ScenarioError` naming the field (a malformed grid: ValueError).
    ``on_total(n)`` is told the number of runs before they start, ``progress(n)`` how many just
    finished. ``csv_path``: also write the table there as CSV (atomically).

    Returns ``{"negsim_version", "scenario": {"name", "sha256"}, "seed", "runs_per_point",
    "parameters": [{"path", "values"}], "outcome_classes", "parties", "table", "rows",
    "completed", "failed_runs", "interrupted", "workers", "elapsed_s"}``; ``table`` has one
    dict per point (first grid varying slowest): the grid values by path, ``runs``, ``failed``,
    ``p_agreement``/``_low``/``_high``, ``p_ratified``/``_low``/``_high``,
    ``p_class[<name>]``/``_low``/``_high`` per outcome class (status quo included) and
    ``mean_utility_<party>`` (reservation utility when no deal); ``rows`` are the runs, each
    with its ``point`` and the grid values.
    """
    if runs_per_point < 1:
        raise ValueError(f"runs_per_point must be at least 1, got {runs_per_point}")
    parsed = [parse_grid(g) if isinstance(g, str) else (g[0], list(g[1])) for g in grids]
    if not 1 <= len(parsed) <= 2:
        raise ValueError(f"a sweep takes one or two grid parameters, got {len(parsed)}")
    paths = [p for p, _ in parsed]
    if len(set(paths)) != len(paths):
        raise ValueError(f"the same field is swept twice: {paths[0]}")
    points = list(itertools.product(*(values for _, values in parsed)))

    # Validate every point before running any: a value may be valid at one end only.
    datas, problems, seen = [], [], set()
    for point in points:
        try:
            sets = [f"{p}={format_value(v)}" for p, v in zip(paths, point, strict=True)]
            datas.append(scenario_with(data, sets, origins))
        except ScenarioError as e:
            for prob in e.problems:
                if str(prob) not in seen:
                    seen.add(str(prob))
                    problems.append(prob)
    if problems:
        raise ScenarioError(problems)

    base = Runner(data, publics=publics)
    runners = [Runner(d, publics=publics) for d in datas]
    tasks = common_tasks(len(runners), runs_per_point, seed)
    if on_total:
        on_total(len(tasks))
    batch = run_batch(runners, tasks, workers, progress)

    parties = list(base.nominal.parties)
    classes = [*base._nominal.class_names, "status quo"]
    by_point: list[list[dict]] = [[] for _ in points]
    rows = []
    for row in batch.rows:
        k = row.pop("runner_id")
        by_point[k].append(row)
        rows.append({"point": k, **dict(zip(paths, points[k], strict=True)), **row})
    table = [_summarise(dict(zip(paths, point, strict=True)), rs, classes, parties)
             for point, rs in zip(points, by_point, strict=True)]
    if csv_path is not None:
        write_csv(table, csv_path)
    return {
        "negsim_version": __version__,
        "scenario": {"name": base.name, "sha256": base.sha256},
        "seed": seed,
        "runs_per_point": runs_per_point,
        "parameters": [{"path": p, "values": v} for p, v in parsed],
        "outcome_classes": classes,
        "parties": parties,
        "table": table,
        "rows": rows,
        "completed": len(rows),
        "failed_runs": sum(r["status"] == "failed" for r in rows),
        "interrupted": batch.interrupted,
        "workers": batch.workers,
        "elapsed_s": round(batch.elapsed_s, 3),
    }


def _summarise(values: dict, rows: list[dict], classes: list[str], parties: list[str]) -> dict:
    ok = [r for r in rows if r["status"] != "failed"]
    n = len(ok)
    out: dict = {**values, "runs": n, "failed": len(rows) - n}

    def share(name: str, k: int) -> None:
        lo, hi = wilson(k, n)
        out[name] = round(k / n, 6) if n else None
        out[f"{name}_low"] = round(lo, 6)
        out[f"{name}_high"] = round(hi, 6)

    share("p_agreement", sum(r["status"] != "no_agreement" for r in ok))
    share("p_ratified", sum(r["status"] == "ratified" for r in ok))
    counts = Counter(r["outcome_class"] for r in ok)
    for c in classes:
        share(f"p_class[{c}]", counts.get(c, 0))
    for p in parties:
        u = [r[f"utility_{p}"] for r in ok if r.get(f"utility_{p}") is not None]
        out[f"mean_utility_{p}"] = round(float(np.mean(u)), 6) if u else None
    return out


def table_csv(records: Sequence[dict]) -> str:
    """Records (dicts) as CSV text: the columns of the first record, then any new ones."""
    columns: list[str] = []
    for rec in records:
        columns.extend(k for k in rec if k not in columns)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: ("" if v is None else v) for k, v in rec.items()})
    return buf.getvalue()


def write_csv(records: Sequence[dict], path: str | Path) -> None:
    """Write records as CSV atomically (a reader sees the old file or the new one)."""
    atomic_write_text(path, table_csv(records))
