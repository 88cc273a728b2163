"""Scenario page: pick or upload a scenario, change any parameter, download the result."""

import streamlit as st

from dashboard.common import (
    UPLOAD_KEY,
    base_choice,
    controls,
    edited,
    resolved,
    scenario_yaml,
    show_problems,
    source_note,
    value_at,
)
from sim.loading import ScenarioError

st.title("Scenario")
base_choice()

with st.expander("Upload your own scenario (YAML)", expanded=False):
    upload = st.file_uploader("Scenario file", type=["yaml", "yml"], key="upload")
    if upload is not None:
        st.session_state[UPLOAD_KEY] = upload.getvalue().decode("utf-8", errors="replace")
        st.caption("Choose “(uploaded file)” in the Scenario box on the left to use it.")

try:
    base = resolved()
except ScenarioError as e:
    show_problems(e)
    st.stop()

s = base.scenario
st.subheader(s.title)
st.write(s.description)
with st.expander("Teaching notes"):
    st.markdown(s.teaching_notes)

st.markdown("#### Parameters")
st.caption("Each control starts at the scenario's value (a distribution's central value). "
           "Hover over the question mark beside a control to see where its number comes "
           "from. Changed values are kept in the page address, so a link shares the "
           "configuration.")
groups: dict[str, list] = {}
for c in controls(s):
    groups.setdefault(c.group, []).append(c)
columns = st.columns(2)
for i, (group, items) in enumerate(groups.items()):
    with columns[i % 2].container(border=True):
        st.markdown(f"**{group}**")
        for c in items:
            default = value_at(s, c.path)
            help_text = f"{c.unit}. {source_note(base, c.path)}. Field: `{c.path}`"
            if c.integer:
                st.slider(c.label, int(c.low), int(c.high), int(default), int(c.step),
                          key=c.key, help=help_text, bind="query-params")
            else:
                st.slider(c.label, float(c.low), float(max(c.high, default)),
                          float(default), float(c.step), key=c.key, help=help_text,
                          bind="query-params")
        if group == "Protocol":
            st.selectbox("Who opens", list(s.parties), index=list(s.parties).index(
                s.protocol.opens), key="opens", bind="query-params",
                format_func=lambda p: s.parties[p].name)


def _reset() -> None:
    # Setting a bound widget back to its default also drops it from the page address.
    for c in controls(s):
        default = value_at(s, c.path)
        st.session_state[c.key] = int(default) if c.integer else float(default)
    st.session_state["opens"] = s.protocol.opens


st.button("Reset to the scenario's values", on_click=_reset)

current = edited()
if current is not None:
    st.download_button(
        "Download the edited scenario (YAML)", scenario_yaml(current),
        file_name=f"{current.scenario.name}-edited.yaml", mime="text/yaml",
        help="`negsim run FILE --seed S` reproduces the dashboard's result for seed S.")
    st.caption(f"Scenario hash: `{current.sha256[:12]}`")
