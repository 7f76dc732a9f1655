#!/usr/bin/env bash
# Install Unmask Studio into ./.venv (first run only) and start it.
#   ./run.sh                          open the editor
#   ./run.sh photo.jpg                open a photo in the editor
#   ./run.sh batch photos/ -o out/    remove masks from a whole folder
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/unmask-studio ] || [ pyproject.toml -nt .venv/.installed ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e .
  touch .venv/.installed
fi
exec .venv/bin/unmask-studio "$@"
