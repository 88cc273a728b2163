"""Altair charts of runs and ensembles (inline data only: they render offline)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from sim.compiled import Compiled

GREY, GREEN = "#c7c7c7", "#2ca02c"


def utility_space(c: Compiled, result: dict, names: dict[str, str]) -> alt.LayerChart:
    """Every deal in the two leaders' utility space, the Pareto frontier, the ZOPA, the Nash and
    Kalai–Smorodinsky points, the reservation values, and both sides' offers meeting by meeting.
    """
    a, b = c.ids
    (ua, ra), (ub, rb) = c.base_utilities[a], c.base_utilities[b]
    masks = c.analysis["_masks"]
    xa, xb = f"u {names[a]}", f"u {names[b]}"
    deals = pd.DataFrame({xa: ua, xb: ub, "zone": np.where(masks["zopa"], "ZOPA", "other deals")})
    # Thin the grey cloud (1,620 points draw slowly and say little); keep every ZOPA deal.
    cloud = pd.concat([deals[deals.zone == "ZOPA"],
                       deals[deals.zone != "ZOPA"].drop_duplicates([xa, xb])])
    scale_x = alt.Scale(domain=[0, 1])
    scale_y = alt.Scale(domain=[0, 1])
    base = alt.Chart(cloud).mark_circle(size=14, opacity=0.5).encode(
        x=alt.X(xa, scale=scale_x, title=f"{names[a]}'s utility"),
        y=alt.Y(xb, scale=scale_y, title=f"{names[b]}'s utility"),
        color=alt.Color("zone:N", scale=alt.Scale(domain=["other deals", "ZOPA"],
                                                   range=[GREY, GREEN]), title=""))
    pareto = deals[masks["pareto"]].sort_values(xa)
    frontier = alt.Chart(pareto).mark_line(color="black", strokeDash=[4, 3]).encode(
        x=xa, y=xb)
    points = []
    for key, label in (("nash_utility", "Nash"), ("kalai_smorodinsky_utility", "K–S")):
        p = c.analysis.get(key)
        if p:
            points.append({xa: p[a], xb: p[b], "solution": label})
    reservation = pd.DataFrame({"r": [ra], "s": [rb]})
    rules = (alt.Chart(reservation).mark_rule(color="#999", strokeDash=[2, 2]).encode(x="r")
             + alt.Chart(reservation).mark_rule(color="#999", strokeDash=[2, 2]).encode(y="s"))
    layers = [base, frontier, rules]
    if points:
        layers.append(alt.Chart(pd.DataFrame(points)).mark_point(
            shape="diamond", size=160, filled=True, color="black").encode(
            x=xa, y=xb, tooltip=["solution", xa, xb]))
        layers.append(alt.Chart(pd.DataFrame(points)).mark_text(dx=12, align="left").encode(
            x=xa, y=xb, text="solution"))
    offers = offers_frame(result, names, xa, xb)
    if not offers.empty:
        layers.append(alt.Chart(offers).mark_line(point=True, opacity=0.8).encode(
            x=xa, y=xb, order="meeting:Q",
            color=alt.Color("offered by:N", scale=alt.Scale(scheme="set1")),
            tooltip=["meeting", "offered by", "response", xa, xb]))
        layers.append(alt.Chart(offers).mark_text(dy=-9, fontSize=10).encode(
            x=xa, y=xb, text="meeting:Q"))
    return alt.layer(*layers).properties(height=440).resolve_scale(color="independent")


def offers_frame(result: dict, names: dict[str, str], xa: str, xb: str) -> pd.DataFrame:
    a, b = list(names)
    rows = [{"meeting": e["round"], "offered by": names[e["proposer"]], "response": e["response"],
             xa: e["utility"][a], xb: e["utility"][b]}
            for e in result["trace"] if e["offer"] is not None]
    return pd.DataFrame(rows, columns=["meeting", "offered by", "response", xa, xb])


def over_meetings(result: dict, names: dict[str, str], field: str, title: str,
                  thresholds: dict[str, float] | None = None) -> alt.LayerChart:
    """Public support for the offer on the table, or leader approval, meeting by meeting."""
    rows = [{"meeting": e["round"], "side": names[p], title: v}
            for e in result["trace"] for p, v in e[field].items()]
    frame = pd.DataFrame(rows, columns=["meeting", "side", title])
    lines = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("meeting:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y(f"{title}:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                title="share"),
        color=alt.Color("side:N", scale=alt.Scale(scheme="set1")),
        tooltip=["meeting", "side", alt.Tooltip(f"{title}:Q", format=".1%")])
    layers = [lines]
    if thresholds:
        th = pd.DataFrame([{"side": names[p], "threshold": v} for p, v in thresholds.items()])
        layers.append(alt.Chart(th).mark_rule(strokeDash=[5, 3]).encode(
            y=alt.Y("threshold:Q", title=None),
            color=alt.Color("side:N", scale=alt.Scale(scheme="set1")),
            tooltip=["side", alt.Tooltip("threshold:Q", format=".0%",
                                         title="needed to ratify")]))
    return alt.layer(*layers).properties(height=260, title=title)


def probabilities(result: dict) -> alt.LayerChart:
    """Probability of each status and outcome class with its 95% Wilson interval."""
    rows = []
    for block, label in (("status", "status"), ("outcome_class", "outcome class")):
        for key, s in result[block].items():
            rows.append({"what": f"{label}: {key.replace('_', ' ')}", "p": s["p"] or 0.0,
                         "low": s["low"], "high": s["high"], "count": s["count"]})
    frame = pd.DataFrame(rows)
    order = list(frame["what"])
    bars = alt.Chart(frame).mark_bar(color="#4c78a8").encode(
        y=alt.Y("what:N", sort=order, title=""),
        x=alt.X("p:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                title="probability"),
        tooltip=["what", "count", alt.Tooltip("p:Q", format=".1%"),
                 alt.Tooltip("low:Q", format=".1%"), alt.Tooltip("high:Q", format=".1%")])
    errors = alt.Chart(frame).mark_rule(color="black").encode(
        y=alt.Y("what:N", sort=order), x="low:Q", x2="high:Q")
    return alt.layer(bars, errors).properties(height=28 * len(frame))


def histogram(result: dict) -> alt.Chart:
    hist = (result.get("rounds_to_agreement") or {}).get("histogram") or {}
    frame = pd.DataFrame({"meeting": [int(k) for k in hist], "runs": list(hist.values())})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("meeting:O", title="meeting of agreement"), y="runs:Q",
        tooltip=["meeting", "runs"]).properties(height=220)


def sweep_heatmap(result: dict) -> alt.Chart:
    """P(ratified agreement) over a one- or two-parameter grid."""
    params = [p["path"] for p in result["parameters"]]
    frame = pd.DataFrame(result["table"])
    frame["label"] = frame["p_ratified"].map(lambda p: f"{p:.0%}")
    if len(params) == 1:
        band = alt.Chart(frame).mark_area(opacity=0.2).encode(
            x=alt.X(f"{params[0]}:Q"), y="p_ratified_low:Q", y2="p_ratified_high:Q")
        line = alt.Chart(frame).mark_line(point=True).encode(
            x=f"{params[0]}:Q",
            y=alt.Y("p_ratified:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                    title="P(ratified agreement)"))
        return alt.layer(band, line).properties(height=320)
    x, y = params
    cells = alt.Chart(frame).mark_rect().encode(
        x=alt.X(f"{x}:O"), y=alt.Y(f"{y}:O", sort="descending"),
        color=alt.Color("p_ratified:Q", scale=alt.Scale(domain=[0, 1], scheme="viridis"),
                        title="P(ratified)"),
        tooltip=[x, y, alt.Tooltip("p_ratified:Q", format=".1%")])
    text = alt.Chart(frame).mark_text(color="white").encode(
        x=f"{x}:O", y=alt.Y(f"{y}:O", sort="descending"), text="label")
    return alt.layer(cells, text).properties(height=360)


def aspiration_curves(exponents: dict[str, float], rounds: int) -> alt.Chart:
    """Faratin's time-dependent aspiration, from 1 (best deal) to 0 (reservation)."""
    from sim.strategies import TimeDependentConcession

    rows = []
    for label, e in exponents.items():
        s = TimeDependentConcession(e)
        rows += [{"meeting": t + 1, "aspiration": s.aspiration(t, rounds - 1, 1.0, 0.0),
                  "tactic": label} for t in range(rounds)]
    return alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x="meeting:Q", y=alt.Y("aspiration:Q", title="share of the way from r to best deal"),
        color="tactic:N").properties(height=260)
