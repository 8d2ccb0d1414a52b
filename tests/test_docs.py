"""The documentation site as a reader gets it: every link leads somewhere, the math is typeset.

CI builds the site first (``python -m sphinx -W -b html docs docs/_build/html``, see .ci/run);
without a build these tests skip and say how to make one. The link check reads every built page
and requires each internal ``href`` and ``src`` to name a file of the site, and each ``#anchor`` an
id on that page. The browser tests serve the site over HTTP and open the walkthrough pages in
headless Chromium: MathJax (served by the site itself, no CDN) must typeset every formula and
leave no raw TeX and no error, every image must load, nothing may fail or log an error. The
pages' weight is written to ``test-artifacts/docs-pages.json``.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from helpers import ARTIFACTS, chromium

SITE = Path(__file__).resolve().parents[1] / "docs" / "_build" / "html"
BUILD = "python -m sphinx -W -b html docs docs/_build/html"


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "walkthrough.html").is_file():
        pytest.skip(
            f"the documentation site is not built ({BUILD}, after pip install -e '.[docs]')"
        )
    return SITE


class Links(HTMLParser):
    """The ids a page defines and the links it makes (``href`` and ``src``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)
            elif name in ("href", "src") and value and tag != "base":
                self.links.append(value)


@functools.cache
def parsed(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 30
    broken = []
    for page in pages:
        for link in parsed(page).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file() or SITE.resolve() not in target.parents:
                broken.append(f"{page.relative_to(site)}: {link}")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and unquote(parts.fragment) not in parsed(target).ids
            ):
                broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "\n".join(broken[:40])


def test_the_site_has_what_a_reader_looks_for(site: Path) -> None:
    """Search, the walkthrough, the API reference, and each example with its notebook."""
    assert (site / "search.html").is_file() and (site / "searchindex.js").is_file()
    api = (site / "api" / "network.html").read_text(encoding="utf-8")
    assert 'id="glassnet.Network"' in api and 'id="glassnet.load"' in api
    for name, anchor in [
        ("training", "glassnet.runs.run"),
        ("training", "glassnet.TrainConfig"),
        ("reference", "glassnet.reference.ReferenceNetwork"),
        ("sklearn", "glassnet.sklearn.NetClassifier"),
        ("datasets", "glassnet.datasets.load"),
        ("export", "glassnet.export.onnx.export_onnx"),
        ("plots", "glassnet.plots.gradient_norms_figure"),
        ("notebook", "glassnet.notebook.LivePlot"),
    ]:
        assert f'id="{anchor}"' in (site / "api" / f"{name}.html").read_text(encoding="utf-8")
    examples = sorted((site / "auto_examples").glob("plot_*.html"))
    assert len(examples) >= 6
    for page in examples:
        text = page.read_text(encoding="utf-8")
        assert re.search(r'href="[^"]*\.ipynb"', text), f"{page.name} offers no notebook"
        assert "sphx-glr-single-img" in text or "sphx-glr-multi-img" in text, page.name
    walkthrough = (site / "walkthrough.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in walkthrough and "cdn" not in walkthrough.lower()
    assert "def update_mini_batch" in re.sub(r"<[^>]+>", "", walkthrough)


# ------------------------------------------------------------------------------ in a browser
@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


# The text a reader sees, code blocks aside, and every formula typeset: raw TeX would show as
# a backslash command or a $$ left in the text.
READ_PAGE = """async () => {
    await MathJax.startup.promise;
    const body = document.querySelector("article") || document.body;
    const copy = body.cloneNode(true);
    copy.querySelectorAll("pre, code, mjx-container, script, style").forEach(e => e.remove());
    const images = [...document.images].map(i => [i.currentSrc, i.complete && i.naturalWidth > 0]);
    return {
        text: copy.innerText,
        formulas: document.querySelectorAll("mjx-container").length,
        errors: document.querySelectorAll("mjx-merror, .MathJax_Error").length,
        images: images,
    };
}"""


@pytest.mark.browser
@pytest.mark.parametrize(
    ("page_name", "least_formulas"),
    [("walkthrough", 20), ("explain", 50), ("auto_examples/plot_01_backprop_step_by_step", 5)],
)
def test_the_walkthrough_is_typeset_and_whole_in_a_browser(
    browser: Any, server: str, page_name: str, least_formulas: int
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    responses: list[Any] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: responses.append(r))
    try:
        page.goto(f"{server}/{page_name}.html", wait_until="networkidle")
        found = page.evaluate(READ_PAGE)
        page.wait_for_load_state("networkidle")
        weight = {"bytes": sum(len(r.body()) for r in responses), "requests": len(responses)}
        problems += [f"{r.url}: HTTP {r.status}" for r in responses if r.status >= 400]
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"docs-{page_name.replace('/', '-')}.png"
        page.screenshot(path=str(shot), full_page=False)
    finally:
        context.close()
    assert not problems, problems
    assert found["formulas"] >= least_formulas and found["errors"] == 0, found["formulas"]
    raw = re.findall(r"\\[A-Za-z]+|\$\$|\\\(|\\\[", found["text"])
    assert not raw, f"raw TeX on the page: {raw[:10]}"
    assert all(loaded for _, loaded in found["images"]), found["images"]
    _record(page_name, weight)


def _record(page_name: str, weight: dict[str, int]) -> None:
    """Add the page's weight (every response's body, in bytes) to test-artifacts."""
    path = ARTIFACTS / "docs-pages.json"
    try:
        pages = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pages = {}
    pages[page_name] = weight
    path.write_text(json.dumps(pages, indent=2) + "\n", encoding="utf-8")
