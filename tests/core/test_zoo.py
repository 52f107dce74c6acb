"""torchvision's and timm's ImageNet models as Transfer backbones. Neither can be installed on
the machines this is built on, so these tests put small stand-in `torchvision` and `timm`
packages on the path, with the real models' structure at a tiny width (torchvision's ResNet:
conv1/bn1/relu/maxpool/layer1-4/fc, its MobileNet: features/classifier; timm's ResNet:
conv1/bn1/act1/maxpool/layer1-4/fc, its MobileNetV3: conv_stem/bn1/blocks/conv_head/classifier),
and their weights in a temporary torch cache and Hugging Face hub cache."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from dlviz import jobs, transfer
from dlviz.config import DataConfig, RunConfig, TrainConfig
from dlviz.models import zoo
from dlviz.transfer import backbones

# What both stand-ins share: a stage, and ResNet-18's layout (the activation's name and the
# last stage's width differ between torchvision and timm)
COMMON = """
from torch import nn

def _stage(c_in, c_out, stride):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out), nn.ReLU())

class ResNet(nn.Module):
    def __init__(self, act, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 7, 2, 3)
        self.bn1 = nn.BatchNorm2d(4)
        setattr(self, act, nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _stage(4, 4, 1)
        self.layer2 = _stage(4, 6, 2)
        self.layer3 = _stage(6, 8, 2)
        self.layer4 = _stage(8, width, 2)
        self.fc = nn.Linear(width, 1000)
"""

FAKE_MODELS = COMMON + textwrap.dedent(
    """
    class MobileNetV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(_stage(3, 4, 2), _stage(4, 6, 2), _stage(6, 10, 2))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(10, 16), nn.Hardswish(), nn.Linear(16, 1000))

    def resnet18(weights=None):
        assert weights is None
        return ResNet("relu", 8)

    def mobilenet_v3_small(weights=None):
        assert weights is None
        return MobileNetV3()
    """
)

FAKE_TIMM = COMMON + textwrap.dedent(
    """
    class MobileNetV3(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_stem = nn.Conv2d(3, 4, 3, 2, 1)
            self.bn1 = nn.Sequential(nn.BatchNorm2d(4), nn.Hardswish())  # timm's BatchNormAct2d
            self.blocks = nn.Sequential(_stage(4, 6, 2), _stage(6, 8, 2), _stage(8, 10, 1))
            self.global_pool = nn.AdaptiveAvgPool2d(1)
            self.conv_head = nn.Conv2d(10, 16, 1)  # after the pooling: not a stage
            self.act2 = nn.Hardswish()
            self.flatten = nn.Flatten(1)
            self.classifier = nn.Linear(16, 1000)

    def create_model(name, pretrained=False):
        assert not pretrained
        return {"resnet18": lambda: ResNet("act1", 12), "mobilenetv3_small_100": MobileNetV3}[name]()
    """
)


def hub_folder(hub, repo: str):
    return hub / ("models--" + repo.replace("/", "--"))


def save_timm_weights(hub, builder: str, seed: int = 0, revision: str = "abc123"):
    """The weights as huggingface_hub lays them out: snapshots/REV/model.safetensors, refs/main."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    state = timm.create_model(builder).state_dict()
    repo = next(
        m.weights for m in zoo.MODELS.values() if m.library == "timm" and m.builder == builder
    )
    snap = hub_folder(hub, repo) / "snapshots" / revision
    snap.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, snap / "model.safetensors")
    (hub_folder(hub, repo) / "refs").mkdir(exist_ok=True)
    (hub_folder(hub, repo) / "refs" / "main").write_text(revision)
    return state


@pytest.fixture
def fake_timm(tmp_path, monkeypatch):
    """A stand-in timm on the path and an empty Hugging Face hub cache; yields that folder."""
    pkg = tmp_path / "site-timm" / "timm"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_TIMM)
    monkeypatch.syspath_prepend(str(tmp_path / "site-timm"))
    hub = tmp_path / "hf-hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setattr(backbones, "_cache_zoo", {})
    yield hub
    for name in [m for m in sys.modules if m == "timm" or m.startswith("timm.")]:
        del sys.modules[name]


@pytest.fixture
def fake_torchvision(tmp_path, monkeypatch):
    """A stand-in torchvision on the path and an empty torch cache; yields the cache folder."""
    pkg = tmp_path / "site" / "torchvision"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(FAKE_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setattr(backbones, "_cache_zoo", {})
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    yield cache
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]


def save_weights(cache, builder: str, seed: int = 0) -> dict[str, torch.Tensor]:
    import torchvision.models as tvm

    torch.manual_seed(seed)
    state = getattr(tvm, builder)().state_dict()
    file = next(
        m.weights
        for m in zoo.MODELS.values()
        if m.library == "torchvision" and m.builder == builder
    )
    torch.save(state, cache / file)
    return state


def test_without_torchvision_each_model_says_how_to_enable_it(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    why = zoo.status()
    assert list(why) == [
        "torchvision:resnet18", "torchvision:mobilenet_v3_small",
        "timm:resnet18", "timm:mobilenetv3_small_100",
    ]  # fmt: skip
    assert why["torchvision:resnet18"].startswith(
        "torchvision is not installed: `pip install torchvision`"
    )
    assert why["timm:resnet18"].startswith("timm is not installed: `pip install timm`")
    assert "hf download timm/resnet18.a1_in1k" in why["timm:resnet18"]
    assert zoo.available() == []
    monkeypatch.setattr(backbones, "_cache_zoo", {})
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
    from support.apptest import charts

    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    at = apptest("pages/transfer.py")
    # no weights cached yet: the expander says where to put them
    assert "torchvision:resnet18" not in at.selectbox(key="tl_backbone").options
    notes = "\n".join(c.value for c in at.caption)
    assert (
        "ResNet-18** (torchvision): its weights are not in the torch cache: "
        "put resnet18-f37072fd.pth" in notes
    )
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


def test_with_timm_a_model_is_offered_once_its_hub_folder_has_weights(fake_timm):
    assert "not in the Hugging Face hub cache" in zoo.status()["timm:resnet18"]
    assert str(hub_folder(fake_timm, "timm/resnet18.a1_in1k")) in zoo.status()["timm:resnet18"]
    assert zoo.available() == []
    save_timm_weights(fake_timm, "resnet18")
    assert zoo.available() == ["timm:resnet18"]


def test_timm_weights_are_mapped_onto_the_stages_from_the_snapshot_main_names(fake_timm):
    old = save_timm_weights(fake_timm, "mobilenetv3_small_100", seed=1, revision="old")
    new = save_timm_weights(fake_timm, "mobilenetv3_small_100", seed=2, revision="new")
    assert not torch.equal(old["conv_stem.weight"], new["conv_stem.weight"])
    b = transfer.load_backbone("timm:mobilenetv3_small_100")
    assert b.model.arch == "zoo" and b.input_shape == (3, 64, 64)
    assert torch.equal(b.weights["blocks.0.0.weight"], new["conv_stem.weight"])  # refs/main
    assert torch.equal(b.weights["blocks.0.1.0.running_mean"], new["bn1.0.running_mean"])
    assert torch.equal(b.weights["blocks.3.0.weight"], new["blocks.2.0.weight"])
    assert not any("conv_head" in k or "classifier" in k for k in b.weights)
    assert "timm's timm/mobilenetv3_small_100.lamb_in1k" in b.card["source"]["description"]
    model = transfer.build(b, RunConfig(transfer={"backbone": "x"}).transfer, 4, seed=0).eval()
    assert [name for name, _ in model.weight_layers()] == [
        "stem", "blocks0", "blocks1", "blocks2", "output"
    ]  # fmt: skip
    assert model.out.in_features == 10  # the last stage's width, not conv_head's
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (2, 4)


def test_a_damaged_timm_weights_file_is_named_with_what_to_do(fake_timm):
    save_timm_weights(fake_timm, "resnet18")
    path = zoo.weights_path(zoo.MODELS["timm:resnet18"])
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(transfer.BackboneError, match="could not be read.*fetch it again"):
        transfer.load_backbone("timm:resnet18")


@pytest.mark.parametrize("strategy", ["frozen", "finetune_all"])
def test_runs_train_on_a_timm_backbone(fake_timm, strategy):
    save_timm_weights(fake_timm, "resnet18")
    cfg = RunConfig(
        data=DataConfig(name="shapes", n_samples=120, image_size=16, channels=1, per_class=5),
        train=TrainConfig(epochs=2, batch_size=8),
        transfer={"backbone": "timm:resnet18", "strategy": strategy, "backbone_lr_factor": 0.1},
    )
    out = jobs.execute(cfg, emit=lambda e: None)
    assert out["status"] == "finished", out["message"]
    moved = out["weight_change"]
    assert list(moved) == ["stem", "layer1", "layer2", "layer3", "layer4"]
    if strategy == "frozen":
        assert out["trainable_params"] == 12 * 6 + 6
        assert all(v == 0 for v in moved.values())
    else:
        assert all(v > 0 for v in moved.values())


def test_the_transfer_page_offers_a_timm_model_beside_torchvision_ones(
    fake_timm, fake_torchvision, apptest, monkeypatch, tmp_path
):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path))
    save_weights(fake_torchvision, "resnet18")
    save_timm_weights(fake_timm, "resnet18")
    at = apptest("pages/transfer.py")
    box = at.selectbox(key="tl_backbone")
    assert "ResNet-18 (ImageNet, torchvision)" in box.options
    assert "ResNet-18 (ImageNet, timm)" in box.options
    notes = "\n".join(c.value for c in at.caption)
    assert "MobileNet V3 small** (timm): its weights are not in the Hugging Face hub" in notes
    box.set_value("timm:resnet18").run()
    assert not at.exception, at.exception
    assert "timm's timm/resnet18.a1_in1k" in "\n".join(c.value for c in at.caption)
