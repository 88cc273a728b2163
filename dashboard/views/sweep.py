"""Sweep page: what would it take? P(ratified agreement) over one or two parameters."""

import numpy as np
import streamlit as st
import yaml

from dashboard import charts
from dashboard.common import controls, edited, scenario_yaml, value_at
from sim.ensemble import default_workers
from sim.sweep import sweep

st.title("Sweep: what would it take?")
r = edited()
if r is None:
    st.stop()
s = r.scenario
options = {c.label + f" ({c.group})": c for c in controls(s)}
labels = list(options)
first = st.selectbox("First parameter", labels, index=next(
    (i for i, k in enumerate(labels) if options[k].path.endswith("ratification." +
                                                                 list(s.parties)[-1])), 0),
    key="sw.p1")
second = st.selectbox("Second parameter (optional)", ["(none)", *labels], index=0,
                      key="sw.p2")
grids = []
for label in [first] + ([second] if second != "(none)" else []):
    c = options[label]
    lo, hi = st.slider(f"Range of {c.label}", float(c.low), float(c.high),
                       (float(c.low), float(c.high)), float(c.step), key=f"sw.range.{c.key}")
    steps = st.number_input(f"Steps for {c.label}", 2, 15, 5, key=f"sw.steps.{c.key}")
    values = np.linspace(lo, hi, int(steps))
    if c.integer:
        values = np.unique(np.round(values).astype(int))
    grids.append((c.path, [v.item() for v in values]))
    st.caption(f"Now: {value_at(s, c.path):g}")
runs = st.number_input("Runs per point", 5, 2000, 40, 5, key="sw.runs")
seed = st.number_input("Master seed", 0, 2**31 - 1, 0, key="sw.seed")
if st.button("Run the sweep", type="primary"):
    total = int(runs) * int(np.prod([len(v) for _, v in grids]))
    bar = st.progress(0.0, text="Running…")
    done = 0

    def advance(n: int) -> None:
        global done
        done += n
        bar.progress(min(1.0, done / total), text=f"{done} of {total} runs")

    st.session_state["sweep_result"] = sweep(
        yaml.safe_load(scenario_yaml(r)), grids, int(runs), int(seed),
        min(2, default_workers()) if total >= 400 else 1, advance)
    bar.empty()
result = st.session_state.get("sweep_result")
if result:
    st.altair_chart(charts.sweep_heatmap(result), width="stretch")
    st.dataframe(result["table"], hide_index=True)
