"""The example notebooks (docs/notebooks) run, and the documentation site lists every page.

Each notebook is executed with nbclient in a fresh kernel of this Python, in a temporary
working directory; any cell error fails the test. The notebooks' ``# check:`` cells
recompute the figures they show with pandas from the raw events, so running them tests
the results, not only that the code runs. The notebooks are stored without outputs.

The BPIC 2012 notebook needs the shared data (../shared/data beside the checkout, or
$SALESPERF_SHARED_DATA) and is skipped, with the reason, without it. Data: BPI Challenge
2012, B.F. van Dongen, 4TU.ResearchData, doi:10.4121/uuid:3926db30-f712-4394-aebc-75976070e91f.

Also here, because they are fast: every page of the site is in a toctree, and the
doxygen input filter behind the C++ reference (docs/doxygen_filter.py) keeps the
headers' lines and turns their comments into doxygen's forms. The site itself is built
by scripts/build_docs.sh (make docs), not by pytest.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
from pathlib import Path

import nbclient
import nbclient.exceptions
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((DOCS / "notebooks").glob("*.ipynb"))
NEEDS_BPIC2012 = {"bpic2012-funnel.ipynb"}
CELL_TIMEOUT = 300  # seconds per cell; each notebook takes seconds
KERNEL = "salesperf-test-python"


def test_the_three_notebooks_are_there() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"quick-start.ipynb", "bpic2012-funnel.ipynb", "coaching-one-rep.ipynb"} <= names, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    """Outputs are made by running the notebook (the tests, the docs build), never committed."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, f"{path.name}: notebook metadata {set(nb.metadata)}"
    assert nb.metadata.get("kernelspec", {}).get("name", "python3") == "python3"
    for i, cell in enumerate(nb.cells):
        # Only tags (e.g. hide-input, which folds a cell on the site): no execution state.
        assert set(cell.get("metadata", {})) <= {"tags"}, f"{path.name} cell {i}: metadata {cell.get('metadata')}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
    checks = [c for c in nb.cells if c.cell_type == "code" and "# check:" in c.source and "assert " in c.source]
    assert len(checks) >= 3, f"{path.name}: {len(checks)} check cells (want a few asserts against pandas)"


def _bpic2012_data() -> Path:
    """The shared data folder holding bpic2012/, as the BPIC tests find it; skip without it."""
    from salesperf import datasets

    try:
        return datasets.bpic2012_path().parents[1]
    except FileNotFoundError as e:
        pytest.skip(f"BPIC 2012 data absent (../shared/data/bpic2012): {e}")


@pytest.fixture()
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec that runs ipykernel with this very Python (the venv's), found first."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "salesperf tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if path.name in NEEDS_BPIC2012:
        monkeypatch.setenv("SALESPERF_SHARED_DATA", str(_bpic2012_data()))
    nb = nbformat.read(path, as_version=4)
    work = tmp_path / "cwd"
    work.mkdir()
    client = nbclient.NotebookClient(nb, kernel_name=kernel, timeout=CELL_TIMEOUT, allow_errors=False,
                                     resources={"metadata": {"path": str(work)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name}: a cell failed:\n{e}")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "every code cell ran"
    errors = [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert images >= 2, f"{path.name}: {images} charts drawn"


# ----------------------------------------------------------------- the site's toctrees
TOCTREE = re.compile(r"^```\{toctree\}[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _pages() -> set[str]:
    """Every source page of the site, as Sphinx names it (path below docs/, no suffix)."""
    pages = set()
    for p in [*DOCS.rglob("*.md"), *DOCS.rglob("*.ipynb")]:
        rel = p.relative_to(DOCS)
        if rel.parts[0].startswith(("_", ".")) or ".ipynb_checkpoints" in rel.parts:
            continue
        pages.add(rel.with_suffix("").as_posix())
    return pages


def _toctree_entries() -> dict[str, list[str]]:
    """Per page, the entries of its toctrees (resolved to page names; globs kept)."""
    entries: dict[str, list[str]] = {}
    for page in _pages():
        path = next(DOCS.glob(page + ".*"))
        if path.suffix != ".md":
            continue
        base = Path(page).parent
        for block in TOCTREE.findall(path.read_text()):
            for line in block.splitlines():
                line = line.strip()
                if not line or line.startswith(":"):
                    continue
                target = line.split("<")[-1].rstrip(">").strip() if line.endswith(">") else line
                target = target[1:] if target.startswith("/") else (base / target).as_posix()
                entries.setdefault(page, []).append(target.removesuffix(".md").removesuffix(".ipynb"))
    return entries


def test_every_page_is_in_a_toctree() -> None:
    """A new docs/*.md (or notebook, or API page) cannot be forgotten from the site."""
    pages = _pages()
    patterns = [e for targets in _toctree_entries().values() for e in targets]
    listed = {p for p in pages if any(fnmatch.fnmatchcase(p, pattern) for pattern in patterns)}
    missing = sorted(pages - listed - {"index"})
    assert not missing, f"pages in no toctree (add them to docs/index.md): {missing}"
    top = [p for p in pages if "/" not in p and p != "index"]
    index = _toctree_entries().get("index", [])
    assert all(any(fnmatch.fnmatchcase(p, e) for e in index) for p in top), "every docs/*.md is in docs/index.md"


def test_toctree_entries_exist() -> None:
    """Explicit toctree entries name pages that exist (globs may match nothing)."""
    pages = _pages()
    dangling = [(page, e) for page, targets in _toctree_entries().items() for e in targets
                if not any(c in e for c in "*?[") and e not in pages]
    assert not dangling, dangling


# ----------------------------------------------------- the C++ reference's header filter
def _doxygen_filter():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("doxygen_filter", DOCS / "doxygen_filter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doxygen_filter_on_a_small_header() -> None:
    """docs/doxygen_filter.py turns the headers' // comments into doxygen's forms, line for line."""
    text = "\n".join([
        "// salesperf/x.h — what x is for.",  # 1: the file's description
        "//   aligned example",
        "#ifndef X_H_",
        "namespace salesperf {",  # 4: opens the header's group
        "",
        "// A thing: p = x / n.",  # 6: documents the struct below
        "struct Thing {",
        "  double a;  // the a",  # 8: a member's description
        "             // (continued)",
        "};",
        "",
        "// Just a note, then a blank line.",  # 12: stays a plain comment
        "",
        "int F(const char* s = \"a//b\");  // F",  # 14: a quote before the //: left alone
        "}  // namespace salesperf",  # 15: closes the group
        "#endif  // X_H_",
    ])
    out = _doxygen_filter().convert(text.split("\n"), "include/salesperf/x.h")
    assert len(out) == 16
    assert out[0] == "/** @verbatim salesperf/x.h — what x is for."
    assert out[1] == "  aligned example @endverbatim @file */"
    assert out[3] == "namespace salesperf { /** @addtogroup header_x */ /** @{ */"
    assert out[5] == "/** @verbatim A thing: p = x / n. @endverbatim */"
    assert out[7] == "  double a;  ///< the a"
    assert out[8] == "             ///< (continued)"
    assert out[11] == "// Just a note, then a blank line."
    assert out[13] == "int F(const char* s = \"a//b\");  // F"
    assert out[14] == "/** @} */ }  // namespace salesperf"
    assert out[15] == "#endif  // X_H_"


@pytest.mark.parametrize("header", sorted((ROOT / "include" / "salesperf").glob("*.h")), ids=lambda p: p.name)
def test_doxygen_filter_keeps_every_header_line(header: Path) -> None:
    """Doxygen's line numbers stay right, and each namespace body is one closed group."""
    lines = header.read_text().split("\n")
    out = _doxygen_filter().convert(lines, str(header))
    assert len(out) == len(lines)
    opened = sum("/** @{ */" in line for line in out)
    assert opened >= 1 and opened == sum(line.startswith("/** @} */") for line in out)
    code = [a for a, b in zip(lines, out) if a != b]
    assert all("//" in a or a == "namespace salesperf {" for a in code), "only comments and the group markers change"
