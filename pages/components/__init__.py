"""Custom Streamlit components shipped in the repo (no npm at run time)."""
