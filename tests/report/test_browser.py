"""The report in a real headless browser: Debian's Chromium (``/usr/bin/chromium``) driven by
playwright (no ``playwright install``: no browser is downloaded).

Every page loads with no console error, every figure renders (an SVG with a non-empty box and
drawn content), every link between pages resolves, and a screenshot of a neuron card and of a
concept page is kept under ``bench/results/report-screenshots/``. Without Chromium the test skips
with the reason, except in CI (``CI=true``), where it fails: CI must run it (``.ci/run`` installs
Chromium).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import atlas
from atlas.report.html import slug, write_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))
from fixture_atlas import build_fixture_atlas  # noqa: E402

from tests.report.helpers import add_probe_curve  # noqa: E402

CHROMIUM = Path(os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "report-screenshots"
NEURON = "minilm/mlp.0/0"


def _browser_or_skip() -> object:
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -e '.[test]')"
    if reason is None and not CHROMIUM.is_file():
        reason = f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the report's browser test must run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return sync_playwright


def _report(tmp_path: Path) -> Path:
    db = atlas.connect(f"sqlite:///{tmp_path / 'atlas.db'}", store_root=tmp_path / "store")
    db.init()
    build_fixture_atlas(db, models=(("gpt2", 6), ("minilm", 6)))
    add_probe_curve(db)
    out = tmp_path / "report"
    write_report(db, out, models=["minilm", "gpt2"], concepts=["negation", "noun"], neurons=[NEURON], top=2)
    db.close()
    return out


#: JavaScript: the tables, figures and code of each panel's main column that show over its
#: source box (a wide cell, such as a method's parameters, must wrap or scroll, not overlap).
_OVERLAPS = """() => {
  const bad = [];
  for (const row of document.querySelectorAll('.row')) {
    const main = row.querySelector(':scope > .main'), src = row.querySelector(':scope > .source');
    if (!main || !src) continue;
    const m = main.getBoundingClientRect(), s = src.getBoundingClientRect();
    for (const el of main.querySelectorAll('table, pre, svg')) {
      const r = el.getBoundingClientRect();
      const right = getComputedStyle(main).overflowX === 'visible' ? r.right : Math.min(r.right, m.right);
      if (r.left < s.left && right > s.left + 1 && r.top < s.bottom && r.bottom > s.top)
        bad.push(`${el.tagName.toLowerCase()} in "${row.closest('section')?.querySelector('h2,h3')?.textContent}" ` +
                 `reaches x=${Math.round(right)} over the source box at x=${Math.round(s.left)}`);
    }
  }
  return bad;
}"""


@pytest.mark.slow  # a real browser: ~20 s
def test_the_report_renders_in_chromium(tmp_path):
    sync_playwright = _browser_or_skip()
    out = _report(tmp_path)
    pages = sorted(out.glob("*.html"))
    assert len(pages) > 5
    problems: list[str] = []
    with sync_playwright() as p:  # type: ignore[operator]
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
        n_figures = 0
        for path in pages:
            response = page.goto(path.as_uri())
            assert response is not None and response.ok, path.name
            for i, svg in enumerate(page.locator("svg.figure").all()):
                box = svg.bounding_box()
                assert box is not None and box["width"] > 50 and box["height"] > 50, f"{path.name}: figure {i} is empty"
                assert svg.locator("path").count() > 0, f"{path.name}: figure {i} draws nothing"
                n_figures += 1
            problems += [f"{path.name}: {x}" for x in page.evaluate(_OVERLAPS)]
            for href in page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
                assert not href.startswith(("http:", "https:", "//")), f"{path.name} links outside: {href}"
                assert (out / href.split("#")[0]).is_file(), f"{path.name}: broken link {href}"
        assert n_figures >= 10
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.goto((out / slug("neuron", NEURON)).as_uri())
        page.screenshot(path=str(SCREENSHOTS / "neuron-card.png"), full_page=True)
        page.goto((out / slug("concept", "negation")).as_uri())
        page.screenshot(path=str(SCREENSHOTS / "concept-page.png"), full_page=True)
        browser.close()
    assert problems == []
    assert (SCREENSHOTS / "neuron-card.png").stat().st_size > 10_000
