"""Which chapters exist, said the same way on every page (a local extension in ``_config.yml``).

A chapter exists when its notebook ``chapters/NN_*.ipynb`` is listed in ``_toc.yml``; the pages
name the others as *coming*, and these two markups keep that true as chapters are added:

- **``{grubook-chapters}``**: the chapter map of the landing page. Each content line is
  ``N | title | what the chapter does``; an existing chapter's title links to it, the others are
  followed by *(coming)*.
- **``{grubook-chapter}`N```** or ``{grubook-chapter}`text <N>```: "chapter N" (or the text, in
  which ``*title*`` is set in italics), linked to chapter N if it exists, else followed by
  *(coming)*.
- **Docstrings**: "chapter N, *Title*" in a docstring (as in "Introduced in chapter 2, *The GRU
  cell*") becomes that role on the API page, so it links to the chapter, or says it is coming.

Both mark a chapter still to come with the classes ``grubook-coming grubook-chapter-N``, which
``tests/test_site_html.py`` checks against the notebooks in ``_toc.yml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective, SphinxRole
from sphinx.util.nodes import make_refnode


def toc_files(srcdir: Path) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (and its root), in the order of the book."""
    toc = yaml.safe_load((srcdir / "_toc.yml").read_text(encoding="utf-8"))
    found: list[str] = [toc["root"]] if "root" in toc else []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            if "file" in item:
                found.append(str(item["file"]))
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk({key: value for key, value in toc.items() if key != "root"})
    return found


def chapter_notebooks(srcdir: Path) -> list[tuple[str, Path]]:
    """(docname, path) of each notebook listed in ``_toc.yml``, in the book's order."""
    result = []
    for entry in toc_files(srcdir):
        docname = entry.removesuffix(".ipynb")
        path = srcdir / f"{docname}.ipynb"
        if path.is_file():
            result.append((docname, path))
    return result


def existing_chapters(srcdir: Path) -> dict[int, str]:
    """Chapter number -> docname, for each ``chapters/NN_*.ipynb`` listed in ``_toc.yml``."""
    existing = {}
    for docname, _ in chapter_notebooks(srcdir):
        number = Path(docname).name.split("_", 1)[0]
        if number.isdigit():
            existing[int(number)] = docname
    return existing


#: "chapter N, *Title*" in a docstring (the title may wrap onto the next line).
CHAPTER_MENTION = re.compile(r"\bchapter (\d+), \*([^*]+)\*")


def text_nodes(text: str) -> list[nodes.Node]:
    """``text`` as nodes, ``*words*`` in italics."""
    parts = re.split(r"\*([^*]+)\*", text)  # even indices plain, odd ones emphasised
    return [
        nodes.emphasis(text=part) if index % 2 else nodes.Text(part)
        for index, part in enumerate(parts)
        if part
    ]


def chapter_node(env, number: int, text: str) -> nodes.inline:
    """``text`` linked to chapter ``number``, or ``text`` *(coming)* if it does not exist yet."""
    srcdir = Path(env.srcdir)
    env.note_dependency(str(srcdir / "_toc.yml"))
    docname = existing_chapters(srcdir).get(number)
    if docname is None:
        coming = [nodes.Text(" "), nodes.emphasis(text="(coming)")]
        classes = ["grubook-coming", f"grubook-chapter-{number}"]
        return nodes.inline("", "", *text_nodes(text), *coming, classes=classes)
    # Resolved by resolve_chapter_link, which keeps the italics (a `doc` reference would not).
    ref = addnodes.pending_xref(
        "", refdomain="", reftype="grubook-chapter", reftarget=docname,
        refexplicit=True, refdoc=env.docname, refwarn=True,
    )  # fmt: skip
    ref += nodes.inline("", "", *text_nodes(text))
    return nodes.inline("", "", ref, classes=[f"grubook-chapter-{number}"])


def resolve_chapter_link(app, env, node, contnode) -> nodes.reference | None:
    """missing-reference: a link from a ``grubook-chapter`` role to its chapter's page."""
    if node.get("reftype") != "grubook-chapter":
        return None
    return make_refnode(app.builder, node["refdoc"], node["reftarget"], None, contnode)


def link_chapter_mentions(app, what, name, obj, options, lines: list[str]) -> None:
    """autodoc-process-docstring: "chapter N, *Title*" -> the ``grubook-chapter`` role."""
    text = "\n".join(lines)
    linked = CHAPTER_MENTION.sub(r":grubook-chapter:`chapter \1, *\2* <\1>`", text)
    lines[:] = linked.split("\n")


class ChapterRole(SphinxRole):
    """``{grubook-chapter}`N``` or ``{grubook-chapter}`text <N>``` (see the module doc)."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        match = re.fullmatch(r"\s*(?:(.+?)\s*<(\d+)>|(\d+))\s*", self.text, flags=re.DOTALL)
        if match is None:
            message = f"grubook-chapter: expected `N` or `text <N>`, got {self.text!r}"
            return [], [self.inliner.reporter.error(message, line=self.lineno)]
        if match[2]:
            text, number = match[1], int(match[2])
        else:
            number = int(match[3])
            text = f"chapter {number}"
        return [chapter_node(self.env, number, text)], []


class ChaptersDirective(SphinxDirective):
    """``{grubook-chapters}``: the planned chapters, linked where they exist (see module doc)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        lines = ["| | Chapter | What you build or measure |", "| --- | --- | --- |"]
        for line in self.content:
            if not line.strip():
                continue
            try:
                number, title, what = (part.strip() for part in line.split("|", 2))
                number = int(number)
            except ValueError as error:
                message = f"grubook-chapters: expected 'N | title | what', got {line!r}"
                raise self.error(message) from error
            lines.append(f"| {number} | {{grubook-chapter}}`{title} <{number}>` | {what} |")
        container = nodes.container(classes=["grubook-chapters"])
        self.state.nested_parse(StringList(lines, source=self.env.docname), 0, container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("grubook-chapters", ChaptersDirective)
    app.add_role("grubook-chapter", ChapterRole())
    app.connect("autodoc-process-docstring", link_chapter_mentions)
    app.connect("missing-reference", resolve_chapter_link)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
