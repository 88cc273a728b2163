"""negsim's Streamlit dashboard."""
