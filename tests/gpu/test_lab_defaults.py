"""Each lab's Train, pressed on the page's defaults, starts configs that survive a trip through
JSON unchanged: what `dlviz train` reads back is what the page trained. With
DLVIZ_WRITE_LAB_DEFAULTS=DIR set, the configs are also written there, one JSON file a run
(`tests/gpu/check.sh` trains each on a lent GPU: a CUDA run of every lab's default)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlviz import jobs
from dlviz.config import RunConfig

# (lab, page, the Train button's key). The Your-images lab is left out: it trains only on
# photos a person uploads.
LABS = [
    ("playground", "pages/playground.py", "pg_train"),
    ("images", "pages/images.py", "im_train"),
    ("depth", "pages/depth.py", "dp_run"),
    ("transfer", "pages/transfer.py", "tl_train"),
    ("sequences", "pages/sequences.py", "sq_train"),
    ("sound", "pages/sound.py", "sd_train"),
    ("generative", "pages/generative.py", "gn_train"),
]


@pytest.mark.parametrize("lab, page, key", LABS, ids=[lab for lab, _, _ in LABS])
def test_a_labs_default_train_starts_configs_that_round_trip(apptest, monkeypatch, lab, page, key):
    started: list[RunConfig] = []
    real_start = jobs.start

    def recording_start(cfg, *args, **kwargs):
        started.append(cfg)
        return real_start(cfg, *args, **kwargs)

    monkeypatch.setattr(jobs, "start", recording_start)
    at = apptest(page)
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    assert started, f"{lab}: Train started no run"
    out = os.environ.get("DLVIZ_WRITE_LAB_DEFAULTS")
    for i, cfg in enumerate(started):
        data = json.loads(json.dumps(cfg.to_dict()))
        assert RunConfig.from_dict(data) == cfg, lab
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"{lab}-{i}.json").write_text(json.dumps(data, indent=1))
