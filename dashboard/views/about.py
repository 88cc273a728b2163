"""About page: the scenario's sources, and what really happened after February 2019."""

import streamlit as st

from dashboard.common import edited

AFTERWARDS = [
    ("June 2019", "Abe and Putin meet at the Osaka G20 summit: no territorial progress."),
    ("September 2019", "Eastern Economic Forum, Vladivostok: no territorial progress."),
    ("July 2020", "Russia amends its constitution to forbid ceding territory (77.9% yes)."),
    ("August 2020", "Abe resigns."),
    ("March 2022", "Russia suspends the peace-treaty talks with Japan."),
]

st.title("About and sources")
r = edited()
if r is None:
    st.stop()
s = r.scenario
with st.container(border=True):
    st.markdown("### Debrief: what happened after February 2019")
    st.markdown("No treaty was signed and no island changed hands.")
    for when, what in AFTERWARDS:
        st.markdown(f"- **{when}**: {what}")
    st.caption("Compare with the Ensemble page: how often did the model's runs end the same way?")

st.markdown(f"### Sources of “{s.title}”")
st.dataframe([{"id": sid, "source": src.title, "publisher": src.publisher or "",
               "date": src.date or "", "note": src.note or ""}
              for sid, src in s.sources.items()], hide_index=True, width="stretch")
st.markdown("Every number in a scenario names one of these sources or is labelled "
            "`assumption`; `negsim show NAME` lists them all. negsim runs offline: nothing on "
            "these pages is fetched from the internet.")
