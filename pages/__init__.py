"""Thin Streamlit views. Each page describes the UI and calls casefiles.services."""
