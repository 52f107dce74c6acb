"""The Runs page's pure helpers: labels, filters, the config diff, and the Compare figures."""

from __future__ import annotations

import numpy as np

from dlviz.compare import config_diff, filter_runs, flatten_config, run_labels
from dlviz.figures.theme import MAX_LINE_POINTS, figure_bytes
from dlviz.labs.runs.figures import compare_curves_figure, grad_profiles_figure


def row(run_id: str, name: str = "", dataset: str = "spiral", status: str = "finished", tags=()):
    return {
        "run_id": run_id,
        "name": name,
        "dataset": dataset,
        "status": status,
        "tags": list(tags),
    }


def test_labels_are_names_made_unique_by_the_end_of_the_id():
    rows = [row("20260101-a-111111", "deep"), row("20260101-b-222222", "deep"), row("x-3", "")]
    assert run_labels(rows) == ["deep (·111111)", "deep (·222222)", "x-3"]
    twins = [row("r-abcdef", "same"), row("s-abcdef", "same")]
    assert run_labels(twins) == ["same (·abcdef)", "same (·abcdef) #2"]


def test_filter_by_words_of_name_id_or_tags_dataset_and_status():
    rows = [
        row("r1", "Deep spiral", tags=["baseline"]),
        row("r2", "shallow", dataset="digits", tags=["cnn"]),
        row("r3", "", status="interrupted"),
    ]
    ids = lambda rs: [r["run_id"] for r in rs]  # noqa: E731
    assert ids(filter_runs(rows)) == ["r1", "r2", "r3"]
    assert ids(filter_runs(rows, "deep")) == ["r1"]
    assert ids(filter_runs(rows, "DEEP baseline")) == ["r1"]  # every word, any case
    assert ids(filter_runs(rows, "deep cnn")) == []
    assert ids(filter_runs(rows, "r3")) == ["r3"]  # the id
    assert ids(filter_runs(rows, "CNN")) == ["r2"]  # a tag
    assert ids(filter_runs(rows, datasets=["digits"])) == ["r2"]
    assert ids(filter_runs(rows, statuses=["interrupted", "unreadable"])) == ["r3"]
    assert ids(filter_runs(rows, "", ["spiral"], ["finished"])) == ["r1"]


def test_flatten_keeps_lists_and_gives_each_block_one_entry():
    cfg = {
        "data": {"name": "digits"},
        "model": {"hidden": [8, 8], "blocks": [{"channels": 4}, {"channels": 8, "pool": "max"}]},
        "name": "x",
    }
    assert flatten_config(cfg) == {
        "data.name": "digits",
        "model.hidden": [8, 8],
        "model.blocks[1]": {"channels": 4},
        "model.blocks[2]": {"channels": 8, "pool": "max"},
        "name": "x",
    }
    assert flatten_config({"model": {"blocks": []}}) == {"model.blocks": []}


def test_config_diff_marks_exactly_the_fields_that_differ():
    a = {"data": {"name": "spiral", "seed": 0}, "model": {"hidden": [8]}, "train": {"lr": 0.01}}
    b = {
        "data": {"name": "spiral", "seed": 0},
        "model": {"hidden": [8, 8, 8]},
        "train": {"lr": 0.01},
    }
    c = {"data": {"name": "spiral", "seed": 0}, "model": {"hidden": [8]}, "train": {"lr": 0.1}}
    rows = config_diff([a, b, c])
    assert rows == [
        {"field": "data.name", "values": ["spiral"] * 3, "differs": False},
        {"field": "data.seed", "values": [0, 0, 0], "differs": False},
        {"field": "model.hidden", "values": [[8], [8, 8, 8], [8]], "differs": True},
        {"field": "train.lr", "values": [0.01, 0.01, 0.1], "differs": True},
    ]


def test_config_diff_a_field_one_config_lacks_differs_and_shows_none():
    shallow = {"model": {"arch": "cnn", "blocks": [{"channels": 16}]}}
    deep = {"model": {"arch": "cnn", "blocks": [{"channels": 16}, {"channels": 32}]}, "x": 1}
    rows = {r["field"]: r for r in config_diff([shallow, deep])}
    assert list(rows) == ["model.arch", "model.blocks[1]", "model.blocks[2]", "x"]
    assert not rows["model.arch"]["differs"] and not rows["model.blocks[1]"]["differs"]
    assert rows["model.blocks[2]"] == {
        "field": "model.blocks[2]",
        "values": [None, {"channels": 32}],
        "differs": True,
    }
    assert rows["x"]["values"] == [None, 1] and rows["x"]["differs"]
    # one config alone: nothing differs; a broken (non-dict) config has no fields
    assert not any(r["differs"] for r in config_diff([deep]))
    assert all(r["values"][1] is None for r in config_diff([deep, "broken"]))


def metrics(n: int, offset: float = 0.0) -> dict[str, list]:
    e = list(range(1, n + 1))
    return {
        "epoch": e,
        "step": [10 * i for i in e],
        "elapsed": [0.5 * i for i in e],
        "train_loss": [1.0 / i + offset for i in e],
        "train_accuracy": [1 - 1.0 / (i + 1) for i in e],
        "test_loss": [1.2 / i + offset for i in e],
        "test_accuracy": [1 - 1.2 / (i + 2) for i in e],
    }


def test_compare_curves_overlay_each_run_in_its_own_colour_against_epoch_or_time():
    runs = [(f"run{k}", metrics(5, k / 10)) for k in range(10)]
    fig = compare_curves_figure(runs, x="epoch")
    assert len(fig.data) == 40  # test and train, loss and accuracy, per run
    colours = {t.name: t.line.color for t in fig.data}
    assert len(set(colours.values())) == 10  # ten runs, ten colours
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == [f"run{k}" for k in range(10)]  # one legend entry per run
    first = [t for t in fig.data if t.legendgroup == "run3"]
    assert {(t.line.dash, t.yaxis or "y") for t in first} == {
        ("solid", "y"), ("solid", "y2"), ("dash", "y"), ("dash", "y2"),
    }  # fmt: skip
    test_loss = next(t for t in first if t.line.dash == "solid" and t.yaxis != "y2")
    np.testing.assert_allclose(test_loss.y, [1.2 / i + 0.3 for i in range(1, 6)], rtol=1e-6)
    np.testing.assert_allclose(test_loss.x, [1, 2, 3, 4, 5])
    by_time = compare_curves_figure(runs, x="elapsed")
    np.testing.assert_allclose(by_time.data[0].x, [0.5, 1.0, 1.5, 2.0, 2.5])
    assert by_time.layout.xaxis.title.text == "seconds of training"


def test_compare_curves_thin_long_runs_and_skip_missing_columns():
    long = metrics(5000)
    fig = compare_curves_figure([("long", long), ("empty", {})])
    assert len(fig.data) == 4
    for t in fig.data:
        assert len(t.x) <= MAX_LINE_POINTS + 1
        assert t.x[0] == 1 and t.x[-1] == 5000  # the whole run, first and last kept
    no_time = {k: v for k, v in metrics(3).items() if k != "elapsed"}
    assert compare_curves_figure([("a", no_time)], x="elapsed").data == ()


def test_grad_profiles_number_layers_from_the_input_and_gap_zeros():
    fig = grad_profiles_figure(
        [
            ("shallow", {"hidden1": 0.1, "output": 0.2}),
            ("deep", {"hidden1": 1e-6, "hidden2": 0.0, "hidden3": 1e-3, "output": 0.3}),
            ("none", {}),
        ]
    )
    assert [t.name for t in fig.data] == ["shallow", "deep"]
    assert list(fig.data[1].x) == [1, 2, 3, 4]
    assert list(fig.data[1].customdata) == ["hidden1", "hidden2", "hidden3", "output"]
    y = np.asarray(fig.data[1].y, dtype=float)
    assert np.isnan(y[1]) and np.isclose(y[0], 1e-6) and np.isclose(y[3], 0.3)
    assert fig.layout.yaxis.type == "log"
    assert fig.data[0].line.color != fig.data[1].line.color


def test_ten_long_runs_compared_stay_under_the_refresh_budget():
    runs = [(f"run{k}", metrics(20_000, k / 10)) for k in range(10)]
    sizes = [figure_bytes(compare_curves_figure(runs, x=x)) for x in ("epoch", "elapsed")]
    assert max(sizes) < 300_000, sizes  # docs/ARCHITECTURE.md: a refresh sends under 300 KB
