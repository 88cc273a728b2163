"""A one-page debrief of a finished run, for the classroom: ONE standalone HTML file.

The page opens with no internet: no scripts, no external stylesheets, fonts or images. Styles are
inline and every chart is a matplotlib figure (object API and the Agg canvas, never pyplot)
embedded as a base64 PNG ``data:`` URI. It shows:

- the scenario, seed, negsim version, scenario sha256, the run's status and the one-sentence
  reason it ended;
- the deal in words and its outcome class; each side's utility, public support, approval and
  ratification;
- the island map of the deal (the outlines of :mod:`dashboard.map`, coloured by holder), or a
  note when the scenario is not about these islands;
- the offers meeting by meeting in the leaders' utility space, against the Pareto frontier, the
  Nash and Kalai–Smorodinsky points and the zone of possible agreement (ZOPA);
- public support for the offer on the table and the leaders' approval over the meetings;
- how the same scenario ends across an ensemble of agent-vs-agent runs (status and outcome-class
  probabilities with 95% Wilson intervals) and where this run stands in it;
- for the Kuril case, what happened in reality (:data:`REALITY_EVENTS`).

Which scenario. A :class:`~sim.results.RunResult` names its scenario and the sha256 of the
resolved scenario (after ``extends`` and ``--set``). Pass the :class:`~sim.loading.Resolved`
scenario the run used; if you pass none, the scenario is resolved by name (a bundled scenario or a
path) with no overrides. Either way the sha256 must match the result's, or :func:`report_html`
raises :class:`ValueError`: drawing a run against a different scenario's frontier, win-sets and
ensemble would mislead a class, so no report is better than a wrong one.

Which run. For a scenario with uncertain parameters, the charts use the scenario as this run drew
it (:meth:`sim.runner.Runner.compiled_for` with the result's seed). A result made without
publics (``--no-publics``: no support recorded anywhere) is analysed and re-run without them.

The ensemble uses the result's seed as its master seed, so ``negsim run NAME --runs N --seed S``
(with the same ``--set`` overrides) reproduces the probabilities shown.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim import __version__
from sim.compiled import Compiled, compile_scenario
from sim.io import atomic_write_text
from sim.loading import Resolved, ScenarioError, resolve
from sim.outcomes import STATUS_QUO_CLASS
from sim.results import RunResult
from sim.runner import Runner
from sim.scenario import Scenario

__all__ = ["REALITY_EVENTS", "REALITY_SUMMARY", "ensemble_for", "load_result", "report_html",
           "write_report"]

# What happened after February 2019. Source: /work/shared/BRIEF.md §2, "What happened
# afterwards" (no treaty and no transfer; Osaka and Vladivostok summits of 2019 without
# territorial progress; the July 2020 constitutional amendment, 77.9% yes; Abe's resignation in
# August 2020; Russia's suspension of peace-treaty talks in March 2022). Our own wording.
REALITY_SUMMARY = ("In reality no peace treaty was signed and no island changed hands: the "
                   "status quo of February 2019 held.")
REALITY_EVENTS: tuple[tuple[str, str], ...] = (
    ("June 2019", "Abe and Putin met at the G20 summit in Osaka; the islands did not move."),
    ("September 2019", "They met again at the Eastern Economic Forum in Vladivostok, again "
                       "without territorial progress."),
    ("July 2020", "Russia amended its constitution to ban the alienation of Russian territory; "
                  "77.9% voted yes."),
    ("August 2020", "Abe resigned as prime minister."),
    ("March 2022", "Russia suspended the peace-treaty talks with Japan."),
)

STATUS_WORDS = {"ratified": "ratified", "signed_not_ratified": "signed, not ratified",
                "no_agreement": "no agreement"}
STATUS_COLOURS = {"ratified": "#2e7d32", "signed_not_ratified": "#b26a00",
                  "no_agreement": "#b71c1c"}
_FALLBACK_COLOURS = ("#d9534f", "#3f6fb5")
_HIGHLIGHT, _PLAIN = "#f28e2b", "#8fa9c8"
_DPI = 110


# --------------------------------------------------------------------------- public API


def load_result(path: str | Path) -> RunResult:
    """A RunResult from a ``negsim run --json`` file (see :func:`report_html` for errors)."""
    return _as_result(json.loads(Path(path).read_text(encoding="utf-8")))


def report_html(result: RunResult | dict, resolved: Resolved | None = None, *,
                ensemble_runs: int = 200, workers: int = 1) -> str:
    """The debrief page of one run as standalone HTML.

    ``result``: a :class:`RunResult` or its JSON dict. ``resolved``: the scenario the run used
    (default: resolve ``result.scenario.name``, no overrides). ``ensemble_runs``: runs of the
    comparison ensemble (0 leaves the section out); ``workers``: its worker processes.

    Raises :class:`ValueError` if the scenario cannot be found or its sha256 differs from the
    result's (the message says how to fix it), or if ``result`` is not one run's result.
    """
    ctx = _context(_as_result(result), resolved)
    ensemble = (ensemble_for(ctx.result, ctx.resolved, ensemble_runs, workers)
                if ensemble_runs > 0 else None)
    return _page(ctx, ensemble)


def write_report(result: RunResult | dict, path: str | Path, **kw: Any) -> Path:
    """Build the report (``kw`` as for :func:`report_html`) and write it atomically: the page is
    built in full first, then written to a temporary file beside ``path`` and moved into place,
    so ``path`` is either the complete report or untouched."""
    text = report_html(result, **kw)
    atomic_write_text(path, text)
    return Path(path)


def ensemble_for(result: RunResult | dict, resolved: Resolved, runs: int = 200,
                 workers: int = 1) -> dict:
    """The EnsembleResult the report shows: ``runs`` runs of the resolved scenario (publics as in
    the result), master seed = the result's seed."""
    from sim.ensemble import Ensemble

    result = _as_result(result)
    runner = Runner(resolved.data, publics=_with_publics(result, resolved.scenario))
    return Ensemble(runner, runs, result.seed, workers).execute().result()


# --------------------------------------------------------------------------- context


@dataclass
class _Context:
    result: RunResult
    resolved: Resolved
    compiled: Compiled
    publics: bool
    names: dict[str, str]
    colours: dict[str, str]

    @property
    def scenario(self) -> Scenario:
        return self.compiled.scenario

    @property
    def ids(self) -> tuple[str, str]:
        return self.compiled.ids

    @property
    def analysis(self) -> dict:
        c = self.compiled
        return c.analysis if self.publics else c.analysis_without_publics


def _as_result(result: RunResult | Mapping) -> RunResult:
    if isinstance(result, RunResult):
        return result
    if not isinstance(result, Mapping):
        raise ValueError(f"expected a RunResult or its JSON object, got {type(result).__name__}")
    if isinstance(result.get("status"), Mapping) and "runs" in result:
        raise ValueError("this is an ensemble's result (EnsembleResult); a debrief needs one "
                         "run's result: `negsim run NAME --seed S --json`")
    return RunResult.model_validate(dict(result))


def _with_publics(result: RunResult, scenario: Scenario) -> bool:
    """Was the run made with its publics? A run without them records no support anywhere."""
    if not any(p.public is not None for p in scenario.parties.values()):
        return True  # nothing to leave out: both ways give the same run
    return bool(result.support) or any(e.support for e in result.trace)


def _context(result: RunResult, resolved: Resolved | None) -> _Context:
    name, want = result.scenario.name, result.scenario.sha256
    if resolved is None:
        try:
            resolved = resolve(name)
        except ScenarioError as e:
            raise ValueError(
                f"cannot find scenario {name!r} to report on this result ({e}); pass the "
                "resolved scenario the run used (a path, and its --set overrides)") from e
        how = f"scenario {name!r} as bundled, with no overrides,"
    else:
        how = f"the scenario given ({resolved.scenario.name!r})"
    if resolved.sha256 != want:
        raise ValueError(
            f"the result was made with scenario {name!r} sha256 {want[:12]}…, but {how} has "
            f"sha256 {resolved.sha256[:12]}…: the scenario file or the --set overrides differ. "
            "Pass the scenario the run used (same file, same --set overrides).")
    publics = _with_publics(result, resolved.scenario)
    runner = Runner(resolved.data, publics=publics)
    if runner.params and not result.parameters:  # made by sim.results.run at nominal values
        compiled = compile_scenario(runner.nominal)
    else:
        compiled, _ = runner.compiled_for(result.seed)
    names = {pid: p.name for pid, p in compiled.scenario.parties.items()}
    from dashboard.map import HOLDER_COLOURS

    colours = {pid: HOLDER_COLOURS.get(pid, _FALLBACK_COLOURS[i])
               for i, pid in enumerate(compiled.ids)}
    return _Context(result, resolved, compiled, publics, names, colours)


# --------------------------------------------------------------------------- words


def _pct(p: float | None, digits: int = 1) -> str:
    """A probability or share; small non-zero ones keep two significant digits."""
    if p is None:
        return "–"
    if 0 < p < 0.001:
        return f"{p * 100:.2g}%"
    return f"{p:.{digits}%}"


def option_text(scenario: Scenario, issue: str, option: Any) -> str:
    """One option in words: holders by name, yes/no capitalised, money with its unit."""
    spec = scenario.agenda.issues[issue]
    opt = str(option)
    if opt in scenario.parties:
        return scenario.parties[opt].name
    if spec.territory is not None:
        from dashboard.map import HOLDER_LABELS

        return HOLDER_LABELS.get(opt, opt.replace("_", " "))
    if opt in ("yes", "no"):
        return opt.capitalize()
    if spec.unit:
        if spec.unit.startswith("$"):
            return f"${opt}{spec.unit[1:]}"
        return f"{opt} {spec.unit}"
    return opt.replace("_", " ")


def _changes(scenario: Scenario, deal: Mapping[str, Any]) -> str:
    """What a deal changes from the status quo, compactly (for the table of offers)."""
    sq = scenario.agenda.status_quo
    parts = [f"{issue.replace('_', ' ')}: {option_text(scenario, issue, opt)}"
             for issue, opt in deal.items() if str(opt) != sq[issue]]
    return "; ".join(parts) if parts else "treaty only, nothing else changes"


def _sets_of(resolved: Resolved) -> list[str]:
    """The ``--set`` overrides a resolved scenario was made with, as command-line text."""
    out = []
    for path, (file, _) in resolved.origins.items():
        if file != "--set":
            continue
        node: Any = resolved.data
        try:
            for part in path:
                node = node[part]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(node, Mapping) and "value" in node:
            node = node["value"]
        value = node if isinstance(node, str) else json.dumps(node)
        out.append(f"{'.'.join(map(str, path))}={value}")
    return out


def _command(ctx: _Context, extra: str = "") -> str:
    sets = "".join(f" --set {s}" for s in _sets_of(ctx.resolved))
    ref = ctx.resolved.files[-1] if ctx.resolved.files else ctx.scenario.name
    from sim.loading import bundled_dir

    if Path(ref).resolve().parent == bundled_dir().resolve():
        ref = Path(ref).stem
    pub = "" if ctx.publics else " --no-publics"
    return f"negsim run {ref}{sets}{pub} --seed {ctx.result.seed}{extra}"


# --------------------------------------------------------------------------- figures


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", facecolor="white")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _islands_on_map(scenario: Scenario) -> bool:
    """Is the scenario about the four islands of :mod:`dashboard.map`?"""
    from dashboard.map import HOLDERS, ISLAND_IDS, holders_from_deal

    held = holders_from_deal(None, scenario)
    ours = [t for t in held if t in ISLAND_IDS]
    options = {o for spec in scenario.agenda.issues.values() if spec.territory in ISLAND_IDS
               for o in spec.options}
    return bool(ours) and options <= set(HOLDERS)


def map_figure(holders: Mapping[str, str], scenario: Scenario, title: str) -> Figure:
    """The islands of :data:`dashboard.map.ISLANDS_GEOJSON` coloured by holder, labelled with
    both names and the scenario's areas, eastern Hokkaido in grey. Plate carrée with the aspect
    of Mercator at 44.4°N (true shapes at this scale)."""
    from matplotlib.patches import Patch, Polygon
    from matplotlib.patheffects import withStroke

    from dashboard.map import (
        CONTEXT_FILL,
        FIT_BOUNDS,
        HOLDER_COLOURS,
        HOLDER_LABELS,
        HOLDERS,
        ISLANDS_GEOJSON,
        STATUS_QUO_HOLDER,
    )

    fig = Figure(figsize=(5.6, 4.4))
    ax = fig.add_subplot()
    ax.set_facecolor("#e3eef7")
    halo = [withStroke(linewidth=3, foreground="white")]
    for feature in ISLANDS_GEOJSON["features"]:
        props = feature["properties"]
        island = props["role"] == "island"
        holder = holders.get(props["id"], STATUS_QUO_HOLDER) if island else None
        colour = HOLDER_COLOURS[holder] if island else CONTEXT_FILL
        for polygon in feature["geometry"]["coordinates"]:
            ring = np.asarray(polygon[0], dtype=float)
            ax.add_patch(Polygon(ring, closed=True, facecolor=colour,
                                 edgecolor="#333333" if island else "#9a9a9a",
                                 linewidth=0.8 if island else 0.6, zorder=2 if island else 1))
        if not island:
            continue
        label = props["name"]
        territory = scenario.territories.get(props["id"])
        if territory is not None and territory.area_km2:
            label += f"\n{territory.area_km2:,.0f} km²"
        lon, lat = props["label_at"]
        ax.text(lon, lat, label, ha="center", va="center", fontsize=8, fontweight="bold",
                color="#1a1a1a", path_effects=halo, zorder=4, linespacing=1.1)
    ax.text(145.2, 43.26, "Hokkaido\n(Japan)", ha="center", va="center", fontsize=8,
            fontstyle="italic", color="#555555", zorder=3, path_effects=halo)
    (west, south), (east, north) = FIT_BOUNDS
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1 / np.cos(np.radians((south + north) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(handles=[Patch(facecolor=HOLDER_COLOURS[h], edgecolor="#333333",
                             label=HOLDER_LABELS[h]) for h in HOLDERS],
              loc="upper left", fontsize=8, title="Held by", title_fontsize=8, framealpha=0.95)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def utility_figure(ctx: _Context) -> Figure:
    """Every deal in the leaders' utility space: the ZOPA, the Pareto frontier, the no-deal
    values, the Nash and Kalai–Smorodinsky points and both sides' offers, numbered by meeting."""
    c, an, res = ctx.compiled, ctx.analysis, ctx.result
    a, b = ctx.ids
    (ua, ra), (ub, rb) = c.base_utilities[a], c.base_utilities[b]
    masks = an["_masks"]
    fig = Figure(figsize=(6.2, 5.6))
    ax = fig.add_subplot()
    zopa = masks["zopa"]
    other = np.unique(np.round(np.column_stack([ua[~zopa], ub[~zopa]]), 3), axis=0)
    ax.scatter(other[:, 0], other[:, 1], s=6, color="#c9c9c9", alpha=0.6, linewidths=0,
               label="other deals", zorder=1)
    ax.scatter(ua[zopa], ub[zopa], s=12, color="#2ca02c", alpha=0.8, linewidths=0, zorder=2,
               label=f"ZOPA ({int(zopa.sum())} deals)" if zopa.any() else "ZOPA: empty")
    order = np.argsort(ua[masks["pareto"]], kind="stable")
    ax.plot(ua[masks["pareto"]][order], ub[masks["pareto"]][order], color="black",
            linestyle="--", linewidth=1, label="Pareto frontier", zorder=3)
    ax.axvline(ra, color="#888888", linestyle=":", linewidth=1, zorder=1)
    ax.axhline(rb, color="#888888", linestyle=":", linewidth=1, zorder=1,
               label="value of no deal")

    points: dict[tuple[float, float], list[str]] = {}
    for key, label in (("nash_utility", "Nash"), ("kalai_smorodinsky_utility", "K–S")):
        p = an.get(key)
        if p:
            points.setdefault((p[a], p[b]), []).append(label)
    for i, ((x, y), labels) in enumerate(points.items()):  # two close points: one label below
        ax.scatter([x], [y], marker="D", s=55, color="black", zorder=6)
        ax.annotate(" = ".join(labels), (x, y), xytext=(7, 3) if i == 0 else (-7, -12),
                    ha="left" if i == 0 else "right", textcoords="offset points", fontsize=8,
                    fontweight="bold", zorder=7)

    # Offers: one line per side in meeting order; repeated offers share one numbered label.
    offered = [e for e in res.trace if e.offer is not None and a in e.utility]
    for pid in ctx.ids:
        mine = [e for e in offered if e.proposer == pid]
        if not mine:
            continue
        xs = [e.utility[a] for e in mine]
        ys = [e.utility[b] for e in mine]
        ax.plot(xs, ys, marker="o", markersize=5, linewidth=1.2, alpha=0.9,
                color=ctx.colours[pid], label=f"offers by {ctx.names[pid]}", zorder=4)
        labels: dict[tuple[float, float], list[str]] = {}
        for e, x, y in zip(mine, xs, ys, strict=True):
            labels.setdefault((round(x, 4), round(y, 4)), []).append(str(e.round))
        for (x, y), rounds in labels.items():
            ax.annotate(",".join(rounds), (x, y), xytext=(4, 4), textcoords="offset points",
                        fontsize=7, color=ctx.colours[pid], zorder=7)
    if res.deal is not None and a in res.utility:
        word = "deal" if res.status == "ratified" else "signed, not ratified"
        ax.scatter([res.utility[a]], [res.utility[b]], marker="*", s=260, color="#ffd400",
                   edgecolors="black", linewidths=0.8, zorder=8,
                   label=f"{word} (meeting {res.round})")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{ctx.names[a]}'s utility (0 = worst deal, 1 = best)")
    ax.set_ylabel(f"{ctx.names[b]}'s utility")
    ax.grid(alpha=0.25)
    ax.legend(loc="upper right", fontsize=7, framealpha=0.95)
    ax.set_title("Offers against the Pareto frontier", fontsize=10)
    fig.tight_layout()
    return fig


def meetings_figure(ctx: _Context) -> Figure:
    """Public support for the offer on the table (with each ratification threshold) and each
    leader's approval (with the approval floor), meeting by meeting."""
    from matplotlib.lines import Line2D

    res, sc = ctx.result, ctx.scenario
    fig = Figure(figsize=(6.2, 5.4))
    top, bottom = fig.subplots(2, 1, sharex=True)
    rounds = [e.round for e in res.trace]
    last = max(rounds) if rounds else sc.protocol.rounds

    def level(ax, y: float, colour: str, style: str) -> None:
        ax.axhline(y, color=colour, linestyle=style, linewidth=1)
        ax.annotate(f"{y:.0%}", (1, y), xycoords=("axes fraction", "data"), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7, color=colour)

    for pid in ctx.ids:
        colour = ctx.colours[pid]
        support = [e.support.get(pid, np.nan) for e in res.trace]
        if not np.all(np.isnan(support)):
            top.plot(rounds, support, marker="o", markersize=4, color=colour)
            threshold = sc.protocol.ratification.get(pid)
            if threshold is not None:
                level(top, threshold, colour, "--")
        approval = [e.approval.get(pid, np.nan) for e in res.trace]
        bottom.plot(rounds, approval, marker="o", markersize=4, color=colour)
        level(bottom, sc.parties[pid].leader.approval_floor, colour, ":")
    for ax in (top, bottom):
        if res.round is not None:
            ax.axvline(res.round, color="black", linewidth=0.8, alpha=0.6)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0.5, last + 0.5)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.grid(alpha=0.25)
    if not ctx.publics:
        top.text(0.5, 0.5, "run without publics: no support recorded", ha="center",
                 va="center", transform=top.transAxes, fontsize=9, color="#555555")
    top.set_title("Public support for the offer on the table", fontsize=10)
    bottom.set_title("Leaders' approval", fontsize=10)
    bottom.set_xlabel("meeting" + (f" (signed at meeting {res.round})" if res.round else ""))
    bottom.set_xticks(range(1, last + 1))
    handles = [Line2D([], [], color=ctx.colours[p], marker="o", markersize=4,
                      label=ctx.names[p]) for p in ctx.ids]
    handles += [Line2D([], [], color="#555555", linestyle="--", label="needed to ratify"),
                Line2D([], [], color="#555555", linestyle=":", label="approval floor")]
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncols=4, fontsize=8, frameon=False)
    return fig


def _ensemble_rows(ens: dict) -> list[tuple[str, str, str, dict]]:
    """(block, key, label, share) for every status and outcome class of an EnsembleResult."""
    rows = [("status", k, STATUS_WORDS.get(k, k.replace("_", " ")), s)
            for k, s in ens["status"].items()]
    rows += [("outcome_class", k, k, s) for k, s in ens["outcome_class"].items()]
    return rows


def ensemble_figure(ens: dict, result: RunResult) -> Figure:
    """Horizontal bars: probability of each status and outcome class with its 95% Wilson
    interval; this run's status and class highlighted."""
    rows = _ensemble_rows(ens)
    fig = Figure(figsize=(6.4, 0.3 * len(rows) + 1.3))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    p = np.array([s["p"] or 0.0 for *_, s in rows])
    lo = np.array([s["low"] for *_, s in rows])
    hi = np.array([s["high"] for *_, s in rows])
    mine = {("status", result.status), ("outcome_class", result.outcome_class)}
    colours = [_HIGHLIGHT if (blk, key) in mine else _PLAIN for blk, key, *_ in rows]
    ax.barh(y, p, color=colours, height=0.7)
    ax.errorbar(p, y, xerr=[p - lo, hi - p], fmt="none", ecolor="black", elinewidth=1,
                capsize=2)
    for yi, (pi, loi, hii) in enumerate(zip(p, lo, hi, strict=True)):
        if hii < 0.88:  # right of the whisker, or inside the bar when there is no room
            ax.text(hii + 0.015, yi, _pct(pi), va="center", fontsize=7)
        else:
            ax.text(loi - 0.015, yi, _pct(pi), va="center", ha="right", fontsize=7)
    labels = [("status: " if blk == "status" else "") + label for blk, _, label, _ in rows]
    ax.set_yticks(y, labels, fontsize=8)
    for tick, (blk, *_rest) in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_fontweight("bold" if blk == "status" else "normal")
    n_status = len(ens["status"])
    ax.axhline(n_status - 0.5, color="#999999", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(f"share of {ens['completed'] - ens['failed_runs']} runs "
                  "(bar: estimate; whiskers: 95% interval); orange: this run")
    ax.grid(axis="x", alpha=0.25)
    ax.set_title("How the same scenario ends across the ensemble", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:"DejaVu Sans","Liberation Sans",Arial,Helvetica,sans-serif;color:#1a1a1a;
 margin:0;background:#f4f5f7;font-size:14px;line-height:1.4}
main{max-width:1180px;margin:0 auto;padding:18px 22px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px;
 border-bottom:2px solid #e0e0e0;padding-bottom:2px}
.meta{color:#555;font-size:12px}.meta code{font-size:12px}
.status{display:inline-block;color:#fff;border-radius:4px;padding:2px 9px;font-weight:bold;
 margin-right:8px}
.reason{font-size:15px;margin:8px 0 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:10px 22px;align-items:start}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.changed td{font-weight:bold}
.small{font-size:12px;color:#555}.note{background:#fff8e1;border-left:4px solid #f2b01e;
 padding:6px 10px;font-size:13px}
img.chart{max-width:100%;height:auto;display:block}
.trace td,.trace th{font-size:12px;padding:2px 5px}
.reality li{margin:2px 0}
code{background:#f2f4f7;padding:0 3px;border-radius:3px}
@media print{body{background:#fff}main{padding:0}h2{break-after:avoid}
 .grid>div{break-inside:avoid}}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _img(b64: str, key: str, alt: str) -> str:
    return (f'<img class="chart" data-key="img.{key}" alt="{_e(alt)}" '
            f'src="data:image/png;base64,{b64}">')


def _header(ctx: _Context) -> str:
    res, sc = ctx.result, ctx.scenario
    colour = STATUS_COLOURS.get(res.status, "#555")
    made = (f"negsim <span data-key=\"version\">{_e(res.negsim_version)}</span>"
            + (f" (report by negsim {_e(__version__)})" if __version__ != res.negsim_version
               else ""))
    sha = res.scenario.sha256
    sets = _sets_of(ctx.resolved)
    overrides = (" · overrides: " + ", ".join(f"<code>{_e(s)}</code>" for s in sets)
                 if sets else "")
    return f"""
<header>
<h1>{_e(sc.title)}</h1>
<div class="meta">Debrief of one run · scenario <code>{_e(sc.name)}</code>
 (sha256 <code title="{_e(sha)}" data-key="sha256">{_e(sha[:12])}</code>) · seed
 <span data-key="seed">{res.seed}</span> · {made}{overrides}</div>
<p class="reason"><span class="status" style="background:{colour}"
 data-key="status" data-value="{_e(res.status)}">{_e(STATUS_WORDS.get(res.status, res.status))}
</span><span data-key="reason">{_e(res.reason)}</span></p>
<p class="small">{_e(sc.description.strip())}</p>
</header>"""


def _deal_section(ctx: _Context) -> str:
    res, sc = ctx.result, ctx.scenario
    cls = f'<b data-key="outcome_class">{_e(res.outcome_class)}</b>'
    meetings = len(res.trace)
    if res.deal is None:
        head = (f"<p>No deal was signed in {meetings} meeting(s) (of {sc.protocol.rounds}): "
                f"outcome class {cls}. Nothing below changes from the status quo.</p>")
        deal = dict(sc.agenda.status_quo)
    else:
        signed = f'<b data-key="round">{res.round}</b>'
        tail = ("" if res.status == "ratified" else
                " It was signed but not ratified, so in practice the status quo holds.")
        head = (f"<p>Signed at meeting {signed} of {sc.protocol.rounds}: outcome class "
                f"{cls}.{tail}</p>")
        deal = res.deal
    sq = sc.agenda.status_quo
    rows = []
    for issue, opt in deal.items():
        changed = str(opt) != sq[issue]
        rows.append(f'<tr class="{"changed" if changed else ""}"><td>'
                    f'{_e(sc.agenda.issues[issue].label)}</td>'
                    f'<td data-key="deal.{_e(issue)}">{_e(option_text(sc, issue, opt))}</td></tr>')
    title = "The deal" if res.deal is not None else "The status quo (no deal)"
    return (f"<h2>{title}</h2>{head}<table><tr><th>issue</th><th>outcome</th></tr>"
            + "".join(rows) + '</table><p class="small">Bold: changed from the status quo.</p>')


def _sides_section(ctx: _Context) -> str:
    res, sc, an = ctx.result, ctx.scenario, ctx.analysis
    ids = ctx.ids
    leaders = {p: sc.parties[p].leader.name for p in ids}
    head = "".join(f'<th class="num">{_e(ctx.names[p])}<br><span class="small">'
                   f'{_e(leaders[p])}</span></th>' for p in ids)

    def row(label: str, key: str, cells: list[str]) -> str:
        tds = "".join(f'<td class="num" data-key="{key}.{p}">{c}</td>'
                      for p, c in zip(ids, cells, strict=True))
        return f"<tr><td>{label}</td>{tds}</tr>"

    what = "of the deal" if res.deal is not None else "of no deal (its reservation value)"
    rows = [row(f"Leader's utility {what}", "utility",
                [f"{res.utility[p]:.2f}" if p in res.utility else "–" for p in ids]),
            row("Value of no deal (reservation utility)", "reservation",
                [f"{an['reservation'][p]:.2f}" for p in ids])]
    if res.deal is not None:
        on = "for the deal"
    else:
        last = next((e.round for e in reversed(res.trace) if e.offer is not None), None)
        on = "for the last offer on the table" + (f" (meeting {last})" if last else "")
    rows.append(row(f"Public support {on}", "support",
                    [_pct(res.support[p]) if p in res.support else "–" for p in ids]))
    thresholds = sc.protocol.ratification
    rows.append(row("Support needed to ratify", "threshold",
                    [_pct(thresholds[p]) if p in thresholds else "–" for p in ids]))
    if res.ratified is None:
        ratified = ["no vote"] * 2
    else:
        ratified = ["yes" if res.ratified.get(p) else "no" for p in ids]
    rows.append(row("Ratified at home", "ratified", ratified))
    rows.append(row("Leader's approval at the end", "approval",
                    [_pct(res.approval[p]) if p in res.approval else "–" for p in ids]))
    rows.append(row("Approval floor (will not sign below)", "floor",
                    [_pct(sc.parties[p].leader.approval_floor) for p in ids]))
    zopa = (f"Zone of possible agreement at the start: <b>{an['zopa_size']}</b> of "
            f"{an['outcome_space_size']} deals; at the end: "
            f"{res.analysis.get('zopa_size_at_end', '–')}.")
    if res.parameters:
        drawn = ", ".join(f"{_e(k)} = {v:.3g}" for k, v in res.parameters.items())
        zopa += f' <span class="small">Drawn for this run: {drawn}.</span>'
    return (f"<h2>The two sides</h2><table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
            f"<p class=\"small\">{zopa}</p>")


def _map_section(ctx: _Context) -> str:
    res, sc = ctx.result, ctx.scenario
    if not _islands_on_map(sc):
        return ('<h2>Map</h2><p class="note" data-key="no-map">This scenario is not about the '
                "four islands off Hokkaido (Habomai, Shikotan, Kunashiri, Etorofu), so no map "
                "is drawn.</p>")
    from dashboard.map import holders_from_deal

    holders = holders_from_deal(res.deal, sc)
    if res.deal is None:
        title = "No deal: the status quo holds"
    elif res.status == "ratified":
        title = f"After the deal ({res.outcome_class})"
    else:
        title = f"The signed deal ({res.outcome_class}), not ratified"
    img = _img(_png(map_figure(holders, sc, title)), "map",
               f"Map of the four islands: {title}")
    return (f"<h2>Who holds the islands</h2>{img}<p class=\"small\">Outlines simplified for "
            "orientation; areas from the scenario file.</p>")


def _trace_table(ctx: _Context) -> str:
    res, sc = ctx.result, ctx.scenario
    a, b = ctx.ids
    head = (f"<tr><th>#</th><th>offer by</th><th>offer (changes from the status quo)</th>"
            f'<th class="num">u {_e(ctx.names[a])}</th><th class="num">u {_e(ctx.names[b])}</th>'
            f'<th class="num">support {_e(ctx.names[a])}</th>'
            f'<th class="num">support {_e(ctx.names[b])}</th><th>answer</th></tr>')
    rows = []
    for e in res.trace:
        events = getattr(e, "events", None) or []
        ev = "".join(f'<br><span class="small">{_e(x)}</span>' for x in events)
        if e.offer is None:
            offer = "no offer"
        else:
            cls = ctx.compiled.outcome_class(ctx.compiled.space.encode(e.offer))
            offer = f"<i>{_e(cls)}</i>: {_e(_changes(sc, e.offer))}"

        def num(d: dict, p: str, fmt: str) -> str:
            return format(d[p], fmt) if p in d else "–"

        rows.append(
            f"<tr><td>{e.round}</td><td>{_e(ctx.names.get(e.proposer, e.proposer))}</td>"
            f"<td>{offer}{ev}</td><td class=\"num\">{num(e.utility, a, '.2f')}</td>"
            f"<td class=\"num\">{num(e.utility, b, '.2f')}</td>"
            f"<td class=\"num\">{num(e.support, a, '.0%')}</td>"
            f"<td class=\"num\">{num(e.support, b, '.0%')}</td><td>{_e(e.response)}</td></tr>")
    return (f"<h2>Meeting by meeting</h2><table class=\"trace\">{head}{''.join(rows)}</table>")


def _ensemble_section(ctx: _Context, ens: dict | None) -> str:
    if ens is None:
        return ('<h2>Across an ensemble of runs</h2><p class="note">Ensemble not run for this '
                "report.</p>")
    res = ctx.result
    n = ens["completed"] - ens["failed_runs"]
    cls = ens["outcome_class"].get(res.outcome_class)
    status = ens["status"].get(res.status)

    def share(s: dict | None, key: str) -> str:
        if s is None:
            return "–"
        return (f'<b data-key="{key}.p" data-value="{s["p"]}">{_pct(s["p"])}</b> '
                f'<span data-key="{key}.interval">[{_pct(s["low"])}, {_pct(s["high"])}]</span>')

    if res.outcome_class == STATUS_QUO_CLASS:
        what = "Agents signed no deal (the status quo)"
    else:
        what = f"Agents reached this outcome class (<i>{_e(res.outcome_class)}</i>)"
    sentence = (f'<p data-key="ensemble.sentence">{what} in {share(cls, "ensemble.class")} of '
                f'<span data-key="ensemble.runs">{n}</span> runs; this run\'s status '
                f"({_e(STATUS_WORDS.get(res.status, res.status))}) came up in "
                f"{share(status, 'ensemble.status')}. A ratified agreement of any kind: "
                f"{_pct(ens['status']['ratified']['p'])}.</p>")
    table = ["<table><tr><th></th><th class=\"num\">runs</th><th class=\"num\">probability</th>"
             "<th class=\"num\">95% interval</th></tr>"]
    for blk, key, label, s in _ensemble_rows(ens):
        mark = ' style="background:#fdebd3"' if (
            (blk, key) in {("status", res.status), ("outcome_class", res.outcome_class)}) else ""
        prefix = "status: " if blk == "status" else ""
        table.append(f"<tr{mark}><td>{_e(prefix + label)}</td><td class=\"num\">{s['count']}"
                     f"</td><td class=\"num\" data-key=\"p.{blk}.{_e(key)}\">{_pct(s['p'])}</td>"
                     f"<td class=\"num\">{_pct(s['low'])} – {_pct(s['high'])}</td></tr>")
    table.append("</table>")
    notes = []
    if ens["failed_runs"]:
        notes.append(f"{ens['failed_runs']} run(s) failed and are left out.")
    if ens["interrupted"]:
        notes.append("The ensemble was interrupted: fewer runs than asked.")
    if ens.get("uncertain_parameters"):
        notes.append("Each run draws the scenario's uncertain parameters afresh ("
                     + ", ".join(_e(p) for p in ens["uncertain_parameters"]) + ").")
    cmd = _command(ctx, f" --runs {ens['runs']}").replace(
        f"--seed {res.seed}", f"--seed {ens['seed']}")
    notes.append(f"Reproduce: <code>{_e(cmd)}</code>.")
    img = _img(_png(ensemble_figure(ens, res)), "ensemble",
               "Bar chart of status and outcome-class probabilities across the ensemble")
    return (f"<h2>Across an ensemble of {n} agent-vs-agent runs</h2>"
            f"<div class=\"grid\"><div>{img}</div><div>{sentence}{''.join(table)}"
            f"<p class=\"small\">{' '.join(notes)}</p></div></div>")


def _is_this_case(sc: Scenario) -> bool:
    """A scenario about the Kuril dispute of 2019 (its territories are the four islands)."""
    from dashboard.map import ISLAND_IDS

    return set(ISLAND_IDS) <= set(sc.territories)


def _reality_section(ctx: _Context) -> str:
    if not _is_this_case(ctx.scenario):
        return ""
    res = ctx.result
    if res.status == "ratified":
        compare = (f"This run ended in a ratified treaty ({_e(res.outcome_class)}); reality "
                   "did not.")
    elif res.status == "signed_not_ratified":
        compare = ("In this run the leaders signed a deal their publics would not ratify; in "
                   "reality nothing was signed.")
    else:
        compare = "Like reality, this run ended without a deal."
    items = "".join(f"<li><b>{_e(when)}</b>: {_e(what)}</li>" for when, what in REALITY_EVENTS)
    return (f'<h2 data-key="reality">What happened in reality</h2><p>{_e(REALITY_SUMMARY)} '
            f"{compare}</p><ul class=\"reality\">{items}</ul>")


def _page(ctx: _Context, ens: dict | None) -> str:
    utility = _img(_png(utility_figure(ctx)), "utility",
                   "Offers of both sides in utility space with the Pareto frontier, the Nash "
                   "and Kalai–Smorodinsky points and the ZOPA")
    meetings = _img(_png(meetings_figure(ctx)), "meetings",
                    "Public support and leaders' approval over the meetings")
    signed = " Vertical line: the meeting of signature." if ctx.result.round else ""
    body = f"""
{_header(ctx)}
<div class="grid">
 <div>{_deal_section(ctx)}{_sides_section(ctx)}</div>
 <div>{_map_section(ctx)}</div>
</div>
<h2>The path of offers</h2>
<div class="grid">
 <div>{utility}<p class="small">Each dot is a possible deal. Numbers: the meeting at which an
 offer was made. Green: deals both publics would ratify and both leaders prefer to no deal (the
 ZOPA). Dotted lines: each leader's value of no deal.</p></div>
 <div>{meetings}<p class="small">Dashed: the support each country needs to ratify. Dotted: the
 approval below which a leader will not sign.{signed}</p></div>
</div>
{_trace_table(ctx)}
{_ensemble_section(ctx, ens)}
{_reality_section(ctx)}
<p class="small">Reproduce this run: <code>{_e(_command(ctx))}</code></p>
"""
    title = f"negsim debrief: {ctx.scenario.name}, seed {ctx.result.seed}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
            f"<body><main>{body}</main></body></html>\n")
