"""torchvision's ImageNet models as Transfer backbones. torchvision cannot be installed on the
machines this is built on, so these tests put a small stand-in `torchvision` package on the
path, with the real models' structure (ResNet's conv1/bn1/relu/maxpool/layer1-4/fc, MobileNet's
features/classifier) at a tiny width, and its weights file in a temporary torch cache."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from dlviz import jobs, transfer, zoo
from dlviz.config import DataConfig, RunConfig, TrainConfig

FAKE_MODELS = textwrap.dedent(
    """
    from torch import nn

    def _stage(c_in, c_out, stride):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out), nn.ReLU())

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 4, 7, 2, 3)
            self.bn1 = nn.BatchNorm2d(4)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = _stage(4, 4, 1)
            self.layer2 = _stage(4, 6, 2)
            self.layer3 = _stage(6, 8, 2)
            self.layer4 = _stage(8, 8, 2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 1000)

    class MobileNetV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(_stage(3, 4, 2), _stage(4, 6, 2), _stage(6, 10, 2))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(10, 16), nn.Hardswish(), nn.Linear(16, 1000))

    def resnet18(weights=None):
        assert weights is None
        return ResNet()

    def mobilenet_v3_small(weights=None):
        assert weights is None
        return MobileNetV3()
    """
)


@pytest.fixture
def fake_torchvision(tmp_path, monkeypatch):
    """A stand-in torchvision on the path and an empty torch cache; yields the cache folder."""
    pkg = tmp_path / "site" / "torchvision"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(FAKE_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(transfer, "_cache_zoo", {})
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    yield cache
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]


def save_weights(cache, builder: str, seed: int = 0) -> dict[str, torch.Tensor]:
    import torchvision.models as tvm

    torch.manual_seed(seed)
    state = getattr(tvm, builder)().state_dict()
    file = next(m.weights_file for m in zoo.MODELS.values() if m.builder == builder)
    torch.save(state, cache / file)
    return state


def test_without_torchvision_each_model_says_how_to_enable_it(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    why = zoo.status()
    assert list(why) == ["torchvision:resnet18", "torchvision:mobilenet_v3_small"]
    assert all(
        w.startswith("torchvision is not installed: `pip install torchvision`")
        for w in why.values()
    )
    assert zoo.available() == []
    monkeypatch.setattr(transfer, "_cache_zoo", {})
    with pytest.raises(transfer.BackboneError, match="ResNet-18: torchvision is not installed"):
        transfer.load_backbone("torchvision:resnet18")


def test_with_torchvision_a_model_is_offered_once_its_weights_are_cached(fake_torchvision):
    assert "not in the torch cache" in zoo.status()["torchvision:resnet18"]
    assert zoo.available() == []
    save_weights(fake_torchvision, "resnet18")
    assert zoo.available() == ["torchvision:resnet18"]


def test_imagenet_weights_are_mapped_onto_the_stages(fake_torchvision):
    state = save_weights(fake_torchvision, "resnet18", seed=3)
    b = transfer.load_backbone("torchvision:resnet18")
    assert b.model.arch == "zoo" and b.input_shape == (3, 64, 64)
    assert torch.equal(b.weights["blocks.0.0.weight"], state["conv1.weight"])  # stem: conv1
    assert torch.equal(b.weights["blocks.0.1.running_var"], state["bn1.running_var"])
    assert torch.equal(b.weights["blocks.4.0.weight"], state["layer4.0.weight"])
    assert not any(k.startswith(("blocks.", "out.")) and "fc" in k for k in b.weights)
    assert torch.equal(b.first_filters(), state["conv1.weight"])
    assert "ImageNet" in b.card["source"]["description"]


def test_the_network_normalises_with_imagenet_statistics(fake_torchvision):
    save_weights(fake_torchvision, "mobilenet_v3_small")
    b = transfer.load_backbone("torchvision:mobilenet_v3_small")
    model = transfer.build(b, RunConfig(transfer={"backbone": "x"}).transfer, 3, seed=0).eval()
    x = torch.rand(2, 3, 64, 64)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    h = (x - mean) / std
    for block in model.blocks:
        h = block(h)
    with torch.no_grad():
        assert torch.allclose(model(x), model.out(h.mean(dim=(2, 3))), atol=1e-6)
    assert [name for name, _ in model.weight_layers()] == [
        "features0", "features1", "features2", "output"
    ]  # fmt: skip


@pytest.mark.parametrize("strategy", ["frozen", "finetune_top"])
def test_runs_train_on_an_imagenet_backbone(fake_torchvision, strategy):
    save_weights(fake_torchvision, "resnet18")
    cfg = RunConfig(
        data=DataConfig(name="shapes", n_samples=120, image_size=16, channels=3, per_class=5),
        train=TrainConfig(epochs=2, batch_size=8),
        transfer={"backbone": "torchvision:resnet18", "strategy": strategy, "top_blocks": 2},
    )
    events = []
    out = jobs.execute(cfg, emit=events.append)
    assert out["status"] == "finished", out["message"]
    start = next(e for e in events if e["type"] == "start")
    assert start["config"]["model"] == {**start["config"]["model"], "arch": "zoo",
                                        "zoo": "torchvision:resnet18"}  # fmt: skip
    moved = out["weight_change"]
    assert list(moved) == ["stem", "layer1", "layer2", "layer3", "layer4"]
    if strategy == "frozen":
        assert out["trainable_params"] == 8 * 6 + 6
        assert all(v == 0 for v in moved.values())
    else:  # layer3 and layer4 train
        assert [moved[k] > 0 for k in moved] == [False, False, False, True, True]


def test_the_transfer_page_offers_a_cached_imagenet_model(
    fake_torchvision, apptest, monkeypatch, tmp_path
):
    from test_pages import charts

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    # no weights cached yet: the expander says where to put them
    assert "torchvision:resnet18" not in at.selectbox(key="tl_backbone").options
    notes = "\n".join(c.value for c in at.caption)
    assert "ResNet-18**: its weights are not in the torch cache: put resnet18-f37072fd.pth" in notes
    save_weights(fake_torchvision, "resnet18")
    at.run()
    box = at.selectbox(key="tl_backbone")
    assert "ResNet-18 (ImageNet, torchvision)" in box.options
    box.set_value("torchvision:resnet18").run()
    assert not at.exception, at.exception
    plan = charts(at)["tl_plan"]["data"]
    assert {t["name"].split(" ")[0]: list(t["x"]) for t in plan} == {
        "frozen": ["stem", "layer1", "layer2", "layer3", "layer4"], "new": ["output"]
    }  # fmt: skip
    assert "ImageNet (ResNet-18" in "\n".join(c.value for c in at.caption)
    at.number_input(key="tl_epochs").set_value(1).run()
    at.button(key="tl_train").click().run()
    view = at.session_state["tl_view"]
    view.handles[0].wait(60)
    at.run()
    assert not at.exception, at.exception
    assert view.handles[0].history.status == "finished", view.handles[0].history.message
