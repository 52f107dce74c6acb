"""Sequences: recurrent networks and transformers on symbol tasks, text and time series, and what happens inside them as they learn."""
