"""The built site in a headless browser (``make test-site``, after ``make book``).

Serves ``_build/html`` on 127.0.0.1 and opens the landing page, every chapter and the appendix in
Debian's Chromium through playwright, at desktop width (1280 px) and at a phone's (390 px, touch,
device scale 3). Each page must load without console errors and without any request leaving
127.0.0.1 (the site works offline), render its math with MathJax, show the figures and no
tracebacks the notebook does not mean to show, and link to the notebook in Colab; only a page with
widget state loads the widget manager (the widgets themselves: ``test_widgets_site.py``).

At both widths no page scrolls sideways: nothing is wider than the screen except inside a box
that scrolls by itself (code, tables, a displayed equation). Displayed equations fit the text
column at desktop width; on a phone at most one in ten of a page's may scroll inside its box
(``PHONE_OVERFLOW_SHARE``), and the failure names each one with its width. Full-page screenshots go
to ``_build/screenshots/`` (``NAME.png``, ``NAME-phone.png``). The checks of the HTML that need no
browser (API page, figure captions, chapter map) are in ``test_site_html.py``.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COLAB = "https://colab.research.google.com/github/grubook/grubook/blob/main/chapters/{}"
APPENDIX = ["notation", "api", "references", "status", "instructors"]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
# MathJax needs a moment after "load" to typeset; this many ms at most.
MATH_TIMEOUT_MS = 20_000
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
# An iPhone 14's screen in CSS pixels; is_mobile makes Chromium lay the page out as a phone does
# (the meta viewport applies, and a page wider than the screen zooms out instead of fitting).
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
# On a phone, at most this share of a page's displayed equations may scroll inside their box
# (rounded down: a page with fewer than 10 equations must fit them all). Break long ones with
# `aligned`.
PHONE_OVERFLOW_SHARE = 0.1
# Every page of the book: (name, path under _build/html).
PAGES = [
    ("intro", "intro.html"),
    *((path.stem, f"chapters/{path.stem}.html") for path in CHAPTERS),
    *((name, f"chapters/{name}.html") for name in APPENDIX),
]


# The article's text without code blocks, inline code and typeset math.
PROSE_TEXT = """() => {
  const article = document.querySelector("article.bd-article").cloneNode(true);
  article.querySelectorAll("pre, code, mjx-container, script, style").forEach(e => e.remove());
  return article.textContent;
}"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site():
    """Base URL of ``_build/html`` served on a free port of 127.0.0.1."""
    if not (HTML / "intro.html").is_file():
        pytest.fail(f"no built site in {HTML}: run make book first")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page opened in a fresh browser context (``device``: DESKTOP or PHONE), with what it
    logged and requested."""

    def __init__(self, browser, url: str, screenshot: str | None = None, device: dict = DESKTOP):
        self.context = browser.new_context(**device)
        self.width = device["viewport"]["width"]
        self.phone = device.get("is_mobile", False)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "requestfailed",
            lambda request: self.errors.append(f"request failed: {request.url}"),
        )
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
        self.page.wait_for_load_state("networkidle")
        self.wait_for_math()
        if screenshot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            # One image pixel per CSS pixel: a phone's device scale would make them 9 times larger.
            self.page.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True, scale="css")

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def wait_for_math(self) -> None:
        """Wait until MathJax has typeset the page (if the page has math)."""
        if self.page.locator(".math, .math-wrapper, span.math, div.math").count() == 0:
            return
        self.page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
            " && document.querySelectorAll('mjx-container').length > 0",
            timeout=MATH_TIMEOUT_MS,
        )
        self.page.evaluate("() => MathJax.startup.promise")

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob", "about")
            and urlsplit(url).hostname != "127.0.0.1"
        ]

    def close(self) -> None:
        self.context.close()


# Elements wider than the screen, outside any box that scrolls (or clips) by itself and fits: each
# reported once, at the outermost offending element, with where it is on the page.
TOO_WIDE = """(width) => {
  const fits = e => {
    const r = e.getBoundingClientRect();
    return r.left >= -0.5 && r.right <= width + 0.5;
  };
  const scrollsItself = e =>
    ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(e).overflowX);
  const offends = e => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || fits(e)) return false;
    if (!e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (scrollsItself(p) && fits(p)) return false;
      // a drawer (the navigation on a phone) waits off the screen until opened
      const offScreen = r.right <= 0 || r.left >= width;
      if (offScreen && getComputedStyle(p).position === "fixed") return false;
    }
    return true;
  };
  const found = [...document.body.querySelectorAll("*")].filter(offends);
  const reported = new Set(found);
  return found.filter(e => !reported.has(e.parentElement)).map(e => {
    const r = e.getBoundingClientRect();
    const where = (e.closest("[id]") || {}).id || "?";
    const what = e.tagName.toLowerCase() + [...e.classList].map(c => "." + c).join("");
    const text = e.textContent.trim().replace(/\\s+/g, " ").slice(0, 50);
    const span = `${Math.round(r.left)}..${Math.round(r.right)}`;
    return `${what} in #${where} spans x = ${span} px: ${text}`;
  });
}"""

# Each displayed equation: where it is (its label, or the API object it documents), its number,
# the width it needs and the width of its box.
EQUATIONS = """() => [...document.querySelectorAll('mjx-container[display="true"]')].map(e => {
  const box = e.closest("div.math");
  const number = box && box.querySelector("span.eqno");
  const owner = e.closest("dl.py");
  const where = (box && box.id.replace(/^equation-/, ""))
    || (owner && owner.querySelector(":scope > dt").id)
    || (e.closest("[id]") || {}).id || "?";
  return {where, number: number ? number.textContent.replace("#", "").trim() : "",
          needs: e.scrollWidth, box: e.clientWidth};
})"""


# Inline math wider than its box: the theme clips it (overflow: hidden), so part of it is lost.
INLINE_MATH_CUT = """() => [...document.querySelectorAll("span.math")].map(e => {
  const math = e.querySelector("mjx-container > mjx-math");
  if (!math) return null;
  const cut = math.getBoundingClientRect().right - e.getBoundingClientRect().right;
  const owner = e.closest("dl.py");
  const where = (owner && owner.querySelector(":scope > dt").id)
    || (e.closest("[id]") || {}).id || "?";
  const text = e.textContent.trim().slice(0, 60);
  return cut > 2 ? `#${where}: ${text} (${Math.round(cut)} px cut off)` : null;
}).filter(Boolean)"""


def check_common(visit: Visit, name: str) -> None:
    assert not visit.errors, f"{name}: console errors:\n" + "\n".join(visit.errors)
    foreign = visit.foreign_requests()
    assert not foreign, f"{name}: requests that leave the site:\n" + "\n".join(foreign)
    check_math(visit, name)
    check_widget_manager(visit, name)
    # What a reader cannot see whole, all of it in one report.
    problems = check_layout(visit) + check_inline_math(visit) + check_equation_widths(visit)
    assert not problems, f"{name} at {visit.width} px:\n" + "\n".join(problems)


# Each widget view the page holds, rendered by the manager (into a div just before its script).
WIDGETS_RENDERED = """() => [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')].every(view => {
  const area = view.previousElementSibling;
  return area && area.classList.contains("widget-subarea") && area.childElementCount > 0;
})"""


def check_widget_manager(visit: Visit, name: str) -> None:
    """Only a page with widget state loads the widget manager (from ``_static/widgets/``), and
    there every widget renders."""
    state = visit.page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count()
    loaded = [url for url in visit.requests if "/_static/widgets/" in url]
    assert state or not loaded, f"{name} has no widgets but loads {loaded}"
    if state:
        visit.page.wait_for_function(WIDGETS_RENDERED, timeout=MATH_TIMEOUT_MS)


def check_math(visit: Visit, name: str) -> None:
    page = visit.page
    math_nodes = page.locator("span.math, div.math").count()
    if math_nodes:
        rendered = page.locator("mjx-container").count()
        assert rendered >= math_nodes, f"{name}: {math_nodes} math nodes, {rendered} typeset"
        errors = page.locator("mjx-merror").all_inner_texts()
        assert not errors, f"{name}: MathJax errors: {errors}"
    # Raw TeX left in the prose (code excluded) means the math was never typeset.
    text = page.evaluate(PROSE_TEXT)
    for marker in ("\\(", "\\[", "$$"):
        assert marker not in text, f"{name}: raw TeX {marker!r} left in the page text"


def check_layout(visit: Visit) -> list[str]:
    """The page does not scroll sideways, and nothing sticks out of the screen."""
    width = visit.width
    # A phone zooms out (innerWidth grows) rather than scroll when the page is too wide.
    inner, scroll = visit.page.evaluate(
        "() => [window.innerWidth, document.documentElement.scrollWidth]"
    )
    too_wide = visit.page.evaluate(TOO_WIDE, width)
    if inner == width and scroll <= width + 1 and not too_wide:
        return []
    return [
        f"the page scrolls sideways (layout width {inner}, content width {scroll});"
        " wider than the screen:",
        *(f"  {element}" for element in too_wide),
    ]


def check_inline_math(visit: Visit) -> list[str]:
    """No inline math is wider than its line (the theme would cut it off)."""
    cut = visit.page.evaluate(INLINE_MATH_CUT)
    if not cut:
        return []
    return [
        "inline math longer than the line is cut off; make it a displayed equation"
        " (split with `aligned`) or shorter:",
        *(f"  {math}" for math in cut),
    ]


def check_equation_widths(visit: Visit) -> list[str]:
    """Displayed equations fit their column: all at desktop width, all but one in ten on a phone."""
    equations = visit.page.evaluate(EQUATIONS)
    overflowing = [e for e in equations if e["needs"] > e["box"] + 1]
    allowed = int(len(equations) * PHONE_OVERFLOW_SHARE) if visit.phone else 0
    if len(overflowing) <= allowed:
        return []
    return [
        f"{len(overflowing)} of {len(equations)} displayed equations scroll inside their box"
        f" (at most {allowed} may); break them with `aligned`:",
        *(
            f"  {e['where']} {e['number']}".rstrip()
            + f": needs {e['needs']} px, its box is {e['box']} px"
            for e in overflowing
        ),
    ]


def notebook_facts(path: Path) -> dict[str, int]:
    """What the stored notebook shows: image outputs, and errors it means to raise."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    images = expected_errors = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        hidden = "remove-output" in tags or "remove-cell" in tags
        for output in cell.get("outputs", []):
            if output["output_type"] in ("display_data", "execute_result") and not hidden:
                images += int("image/png" in output.get("data", {}))
            if output["output_type"] == "error" and "raises-exception" in tags:
                expected_errors += 1
    return {"images": images, "expected_errors": expected_errors}


def test_landing_page(site, browser):
    visit = Visit(browser, f"{site}/intro.html", screenshot="intro.png")
    try:
        check_common(visit, "intro")
        # The root redirects to the landing page.
        assert visit.page.locator("h1").first.inner_text().startswith("grubook")
    finally:
        visit.close()


def test_root_redirects_to_landing_page(site, browser):
    visit = Visit(browser, f"{site}/index.html")
    try:
        visit.page.wait_for_url("**/intro.html")
    finally:
        visit.close()


def test_book_has_chapters():
    assert CHAPTERS, "no chapter notebooks in chapters/"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_page(site, browser, notebook):
    page_path = HTML / "chapters" / f"{notebook.stem}.html"
    assert page_path.is_file(), f"{notebook.name} has no page {page_path}: is it in _toc.yml?"
    visit = Visit(browser, f"{site}/chapters/{notebook.stem}.html", f"{notebook.stem}.png")
    try:
        check_common(visit, notebook.name)
        page = visit.page
        facts = notebook_facts(notebook)

        images = page.locator(".cell_output img").count()
        assert images >= facts["images"], (
            f"{notebook.name}: {facts['images']} stored figures, {images} on the page"
        )

        tracebacks = page.locator(".output.traceback").count()
        assert tracebacks == facts["expected_errors"], (
            f"{notebook.name}: {tracebacks} tracebacks on the page, "
            f"{facts['expected_errors']} from cells tagged raises-exception"
        )
        text = page.locator("article.bd-article").inner_text()
        shown = text.count("Traceback (most recent call last)")
        assert shown <= facts["expected_errors"], f"{notebook.name}: unexpected traceback text"

        hrefs = page.eval_on_selector_all("a[href*='colab']", "links => links.map(a => a.href)")
        assert hrefs == [COLAB.format(notebook.name)], f"{notebook.name}: Colab links {hrefs}"
    finally:
        visit.close()


@pytest.mark.parametrize("name", APPENDIX)
def test_appendix_page(site, browser, name):
    visit = Visit(browser, f"{site}/chapters/{name}.html", f"{name}.png")
    try:
        check_common(visit, name)
    finally:
        visit.close()


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _ in PAGES])
def test_page_on_a_phone(site, browser, name, path):
    """Every page at 390 px: loads cleanly, does not scroll sideways, its equations fit."""
    visit = Visit(browser, f"{site}/{path}", f"{name}-phone.png", device=PHONE)
    try:
        check_common(visit, f"{name} (phone)")
    finally:
        visit.close()


def test_status_page_lists_every_chapter(site, browser):
    visit = Visit(browser, f"{site}/chapters/status.html")
    try:
        table = visit.page.locator("table.grubook-status").first.inner_text()
        for notebook in CHAPTERS:
            title = notebook_title(notebook)
            assert title in table, f"status table lacks {notebook.name} ({title!r})"
    finally:
        visit.close()


def notebook_title(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    source = "".join(notebook["cells"][0]["source"])
    return next(line[2:].strip() for line in source.splitlines() if line.startswith("# "))
