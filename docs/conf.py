"""Sphinx configuration of the salesperf documentation site.

Build it with ``scripts/build_docs.sh [outdir]`` (doxygen for the C++ headers, then
``sphinx-build -W --keep-going``). The Python API reference imports ``salesperf``: the
installed package when it is importable (``make test`` installs it first), else the
checkout's ``python/`` directory (which then needs the compiled ``_core`` module, e.g.
``make dev``). PYTHONPATH, when set, wins as usual.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

if importlib.util.find_spec("salesperf") is None:
    sys.path.insert(0, str(ROOT / "python"))

import salesperf  # noqa: E402  (after the path is settled)

project = "salesperf"
author = "the salesperf authors"
copyright = "2026, the salesperf authors"
release = salesperf.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_nb",  # Markdown pages (myst-parser) and the notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "breathe",
]

root_doc = "index"
# Code blocks that name no language (program output, the headers' plain-text comments
# rendered by breathe) are shown as they are, not guessed at and coloured.
highlight_language = "none"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# --- Markdown (MyST) -----------------------------------------------------------------
# Anchors for headings down to ###, so links like event-model.md#crm-snapshots resolve.
myst_heading_anchors = 3
# No extensions (dollarmath in particular: the guides write amounts like $5,000).
myst_enable_extensions: list[str] = []

# --- Notebooks (myst-nb) --------------------------------------------------------------
# The notebooks are stored without outputs. The build executes them (each takes seconds),
# so the site shows the charts and tables they compute from the current code, and a cell
# error (their "# check:" cells assert figures against pandas) fails the build.
# SALESPERF_DOCS_EXECUTE=0 renders them without running them (the tests run them too:
# tests/python/test_notebooks.py).
nb_execution_mode = "force" if os.environ.get("SALESPERF_DOCS_EXECUTE", "1") != "0" else "off"
nb_execution_raise_on_error = True
nb_execution_allow_errors = False
nb_execution_timeout = 600  # seconds per cell
nb_execution_show_tb = True
nb_merge_streams = True
# Each notebook runs in a temporary directory: what it writes (report.html) stays out of docs/.
nb_execution_in_temp = True
nb_execution_excludepatterns: list[str] = []


def _shared_data() -> Path | None:
    """The shared data folder with the BPIC 2012 log: $SALESPERF_SHARED_DATA, else
    ../shared/data beside the checkout (as salesperf.datasets looks for it)."""
    env = os.environ.get("SALESPERF_SHARED_DATA")
    base = Path(env) if env else ROOT.parent / "shared" / "data"
    return base if (base / "bpic2012" / "events.csv.gz").is_file() else None


_data = _shared_data()
if _data is not None:
    # The kernels run in a temporary directory and may import an installed salesperf,
    # which cannot find ../shared/data from there: tell them where the data is.
    os.environ["SALESPERF_SHARED_DATA"] = str(_data)
else:
    # Without the data the BPIC 2012 notebook is shown without running it (it would stop
    # at its first cell, saying where it looked), as the tests skip it.
    nb_execution_excludepatterns.append("notebooks/bpic2012-funnel.ipynb")
    print("docs/conf.py: BPIC 2012 data absent (../shared/data/bpic2012 or $SALESPERF_SHARED_DATA): "
          "notebooks/bpic2012-funnel.ipynb is not executed", file=sys.stderr)

# --- Python API (autodoc + napoleon, numpy docstrings) -------------------------------
autodoc_default_options = {
    "members": True,
    "undoc-members": False,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autosummary_generate = False
# Both styles: most modules use numpy sections, synth.py uses Google ones (Args:, Attributes:).
napoleon_google_docstring = True
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes:" sections as fields: the properties are documented by :members: already.
napoleon_use_ivar = True
napoleon_preprocess_types = False

# --- C++ API (doxygen XML via breathe) ------------------------------------------------
breathe_projects = {
    "salesperf": os.environ.get("SALESPERF_DOXYGEN_XML", str(ROOT / "build" / "docs" / "doxygen" / "xml")),
}
breathe_default_project = "salesperf"
breathe_default_members = ("members",)
breathe_domain_by_extension = {"h": "cpp"}

# --- HTML ------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"salesperf {release}"
html_static_path = ["_static"]
html_css_files = ["salesperf.css"]

# --- Warnings ----------------------------------------------------------------------------
# The build runs with -W: every warning is an error. None is suppressed.
suppress_warnings: list[str] = []


def _constant(name: str) -> list[str]:
    """A ``py:data`` entry for a constant that ``salesperf`` re-exports, with the doc
    comment from the module that defines it (autodata on ``salesperf.NAME`` would look
    for it in __init__.py and fall back to the docstring of the value's type)."""
    import textwrap

    from sphinx.pycode import ModuleAnalyzer

    value = getattr(salesperf, name)
    doc: list[str] = []
    where = ""
    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith("salesperf.") or getattr(module, name, None) is not value:
            continue
        try:
            found = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", name))
        except Exception:  # noqa: BLE001 - a compiled module has no source to analyse
            found = None
        if found or not where:
            where, doc = modname, list(found or [])
        if found:
            break
    text = repr(value)
    lines = [f".. py:data:: {name}"]
    if len(text) <= 80 and "\n" not in text:
        lines.append(f"   :value: {text}")
    lines.append("")
    body = textwrap.dedent("\n".join(doc)).strip().splitlines() or [f"Defined in ``{where}``."]
    if doc and where:
        body += ["", f"Defined in ``{where}``."]
    lines.extend(f"   {line}" if line else "" for line in body)
    lines.append("")
    return lines


def _api_names(app, docname, source):  # type: ignore[no-untyped-def]
    """Fill ``{salesperf-all}`` in docs/api/python.md from ``salesperf.__all__``.

    The list of public names is the package's, not a copy of it: a new export appears
    in the reference (and must have a docstring that builds) without editing the page.
    """
    if docname != "api/python" or "{salesperf-all}" not in source[0]:
        return
    import inspect

    names = [n for n in salesperf.__all__ if not n.startswith("_")]
    modules = [n for n in names if inspect.ismodule(getattr(salesperf, n))]
    classes = [n for n in names if inspect.isclass(getattr(salesperf, n))]
    functions = [n for n in names if callable(getattr(salesperf, n)) and n not in classes]
    data = [n for n in names if n not in modules + classes + functions]
    lines: list[str] = []

    def table(title: str, members: list[str]) -> None:
        if not members:
            return
        lines.extend([f"## {title}", "", "```{eval-rst}", ".. autosummary::", "   :nosignatures:", ""])
        lines.extend(f"   ~salesperf.{n}" for n in sorted(members, key=str.lower))
        lines.extend(["```", ""])

    table("Classes", classes)
    table("Functions", functions)
    table("Constants", data)
    table("Modules (each on its own page)", modules)
    lines.extend(["## Reference", "", "```{eval-rst}", ".. currentmodule:: salesperf", ""])
    for n in sorted(classes, key=str.lower):
        lines.extend([f".. autoclass:: {n}", "   :members:", ""])
    for n in sorted(functions, key=str.lower):
        lines.extend([f".. autofunction:: {n}", ""])
    for n in sorted(data, key=str.lower):
        lines.extend(_constant(n))
    lines.extend(["```", ""])
    source[0] = source[0].replace("{salesperf-all}", "\n".join(lines))


_DIRECTIVE = {"function": "doxygenfunction", "variable": "doxygenvariable", "enum": "doxygenenum",
              "typedef": "doxygentypedef", "class": "doxygenclass", "struct": "doxygenstruct"}


def _header_api(header: Path, xml: Path) -> list[str]:
    """The breathe directives for what one header declares, in the header's order.

    docs/doxygen_filter.py puts the body of each header's ``namespace salesperf`` into a
    doxygen group, ``header_<name>``; its members and classes are listed here one by one
    by their qualified names (a group rendered whole would drop the namespace of its
    functions but not of its classes).
    """
    import xml.etree.ElementTree as ET

    group = xml / ("group__header__" + header.stem.replace("_", "__") + ".xml")
    if not group.is_file():
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "no doxygen XML for include/salesperf/%s (looked for %s): build with scripts/build_docs.sh",
            header.name, group)
        return []
    compound = ET.parse(group).getroot().find("compounddef")
    assert compound is not None
    items: list[tuple[int, str, str]] = []
    names = [m.findtext("name") for m in compound.iter("memberdef")]
    for m in compound.iter("memberdef"):
        name = f"salesperf::{m.findtext('name')}"
        if m.get("kind") == "function" and names.count(m.findtext("name")) > 1:
            # An overload: name it by its parameter types.
            types = ["".join(p.find("type").itertext()).strip() for p in m.findall("param")]  # type: ignore[union-attr]
            name += "(" + ", ".join(types) + ")"
        location = m.find("location")
        line = int(location.get("line", "0")) if location is not None else 0
        items.append((line, _DIRECTIVE[m.get("kind", "")], name))
    for ref in compound.findall("innerclass"):
        name = ref.text or ""
        if name.count("::") != 1:  # nested classes are shown inside their class
            continue
        kind = "struct" if (ref.get("refid") or "").startswith("struct") else "class"
        cls = ET.parse(xml / f"{ref.get('refid')}.xml").getroot().find("compounddef/location")
        line = int(cls.get("line", "0")) if cls is not None else 0
        items.append((line, _DIRECTIVE[kind], name))
    lines: list[str] = []
    for _, directive, name in sorted(items):
        lines.extend([f".. {directive}:: {name}", "   :project: salesperf"])
        if directive in ("doxygenclass", "doxygenstruct"):
            lines.extend(["   :members:", "   :undoc-members:"])
        lines.append("")
    return lines


def _api_headers(app, docname, source):  # type: ignore[no-untyped-def]
    """Fill ``{salesperf-headers}`` in docs/api/cpp.md: one section per public header,
    with the header's own description and then what it declares."""
    if docname != "api/cpp" or "{salesperf-headers}" not in source[0]:
        return
    xml = Path(breathe_projects["salesperf"])
    lines: list[str] = []
    for header in sorted((ROOT / "include" / "salesperf").glob("*.h")):
        lines.extend([
            f"## `salesperf/{header.name}`", "", "```{eval-rst}",
            f".. doxygenfile:: {header.name}", "   :project: salesperf",
            "   :sections: briefdescription detaileddescription", "",
            *_header_api(header, xml), "```", ""])
    source[0] = source[0].replace("{salesperf-headers}", "\n".join(lines))


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("source-read", _api_names)
    app.connect("source-read", _api_headers)
