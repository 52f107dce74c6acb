"""The playground lab."""
