"""The Python examples in the user guide (docs/*.md) run and print what they show."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = sorted(p.name for p in DOCS.glob("*.md") if ">>>" in p.read_text())


@pytest.mark.parametrize("name", GUIDES)
def test_guide_examples_run(name: str) -> None:
    """Every guide with examples is listed (the glob), and each example passes."""
    path = DOCS / name
    text = path.read_text()
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, name, str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in docs/{name} failed"
    assert result.attempted > 0
