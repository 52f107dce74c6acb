"""The Image lab's figures: what each draws, checked in fig.data and fig.layout."""
