"""Charts of sweeps and sensitivity analyses as PNG files (matplotlib, no display, no network).

Figures are built with matplotlib's object API and its Agg canvas, never through pyplot: no
global backend is switched and nothing is left open. Files are written atomically (a temporary
file in the same directory, then ``os.replace``), so a reader never sees half a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.io import atomic_open

_BLUE, _ORANGE = "#1f77b4", "#ff7f0e"


def save_png(fig: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Render ``fig`` to ``path`` atomically."""
    FigureCanvasAgg(fig)
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight")
    return Path(path)


# --------------------------------------------------------------------------- sweeps


def _sweep_parts(table_or_result) -> tuple[list[dict], list[str], str]:
    if isinstance(table_or_result, dict):
        table = table_or_result["table"]
        params = [p["path"] for p in table_or_result["parameters"]]
        name = table_or_result.get("scenario", {}).get("name", "")
        return table, params, name
    table = list(table_or_result)
    if not table:
        raise ValueError("an empty sweep table has nothing to plot")
    keys = list(table[0])
    return table, keys[:keys.index("runs")], ""  # the grid values come before "runs"


def _short(path: str) -> str:
    return path if len(path) <= 40 else "…" + path[-39:]


def sweep_png(table, path: str | Path) -> Path:
    """One grid parameter: a line chart of P(ratified agreement) and P(agreement) against it,
    each with its Wilson 95% band. Two: heatmaps of both probabilities (first parameter on the
    x axis, second on the y axis), every cell annotated. ``table`` is sweep()'s result or its
    ``table``."""
    rows, params, name = _sweep_parts(table)
    if len(params) == 1:
        fig = _sweep_line(rows, params[0])
    elif len(params) == 2:
        fig = _sweep_heatmap(rows, params)
    else:
        raise ValueError(f"a sweep chart takes one or two parameters, got {len(params)}")
    runs = rows[0].get("runs")
    fig.suptitle(f"{name + ': ' if name else ''}sweep, {runs} runs per point", fontsize=11)
    fig.tight_layout()
    return save_png(fig, path)


def _nums(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _sweep_line(rows: list[dict], param: str) -> Figure:
    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    x = _nums(r[param] for r in rows)
    for key, label, colour in (("p_ratified", "P(ratified agreement)", _BLUE),
                               ("p_agreement", "P(agreement signed)", _ORANGE)):
        ax.plot(x, _nums(r[key] for r in rows), marker="o", color=colour, label=label)
        ax.fill_between(x, _nums(r[f"{key}_low"] for r in rows),
                        _nums(r[f"{key}_high"] for r in rows), color=colour, alpha=0.18,
                        linewidth=0, label=f"{label}, 95% interval")
    ax.set_xlabel(_short(param))
    ax.set_ylabel("probability")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def _sweep_heatmap(rows: list[dict], params: list[str]) -> Figure:
    xs = sorted({r[params[0]] for r in rows})
    ys = sorted({r[params[1]] for r in rows})
    fig = Figure(figsize=(max(8, 1.3 * len(xs) * 2 + 2), max(3.6, 0.55 * len(ys) + 2)))
    axes = fig.subplots(1, 2)
    for ax, (key, title) in zip(axes, (("p_ratified", "P(ratified agreement)"),
                                       ("p_agreement", "P(agreement signed)")), strict=True):
        grid = np.full((len(ys), len(xs)), np.nan)
        for r in rows:
            v = r[key]
            grid[ys.index(r[params[1]]), xs.index(r[params[0]])] = np.nan if v is None else v
        im = ax.imshow(grid, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
        for i in range(len(ys)):
            for j in range(len(xs)):
                v = grid[i, j]
                text = "–" if np.isnan(v) else f"{v:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="black" if not np.isnan(v) and v > 0.6 else "white")
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs], fontsize=8)
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys], fontsize=8)
        ax.set_xlabel(_short(params[0]))
        ax.set_ylabel(_short(params[1]))
        ax.set_title(title, fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return fig


# --------------------------------------------------------------------------- sensitivity


def sensitivity_png(indices, path: str | Path) -> Path:
    """Horizontal bars, one panel per output: total-order ``ST`` (Sobol) or ``mu_star``
    (Morris) of each parameter, with its confidence half-width as an error bar. ``indices``
    is sensitivity()'s result or its ``indices`` list."""
    name = ""
    if isinstance(indices, dict):
        name = indices.get("scenario", {}).get("name", "")
        indices = indices["indices"]
    indices: Sequence[dict] = list(indices)
    if not indices:
        raise ValueError("no indices to plot")
    sobol = "ST" in indices[0]
    key, conf = ("ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf")
    outputs = list(dict.fromkeys(e["output"] for e in indices))
    params = list(dict.fromkeys(e["parameter"] for e in indices))
    fig = Figure(figsize=(4.2 * len(outputs) + 2.5, 0.45 * len(params) + 1.8))
    axes = fig.subplots(1, len(outputs), sharey=True, squeeze=False)[0]
    y = np.arange(len(params))
    for ax, out in zip(axes, outputs, strict=True):
        by = {e["parameter"]: e for e in indices if e["output"] == out}
        vals = _nums(by[p][key] if p in by else None for p in params)
        errs = _nums(by[p][conf] if p in by else None for p in params)
        ax.barh(y, np.nan_to_num(vals), xerr=np.nan_to_num(errs), color=_BLUE, alpha=0.85,
                error_kw={"elinewidth": 1, "capsize": 2})
        for yi, v in zip(y, vals, strict=True):
            if np.isnan(v):
                ax.text(0, yi, " n/a (output constant)", va="center", fontsize=7)
        ax.set_title(out, fontsize=10)
        ax.set_xlabel("total-order index ST" if sobol else "mu* (mean |elementary effect|)")
        if sobol:
            ax.set_xlim(0, max(1.0, float(np.nanmax(np.append(vals + errs, 0)))))
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [_short(p) for p in params], fontsize=8)
    axes[0].invert_yaxis()
    method = "Sobol" if sobol else "Morris"
    fig.suptitle(f"{name + ': ' if name else ''}{method} sensitivity", fontsize=11)
    fig.tight_layout()
    return save_png(fig, path)
