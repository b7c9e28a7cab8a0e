"""The book's own Sphinx extension, registered in ``_config.yml`` (``sphinx: local_extensions``).

- **MathJax from the site.** The pages load MathJax 3 from ``_static/mathjax/``, copied at build
  time from the PyPI package ``django-static-mathjax`` (no copy in the repository), so the site
  renders math with no network.
- **Widgets from the site.** A page whose notebook stored widget state (``make execute``) renders
  its widgets with the widget manager ``@jupyter-widgets/html-manager``, which myst-nb would load,
  with require.js, from CDNs. Here the pages load them from ``_static/widgets/``, copied at build
  time from the npm packages that ``make widgets-js`` installs (``package.json``), together with
  anywidget's front end (the explorers of ``grubook.widgets`` are anywidgets; their own code is in
  the widget state); ``widgets-loader.js`` beside this file points require.js at that copy. Pages
  without widget state load none of it, and a site without them has no ``_static/widgets/``.
- **``{grubook-status}``**: a table of every chapter notebook listed in ``_toc.yml``, with the
  run time, date, Python, torch and platform that ``make execute`` stored in
  ``metadata.grubook``.

The chapter map and the ``{grubook-chapter}`` role are in ``grubook_chapters.py``, the reference
lists' label style in ``grubook_bibstyle.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from grubook_chapters import chapter_notebooks
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Where the pages find MathJax, under ``_static``.
MATHJAX_DIR = "mathjax"
MATHJAX_ENTRY = "tex-mml-chtml.js"
#: What MathJax's CommonHTML build may load at run time: the combined file itself, its fonts, the
#: TeX extensions it autoloads (``\boldsymbol``, ``\cancel``, ...), and what its menu loads on
#: demand (accessibility, speech). The other combined builds and the SVG output are left out.
MATHJAX_PARTS = [MATHJAX_ENTRY, "input/tex/extensions", "output/chtml/fonts", "a11y", "sre", "ui"]

#: Where the pages with widgets find the widget manager, under ``_static``.
WIDGETS_DIR = "widgets"
#: ``npm ci`` installs the packages here (``make widgets-js``), beside the book's sources.
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
#: Each file copied into ``_static/widgets/``: its name there, and where npm put it.
WIDGET_FILES = {
    "require.js": "requirejs/require.js",
    "anywidget.js": "anywidget/dist/index.js",
    "embed-amd.js": "@jupyter-widgets/html-manager/dist/embed-amd.js",
}
#: The book's require.js configuration, copied to ``_static/widgets/loader.js``.
WIDGET_LOADER = Path(__file__).with_name("widgets-loader.js")
#: The manager's icon fonts (Font Awesome), which it loads beside ``embed-amd.js`` if a widget
#: shows an icon; Chromium and every current browser take the woff2 files.
WIDGET_FONTS = ("@jupyter-widgets/html-manager/dist", "*.woff2")
#: The scripts of a page with widget state, in order: require.js, the book's require.js
#: configuration, the widget manager (paths under ``_static``).
WIDGET_SCRIPTS = {
    f"{WIDGETS_DIR}/require.js": {},
    f"{WIDGETS_DIR}/loader.js": {},
    f"{WIDGETS_DIR}/embed-amd.js": {},
}


def mathjax_source() -> Path:
    """The ``es5`` folder of MathJax 3 inside the installed ``django-static-mathjax`` package."""
    import mathjax  # the import name of django-static-mathjax

    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / MATHJAX_ENTRY).is_file():
        raise FileNotFoundError(f"grubook_sphinx: no {MATHJAX_ENTRY} in {folder}")
    return folder


def on_config_inited(app: Sphinx, config: Config) -> None:
    config.mathjax_path = f"{MATHJAX_DIR}/{MATHJAX_ENTRY}"  # Sphinx puts it under _static/
    config.nb_ipywidgets_js = dict(WIDGET_SCRIPTS)


def drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Leave sphinx-thebe's scripts off the pages: the book has no thebe button
    (``launch_buttons.thebe: false``), and the loader would name a CDN (and is added twice)."""
    if "script_files" in context:
        context["script_files"] = [
            script
            for script in context["script_files"]
            if "thebe" not in str(script) and "thebe" not in str(getattr(script, "attributes", {}))
        ]


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def widget_pages(app: Sphinx) -> list[str]:
    """The documents whose notebook stored widget state (myst-nb adds the scripts to them)."""
    return sorted(
        docname
        for docname in app.env.found_docs
        if "ipywidgets_state" in NbMetadataCollector.get_js_files(app.env, docname)
    )


def copy_widget_manager(app: Sphinx, exception: Exception | None) -> None:
    """Copy require.js, anywidget and the widget manager from ``node_modules`` into the site.

    Only a site with a page that shows widgets gets them; there, a file missing from
    ``node_modules`` is an error (the page would not render its widgets).
    """
    if exception is not None or app.builder.format != "html":
        return
    pages = widget_pages(app)
    if not pages:
        return
    missing = [path for path in WIDGET_FILES.values() if not (NODE_MODULES / path).is_file()]
    if missing:
        logger.error(
            "grubook_sphinx: %s show widgets, but %s lacks %s: run `make widgets-js`",
            ", ".join(pages), NODE_MODULES, ", ".join(missing),
        )  # fmt: skip
        return
    target = Path(app.outdir) / "_static" / WIDGETS_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, path in WIDGET_FILES.items():
        shutil.copy2(NODE_MODULES / path, target / name)
    shutil.copy2(WIDGET_LOADER, target / "loader.js")
    folder, pattern = WIDGET_FONTS
    for font in (NODE_MODULES / folder).glob(pattern):
        shutil.copy2(font, target / font.name)


def read_run(path: Path) -> dict[str, Any]:
    """``metadata.grubook`` of a notebook, as ``make execute`` stored it (empty if absent)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return notebook.get("metadata", {}).get("grubook", {}) or {}


def _cell(content: nodes.Node | str) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, str):
        entry += nodes.paragraph(text=content)
    else:
        entry += nodes.paragraph("", "", content)
    return entry


class StatusDirective(SphinxDirective):
    """``{grubook-status}``: the stored run of every chapter notebook, as a table.

    Option ``:columns:`` (space-separated) picks among ``chapter seconds executed python torch
    platform cpu``; the default shows them all. A last row gives the total run time.
    """

    has_content = False
    option_spec = {"columns": directives.unchanged}
    all_columns = {
        "chapter": "Chapter",
        "seconds": "Run time (s)",
        "executed": "Executed (UTC)",
        "python": "Python",
        "torch": "torch",
        "platform": "Platform",
        "cpu": "CPU",
    }

    def run(self) -> list[nodes.Node]:
        columns = self.options.get("columns", " ".join(self.all_columns)).split()
        unknown = [c for c in columns if c not in self.all_columns]
        if unknown:
            raise self.error(f"grubook-status: unknown columns {unknown}")
        srcdir = Path(self.env.srcdir)
        self.env.note_dependency(str(srcdir / "_toc.yml"))
        notebooks = chapter_notebooks(srcdir)
        if not notebooks:
            return [nodes.paragraph(text="No chapter notebook is in the book yet.")]

        table = nodes.table(classes=["grubook-status"])
        group = nodes.tgroup(cols=len(columns))
        table += group
        group.extend(nodes.colspec(colwidth=1) for _ in columns)
        head = nodes.thead()
        row = nodes.row()
        row.extend(_cell(self.all_columns[c]) for c in columns)
        head += row
        group += head
        body = nodes.tbody()
        group += body
        total = 0.0
        for docname, path in notebooks:
            self.env.note_dependency(str(path))
            run = read_run(path)
            seconds = run.get("execution_seconds")
            total += seconds or 0.0
            row = nodes.row()
            for column in columns:
                if column == "chapter":
                    ref = addnodes.pending_xref(
                        "", refdomain="std", reftype="doc", reftarget="/" + docname,
                        refexplicit=False, refdoc=self.env.docname, refwarn=True,
                    )  # fmt: skip
                    ref += nodes.inline(text=docname)
                    row += _cell(ref)
                elif column == "seconds":
                    row += _cell("—" if seconds is None else f"{seconds:.1f}")
                elif column == "executed":
                    row += _cell(str(run.get("executed_at", "—")).replace("T", " ")[:16])
                else:
                    row += _cell(str(run.get(column, "—")))
            body += row
        if "seconds" in columns:
            row = nodes.row()
            for column in columns:
                text = {"chapter": "All chapters", "seconds": f"{total:.1f}"}.get(column, "")
                row += _cell(text)
            body += row
        return [table]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", on_config_inited)
    app.connect("build-finished", copy_mathjax)
    app.connect("build-finished", copy_widget_manager)
    app.connect("html-page-context", drop_thebe, priority=900)
    app.add_directive("grubook-status", StatusDirective)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
