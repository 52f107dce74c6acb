"""The only streamlit code outside pages/: session state, shared widgets, the live view."""
