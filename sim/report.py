"""Readable reports for the terminal: the exact analysis and a run's summary."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from sim.compiled import compile_scenario
from sim.provenance import source_at
from sim.results import RunResult
from sim.scenario import Scenario

LISTED = 10


def analysis_report(scenario: Scenario, data: dict | None = None) -> dict:
    """The §4 analysis plus what a class needs to read it: poll calibration, the deals closest
    to both win-sets, and the ZOPA's best deals."""
    c = compile_scenario(scenario)
    a, b = c.ids
    full = c.analysis
    masks = full["_masks"]
    report = {k: v for k, v in full.items() if not k.startswith("_")}
    (ua, ra), (ub, rb) = c.base_utilities[a], c.base_utilities[b]
    supports = {pid: cp.tolerance.support(cp.x) for pid, cp in c.parties.items()
                if cp.x is not None}
    thresholds = scenario.protocol.ratification

    def row(k: int) -> dict:
        return {
            "deal": c.space.decode(k),
            "outcome_class": c.outcome_class(k),
            "utility": {a: round(float(ua[k]), 4), b: round(float(ub[k]), 4)},
            "support": {p: round(float(s[k]), 4) for p, s in supports.items()},
        }

    report["calibration"] = [
        {"party": pid, "poll": poll.label, "target": round(poll.target, 4),
         "model": round(float(supports[pid][c.space.encode(poll.deal)]), 4),
         "source": _poll_sources(data, pid, i)}
        for pid, cp in c.parties.items() if cp.party.public is not None
        for i, poll in enumerate(cp.party.public.polls)
    ]
    zopa = np.flatnonzero(masks["zopa"])
    order = np.argsort(-((ua[zopa] - ra) * (ub[zopa] - rb)), kind="stable")
    report["zopa_deals"] = [row(int(k)) for k in zopa[order][:LISTED]]
    if len(supports) == 2:
        # How far apart the publics are: the deals that come closest to both thresholds.
        slack = np.minimum(*(supports[p] / thresholds[p] for p in (a, b)))
        closest = np.argsort(-slack, kind="stable")[:5]
        report["closest_to_both_winsets"] = [row(int(k)) for k in closest]
    return report


def _poll_sources(data: dict | None, pid: str, i: int) -> str | None:
    if data is None:
        return None
    path = ("parties", pid, "public", "polls", i)
    found = {source_at(data, (*path, key)) for key in ("support", "oppose")}
    return ", ".join(sorted(s for s in found if s)) or None


def print_analysis(console: Console, scenario: Scenario, report: dict) -> None:
    names = {pid: p.name for pid, p in scenario.parties.items()}
    ids = list(names)
    thresholds = scenario.protocol.ratification
    console.print(f"[bold]{scenario.title}[/]  ({report['outcome_space_size']} possible deals)")

    t = Table(title="Round 0: what each side can accept")
    t.add_column("")
    for pid in ids:
        t.add_column(names[pid], justify="right")
    t.add_row("reservation utility (value of no deal)",
              *(f"{report['reservation'][p]:.3f}" for p in ids))
    t.add_row("ratification threshold", *(f"{thresholds.get(p, 0):.0%}" for p in ids))
    t.add_row("win-set: deals its public would ratify",
              *(str(report["winset_size"][p]) for p in ids))
    t.add_row("deals its leader may sign", *(str(report["leader_feasible_size"][p]) for p in ids))
    console.print(t)

    cal = Table(title="Poll calibration (round 0)")
    for col in ("public", "reference deal", "poll", "model", "source"):
        cal.add_column(col, justify="right" if col in ("poll", "model") else "left")
    for r in report["calibration"]:
        cal.add_row(names[r["party"]], r["poll"], f"{r['target']:.1%}", f"{r['model']:.1%}",
                    r["source"] or "")
    console.print(cal)

    size = report["zopa_size"]
    verdict = ("[bold red]empty[/]: no deal is inside both win-sets and better than no deal "
               "for both leaders. That is the deadlock." if size == 0 else
               f"[bold green]{size} deals[/] are inside both win-sets and better than no deal "
               "for both leaders.")
    console.print(Panel(f"Zone of possible agreement (ZOPA): {verdict}", expand=False))

    sol = Table(title="Solution concepts (over all deals both leaders prefer to no deal)")
    sol.add_column("concept")
    sol.add_column("deal")
    for pid in ids:
        sol.add_column(f"u {names[pid]}", justify="right")
    for key, label in (("nash", "Nash bargaining solution"),
                       ("kalai_smorodinsky", "Kalai–Smorodinsky"),
                       ("compromise", "Weighted compromise (naive)"),
                       ("nash_in_zopa", "Nash within the ZOPA"),
                       ("kalai_smorodinsky_in_zopa", "Kalai–Smorodinsky within the ZOPA")):
        deal = report.get(key)
        point = report.get(f"{key}_utility") or {}
        sol.add_row(label, describe(deal, scenario) if deal else "none",
                    *(f"{point[p]:.3f}" if p in point else "" for p in ids))
    console.print(sol)
    console.print(f"Pareto frontier: {report['pareto_size']} deals.")

    for key, title in (("zopa_deals", "Best deals in the ZOPA (by Nash product)"),
                       ("closest_to_both_winsets", "Deals closest to both publics' thresholds")):
        rows = report.get(key) or []
        if not rows:
            continue
        d = Table(title=title)
        d.add_column("deal")
        d.add_column("class")
        for pid in ids:
            d.add_column(f"support {names[pid]}", justify="right")
        for r in rows:
            d.add_row(describe(r["deal"], scenario), r["outcome_class"],
                      *(f"{r['support'][p]:.0%}" if p in r["support"] else "" for p in ids))
        console.print(d)


def describe(deal: dict | None, scenario: Scenario) -> str:
    """A deal in words: the treaty plus whatever it changes from the status quo."""
    if deal is None:
        return "no deal (status quo)"
    agenda = scenario.agenda
    changes = []
    for issue, opt in deal.items():
        if str(opt) == agenda.status_quo[issue]:
            continue
        unit = agenda.issues[issue].unit
        changes.append(f"{issue}={opt}{' ' + unit if unit else ''}")
    return "treaty; " + ", ".join(changes) if changes else "treaty, nothing else changes"


def print_run(console: Console, scenario: Scenario, result: RunResult, *, trace: bool) -> None:
    names = {pid: p.name for pid, p in scenario.parties.items()}
    ids = list(names)
    colour = {"ratified": "green", "signed_not_ratified": "yellow", "no_agreement": "red"}
    head = (f"[bold {colour[result.status]}]{result.status.replace('_', ' ')}[/]  "
            f"seed {result.seed}\n{result.reason}")
    console.print(Panel(head, title=f"{scenario.name}: {scenario.title}", expand=False))
    if result.deal is not None:
        d = Table(title=f"The deal: {result.outcome_class} (meeting {result.round})")
        d.add_column("issue")
        d.add_column("outcome")
        for issue, opt in result.deal.items():
            label = scenario.agenda.issues[issue].label
            unit = scenario.agenda.issues[issue].unit
            d.add_row(label, f"{opt} {unit}" if unit else str(opt))
        console.print(d)
    t = Table(title="Sides at the end")
    t.add_column("")
    for pid in ids:
        t.add_column(names[pid], justify="right")
    what = "of the deal" if result.deal else "of no deal (reservation)"
    t.add_row(f"leader's utility {what}", *(f"{result.utility[p]:.3f}" for p in ids))
    on = "for the deal" if result.deal else "for the last offer"
    t.add_row(f"public support {on}",
              *(f"{result.support[p]:.0%}" if p in result.support else "" for p in ids))
    t.add_row("leader approval", *(f"{result.approval[p]:.0%}" for p in ids))
    if result.ratified is not None:
        t.add_row("ratified", *("yes" if result.ratified[p] else "no" for p in ids))
    console.print(t)
    an = result.analysis
    console.print(f"Meetings held: {len(result.trace)} of {scenario.protocol.rounds}.  "
                  f"ZOPA size: {an['zopa_size']} at the start, {an['zopa_size_at_end']} at the "
                  f"end (of {an['outcome_space_size']} deals).", highlight=False)
    if trace:
        tt = Table(title="Offers, meeting by meeting")
        for col in ("meeting", "events", "proposer", "offer", "response"):
            tt.add_column(col)
        for pid in ids:
            tt.add_column(f"u {names[pid]}", justify="right")
            tt.add_column(f"support {names[pid]}", justify="right")
        for e in result.trace:
            cells = []
            for pid in ids:
                cells += [f"{e.utility[pid]:.2f}" if pid in e.utility else "",
                          f"{e.support[pid]:.0%}" if pid in e.support else ""]
            events = "; ".join(getattr(e, "events", None) or [])
            tt.add_row(str(e.round), events, names[e.proposer],
                       describe(e.offer, scenario) if e.offer else "-",
                       e.response, *cells)
        console.print(tt)


def print_ensemble(console: Console, scenario: Scenario, result: dict) -> None:
    names = {pid: p.name for pid, p in scenario.parties.items()}
    n = result["completed"] - result["failed_runs"]
    agreement = result["agreement"]
    ratified = result["status"]["ratified"]
    console.print(Panel(
        f"[bold]{n} runs[/] of {result['scenario']['name']} (seed {result['seed']}, "
        f"{result['workers']} worker(s), {result['backend']}, {result['elapsed_s']:.1f} s)\n"
        f"P(ratified agreement) = [bold]{_pct(ratified)}[/]   "
        f"P(any signed deal) = {_pct(agreement)}",
        title="Ensemble", expand=False))

    t = Table(title="Outcome probabilities (95% Wilson intervals)")
    for col in ("", "count", "probability", "95% interval"):
        t.add_column(col, justify="left" if not col else "right")
    for label, block in (("status", result["status"]), ("outcome class", result["outcome_class"])):
        for key, s in block.items():
            t.add_row(f"{label}: {key.replace('_', ' ')}", str(s["count"]), _p(s["p"]),
                      f"{_p(s['low'])} – {_p(s['high'])}")
    console.print(t)

    rounds = result["rounds_to_agreement"]
    if rounds:
        hist = "  ".join(f"{k}:{v}" for k, v in rounds["histogram"].items())
        console.print(f"Meeting of agreement: mean {rounds['mean']:.1f}, median "
                      f"{rounds['median']:.0f}, 10-90% {rounds['p10']:.0f}-{rounds['p90']:.0f}"
                      f"   ({hist})", highlight=False)
        a = Table(title="At agreement (mean, 10-90%)")
        a.add_column("")
        for pid in names:
            a.add_column(names[pid], justify="right")
        for key, label in (("utility", "leader's utility"), ("support", "public support")):
            cells = []
            for pid in names:
                s = result["at_agreement"][key][pid]
                cells.append("" if s is None else
                             f"{s['mean']:.2f} ({s['p10']:.2f}-{s['p90']:.2f})")
            a.add_row(label, *cells)
        console.print(a)
    else:
        console.print("No run reached a signed deal.")
    if result["uncertain_parameters"]:
        console.print("Uncertain parameters drawn per run: "
                      + ", ".join(result["uncertain_parameters"]), highlight=False)
    if result["failed_runs"]:
        console.print(f"[red]{result['failed_runs']} runs failed[/]; first: "
                      f"seed {result['failed'][0]['seed']}: {result['failed'][0]['error']}")


def _p(p: float | None) -> str:
    """A probability; small non-zero ones keep two significant digits (0.038%, not 0.0%)."""
    if p is None:
        return ""
    if 0 < p < 0.001:
        return f"{p * 100:.2g}%"
    return f"{p:.1%}"


def _pct(s: dict) -> str:
    return f"{_p(s['p'])} [{_p(s['low'])}, {_p(s['high'])}]"


def print_sweep(console: Console, result: dict) -> None:
    params = [p["path"] for p in result["parameters"]]
    t = Table(title=f"Sweep of {result['scenario']['name']}: {result['runs_per_point']} runs per "
                    "point (95% Wilson intervals)")
    for p in params:
        t.add_column(p, justify="right")
    t.add_column("P(ratified)", justify="right")
    t.add_column("P(any signed deal)", justify="right")
    for row in result["table"]:
        t.add_row(*(f"{row[p]:g}" for p in params),
                  f"{row['p_ratified']:.1%} [{row['p_ratified_low']:.0%}, "
                  f"{row['p_ratified_high']:.0%}]",
                  f"{row['p_agreement']:.1%} [{row['p_agreement_low']:.0%}, "
                  f"{row['p_agreement_high']:.0%}]")
    console.print(t)
    if result.get("failed_runs"):
        console.print(f"[red]{result['failed_runs']} runs failed[/]")


def print_sensitivity(console: Console, result: dict) -> None:
    sobol = result["method"] == "sobol"
    cols = ("S1", "S1_conf", "ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf", "sigma")
    for output in result["outputs"]:
        t = Table(title=f"{result['method'].title()} indices for {output}")
        t.add_column("parameter")
        for c in cols:
            t.add_column(c, justify="right")
        for row in result["indices"]:
            if row["output"] != output:
                continue
            t.add_row(row["parameter"], *("" if row.get(c) is None else f"{row[c]:.3f}"
                                          for c in cols))
        console.print(t)
    console.print(f"{result['runs']} runs ({result['points']} sample points x "
                  f"{result['runs_per_sample']}), {result['elapsed_s']:.1f} s.", highlight=False)
