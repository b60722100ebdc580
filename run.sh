#!/usr/bin/env bash
# One-command set-up and entry points for a fresh machine that has only Python (>= 3.10).
#
#   bash run.sh demo   # set up .venv, then run the study demo on the built-in synthetic cohort
#   bash run.sh test   # set up .venv with the dev extras, then ruff + the test suite (2 workers)
#   bash run.sh docs   # set up .venv with the docs extras, then build the site and gallery
#
# Set-up is idempotent. Torch is installed before the package: without CUDA we ask for the
# CPU build (TORCH_SPEC, default torch==2.13.0, which this project's machines hold on local
# disk), because a bare `torch` requirement pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-}

setup() {
    local extras=$1
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    local pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
    if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
        if [ -z "$TORCH_SPEC" ]; then
            if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
                TORCH_SPEC=torch
            else
                TORCH_SPEC=torch==2.13.0
            fi
        fi
        echo "run.sh: installing $TORCH_SPEC" >&2
        "${pip[@]}" "$TORCH_SPEC"
    fi
    echo "run.sh: installing rdinet-sklearn${extras}" >&2
    "${pip[@]}" -e ".${extras}"
}

case "${1:-}" in
    demo)
        shift
        setup ""
        exec "$VENV/bin/rdinet" demo --out "${OUT:-results/demo}" "$@"
        ;;
    test)
        shift
        setup "[dev]"
        "$VENV/bin/ruff" check .
        # Two worker processes (PYTEST_WORKERS), one torch thread each (tests/conftest.py),
        # one test file per worker so that a module's fixtures are built once. Tests run in
        # file order unless PYTEST_RANDOM_ORDER=1 (pytest-randomly, e.g. --randomly-seed=N).
        order=(-p no:randomly)
        [ "${PYTEST_RANDOM_ORDER:-0}" = 1 ] && order=(-p randomly)
        exec "$VENV/bin/python" -m pytest "${order[@]}" -n "${PYTEST_WORKERS:-2}" \
            --dist loadfile "$@"
        ;;
    docs)
        shift
        setup "[docs]"
        exec bash docs/build.sh "$@"
        ;;
    *)
        echo "usage: bash run.sh demo|test|docs [extra arguments]" >&2
        exit 2
        ;;
esac
