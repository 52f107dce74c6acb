"""The Sequence lab's side of the projector (`dlviz.ui.projector`), for one class a sequence:
the test sequences in a layer's space, a layer being what the head would read there (the last
state of a recurrent layer, the mean over the real positions of the others), the input being
the share of each token among the real positions (a bag of tokens), and an item shown as its
text with its class."""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch
import torch.nn.functional as F

from dlviz.data import Dataset
from dlviz.history import RunHistory
from dlviz.labs.sequences import reading
from dlviz.models.sequence import real_positions
from dlviz.sequence_probe import sequence_embedding
from dlviz.ui import projector


def bag_of_tokens(ds: Dataset, n: int) -> np.ndarray:
    """(n, vocab): the share of each token among each of the first `n` test sequences' real
    positions (the padding left out)."""
    seq = ds.seq
    assert seq is not None
    x = ds.x_test[:n]
    real = real_positions(x, seq.pad) if seq.pad >= 0 else torch.ones_like(x, dtype=torch.bool)
    share = real.float() / real.sum(dim=1, keepdim=True).clamp(min=1)
    return (F.one_hot(x, len(seq.vocab)).float() * share[..., None]).sum(dim=1).numpy()


def _show(ds: Dataset, items: list[int], titles: list[str], key: str) -> None:
    seq = ds.seq
    assert seq is not None
    chars = reading.is_chars(ds)
    with st.container(key=key):
        for i, title in zip(items, titles):
            tokens = tuple(seq.vocab[int(t)] for t in ds.x_test[i])
            st.markdown(f"**{title}** (test sequence {i})")
            st.code(
                reading.shown_text(tokens, seq.vocab, seq.pad, seq.prompt, chars),
                language=None,
                wrap_lines=True,
            )


ITEMS = projector.Items(
    prefix="sq",
    noun="test sequence",
    per_item="a sequence",
    layer_help="The input is the share of each token in the sequence (a bag of tokens); a "
    "layer is what the network's head would read there: a recurrent layer's last state, the "
    "mean over the positions of the others'.",
    snapshots=lambda h: h.seq,
    trained=lambda model, ds, n: sequence_embedding(model, ds, n),
    inputs=bag_of_tokens,
    show=_show,
)


def draw(h: RunHistory, ds: Dataset, key: str) -> None:
    """The projector section of a sequence run with one class a sequence."""
    projector.draw(ITEMS, h, ds, key)
