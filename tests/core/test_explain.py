"""Saliency and Grad-CAM against plain-torch computations of the same definitions."""

import numpy as np
import torch
import torch.nn.functional as F

from dlviz.config import ConvBlock, ModelConfig
from dlviz.explain import grad_cam, probabilities, saliency
from dlviz.models import build_model


def model():
    blocks = (ConvBlock(channels=4, pool="max"), ConvBlock(channels=6))
    m = build_model(ModelConfig(arch="cnn", blocks=blocks), (3, 12, 12), 3, seed=0)
    m.train()  # the functions must evaluate in eval mode and put it back
    return m


def test_probabilities_sum_to_one_and_match_softmax():
    m, x = model(), torch.rand(3, 12, 12)
    p = probabilities(m, x)
    m.eval()
    with torch.no_grad():
        ref = F.softmax(m(x[None]), 1)[0].numpy()
    np.testing.assert_allclose(p, ref, rtol=1e-5)
    assert probabilities(m, torch.rand(5, 3, 12, 12)).shape == (5, 3)


def test_saliency_is_the_scaled_input_gradient_of_the_predicted_class():
    m, x = model(), torch.rand(3, 12, 12)
    s = saliency(m, x)
    assert m.training  # restored
    m.eval()
    inp = x[None].clone().requires_grad_(True)
    out = m(inp)
    out[0, out.argmax(1)].sum().backward()
    ref = inp.grad[0].abs().amax(0)
    np.testing.assert_allclose(s, (ref / ref.max()).numpy(), rtol=1e-4, atol=1e-6)
    assert s.shape == (12, 12) and s.max() == 1.0


def test_grad_cam_matches_a_hand_written_one_and_leaves_no_hooks():
    m, x = model(), torch.rand(3, 12, 12)
    cam = grad_cam(m, x, "conv2", target=1)
    assert all(not b._forward_hooks for b in m.blocks)
    m.eval()
    a = m.blocks[1](m.blocks[0](x[None]))  # (1, 6, 6, 6): conv2's maps
    a.retain_grad()
    score = m.out(m.head(a.mean(dim=(2, 3))))[0, 1]
    score.backward()
    w = a.grad[0].mean(dim=(1, 2))
    ref = F.relu((w[:, None, None] * a[0]).sum(0)).detach()
    ref = F.interpolate(ref[None, None], size=(12, 12), mode="bilinear", align_corners=False)[0, 0]
    expected = (ref / ref.max()).numpy() if ref.max() > 0 else np.zeros((12, 12))
    np.testing.assert_allclose(cam, expected, rtol=1e-4, atol=1e-6)
    assert cam.shape == (12, 12)
    import pytest

    with pytest.raises(KeyError, match="no layer 'conv9'"):
        grad_cam(m, x, "conv9")
