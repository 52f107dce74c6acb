"""The uploads lab."""
