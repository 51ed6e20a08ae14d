#!/usr/bin/env bash
# Finds Chromium for the browser tests and make screenshots, installing
# Debian's chromium package (and a font) with apt-get when no browser is on
# PATH. Idempotent: a second run finds what the first installed. Prints the
# browser's path on standard output; progress goes to standard error.
#   CHROME_PATH=/path/to/chrome scripts/chromium.sh   use that browser
set -euo pipefail

if [ -n "${CHROME_PATH:-}" ]; then
  [ -x "$CHROME_PATH" ] || { echo "chromium: CHROME_PATH=$CHROME_PATH is not an executable" >&2; exit 1; }
  echo "$CHROME_PATH"
  exit 0
fi

find_browser() {
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if path=$(find_browser); then
  echo "$path"
  exit 0
fi

echo "chromium: installing Debian's chromium package (a minute or two, once)" >&2
sudo_=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "chromium: not root and no sudo: install chromium yourself or set CHROME_PATH" >&2; exit 1; }
  sudo_="sudo"
fi
command -v apt-get >/dev/null || { echo "chromium: no apt-get here: install Chromium yourself or set CHROME_PATH" >&2; exit 1; }
$sudo_ apt-get update -qq >&2
# fonts-dejavu-core: pages and screenshots need at least one font to draw text.
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2

if path=$(find_browser); then
  echo "chromium: installed $path ($("$path" --version 2>/dev/null || echo "version unknown"))" >&2
  echo "$path"
  exit 0
fi
echo "chromium: the chromium package installed, but no chromium is on PATH" >&2
exit 1
