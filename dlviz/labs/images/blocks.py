"""The Image lab's blocks table: a CNN's conv blocks as the rows a person edits, and each edit
folded back into the tuple of `ConvBlock` the lab keeps (no Streamlit here: the table widget
is in `dlviz.labs.images.widgets`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from dlviz.config import ConvBlock

BLOCK_COLUMNS = (
    "layer",
    "channels",
    "kernel",
    "stride",
    "pool",
    "norm",
    "activation",
    "residual",
    "dropout",
)


DEFAULT = "default"  # in the table: take the model's own setting


def blocks_frame(blocks: tuple[ConvBlock, ...]) -> pd.DataFrame:
    """The blocks as the table shows them: one row per block, "default" where a block follows
    the model's setting."""
    rows = [
        {
            "layer": f"conv{i + 1}",
            "channels": b.channels,
            "kernel": b.kernel,
            "stride": b.stride,
            "pool": b.pool,
            "norm": b.norm or DEFAULT,
            "activation": b.activation or DEFAULT,
            "residual": DEFAULT if b.residual is None else ("on" if b.residual else "off"),
            "dropout": b.dropout,
        }
        for i, b in enumerate(blocks)
    ]
    frame = pd.DataFrame(rows, columns=list(BLOCK_COLUMNS))
    return frame.astype({"dropout": "float64"})


def _cell(value: Any) -> Any:
    """A table cell as Python: NaN and None are empty, whole floats are ints."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def row_block(row: dict[str, Any]) -> ConvBlock:
    """One table row as a ConvBlock; its values are checked later, by ModelConfig."""
    residual = _cell(row.get("residual"))
    dropout = _cell(row.get("dropout"))
    return ConvBlock(
        channels=_cell(row.get("channels")),
        kernel=_cell(row.get("kernel")),
        stride=_cell(row.get("stride")),
        pool=_cell(row.get("pool")) or "none",
        norm="" if _cell(row.get("norm")) in (None, DEFAULT) else row["norm"],
        activation="" if _cell(row.get("activation")) in (None, DEFAULT) else row["activation"],
        residual=None if residual in (None, DEFAULT) else residual == "on",
        dropout=None if dropout is None else float(dropout),
    )


def apply_edits(blocks: tuple[ConvBlock, ...], edits: dict[str, Any]) -> tuple[ConvBlock, ...]:
    """Fold a data editor's edits (``edited_rows``, ``deleted_rows``, ``added_rows``) into
    `blocks`, in the order Streamlit applies them: edits, deletions, then additions."""
    rows = blocks_frame(blocks).to_dict("records")
    for index, changes in (edits.get("edited_rows") or {}).items():
        rows[int(index)].update(changes)
    deleted = {int(i) for i in edits.get("deleted_rows") or []}
    rows = [r for i, r in enumerate(rows) if i not in deleted]
    fresh = blocks_frame((ConvBlock(),)).to_dict("records")[0]
    rows += [
        {**fresh, **{k: v for k, v in r.items() if v is not None}}
        for r in edits.get("added_rows") or []
    ]
    return tuple(row_block(r) for r in rows)
