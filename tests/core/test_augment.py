"""Batched augmentation against per-image references."""

import torch

from dlviz.augment import Augment


def test_off_changes_nothing():
    x = torch.rand(4, 3, 8, 8)
    assert Augment()(x) is x


def test_flip_mirrors_about_half_and_leaves_the_rest():
    x = torch.rand(200, 1, 5, 7)
    out = Augment(flip=True)(x, torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(o, i.flip(-1))) for o, i in zip(out, x)]
    same = [bool(torch.equal(o, i)) for o, i in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same))
    assert 70 < sum(flipped) < 130


def test_a_crop_shift_moves_content_by_whole_pixels_when_it_can():
    x = torch.zeros(1, 1, 10, 10)
    x[0, 0, 4, 4] = 1.0
    aug = Augment(crop=0.1)  # up to 1 pixel of 10
    out = aug(x, torch.Generator().manual_seed(3))
    assert abs(out.sum().item() - 1.0) < 1e-5  # the dot moved (maybe by a fraction), not lost
    r, c = divmod(int(out[0, 0].argmax()), 10)
    assert abs(r - 4) <= 1 and abs(c - 4) <= 1


def test_rotation_of_a_symmetric_disc_keeps_it_and_jitter_stays_in_range():
    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    disc = (((yy - 7.5) ** 2 + (xx - 7.5) ** 2) < 16).float()[None, None].repeat(8, 3, 1, 1)
    out = Augment(rotate=30)(disc, torch.Generator().manual_seed(1))
    assert (out - disc).abs().mean() < 0.05
    j = Augment(jitter=0.5)(torch.rand(16, 3, 8, 8), torch.Generator().manual_seed(2))
    assert j.min() >= 0 and j.max() <= 1


def test_the_same_generator_seed_gives_the_same_batch():
    x = torch.rand(6, 3, 12, 12)
    aug = Augment(flip=True, crop=0.1, rotate=10, jitter=0.2)
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x, torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, x)
