"""AppTest of "What the channel wants" (dlviz/labs/images/view_channels.py): after a small run,
the button optimises an input for each channel of the chosen channel's group, shown next to the
test images that excite it most, with the caption; the same settings again compute nothing."""

from __future__ import annotations

from support.apptest import button, charts, texts
from support.images import trained_images_page

from dlviz import feature_viz
from dlviz.config import ConvBlock

PAGE = "pages/images.py"
VIEW = "im_view"
SMALL = (ConvBlock(8, 3, pool="max"), ConvBlock(16, 3, pool="max"))


def trained(apptest):
    return trained_images_page(apptest)


def notes(fig: dict) -> list[str]:
    return [a["text"] for a in fig["layout"]["annotations"]]


def test_the_button_shows_what_each_channel_wants_next_to_its_top_test_images(apptest, monkeypatch):
    at = trained(apptest)
    assert "#### What the channel wants" in texts(at.markdown)
    assert f"{VIEW}_wants_0" not in charts(at)  # nothing is computed before the button
    assert any(c.startswith("Press the button") for c in texts(at.caption))
    go = button(at, "im_want_go")
    assert go.label == "Optimise for channels 0 to 7"  # conv2 (16 channels), channel 0 chosen

    at.select_slider(key="im_want_steps").set_value(32).run()
    calls = []
    real = feature_viz.maximise_layer

    def counted(*args, **kwargs):
        calls.append((args[1], list(args[2]), kwargs["seed"], kwargs["steps"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(feature_viz, "maximise_layer", counted)
    button(at, "im_want_go").click().run()
    assert not at.exception, at.exception
    assert calls == [("conv2", list(range(8)), 0, 32)]  # one batch for the group
    figs = charts(at)
    wants = [figs[f"{VIEW}_wants_0"], figs[f"{VIEW}_wants_1"]]  # channels 0-3 and 4-7
    for fig in wants:
        assert len([t for t in fig["data"] if t["type"] == "image"]) == 1
        assert len(fig["layout"]["shapes"]) == 4  # a frame round each optimised input
    rows = [notes(fig)[r * 4 : r * 4 + 4] for fig in wants for r in range(4)]  # one a channel
    assert rows[0][0].startswith("<b>ch 0: ") and rows[1][0].startswith("ch 1: ")
    assert rows[7][0].startswith("ch 7: ")
    # Next to channel 0's input: the first three of the channel explorer's top test images.
    assert rows[0][1:] == notes(figs[f"{VIEW}_top"])[:3]
    caption = [c for c in texts(at.caption) if c.startswith("Each row is one channel")]
    assert caption and "of conv2" in caption[0] and "32 steps of gradient ascent" in caption[0]
    assert "random shift" in caption[0] and "Gaussian blur" in caption[0]
    # The optimised inputs excite their channels more than the best test image does.
    wanted = [float(row[0].split(": ")[1].removesuffix("</b>")) for row in rows]
    best = [float(row[1].rsplit("(", 1)[1].rstrip(")")) for row in rows]
    assert all(w > b for w, b in zip(wanted, best)), (wanted, best)

    # The same settings again: drawn from the cache, nothing optimised.
    button(at, "im_want_go").click().run()
    at.run()
    assert not at.exception and len(calls) == 1
    assert [charts(at)[f"{VIEW}_wants_{i}"] for i in (0, 1)] == wants
    # Another layer and channel: only that group is optimised; going back costs nothing.
    at.selectbox(key="im_explore_layer").set_value("conv1").run()
    assert f"{VIEW}_wants_0" not in charts(at)
    button(at, "im_want_go").click().run()
    assert calls[-1] == ("conv1", list(range(8)), 0, 32)
    at.selectbox(key="im_explore_layer").set_value("conv2").run()
    at.number_input(key="im_explore_channel").set_value(9).run()
    assert button(at, "im_want_go").label == "Optimise for channels 8 to 15"
    button(at, "im_want_go").click().run()
    assert calls[-1] == ("conv2", list(range(8, 16)), 0, 32)
    assert notes(charts(at)[f"{VIEW}_wants_0"])[4].startswith("<b>ch 9: ")
    at.number_input(key="im_explore_channel").set_value(2).run()
    assert len(calls) == 3  # channel 2: the first group, made already
    assert notes(charts(at)[f"{VIEW}_wants_0"])[8].startswith("<b>ch 2: ")
    # A new seed is new pictures.
    at.number_input(key="im_want_seed").set_value(4).run()
    button(at, "im_want_go").click().run()
    assert calls[-1] == ("conv2", list(range(8)), 4, 32)
    assert charts(at)[f"{VIEW}_wants_0"] != wants[0]
    assert not at.exception and not at.error


def test_a_bad_seed_is_refused_with_a_message(apptest):
    at = trained(apptest)
    at.number_input(key="im_want_seed").set_value(-3).run()
    assert not at.exception
    assert button(at, "im_want_go").disabled
    assert any("Seed: -3 is out of range" in e for e in texts(at.error)), texts(at.error)
