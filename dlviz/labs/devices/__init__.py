"""The devices lab."""
