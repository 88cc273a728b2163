"""negsim's dashboard: every parameter a control, every result a picture.

Run it with ``negsim dashboard`` (or ``make dashboard``): Streamlit on http://127.0.0.1:8501,
offline. Pages live in ``dashboard/views/``; what they share is in ``dashboard/common.py``.
"""

import streamlit as st

st.set_page_config(page_title="negsim: the four islands", page_icon="🏝️", layout="wide")

pages = [
    st.Page("views/scenario.py", title="Scenario", default=True),
    st.Page("views/single_run.py", title="Single run"),
    st.Page("views/play.py", title="Play"),
    st.Page("views/classroom.py", title="Class"),
    st.Page("views/ensemble.py", title="Ensemble"),
    st.Page("views/sweep.py", title="Sweep"),
    st.Page("views/theory.py", title="Theory"),
    st.Page("views/about.py", title="About / sources"),
]
st.navigation(pages).run()
