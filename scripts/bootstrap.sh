#!/bin/sh
# Entry point of the README's two commands on a machine that has only Node.js and npm:
# installs Bun (from npm) when missing, the project's packages, and what the tests need,
# then runs `demo` or `test`.
set -eu
cd "$(dirname "$0")/.."

if ! command -v bun >/dev/null 2>&1; then
  echo "== installing Bun from npm" >&2
  npm install -g bun >&2 || npm install -g --allow-scripts=bun bun >&2
fi
command -v bun >/dev/null 2>&1 || { echo "bun is still not on PATH after npm install -g bun" >&2; exit 1; }

echo "== bun install" >&2
bun install --frozen-lockfile >&2

apt_install() {
  # Debian packages that tests and benchmarks use; only as root with apt-get at hand.
  missing=""
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"; done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== apt-get install$missing" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
  else
    echo "warning: missing Debian packages:$missing (install them to run every test)" >&2
  fi
}

case "${1:-}" in
  demo)
    shift
    # bubblewrap: the sandbox user scripts run in (without it the server refuses to run them).
    apt_install bubblewrap
    exec bun scripts/demo.ts "$@"
    ;;
  test)
    shift
    apt_install chromium bubblewrap
    exec bun scripts/test.ts "$@"
    ;;
  *)
    echo "usage: scripts/bootstrap.sh demo|test" >&2
    exit 2
    ;;
esac
