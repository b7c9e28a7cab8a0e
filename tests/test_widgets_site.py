"""The explorers of ``grubook.widgets`` live on a static page, without a kernel (make test-site).

``tests/fixtures/widgets.ipynb`` (both explorers) is executed here with its widget state stored,
as ``make execute`` stores it, and built into a book of that one page in a temporary folder with
the book's own ``_config.yml``, ``_ext`` and ``_static`` (strict, as ``make book``); the widget
manager comes from ``node_modules`` (``make widgets-js``). The page is served on 127.0.0.1 and
opened in Chromium, at desktop width and on a phone. Each explorer must render from the stored
state, move when a slider moves (an ``input`` event, as a reader's drag sends) and show what
``grubook.widgets`` computes in Python for the new values; no request may leave 127.0.0.1, the
console must stay free of errors, and the page must not scroll sideways. Screenshots:
``_build/screenshots/widgets.png`` and ``widgets-phone.png``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import math
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest
import yaml
from nbclient import NotebookClient
from test_site import (  # noqa: F401 (browser: the fixture)
    DESKTOP,
    PHONE,
    QuietHandler,
    Visit,
    browser,
    check_common,
    check_layout,
    check_widget_manager,
)

from grubook.widgets import gate_explorer, memory_explorer

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "widgets.ipynb"
# The manager renders after the page's load event; this many ms at most.
RENDER_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """``_build/html`` of a book whose only page is the executed fixture."""
    if not (ROOT / "node_modules").is_dir():
        pytest.fail(f"no {ROOT / 'node_modules'}: run make widgets-js first")
    folder = tmp_path_factory.mktemp("widget-book")
    notebook = nbformat.read(FIXTURE, as_version=4)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=True,
    ).execute()
    nbformat.write(notebook, folder / "widgets.ipynb")
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(model["model_name"] == "AnyModel" for model in state.values()), "no widget state"

    for name in ("_ext", "_static"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy2(ROOT / "references.bib", folder)
    (folder / "node_modules").symlink_to(ROOT / "node_modules")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    (folder / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (folder / "_toc.yml").write_text("format: jb-book\nroot: widgets\n", encoding="utf-8")
    build = subprocess.run(
        [Path(sys.executable).parent / "jupyter-book", "build", folder, "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, f"the fixture book fails to build:\n{build.stdout}{build.stderr}"
    return folder / "_build" / "html"


@contextlib.contextmanager
def serve(directory: Path):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def number(text: str) -> float:
    """A number as the widgets show it (a true minus sign)."""
    return float(text.replace("\u2212", "-"))


class Explorer:
    """One rendered explorer on the page: its sliders and its outputs."""

    def __init__(self, visit: Visit, index: int):
        self.visit = visit
        self.root = visit.page.locator(".grubook-widget").nth(index)

    def output(self, name: str) -> float:
        return number(self.root.locator(f"[data-output={name}]").inner_text())

    def slide(self, name: str, value: float) -> None:
        """Set a slider as a reader's drag does: its value, then an ``input`` event."""
        self.root.locator(f"input[type=range][data-name={name}]").evaluate(
            "(input, value) => { input.value = value;"
            " input.dispatchEvent(new Event('input', {bubbles: true})); }",
            str(value),
        )


@contextlib.contextmanager
def open_page(browser, book: Path, device: dict, screenshot: str):  # noqa: F811
    """The page, rendered; afterwards a screenshot, and no console error or foreign request."""
    with serve(book) as url:
        visit = Visit(browser, f"{url}/widgets.html", device=device)
        try:
            check_widget_manager(visit, "widgets")  # as test_site.py checks the chapters
            visit.page.wait_for_function(
                "() => document.querySelectorAll('.grubook-widget svg').length >= 3",
                timeout=RENDER_TIMEOUT_MS,
            )
            yield visit
            (ROOT / "_build" / "screenshots").mkdir(parents=True, exist_ok=True)
            visit.page.screenshot(path=str(ROOT / "_build" / "screenshots" / screenshot),
                                  full_page=True, scale="css")  # fmt: skip
            assert not visit.errors, "console errors:\n" + "\n".join(visit.errors)
            foreign = visit.foreign_requests()
            assert not foreign, "requests that leave the site:\n" + "\n".join(foreign)
        finally:
            visit.close()


def test_explorers_are_live_on_the_static_page(book, browser):  # noqa: F811
    with open_page(browser, book, DESKTOP, "widgets.png") as visit:
        check_common(visit, "widgets")
        text = visit.page.locator("article.bd-article").inner_text()
        assert "GateExplorer(" not in text and "MemoryExplorer(" not in text, "a widget as text"
        requested = [url.rsplit("/", 1)[-1] for url in visit.requests]
        assert {"require.js", "anywidget.js", "embed-amd.js"} <= set(requested), requested

        gate, memory = Explorer(visit, 0), Explorer(visit, 1)
        stored = gate_explorer()
        assert gate.output("h_next") == pytest.approx(stored.h_next, abs=5e-4)
        for name, value in (("z", 0.9), ("r", 0.0), ("h", -0.6), ("a", 1.2)):
            before = gate.output("h_next")
            gate.slide(name, value)
            setattr(stored, name, value)
            assert gate.output("h_next") != before, f"h' did not move with {name}"
            assert gate.output("h_next") == pytest.approx(stored.h_next, abs=5e-4), name
            assert gate.output("n") == pytest.approx(stored.n, abs=5e-4), name

        reference = memory_explorer()
        for name, value in (("scale", 0.5), ("scale", 3.0), ("z", 0.99)):
            memory.slide(name, value)
            setattr(reference, name, value)
            assert memory.output("retention") == pytest.approx(reference.retention[-1], abs=5e-4)
            shown = memory.output("gradient")
            assert math.log10(shown) == pytest.approx(math.log10(reference.gradient_norms[-1]),
                                                      abs=0.01), (name, value)  # fmt: skip
        assert memory.output("gradient") > 1e2, "the gradient does not explode at scale 3"


def test_explorers_fit_a_phone(book, browser):  # noqa: F811
    with open_page(browser, book, PHONE, "widgets-phone.png") as visit:
        check_common(visit, "widgets (phone)")
        Explorer(visit, 0).slide("z", 0.2)
        assert Explorer(visit, 0).output("h_next") == pytest.approx(
            gate_explorer(z=0.2).h_next, abs=5e-4
        )
