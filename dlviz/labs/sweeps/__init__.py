"""The Sweep page: set up, start, follow and stop a sweep; its results over seeds."""
