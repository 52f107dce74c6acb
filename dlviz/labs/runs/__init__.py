"""The runs lab."""
