#!/usr/bin/env bash
# Builds the documentation site: doxygen reads include/salesperf/*.h into XML
# (build/docs/doxygen/xml), then Sphinx renders docs/ (guides, notebooks executed,
# Python API from the docstrings, C++ API from the XML via breathe) into HTML.
# Every Sphinx warning is an error.
#
#   scripts/build_docs.sh [outdir]        # default build/docs/html
#
# salesperf must be importable by the Python that runs Sphinx: the installed package
# (`make test` installs it first) or PYTHONPATH=<dir holding salesperf/ with _core>.
# PYTHON (default .venv/bin/python, else python3) chooses that Python;
# SALESPERF_DOCS_EXECUTE=0 skips executing the notebooks (they are tests already).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

out="${1:-build/docs/html}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON="$root/.venv/bin/python"; else PYTHON=python3; fi
fi
command -v doxygen >/dev/null || { echo "build_docs: doxygen is not installed (scripts/bootstrap.sh installs it)" >&2; exit 2; }
"$PYTHON" -c "import salesperf" || {
  echo "build_docs: salesperf is not importable by $PYTHON (pip install . or set PYTHONPATH)" >&2; exit 2; }

doxy="$root/build/docs/doxygen"
rm -rf "$doxy"
mkdir -p "$doxy"
# Doxyfile paths are relative to the repository root; the header filter runs with the
# same Python as Sphinx. Doxygen's own messages are advisory (see docs/Doxyfile).
{ cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = \"$doxy\""; echo "INPUT_FILTER = \"$PYTHON docs/doxygen_filter.py\""; } \
  | doxygen -

# -E: always a fresh build (no saved environment), so that the API pages and the
# executed notebooks reflect the installed code even when no page changed. Sphinx keeps
# its doctrees in "$out/.doctrees".
SALESPERF_DOXYGEN_XML="$doxy/xml" \
  "$PYTHON" -m sphinx -E -W --keep-going -b html -j auto docs "$out"
echo "build_docs: $out/index.html"
