#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium if it is missing: the dashboard's
# browser test (tests/e2e/test_dashboard_browser.py) drives a real one. Safe to
# run twice: it does nothing when a chromium binary is already there.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

found() {
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]
}

if found; then
  exit 0
fi

echo "chromium-install: installing chromium from Debian's packages"
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core >/dev/null

if ! found; then
  echo "chromium-install: chromium is still missing after apt-get install" >&2
  exit 1
fi
echo "chromium-install: $(chromium --version 2>/dev/null || echo chromium installed)"
