"""dlviz: a deep-learning lab in the browser. The core (everything outside dlviz.ui) imports
neither streamlit nor plotly, except plots.py which imports plotly."""

__version__ = "0.1.0"
