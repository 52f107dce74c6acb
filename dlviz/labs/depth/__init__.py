"""The depth lab."""
