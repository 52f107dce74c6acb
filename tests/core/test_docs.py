"""docs/ARCHITECTURE.md describes the tree as it is: every path it names exists, and every
folder of the package and every lab is in it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def named_paths(text: str) -> set[str]:
    """Paths written in backticks: `dlviz/jobs.py`, `tests/support/apptest.py`, `pages/x.py`."""
    found = set()
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.rstrip(".,:;")
        if re.match(r"^(dlviz|tests|pages|docs|assets)/", token) and "<" not in token:
            found.add(token)
    return found


def test_every_path_the_architecture_names_exists():
    paths = named_paths(DOC)
    assert len(paths) > 20, paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, missing


def test_every_package_folder_and_lab_is_described():
    folders = {
        p.relative_to(ROOT / "dlviz").as_posix()
        for p in (ROOT / "dlviz").rglob("*")
        if p.is_dir() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }
    top = {f.split("/")[0] for f in folders}
    undescribed = sorted(f for f in top if f"{f}/" not in DOC)
    assert not undescribed, undescribed
    labs = {p.name for p in (ROOT / "dlviz" / "labs").iterdir() if (p / "__init__.py").exists()}
    assert labs
    for lab in labs:
        assert f"`dlviz/labs/{lab}/`" in DOC and f"`pages/{lab}.py`" in DOC, lab


def test_the_named_python_modules_exist():
    """Module names in the text (`dlviz.ui.live`, `jobs.FirstDrawGate`) name real modules."""
    for dotted in set(re.findall(r"`(dlviz(?:\.\w+)+)`", DOC)):
        parts = dotted.split(".")
        for n in range(len(parts), 0, -1):
            base = ROOT.joinpath(*parts[:n])
            if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
                break
        else:
            raise AssertionError(f"{dotted} names no module")
