"""`./dev.sh dashboard`, the README's first command: it passes its arguments to `dlviz ui` and
names the address the server really listens on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from support.browser import REPO, free_port


@pytest.mark.slow
def test_dashboard_serves_on_the_port_it_is_given_and_says_so(tmp_path):
    # A venv that dev.sh takes as set up: its python is this one, its install stamp is new.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    (venv / ".dlviz-installed").touch()
    port = free_port()
    log = tmp_path / "dev.log"
    env = {**os.environ, "DLVIZ_VENV": str(venv), "DLVIZ_HOME": str(tmp_path / "home")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(REPO / "dev.sh"), "dashboard", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=tmp_path,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            body = b""
            while time.monotonic() < deadline and proc.poll() is None and body != b"ok":
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                    ) as r:
                        body = r.read()
                except OSError:
                    time.sleep(0.3)
            time.sleep(0.5)  # the address is printed just after the server answers
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    text = log.read_text(errors="replace")
    assert body == b"ok", text
    assert f"http://127.0.0.1:{port}" in text, text
    assert "8501" not in text, text
