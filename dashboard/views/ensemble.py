"""Ensemble page: many runs of the edited scenario, as probabilities with intervals."""

import streamlit as st
import yaml

from dashboard import charts
from dashboard.common import edited, scenario_yaml
from sim.ensemble import Ensemble, default_workers
from sim.runner import Runner

st.title("Ensemble")
st.caption("Each run draws the scenario's uncertain parameters and its citizens from its own "
           "seed. The same master seed gives the same numbers here and with "
           "`negsim run FILE --runs N --seed S`.")
r = edited()
if r is None:
    st.stop()
c1, c2, c3 = st.columns(3)
runs = c1.number_input("Runs", 10, 20000, 500, 10, key="ens.runs", bind="query-params")
seed = c2.number_input("Master seed", 0, 2**31 - 1, 0, 1, key="ens.seed", bind="query-params")
workers = c3.number_input("Worker processes", 1, max(1, default_workers()), 1, 1,
                          key="ens.workers")

if st.button("Run the ensemble", type="primary"):
    runner = Runner(yaml.safe_load(scenario_yaml(r)))
    ens = Ensemble(runner, int(runs), int(seed), int(workers))
    bar = st.progress(0.0, text="Running…")
    done = 0

    def advance(n: int) -> None:
        global done
        done += n
        bar.progress(done / ens.runs, text=f"{done} of {ens.runs} runs")

    ens.execute(advance)
    bar.empty()
    st.session_state["ensemble_result"] = ens.result()

result = st.session_state.get("ensemble_result")
if result:
    ratified = result["status"]["ratified"]
    st.metric("P(ratified agreement)", f"{ratified['p']:.1%}",
              help=f"95% interval {ratified['low']:.1%} – {ratified['high']:.1%}")
    st.markdown(f"{result['completed']} runs of **{result['scenario']['name']}** in "
                f"{result['elapsed_s']:.1f} s; {result['failed_runs']} failed.")
    st.altair_chart(charts.probabilities(result), width="stretch")
    if result["rounds_to_agreement"]:
        st.markdown("#### When agreements happen")
        st.altair_chart(charts.histogram(result), width="stretch")
    with st.expander("EnsembleResult (JSON)"):
        st.json(result)
