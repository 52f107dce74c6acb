"""What training did to the backbone's representations: linear CKA (Kornblith et al. 2019)
between each conv layer of the pretrained backbone and the same layer of each trained network,
on the same test images, and what those numbers say, in words.

A layer at CKA 1 represents the images as the pretrained one did (up to a rotation or a
rescaling); a frozen layer above frozen layers is exactly that. A layer's CKA also carries what
the layers below pass on to it: on the shipped backbone, conv3 with random weights on top of
the pretrained conv1-conv2 still scores above 0.9 (tests/labs/transfer/test_transfer_layers.py),
and two networks trained apart on the same images are well above 0 at every layer. So a network
trained from scratch, which never saw the backbone, is the reference the others are read
against."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from dlviz.config import TransferConfig
from dlviz.representations import MAX_FEATURES, layer_features, linear_cka
from dlviz.transfer import Backbone, build

UNCHANGED_CKA = 0.999  # at or above: the pretrained layer's representation, up to rounding
KEPT_CKA = 0.95  # at or above (and below UNCHANGED_CKA): kept close to it; below: changed

Similarity = tuple[str, str, dict[str, float]]  # (label, strategy, {conv layer: CKA})


# --- the numbers ---------------------------------------------------------------------------------


def pretrained_network(backbone: Backbone, n_classes: int) -> nn.Module:
    """The backbone's network with its pretrained blocks (batch-norm statistics included), as
    every strategy but ``scratch`` starts from; its new output layer is never compared."""
    return build(backbone, TransferConfig(backbone=backbone.name), n_classes, seed=0)


def block_names(model: nn.Module) -> list[str]:
    """The conv blocks' names, input to output (``conv1``, ... for a dlviz CNN)."""
    return [model.block_name(i) for i in range(len(model.blocks))]  # type: ignore[operator, arg-type]


def similarity_to_pretrained(
    pretrained: nn.Module,
    trained: Sequence[nn.Module],
    x: torch.Tensor,
    max_features: int = MAX_FEATURES,
) -> list[dict[str, float]]:
    """For each trained network, linear CKA between each conv block's output and the same
    block's output in `pretrained`, on inputs `x` (N, C, H, W), each layer's feature maps
    pooled as `dlviz.representations.layer_features` pools them: ``{block: CKA}``, input to
    output. The pretrained features are computed once; each network runs on its own device."""
    names = block_names(pretrained)
    ref, _ = layer_features(pretrained, x, max_features=max_features)
    out = []
    for model in trained:
        feats, _ = layer_features(model, x, max_features=max_features)
        out.append({n: linear_cka(ref[n], feats[n].to(ref[n].device)) for n in names})
    return out


# --- in words --------------------------------------------------------------------------------------


def _cka(v: float) -> str:
    """Two decimals; three where two would round a layer that changed up to 1.00."""
    return f"{v:.3f}" if 0.995 <= v < UNCHANGED_CKA else f"{v:.2f}"


def _span(names: Sequence[str], order: Sequence[str]) -> str:
    """Layers as ranges of neighbours in `order`: conv1-conv4 and conv6."""
    groups: list[list[str]] = []
    for name in names:
        if groups and order.index(name) == order.index(groups[-1][-1]) + 1:
            groups[-1].append(name)
        else:
            groups.append([name])
    parts = [g[0] if len(g) == 1 else f"{g[0]}-{g[-1]}" for g in groups]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _range(values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return _cka(lo) if _cka(lo) == _cka(hi) else f"{_cka(lo)} to {_cka(hi)}"


def _run_sentence(label: str, cka: dict[str, float]) -> str:
    order = list(cka)
    changed = [n for n in order if cka[n] < KEPT_CKA]
    kept = [n for n in order if KEPT_CKA <= cka[n] < UNCHANGED_CKA]
    same = [n for n in order if cka[n] >= UNCHANGED_CKA]
    if not changed and not kept:
        return f"{label} left the representation unchanged at every layer (CKA 1.00)."
    parts = []  # (the first layer it names, what it says with {it}), told input to output
    if changed:
        layers = "layer" if len(changed) == 1 else "layers"
        values = ", ".join(_cka(cka[n]) for n in changed)
        parts.append(
            (changed[0], f"changed {{it}} at {_and(changed)} (CKA {values} against the "
                         f"pretrained {layers})")
        )  # fmt: skip
    if kept:
        low = min(kept, key=cka.__getitem__)
        lowest = f", lowest at {low}" if len(kept) > 2 and not changed else ""
        parts.append(
            (kept[0], f"kept {{it}} close to the pretrained one at {_span(kept, order)} "
                      f"(CKA {_range([cka[n] for n in kept])}{lowest})")
        )  # fmt: skip
    if same:
        parts.append((same[0], f"left {{it}} unchanged at {_span(same, order)} (CKA 1.00)"))
    parts.sort(key=lambda p: order.index(p[0]))
    told = [text.format(it="the representation" if i == 0 else "it") for i, (_, text) in
            enumerate(parts)]  # fmt: skip
    return f"{label} {_and(told)}."


def backbone_reading(rows: Sequence[Similarity]) -> list[str]:
    """Sentences on each run's CKA against the pretrained layers (`rows`: label, strategy,
    {conv layer: CKA}, input to output): for each run that started from the backbone, the
    layers it changed (CKA below KEPT_CKA), kept close (up to UNCHANGED_CKA) and left as they
    were, and those no closer to the pretrained layers than the same layers trained from
    scratch; the run from scratch as the reference. Undefined (NaN) layers are named and
    otherwise left out."""
    out = []
    scratch = next(
        ({k: v for k, v in c.items() if math.isfinite(v)} for _, s, c in rows if s == "scratch"),
        {},
    )
    for label, strategy, cka in rows:
        finite = {k: v for k, v in cka.items() if math.isfinite(v)}
        if finite and strategy != "scratch":
            sentence = _run_sentence(label, finite)
            below = [
                n
                for n, v in finite.items()
                if v < UNCHANGED_CKA and n in scratch and v <= scratch[n]
            ]
            if below:
                one = len(below) == 1
                sentence += (
                    f" Its {_and(below)} {'is' if one else 'are'} no closer to the pretrained "
                    f"{'layer' if one else 'layers'} than the same "
                    f"{'layer' if one else 'layers'} trained from scratch."
                )
            out.append(sentence)
        undefined = [k for k, v in cka.items() if not math.isfinite(v)]
        if undefined:
            out.append(
                f"{label}: CKA is undefined at {_and(undefined)}, whose activations do not "
                "vary over these images."
            )
    if scratch:
        out.append(
            "The network trained from scratch, which never saw the backbone, is at CKA "
            f"{_range(list(scratch.values()))} against the pretrained layers: what two networks "
            "trained apart on these images share, the level to read the other lines against."
        )
    return out
