"""The transfer lab."""
