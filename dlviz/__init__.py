"""dlviz: a deep-learning lab in the browser. Its shared core imports neither streamlit nor
plotly; docs/ARCHITECTURE.md maps the layers."""

__version__ = "0.1.0"
