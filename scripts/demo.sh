#!/usr/bin/env bash
# The main job: set up, then open notebooks/quickstart.ipynb in JupyterLab (bundled demo volume).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh demo
args=(--ServerApp.ip=127.0.0.1)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
exec jupyter lab "${args[@]}" "$@" notebooks/quickstart.ipynb
