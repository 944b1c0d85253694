"""Doxygen INPUT_FILTER for include/salesperf/*.h (the headers themselves are not edited).

The headers document their API in plain ``//`` comments laid out as aligned text
(formulas, tables of fields, worked examples). Doxygen only reads its own comment
forms, so docs/Doxyfile runs this filter on each header, which rewrites

* the file's opening comment block into the file's description (``@file``);
* a block of whole-line ``//`` comments directly above a declaration into a
  ``/** @verbatim ... @endverbatim */`` block documenting it (verbatim, so that the
  alignment survives); a block followed by a blank line stays a plain comment;
* a trailing ``code;  // text`` into ``code;  ///< text`` (the member's description),
  with comment lines aligned under it continuing it;
* the body of ``namespace salesperf { ... }`` into a doxygen group named after the
  header (``salesperf/stats.h`` -> ``header_stats``), so that docs/api/cpp.md can show
  each header's functions, constants and classes under that header.

Every input line gives exactly one output line, so doxygen's line numbers stay right.
Usage: ``python3 docs/doxygen_filter.py include/salesperf/stats.h`` (prints to stdout).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

WHOLE = re.compile(r"^(\s*)//(?![/!])\s?(.*)$")
# Code, then a // comment (not inside a string literal: no quote before it).
TRAILING = re.compile(r'^(?P<code>\s*[^\s/#"][^"]*?)(?P<gap>\s+)//(?![/!<])\s?(?P<text>.*)$')
OPEN_NS = re.compile(r"^namespace salesperf \{\s*$")
CLOSE_NS = re.compile(r"^\}\s*// namespace salesperf\s*$")
PLAIN_FOLLOWERS = ("}", "#", "public:", "private:", "protected:")


def group_name(path: str) -> str:
    """The doxygen group of a header's declarations: salesperf/stats.h -> header_stats."""
    return "header_" + Path(path).stem


def _verbatim_safe(text: str) -> str:
    # Inside @verbatim only @endverbatim and the end of the C comment are special.
    return (text.replace("*/", "* /").replace("@endverbatim", "@ endverbatim")
            .replace("\\endverbatim", "\\ endverbatim"))


def _block(indent: str, texts: list[str], suffix: str = "") -> list[str]:
    texts = [_verbatim_safe(t) for t in texts]
    out = [f"{indent}/** @verbatim {texts[0]}"] + texts[1:]
    out[-1] += f" @endverbatim{suffix} */"
    return out


def convert(lines: list[str], path: str) -> list[str]:
    out: list[str] = []
    group = group_name(path)
    seen_code = False
    trailing_col = -1  # column of the // of the previous line's trailing comment
    i = 0
    while i < len(lines):
        line = lines[i]
        if OPEN_NS.match(line):
            out.append(f"{line} /** @addtogroup {group} */ /** @{{ */")
            trailing_col = -1
            seen_code = True
            i += 1
            continue
        if CLOSE_NS.match(line):
            out.append(f"/** @}} */ {line}")
            trailing_col = -1
            i += 1
            continue
        whole = WHOLE.match(line)
        if whole and trailing_col >= 0 and len(whole[1]) == trailing_col:
            # A comment line aligned under the previous trailing comment continues it.
            out.append(f"{whole[1]}///< {whole[2]}")
            i += 1
            continue
        if not whole:
            trailing = TRAILING.match(line)
            if trailing and trailing["code"].strip() not in ("}", "};"):  # not "}  // namespace x"
                out.append(f"{trailing['code']}{trailing['gap']}///< {trailing['text']}")
                trailing_col = len(trailing["code"]) + len(trailing["gap"])
            else:
                out.append(line)
                trailing_col = -1
            if line.strip():
                seen_code = True
            i += 1
            continue
        trailing_col = -1
        j = i
        while j < len(lines) and WHOLE.match(lines[j]) and not OPEN_NS.match(lines[j]):
            j += 1
        matches = [WHOLE.match(x) for x in lines[i:j]]
        indent = matches[0][1]  # type: ignore[index]
        texts = [m[2] for m in matches]  # type: ignore[index]
        follows = lines[j].strip() if j < len(lines) else ""
        if not seen_code:
            # The file's opening block: the file's description. (@file with no name is
            # the current file; the block may be followed by a blank line.)
            out.extend(_block(indent, texts, " @file"))
            seen_code = True
        elif not follows or follows.startswith(PLAIN_FOLLOWERS):
            out.extend(f"{indent}// {t}" for t in texts)
        else:
            out.extend(_block(indent, texts))
        i = j
    return out


def main() -> None:
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    sys.stdout.write("\n".join(convert(lines, path)))


if __name__ == "__main__":
    main()
