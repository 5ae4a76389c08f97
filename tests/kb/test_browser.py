"""``atlas serve`` in a real headless browser (Debian's Chromium through Playwright): ask a query,
follow a neuron link, add a note on an annotator's server, be refused on a reader's server, and
no console errors anywhere. Skipped with the reason when /usr/bin/chromium is missing, except in
CI (``CI=true``), where that is a failure."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _browser_or_skip() -> Any:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: apt-get install chromium", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): the browser test needs it")
    for mod in ("playwright.sync_api", "uvicorn", "starlette"):
        if os.environ.get("CI") == "true":
            __import__(mod)
        else:
            pytest.importorskip(mod, reason=f"the browser test needs {mod} (the [test] extra)")
    from playwright.sync_api import sync_playwright

    return sync_playwright


@contextmanager
def _server(db: Any) -> Iterator[str]:
    import uvicorn

    from atlas.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.slow  # a real browser: ~20 s
@pytest.mark.usefixtures("pg_server")
def test_query_navigate_annotate_and_be_refused(lab: Any) -> None:
    sync_playwright = _browser_or_skip()
    import atlas

    reader_db, ann_db = atlas.connect(lab.user("reader")), atlas.connect(lab.user("annotator"))
    errors: list[str] = []
    with _server(ann_db) as ann_url, _server(reader_db) as reader_url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # query, then follow the first neuron link
        page.goto(ann_url + "/")
        page.fill("input[name=q]", "neurons in minilm where ap(noun) > 0.9 order by ap(noun) desc limit 3")
        page.click("button[type=submit]")
        page.wait_for_selector("table")
        first = page.locator("table a[href^='/neuron/']").first
        nid = first.inner_text()
        first.click()
        page.wait_for_selector("section#concepts")
        assert page.locator("h1").inner_text() == nid
        # a query error shows the caret
        page.goto(ann_url + "/?q=neurons+in+minilm+where+ap(nuon)+>+0.5")
        assert "^" in page.locator("#error").inner_text()
        errors[:] = [e for e in errors if "400" not in e]  # the error page's own status, expected
        # the annotator adds a note; it shows on the page
        page.goto(f"{ann_url}/neuron/{nid}")
        page.fill("textarea[name=text]", "added in the browser")
        page.click("#note-form button[type=submit]")
        page.wait_for_selector("text=added in the browser")
        # the reader's server has no form, and refuses a posted note with the role's line
        page.goto(f"{reader_url}/neuron/{nid}")
        assert page.locator("#notes-readonly").count() == 1 and page.locator("#note-form").count() == 0
        assert "added in the browser" in page.content()
        refused = page.request.post(reader_url + "/notes", form={"target": nid, "text": "sneaky"})
        assert refused.status == 403 and "cannot write notes" in refused.text()
        browser.close()
    reader_db.close()
    ann_db.close()
    assert not errors, errors
