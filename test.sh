#!/usr/bin/env bash
# Install the app with its test and training extras into ./.venv (first run only) and run the tests.
# Extra arguments go to pytest, e.g. ./test.sh -k cli
set -uo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/pytest ] || [ pyproject.toml -nt .venv/.installed-dev ]; then
  "$PY" -m venv .venv || exit 1
  .venv/bin/python -m pip install -q --upgrade pip || exit 1
  .venv/bin/python -m pip install -q -e ".[dev,train]" || exit 1
  touch .venv/.installed-dev
fi
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "test.sh: pytest collected no tests - that is a failure, not a pass" >&2
  exit 1
fi
exit "$code"
