#!/usr/bin/env bash
# Shared setup for the README's two commands: a virtualenv in .venv with voxwidget installed
# editable (hatch-jupyter-builder runs `npm install` + `npm run build` to make the JS bundle).
# Usage: source scripts/setup.sh EXTRA   (EXTRA = demo | test)
set -euo pipefail
extra="${1:-demo}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v node >/dev/null || { echo "voxwidget needs node >= 20 and npm to build its front end" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[$extra]"
