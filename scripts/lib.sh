# Shared by scripts/run-app and scripts/test: install what is needed, idempotently.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else echo "casedeck: need root (or sudo) to run: $*" >&2; return 1; fi
}

# ensure_debian_packages PKG... : install the Debian packages that are missing.
ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "casedeck: installing Debian packages: ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# offer_debian_packages PKG... : like ensure_debian_packages, but the app still starts without them
# (each feature that needs one says so on its page), e.g. without root or sudo.
offer_debian_packages() {
  ensure_debian_packages "$@" || echo "casedeck: could not install $*; the app starts without them." >&2
}

# ensure_venv REQUIREMENTS_FILE : a venv in .venv with the pinned requirements installed.
ensure_venv() {
  local req="$1"
  if ! command -v python3 >/dev/null 2>&1; then ensure_debian_packages python3; fi
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" 2>/dev/null || { ensure_debian_packages python3-venv; python3 -m venv "$VENV"; }
  fi
  local stamp
  stamp="$VENV/.installed-$(cat "$ROOT/requirements.txt" "$ROOT/$req" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "casedeck: installing Python packages from $req" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$ROOT/$req"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}
