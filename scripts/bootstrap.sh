#!/usr/bin/env bash
# Installs what `make demo` and `make test` need and is missing: Debian's packages for
# the C++ dependencies, and a virtual environment (.venv) with the Python ones.
# Safe to run again: it does nothing when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang and its runtime (libFuzzer, sanitizers) build the fuzz targets (scripts/fuzz.sh).
debs=(libabsl-dev libeigen3-dev libgtest-dev libbenchmark-dev nlohmann-json3-dev libtomlplusplus-dev libboost-math-dev doxygen chromium cmake ninja-build g++ python3-venv clang libclang-rt-dev)
missing=()
for p in "${debs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# cmake, ninja and a Python with venv may come from elsewhere (pyenv, pip): only ask
# Debian for them when no working one is on PATH.
have() { command -v "$1" >/dev/null 2>&1; }
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    cmake) have cmake || filtered+=("$p") ;;
    ninja-build) have ninja || filtered+=("$p") ;;
    g++) have g++ || filtered+=("$p") ;;
    python3-venv) python3 -c 'import venv, ensurepip' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
if ((${#filtered[@]})); then
  echo "bootstrap: installing Debian packages: ${filtered[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${filtered[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements-dev.sha
want=$(sha256sum requirements-dev.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
