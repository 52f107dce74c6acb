"""Shared test setup: every test gets its own empty run store, and runs use one torch thread
(tiny models are fastest that way, and timings do not matter in tests)."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_run_store(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("dlviz-home")
    monkeypatch.setenv("DLVIZ_HOME", str(home))
    yield home
