"""negsim's dashboard: every parameter a control, every result a picture.

Run it with ``negsim dashboard`` (or ``make dashboard``): Streamlit on http://127.0.0.1:8501,
offline. Pages live in ``dashboard/pages/``; what they share is in ``dashboard/common.py``.
"""

import streamlit as st

st.set_page_config(page_title="negsim: the four islands", page_icon="🏝️", layout="wide")

pages = [
    st.Page("pages/scenario.py", title="Scenario", icon="🗂️", default=True),
    st.Page("pages/single_run.py", title="Single run", icon="🎲"),
    st.Page("pages/ensemble.py", title="Ensemble", icon="📊"),
    st.Page("pages/sweep.py", title="Sweep", icon="🧭"),
    st.Page("pages/theory.py", title="Theory", icon="📐"),
    st.Page("pages/about.py", title="About / sources", icon="📚"),
]
st.navigation(pages).run()
