"""The images lab."""
