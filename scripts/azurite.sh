#!/usr/bin/env bash
# Installs (once) and starts or stops a local Azurite, the Azure Storage
# emulator the app, its tests and its demo run against.
#   scripts/azurite.sh start   install if needed, start unless already up, wait until ready
#   scripts/azurite.sh stop    stop the Azurite this script started
#   scripts/azurite.sh status  say whether it answers
set -euo pipefail

version=3.35.0 # later versions need a newer Node than 20
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools/azurite"
state="$root/.azurite"
bin="$tools/node_modules/.bin/azurite"

up() { (exec 3<>/dev/tcp/127.0.0.1/10000 && exec 3<>/dev/tcp/127.0.0.1/10001 && exec 3<>/dev/tcp/127.0.0.1/10002) 2>/dev/null; }

install() {
  if [ -x "$bin" ] && grep -q "\"version\": \"$version\"" "$tools/node_modules/azurite/package.json" 2>/dev/null; then
    return
  fi
  command -v npm >/dev/null || { echo "azurite: npm is needed to install Azurite (Node.js 20)" >&2; exit 1; }
  echo "azurite: installing azurite@$version into $tools (about a minute, once)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "azurite@$version" >/dev/null
}

case "${1:-start}" in
start)
  if up; then echo "azurite: already answering on 127.0.0.1:10000-10002"; exit 0; fi
  install
  mkdir -p "$state/data"
  nohup "$bin" --silent --location "$state/data" \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    --skipApiVersionCheck --disableTelemetry >"$state/azurite.log" 2>&1 &
  echo $! >"$state/pid"
  for _ in $(seq 1 150); do
    if up; then echo "azurite: up (pid $(cat "$state/pid"), data in $state/data)"; exit 0; fi
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "azurite: it exited at start; its log:" >&2; cat "$state/azurite.log" >&2; exit 1
    fi
    sleep 0.2
  done
  echo "azurite: not answering after 30 s; see $state/azurite.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$state/pid" ] && kill "$(cat "$state/pid")" 2>/dev/null; then
    echo "azurite: stopped"
  else
    echo "azurite: was not started by this script"
  fi
  rm -f "$state/pid"
  ;;
status)
  if up; then echo "azurite: up"; else echo "azurite: down"; exit 1; fi
  ;;
*)
  echo "usage: $0 start|stop|status" >&2; exit 2
  ;;
esac
