"""`dlviz ui`: the dashboard's Streamlit server, run in this process.

The dashboard is app.py with pages/ and .streamlit/config.toml beside it: at the root of a
checkout, and as dlviz/dashboard/ in an installed wheel (pyproject.toml maps one onto the
other). Streamlit reads a `.streamlit/config.toml` beside the script it runs, so both get the
same settings from the same file, whatever the folder `dlviz ui` is started from.
"""

from __future__ import annotations

import faulthandler
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # dlviz/


def app_script() -> Path | None:
    """The dashboard's entry script: dlviz/dashboard/app.py in an installed wheel, the root's
    app.py in a source checkout; None when neither is there with its pages."""
    for candidate in (_PACKAGE / "dashboard" / "app.py", _PACKAGE.parent / "app.py"):
        if candidate.is_file() and (candidate.parent / "pages").is_dir():
            return candidate
    return None


def use_app_navigation() -> None:
    """Tell Streamlit that app.py brings its own navigation, as `st.navigation` itself does.

    Until that flag is set, Streamlit takes a `pages/` folder beside the entry script for
    old-style multipage pages: the first run of a fresh server shows their raw file names
    (app, depth, ... uploads) as the menu until app.py reaches `st.navigation`, and a deep link
    runs the page file alone. Set before the server starts, no session ever sees either.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without it has no old-style pages to avoid
        return
    if hasattr(PagesManager, "uses_pages_directory"):
        PagesManager.uses_pages_directory = False


def print_stacks_on_signal() -> None:
    """`kill -USR1 PID` makes this process print every thread's stack to its log (stderr): for
    a page or a run that seems stuck (docs/load.md). Registered by `dlviz ui` as it starts, and
    by `state.warm_up` for a plain `streamlit run app.py`; registering again is harmless."""
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def serve(streamlit_args: Sequence[str] = ()) -> int:
    """Run the dashboard until the server stops; `streamlit_args` are `streamlit run` options
    (``--server.port 8502``). Returns the exit status."""
    app = app_script()
    if app is None:
        print(
            f"dlviz: the dashboard (app.py and pages/) is missing from {_PACKAGE}: this "
            "installation of dlviz is incomplete. Reinstall it (`pip install --force-reinstall "
            "dlviz`), or run `./dev.sh dashboard` in a checkout.",
            file=sys.stderr,
        )
        return 2
    try:
        from streamlit.web import cli
    except ImportError as e:
        print(
            f"dlviz: the dashboard needs Streamlit, which does not import here ({e}). Install "
            "it with `pip install 'streamlit>=1.67'`, or reinstall dlviz with its dependencies.",
            file=sys.stderr,
        )
        return 2
    use_app_navigation()
    from dlviz.ui import owner_cookie

    owner_cookie.install()  # the owner cookie comes with the first page (docs/load.md)
    print_stacks_on_signal()

    try:
        cli.main(["run", str(app), *streamlit_args], prog_name="streamlit", standalone_mode=True)
    except SystemExit as e:  # click ends every command this way, 0 included
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0
