"""The labs: one folder each, what only that lab uses."""
