"""Single run page: the deal (or why there is none), the offers in utility space, publics and
approvals over the meetings, and the islands on the map after the outcome."""

import time

import streamlit as st
import yaml

from dashboard import charts
from dashboard.common import edited, run_cached, scenario_yaml, seed_input
from sim.runner import Runner

st.title("Single run")
seed = seed_input()
r = edited()
if r is None:
    st.stop()
s = r.scenario
names = {pid: p.name for pid, p in s.parties.items()}
text = scenario_yaml(r)
started = time.perf_counter()
result = run_cached(text, seed)
compiled, drawn = Runner(yaml.safe_load(text)).compiled_for(seed)

status = result["status"].replace("_", " ")
st.markdown(f"### {status.capitalize()}: {result['outcome_class']}")
st.markdown(f'<p data-testid="negsim-reason">{result["reason"]}</p>',
            unsafe_allow_html=True)
cols = st.columns(len(names) + 1)
cols[0].metric("Seed", seed)
for col, (pid, name) in zip(cols[1:], names.items(), strict=True):
    col.metric(f"{name}: utility", f"{result['utility'][pid]:.2f}",
               help="Utility of the deal for the leader (or of no deal: the reservation value).")

left, right = st.columns([3, 2])
with left:
    st.markdown("#### Offers in utility space")
    st.caption("Grey: every possible deal. Green: the zone of possible agreement. Dashed: the "
               "Pareto frontier and each side's value of no deal. Lines: each side's offers, "
               "numbered by meeting.")
    st.altair_chart(charts.utility_space(compiled, result, names), width="stretch")
with right:
    st.markdown("#### The islands after the outcome")
    try:
        from dashboard.map import holders_from_deal, island_map

        st.altair_chart(island_map(holders_from_deal(result["deal"], s),
                                   territories={k: t.model_dump() for k, t in
                                                s.territories.items()}),
                        width="stretch")
    except ImportError:
        st.info("The map is not available in this build.")
    if result["deal"]:
        st.table({s.agenda.issues[i].label: str(o) for i, o in result["deal"].items()})

c1, c2 = st.columns(2)
with c1:
    st.altair_chart(charts.over_meetings(result, names, "support",
                                         "Public support for the offer on the table",
                                         dict(compiled.scenario.protocol.ratification)),
                    width="stretch")
with c2:
    st.altair_chart(charts.over_meetings(result, names, "approval", "Leader approval"),
                    width="stretch")

with st.expander("Meeting by meeting"):
    st.dataframe([{"meeting": e["round"], "events": "; ".join(e.get("events", [])),
                   "proposer": names[e["proposer"]], "response": e["response"],
                   **{f"u {names[p]}": v for p, v in e["utility"].items()},
                   **{f"support {names[p]}": v for p, v in e["support"].items()}}
                  for e in result["trace"]], hide_index=True)
if drawn:
    with st.expander("Values drawn for the uncertain parameters (from the seed)"):
        st.json(drawn)
st.caption(f"Scenario `{result['scenario']['sha256'][:12]}`, negsim "
           f"{result['negsim_version']}; page computed in "
           f"{(time.perf_counter() - started) * 1e3:.0f} ms.")
