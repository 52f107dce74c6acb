#!/usr/bin/env bash
# dlviz's two entry points. Each sets up what it needs first, so each works on a fresh machine:
#
#   ./dev.sh dashboard   create .venv, install dlviz, open the dashboard (http://localhost:8501)
#   ./dev.sh test        create .venv, install dlviz with its test tools and Chromium, run the tests
#
# Extra arguments go to `dlviz ui` (`streamlit run` options) or to pytest. Environment:
#   PYTHON=python3.12   the interpreter that creates .venv (default: python3)
#   DLVIZ_VENV=path     where the virtual environment lives (default: .venv)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${DLVIZ_VENV:-.venv}
PY="$VENV/bin/python"
TORCH_PIN=${DLVIZ_TORCH:-torch==2.13.0}

say() { printf '\033[1m[dlviz]\033[0m %s\n' "$*" >&2; }

setup() {  # $1: "" or "[test]"
  local extra=$1
  if [ ! -x "$PY" ]; then
    say "creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
  fi
  # torch goes in first, pinned: a range in a fresh environment would pull a multi-GB CUDA build.
  # Any torch already here that the project's range accepts (a CUDA build, say) is kept.
  if ! "$PY" -c 'import torch' 2>/dev/null; then
    say "installing $TORCH_PIN"
    "$PY" -m pip install --quiet "$TORCH_PIN"
  fi
  local stamp="$VENV/.dlviz-installed$extra"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing dlviz$extra and its dependencies"
    "$PY" -m pip install --quiet -e ".$extra"
    touch "$stamp"
  fi
}

need_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  say "installing Debian's chromium for the browser tests"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq chromium >/dev/null 2>&1 || {
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
  }
}

want_espeak() {  # optional: the Sound lab's spoken digits; without it the lab offers the rest
  command -v espeak-ng >/dev/null 2>&1 && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  if command -v apt-get >/dev/null 2>&1; then
    say "installing espeak-ng for the Sound lab's spoken digits (optional)"
    $sudo apt-get install -y -qq espeak-ng >/dev/null 2>&1 \
      || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq espeak-ng >/dev/null 2>&1; } \
      || say "espeak-ng could not be installed; the Sound lab offers its other sounds (install it: apt-get install espeak-ng)"
  else
    say "no apt-get here: for the Sound lab's spoken digits, install espeak-ng (e.g. brew install espeak-ng)"
  fi
  return 0
}

cmd=${1:-help}
shift || true
case "$cmd" in
  dashboard)
    setup ""
    want_espeak
    # Streamlit prints the address it listens on once it does: the port of --server.port, or
    # 8501, or the next free one when 8501 is taken.
    say "starting the dashboard (Ctrl+C stops it); Streamlit prints its address below"
    exec "$PY" -m dlviz.cli ui "$@"
    ;;
  test)
    setup "[test]"
    need_chromium
    want_espeak
    say "lint (ruff)"
    "$VENV/bin/ruff" check --quiet . && "$VENV/bin/ruff" format --check --quiet .
    say "types of the shared core (mypy)"
    "$VENV/bin/mypy"
    if [ $# -gt 0 ]; then  # the tests named: as asked, in one process
      say "tests (pytest)"
      exec "$PY" -m pytest -q --durations=25 "$@"
    fi
    # Everything: the tests without a browser two at a time (pytest-xdist, a file per worker:
    # each file's fixtures are built once), then the browser journeys one at a time (each
    # drives a real server and Chromium, and several at once on a small machine would race).
    say "tests without a browser (pytest, 2 at a time)"
    rc=0
    "$PY" -m pytest -q --durations=15 -m "not browser" -n 2 --dist loadfile || rc=$?
    say "browser journeys (pytest)"
    "$PY" -m pytest -q --durations=15 -m browser || rc=$?
    exit $rc
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    [ "$cmd" = help ] || exit 2
    ;;
esac
