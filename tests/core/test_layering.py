"""The layers of docs/ARCHITECTURE.md, checked on every import of every file, function bodies
included: entry points (cli, bench) -> labs -> the Streamlit kit (ui) and shared figures ->
the shared core.

- the core imports neither labs, ui, figures, bench nor cli;
- streamlit only in ui/, the page side of a lab (its widgets and view), pages/ and app.py;
- plotly only in figure modules and the live-chart component;
- a lab imports no other lab, except the edges listed in LAB_EDGES;
- pages compose their lab and run no torch;
- no import cycles between dlviz's modules.

`violations(root)` does the checking; the last tests plant a bad import in a copy of the tree
and see it caught, so these checks can fail.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The few places one lab uses another's parts, as the product needs them.
LAB_EDGES = {
    ("uploads", "images"),  # Your images trains the Image lab's network, in its live view
    ("devices", "images"),  # the Devices page races the Image lab's default CNN
    ("devices", "playground"),  # ... and the Playground's default network
    ("transfer", "uploads"),  # Transfer fine-tunes on the person's own uploaded classes
    ("sound", "images"),  # Sound trains the Image lab's network on spectrograms, in its view
    ("sweeps", "playground"),  # a sweep's trial opens in its lab, to train it live there
    ("sweeps", "images"),
    ("sweeps", "sequences"),
}
# a lab's modules that may use streamlit: its widgets and view, and a big lab's further views
# and settings (view_<part>.py, widgets_<part>.py: the Sequence lab's length experiment, the
# Sound lab's recordings)
PAGE_SIDE = {"widgets", "view", "__init__"}


def page_side(module: str) -> bool:
    last = module.split(".")[-1]
    return last in PAGE_SIDE or last.startswith(("view_", "widgets_"))


ENTRY = ("dlviz.cli", "dlviz.__main__", "dlviz.bench")
NOT_CORE = ("dlviz.labs", "dlviz.ui", "dlviz.figures", "dlviz.dashboard", *ENTRY)


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[str]:
    """Every module `path` imports, anywhere in the file (`from a import b` gives a and a.b)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def lab_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["dlviz", "labs"] else None


def python_files(root: Path) -> list[Path]:
    files = list((root / "dlviz").rglob("*.py")) + list((root / "pages").glob("*.py"))
    return [*files, root / "app.py"]


def violations(root: Path) -> list[str]:
    found = []
    graph: dict[str, set[str]] = {}
    modules = {module_name(root, p) for p in (root / "dlviz").rglob("*.py")}
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        name = module_name(root, path)
        mods = imports(path)
        tops = {m.split(".")[0] for m in mods}
        in_dlviz = rel.startswith("dlviz/")
        core = in_dlviz and not any(within(name, p) for p in NOT_CORE)
        lab = lab_of(name)
        if core:
            for m in mods:
                for layer in NOT_CORE:
                    if within(m, layer):
                        found.append(f"{rel}: the core imports {m}")
        streamlit_ok = (
            not in_dlviz
            or within(name, "dlviz.ui")
            or within(name, "dlviz.dashboard")
            or (lab is not None and (page_side(name) or name.split(".")[-1] == lab))
        )
        if "streamlit" in tops and not streamlit_ok:
            found.append(f"{rel}: imports streamlit outside the page side")
        plotly_ok = (
            within(name, "dlviz.figures")
            or (lab is not None and name.split(".")[-1] == "figures")
            or within(name, "dlviz.ui.livechart")
            or within(name, "dlviz.ui.charts")
        )
        if "plotly" in tops and not plotly_ok:
            found.append(f"{rel}: imports plotly outside the figure modules")
        if lab is not None:
            for m in mods:
                other = lab_of(m)
                if other and other != lab and (lab, other) not in LAB_EDGES:
                    found.append(f"{rel}: the {lab} lab imports the {other} lab ({m})")
        if rel.startswith("pages/"):
            if "torch" in tops:
                found.append(f"{rel}: a page runs torch itself")
            for m in mods:
                if within(m, "dlviz") and not (
                    within(m, "dlviz.labs") or within(m, "dlviz.ui") or m in ("dlviz", "dlviz.text")
                ):
                    found.append(f"{rel}: a page reaches past its lab into {m}")
        if in_dlviz:
            graph[name] = {m for m in mods if m in modules and m != name}
    found += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules of each strongly connected group of the import graph (Tarjan), the first
    repeated at the end."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)  # the limit is the process's: later tests keep theirs
    return [[*g, g[0]] for g in groups]


def test_the_tree_keeps_its_layers():
    assert not violations(ROOT), "\n".join(violations(ROOT))


def test_the_core_loads_without_streamlit_or_plotly():
    code = (
        "import sys\n"
        "import dlviz.config, dlviz.data, dlviz.models, dlviz.train, dlviz.jobs, dlviz.probes, "
        "dlviz.runs, dlviz.transfer, dlviz.bench, dlviz.cli, dlviz.compare, dlviz.history, "
        "dlviz.devices, dlviz.timing\n"
        "bad = [m for m in ('streamlit', 'plotly') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


@pytest.fixture
def tree(tmp_path) -> Path:
    for part in ("dlviz", "pages"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    assert not violations(tmp_path)
    return tmp_path


def plant(path: Path, line: str) -> None:
    """Add `line` inside a function at the end of `path` (an import in a body counts too)."""
    path.write_text(path.read_text() + f"\n\ndef _planted():\n    {line}\n")


@pytest.mark.parametrize(
    ("where", "line", "caught"),
    [
        ("dlviz/config.py", "import streamlit", "imports streamlit outside the page side"),
        ("dlviz/train.py", "from dlviz.ui import live", "the core imports dlviz.ui"),
        ("dlviz/jobs.py", "import dlviz.labs.depth.view", "the core imports dlviz.labs"),
        ("dlviz/history.py", "import plotly.graph_objects", "plotly outside the figure modules"),
        ("dlviz/labs/depth/view.py", "from dlviz.labs.runs import view", "imports the runs lab"),
        ("pages/depth.py", "import torch", "a page runs torch itself"),
        ("dlviz/config.py", "from dlviz import train", "import cycle"),
    ],
)
def test_a_planted_bad_import_is_caught(tree, where, line, caught):
    plant(tree / where, line)
    found = violations(tree)
    assert any(caught in v for v in found), found
