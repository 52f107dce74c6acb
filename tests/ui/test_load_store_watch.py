"""The load bench's view of the run store (`dlviz.bench.load.StoreWatch`): which runs of a
session (told apart by their epoch count) the store holds, and which of them have ended."""

from __future__ import annotations

import json

from dlviz.bench.load import StoreWatch


def _run(root, name: str, epochs: int, ended: bool) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"train": {"epochs": epochs}}))
    if ended:
        (folder / "summary.json").write_text("{}")


def test_two_runs_that_end_in_the_same_words_are_two_ends(tmp_path):
    root = tmp_path / "runs"
    watch = StoreWatch(root)
    assert (watch.runs_of(203), watch.ended_of(203)) == (0, 0)  # no store yet
    _run(root, "a-mlp", 203, ended=True)
    _run(root, "b-mlp", 200, ended=True)  # another session's
    assert (watch.runs_of(203), watch.ended_of(203)) == (1, 1)
    _run(root, "c-mlp", 203, ended=False)  # the same session's next run, going
    assert (watch.runs_of(203), watch.ended_of(203)) == (2, 1)
    (root / "c-mlp" / "summary.json").write_text("{}")  # it ends
    assert (watch.runs_of(203), watch.ended_of(203)) == (2, 2)
    assert watch.ended_of(200) == 1


def test_a_folder_still_being_written_is_counted_once_it_has_its_config(tmp_path):
    root = tmp_path / "runs"
    (root / "d-cnn").mkdir(parents=True)
    watch = StoreWatch(root)
    assert watch.runs_of(41) == 0
    (root / "d-cnn" / "config.json").write_text(json.dumps({"train": {"epochs": 41}}))
    assert watch.runs_of(41) == 1 and watch.ended_of(41) == 0
