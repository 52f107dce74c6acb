"""dlviz installs like a real package: what it imports is declared, the wheel carries the whole
dashboard and the shipped files, and an installed wheel works outside any checkout.

The slow tests build the wheel from a copy of the checkout (and from its sdist), install it
into a throwaway venv that sees this environment's packages (torch included) through a `.pth`
file, so nothing is downloaded, and run `dlviz pretrain --list` and `dlviz ui` from a folder
outside the checkout.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from support.browser import (
    REPO,
    SLOW_MS,
    app_titles,
    preview_title,
    report_failure,
    running_streamlit,
    screenshot,
)

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SOURCES = [
    *sorted((REPO / "dlviz").rglob("*.py")),
    REPO / "app.py",
    *sorted(REPO.glob("pages/*.py")),
]

# Import names whose distribution has another name, for modules that are not installed here
# (installed ones are looked up in their metadata).
DISTRIBUTION_OF = {
    "PIL": "pillow",
    "cv2": "opencv-python",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "yaml": "pyyaml",
    "google": "protobuf",
}


# --- every import is declared ---------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normalize(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def declared(pyproject: dict) -> tuple[set[str], set[str]]:
    """The distributions pyproject.toml requires, and those only its extras name."""
    project = pyproject["project"]
    required = _requirement_names(project.get("dependencies", []))
    extras = project.get("optional-dependencies", {}).values()
    return required, _requirement_names([r for reqs in extras for r in reqs]) - required


def _guards_import_error(node: ast.Try) -> bool:
    names = []
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names += [getattr(k, "id", getattr(k, "attr", "")) for k in kinds]
    return bool({"ImportError", "ModuleNotFoundError", "Exception"} & set(names))


def third_party_imports(source: str) -> list[tuple[str, int, bool]]:
    """(top-level module, line, guarded) for each absolute import of a module that is neither
    the standard library nor dlviz; guarded: inside a `try` that catches ImportError, or
    under `if TYPE_CHECKING:` (the code runs without it)."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            names = []
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top != "dlviz":
                found.append((top, node.lineno, guarded))
        if isinstance(node, ast.Try) and _guards_import_error(node):
            for child in node.body:
                visit(child, True)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, guarded)
            return
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, guarded)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(source), False)
    return found


def undeclared_imports(files: list[Path], required: set[str], optional: set[str]) -> list[str]:
    """'file:line: module' for each third-party import pyproject.toml does not declare: an
    unguarded one must be a dependency, a guarded one at least an extra's."""
    installed = importlib.metadata.packages_distributions()
    problems = []
    for path in files:
        for module, line, guarded in third_party_imports(path.read_text()):
            names = {_normalize(d) for d in installed.get(module, [])}
            names.add(_normalize(DISTRIBUTION_OF.get(module, module)))
            allowed = required | optional if guarded else required
            if not names & allowed:
                where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
                need = "an extra" if guarded else "[project] dependencies"
                problems.append(
                    f"{where}:{line}: {module} ({'/'.join(sorted(names))}) not in {need}"
                )
    return problems


def test_every_imported_module_is_declared():
    required, optional = declared(PYPROJECT)
    assert {"torch", "streamlit", "pandas", "pillow"} <= required
    assert undeclared_imports(SOURCES, required, optional) == []


def test_an_undeclared_import_is_caught(tmp_path):
    source = tmp_path / "new_page.py"
    source.write_text(
        "import os\nimport numpy as np\nfrom PIL import Image\nimport yaml\n"
        "try:\n    import ray\nexcept ImportError:\n    ray = None\n"
        "try:\n    import boto3\nexcept ModuleNotFoundError:\n    pass\n"
        "from .sibling import x\n"
    )
    problems = undeclared_imports([source], {"numpy", "pillow"}, {"ray"})
    assert [p.split(": ", 1)[1].split(" ")[0] for p in problems] == ["yaml", "boto3"]
    assert "not in [project] dependencies" in problems[0] and "an extra" in problems[1]


# --- what the wheel is built from -----------------------------------------------------------


def test_the_wheel_lists_every_package_of_the_source():
    """[tool.setuptools] packages names each package folder of dlviz/ (a new one must be added
    there, or the wheel would leave it out) and the dashboard's two."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "dlviz").rglob("__init__.py")
    }
    assert listed == folders | {"dlviz.dashboard", "dlviz.dashboard.pages"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"dlviz.dashboard": "."}


def test_the_license_file_matches_pyproject():
    text = (REPO / "LICENSE").read_text()
    assert PYPROJECT["project"]["license"] == "MIT" and text.startswith("MIT License")
    assert "Copyright (c)" in text and "the dlviz developers" in text
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_dlviz_ui_finds_the_app_and_says_when_it_is_missing(tmp_path, monkeypatch, capsys):
    from dlviz.ui import server

    assert server.app_script() == REPO / "app.py"  # a checkout; the wheel's is tested below
    monkeypatch.setattr(server, "_PACKAGE", tmp_path / "dlviz")
    assert server.app_script() is None
    assert server.serve(["--server.port", "1"]) == 2
    assert "the dashboard (app.py and pages/) is missing" in capsys.readouterr().err


# --- an installed wheel, outside the checkout -----------------------------------------------

BUILD_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "app.py", "pages", ".streamlit", "dlviz"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout}\n{out.stderr}"
    return out


def expected_wheel_files() -> set[str]:
    """Every file of dlviz/ (a data file package-data misses fails here), and the dashboard (app.py, pages/, .streamlit/config.toml) under
    dlviz/dashboard/."""
    files = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "dlviz").rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
        and not p.name.startswith(".")  # an editor's or a file manager's
    }
    dashboard = [
        "app.py",
        ".streamlit/config.toml",
        *(f"pages/{p.name}" for p in REPO.glob("pages/*.py")),
    ]
    return files | {f"dlviz/dashboard/{f}" for f in dashboard}


def _flatten(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        out.update(_flatten(value, name) if isinstance(value, dict) else {name: value})
    return out


# Run in the installed venv: the settings Streamlit resolves for the app `dlviz ui` serves.
STREAMLIT_SETTINGS = """
import json, sys
from streamlit import config
import dlviz
from dlviz.ui.server import app_script
app = app_script()
config._main_script_path = str(app)  # what `streamlit run APP` sets before reading its config
config.get_config_options(force_reparse=True)
print(json.dumps({"dlviz": dlviz.__file__, "app": str(app),
                  "options": {k: config.get_option(k) for k in json.loads(sys.argv[1])}}))
"""


def copy_of_the_checkout(dest: Path) -> Path:
    """What the wheel is built from, copied: a build in the checkout would leave build/ and
    egg-info behind."""
    dest.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name, ignore=IGNORE)
        else:
            shutil.copy2(REPO / name, dest / name)
    return dest


def build_wheel(src: Path, out: Path) -> Path:
    """The wheel of the project at `src`, built here without downloading anything."""
    setuptools = importlib.metadata.version("setuptools")
    assert int(setuptools.split(".")[0]) >= 77, (
        f"building the wheel without downloading needs setuptools >= 77 here, found {setuptools}: "
        "run ./dev.sh test, or pip install -e '.[test]'"
    )
    _run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
          "--no-index", "--quiet", "-w", str(out), str(src)])  # fmt: skip
    (wheel,) = out.glob("dlviz-*.whl")
    return wheel


def wheel_files(wheel: Path) -> set[str]:
    return {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}


@pytest.mark.slow
def test_the_source_distribution_builds_the_same_wheel(tmp_path):
    """`pip install dlviz` from an sdist builds the wheel from it: it must hold everything."""
    src = copy_of_the_checkout(tmp_path / "src")
    code = "from setuptools import build_meta as b; print(b.build_sdist(__import__('sys').argv[1]))"
    out = _run([sys.executable, "-c", code, str(tmp_path / "sdist")], cwd=src)
    sdist = tmp_path / "sdist" / out.stdout.strip().splitlines()[-1]
    shutil.unpack_archive(sdist, tmp_path / "unpacked")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    assert wheel_files(build_wheel(unpacked, tmp_path / "dist")) == expected_wheel_files()


@pytest.mark.slow
@report_failure
def test_the_installed_wheel_serves_the_whole_dashboard(tmp_path, new_page):
    wheel = build_wheel(copy_of_the_checkout(tmp_path / "src"), tmp_path / "dist")
    assert wheel_files(wheel) == expected_wheel_files()
    py = sys.executable

    # A fresh venv that sees this environment's packages (torch, streamlit, ...) after its own.
    venv = tmp_path / "venv"
    _run([py, "-m", "venv", "--without-pip", str(venv)])
    (venv_site,) = (venv / "lib").glob("python*/site-packages")
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (venv_site / "project-packages.pth").write_text("\n".join(ours) + "\n")
    vpy = str(venv / "bin" / "python")
    # Its dependencies resolve against what is installed: --no-index, nothing is downloaded.
    _run([vpy, "-m", "pip", "install", "--no-index", "--quiet", str(wheel)])

    work = tmp_path / "elsewhere"  # outside the checkout, with nothing of it on sys.path
    work.mkdir()
    env = {**os.environ, "DLVIZ_HOME": str(tmp_path / "home"), "VIRTUAL_ENV": str(venv)}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("PYTHONPATH", None)

    checkout_settings = _flatten(tomllib.loads((REPO / ".streamlit" / "config.toml").read_text()))
    out = _run(
        [vpy, "-c", STREAMLIT_SETTINGS, json.dumps(list(checkout_settings))], cwd=work, env=env
    )
    installed = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(installed["dlviz"]).is_relative_to(venv), installed["dlviz"]
    assert Path(installed["app"]) == venv_site / "dlviz" / "dashboard" / "app.py"
    assert installed["options"] == checkout_settings  # every section of the one config file

    out = _run([str(venv / "bin" / "dlviz"), "pretrain", "--list"], cwd=work, env=env)
    assert out.stdout.startswith("dlviz-shapes32\t3x32x32\t"), out.stdout

    server_env = {"PYTHONPATH": None, "VIRTUAL_ENV": str(venv), "PATH": env["PATH"]}
    command = [str(venv / "bin" / "dlviz"), "ui"]
    (tmp_path / "server").mkdir()
    with running_streamlit(
        tmp_path / "server", command=command, cwd=work, env=server_env
    ) as server:
        page = new_page()
        page.goto(server.url)
        nav = page.get_by_test_id("stSidebarNav")
        for title in app_titles():  # every page of the navigation
            nav.get_by_text(title, exact=True).wait_for(timeout=SLOW_MS)
        main = page.get_by_test_id("stMain")
        main.locator("h1").first.wait_for(timeout=SLOW_MS)  # Home
        nav.get_by_text("Playground", exact=True).click()  # torch, plotly, a dataset, a chart
        main.locator("h1", has_text="Playground").wait_for(timeout=SLOW_MS)
        deadline = time.monotonic() + SLOW_MS / 1000
        while not preview_title(page):  # its data preview is drawn
            assert time.monotonic() < deadline, "the Playground's data preview was not drawn"
            time.sleep(0.2)
        assert page.get_by_test_id("stException").count() == 0, main.inner_text()
        screenshot(page, "installed-wheel-playground")
    assert "Traceback" not in server.log(), server.log()
