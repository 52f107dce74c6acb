"""DESIGN.md: imports flow app.py -> pages/ -> dlviz/ui -> dlviz core. The core never imports
streamlit, and plotly only in plots.py."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    p for p in (ROOT / "dlviz").rglob("*.py") if "ui" not in p.relative_to(ROOT / "dlviz").parts
]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_source_imports_no_streamlit_and_plotly_only_in_plots():
    assert CORE
    for path in CORE:
        mods = imported_modules(path)
        assert "streamlit" not in mods, path
        if path.name != "plots.py":
            assert "plotly" not in mods, path


def test_core_modules_load_without_streamlit_or_plotly():
    code = (
        "import sys\n"
        "import dlviz.config, dlviz.data, dlviz.models, dlviz.train, dlviz.jobs, dlviz.probes, "
        "dlviz.runs, dlviz.bench, dlviz.cli, dlviz.compare, dlviz.history, dlviz.devices\n"
        "bad = [m for m in ('streamlit', 'plotly') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_pages_and_ui_do_not_reach_around_the_layers():
    for path in (ROOT / "pages").glob("*.py"):
        assert "torch" not in imported_modules(path), f"{path}: pages stay thin, no torch loops"
    for path in (ROOT / "dlviz" / "ui").glob("*.py"):
        assert "pages" not in imported_modules(path)
