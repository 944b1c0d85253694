"""The report as a person sees it: rendered by headless Chromium (Debian's chromium
package), a screenshot that is not blank, every section and coaching page in the
browser's DOM, and no broken image."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from salesperf import synth
from salesperf.report import SECTIONS, build_report

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (apt-get install chromium)")
PIL_Image = pytest.importorskip("PIL.Image")

# After load, the page writes what the browser sees into <pre id="probe">: how many
# images, how many of them did not decode (naturalWidth 0), and the ids of the sections
# and pages with their rendered heights.
PROBE = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !i.complete || i.naturalWidth === 0; }).length;
  var found = Array.prototype.slice.call(document.querySelectorAll("section[id], article[id]"));
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({
    images: imgs.length, broken: broken,
    ids: found.map(function (e) { return e.id; }),
    heights: found.map(function (e) { return e.getBoundingClientRect().height; })
  });
  document.body.appendChild(pre);
});
</script>"""


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={tmp / 'profile'}", *args]
    env = dict(os.environ, HOME=str(tmp))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp, env=env, check=False)


def probe(tmp: Path, page: str, name: str) -> dict[str, Any]:
    path = tmp / name
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = chromium(tmp, "--virtual-time-budget=10000", "--dump-dom", path.as_uri())
    m = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert m is not None, f"no probe in the dumped DOM (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    return result


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    company = synth.company(events=30_000, seed=11)
    log = company.event_log()
    tl = company.stage_model(stall_after="45d", close_stalled_after="30d").run(log)
    report = build_report(log, tl, answers=synth.survey(seed=11), support_stages=["Proposal"])
    tmp = tmp_path_factory.mktemp("browser")
    path = report.save(tmp / "report.html")
    return {"report": report, "path": path, "tmp": tmp}


def test_screenshot_is_not_blank(rendered: dict[str, Any]) -> None:
    tmp: Path = rendered["tmp"]
    shot = tmp / "shot.png"
    done = chromium(tmp, f"--screenshot={shot}", "--window-size=1280,3000", rendered["path"].as_uri())
    assert shot.exists(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    with PIL_Image.open(shot) as im:
        assert im.size == (1280, 3000)
        gray = im.convert("L")
        hist = gray.histogram()
    total = sum(hist)
    white = sum(hist[250:])
    dark = sum(hist[:100])
    # text, tables and charts: a real share of the page is not white, and some of it is dark (text)
    assert white / total < 0.97
    assert dark / total > 0.005
    assert len([n for n in hist if n]) > 50  # many grey levels: antialiased text and charts


def test_sections_present_and_no_image_broken(rendered: dict[str, Any]) -> None:
    report = rendered["report"]
    seen = probe(rendered["tmp"], report.html, "probe.html")
    assert seen["ids"] == list(SECTIONS) + [report.page_id(r) for r in report.reps]
    assert len(report.reps) == 24
    assert all(h > 20 for h in seen["heights"]), dict(zip(seen["ids"], seen["heights"]))
    assert seen["images"] == report.html.count("<img ") and seen["images"] >= 8 + 24
    assert seen["broken"] == 0


def test_the_probe_sees_a_broken_image(rendered: dict[str, Any]) -> None:
    """The broken-image check can fail: an image that does not decode is counted."""
    page = rendered["report"].html.replace("<main>", '<main><img src="data:image/png;base64,AAAA" alt="broken">', 1)
    seen = probe(rendered["tmp"], page, "broken.html")
    assert seen["broken"] == 1
