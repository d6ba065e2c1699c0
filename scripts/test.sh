#!/usr/bin/env bash
# The whole test suite: Python (pytest, incl. real JupyterLab + headless Chromium), JS (node --test),
# ruff, and the quickstart notebook top to bottom. Installs what a fresh machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "the browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)" >&2
    exit 1
  fi
fi
source scripts/setup.sh test
npm install --no-audit --no-fund --loglevel=error  # already run by the build hook; cheap when current
echo "== lint (ruff, biome)"
ruff check voxwidget tests bench
ruff format --check voxwidget tests bench
npm run lint
echo "== js (node --test)"
npm test
echo "== python (pytest)"
python -m pytest "$@"
