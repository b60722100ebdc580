#!/usr/bin/env bash
# Build the documentation and examples gallery offline, warnings as errors, then check that
# every local link and image of the built site exists. Installs nothing: run it with the
# virtual environment that holds the `docs` extra (`pip install -e ".[docs]"`).
#
#   bash docs/build.sh            # full build: runs every example of the gallery
#   DOCS_PLOT_GALLERY=False bash docs/build.sh   # pages only, examples not executed
#
# PYTHON selects the interpreter (default: .venv/bin/python, else python3). Output goes to
# docs/_build/html; open docs/_build/html/index.html.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd .. && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
export MPLBACKEND=Agg
# Examples run single-threaded BLAS/torch by default so timings match a 2-core CI runner.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

start=$(date +%s)
rm -rf _build/html gen_modules
# The IBSI page states what the installed pyradiomics computes on the IBSI phantom.
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" generate_ibsi_page.py
"$PYTHON" -m sphinx -b html -W --keep-going -q -j 1 . _build/html
"$PYTHON" check_links.py _build/html
# The >>> examples of the hand-written pages are doctests too.
"$PYTHON" -m pytest -q -p no:cacheprovider -o addopts="" --doctest-glob="*.rst" \
    ./*.rst user_guide/*.rst
"$PYTHON" check_docstrings.py --strict
echo "docs: built in $(( $(date +%s) - start )) s -> $(pwd)/_build/html/index.html"
