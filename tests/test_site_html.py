"""The built pages read as HTML, without a browser (``make test-site``, after ``make book``).

- **API page**: every parameter of every documented class, function and method has a description
  of its own (napoleon garbles ``a, b: ...`` lines, and ``autodoc_typehints: description`` lists
  an undocumented parameter with its type only); no "Alias for field number" placeholders; no
  doubled backslashes outside the math.
- **Figures**: each figure of a chapter has a numbered caption and alt text that says what it
  shows (myst-nb's cell metadata ``mystnb.figure`` and ``mystnb.image.alt``; CONTRIBUTING.md).
- **References**: the lists label each work as the text cites it, author-year.
- **Chapters still to come**: the landing page's chapter map links exactly the chapters whose
  notebook is in the book and marks the others *(coming)*; no page says *(coming)* of a chapter
  that exists, or by hand; "chapter N, *Title*" in a docstring links to chapter N under its title.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
EXISTING = {int(path.name[:2]): path for path in CHAPTERS}
PAGES = [HTML / "intro.html", *sorted((HTML / "chapters").glob("*.html"))]
IMAGE_FILE = re.compile(r"(_images/|\.(png|jpe?g|svg|gif)$)", re.IGNORECASE)
# "[Elman, 1990]", "[Hochreiter and Schmidhuber, 1997]", "[Cho et al., 2014b]"
AUTHOR_YEAR = re.compile(r"\[[^\[\],]+(?: and [^\[\],]+| et al\.)?, (\d{4}|n\.d\.)[a-z]?\]")


def read(path: Path) -> BeautifulSoup:
    if not path.is_file():
        pytest.fail(f"no {path}: run make book first")
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def article(path: Path) -> Tag:
    return read(path).select_one("article.bd-article")


def notebook_title(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    source = "".join(notebook["cells"][0]["source"])
    return next(line[2:].strip() for line in source.splitlines() if line.startswith("# "))


# --- the API page ---------------------------------------------------------------------------


def signature_parameters(signature: Tag) -> list[str]:
    """The parameter names of a ``dt.sig``, without ``self``, ``*``, ``/``, ``*args``, ``**kw``."""
    names = []
    for parameter in signature.select("em.sig-param"):
        name = re.split(r"[=:]", parameter.get_text("", strip=True), maxsplit=1)[0].strip()
        if name not in ("self", "*", "/") and not name.startswith("*"):
            names.append(name)
    return names


def parameter_descriptions(body: Tag) -> dict[str, str]:
    """Name -> description of the "Parameters" field of an object's own ``dd``."""
    found: dict[str, str] = {}
    for fields in body.find_all("dl", class_="field-list", recursive=False):
        for name_cell in fields.find_all("dt", recursive=False):
            if not name_cell.get_text(strip=True).startswith("Parameters"):
                continue
            value = name_cell.find_next_sibling("dd")
            entries = value.select(":scope > ul > li") or value.select(":scope > p")
            for entry in entries:
                strong = entry.find("strong")
                if strong is None:
                    continue
                _, _, description = " ".join(entry.get_text("").split()).partition("–")
                found[strong.get_text(strip=True)] = description.strip()
    return found


def member_description(body: Tag, owner: str, name: str) -> str:
    """The description of attribute ``owner.name`` documented inside ``body`` (a NamedTuple's
    fields), or ``""``."""
    signature = body.find("dt", id=f"{owner}.{name}")
    if signature is None:
        return ""
    return signature.find_next_sibling("dd").get_text(" ", strip=True)


def api_problems(page: BeautifulSoup) -> list[str]:
    problems = []
    for entry in page.select("dl.py.class, dl.py.function, dl.py.method"):
        signature = entry.find("dt", recursive=False)
        body = entry.find("dd", recursive=False)
        owner = signature.get("id", "?")
        parameters = signature_parameters(signature)
        described = parameter_descriptions(body)
        for name in parameters:
            description = described.get(name) or member_description(body, owner, name)
            others = [other for other in parameters if other != name]
            if not description:
                problems.append(f"{owner}: parameter {name!r} has no description")
            elif any(re.search(rf"\b{re.escape(other)}:", description) for other in others):
                problems.append(f"{owner}: {name!r} is described as {description!r}")
    return problems


def test_api_page_describes_every_parameter():
    problems = api_problems(read(HTML / "chapters" / "api.html"))
    assert not problems, (
        "the API page leaves parameters undocumented or garbled (write one argument per line"
        " under Args:, each with its description):\n" + "\n".join(problems)
    )


def test_api_page_has_no_placeholders():
    text = article(HTML / "chapters" / "api.html")
    placeholders = [
        f"{(line.find_parent('dd').find_previous_sibling('dt') or {}).get('id', '?')}: {line}"
        for line in text.find_all(string=re.compile("Alias for field number"))
    ]
    assert not placeholders, (
        "autodoc's placeholders for undocumented NamedTuple fields (give each field a"
        " docstring, or document the fields in the class docstring):\n" + "\n".join(placeholders)
    )


def test_api_page_has_no_doubled_backslashes():
    text = article(HTML / "chapters" / "api.html")
    for node in text.select("div.math, span.math, pre, script"):
        node.decompose()  # TeX source may hold \\ (a line break); code may too
    doubled = {
        (line.find_parent(id=True) or {}).get("id", "?"): line.strip()[:60]
        for line in text.find_all(string=re.compile(r"\\\\"))
    }
    listing = "\n".join(f"{where}: ...{line}" for where, line in doubled.items())
    assert not doubled, f"doubled backslashes on the API page (a raw string's repr?):\n{listing}"


# --- figures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_chapter_figures_have_numbered_captions_and_alt_text(notebook):
    page = article(HTML / "chapters" / f"{notebook.stem}.html")
    problems = []
    for index, image in enumerate(page.select("div.cell_output img"), start=1):
        section = (image.find_parent("section") or {}).get("id", "?")
        figure = image.find_parent("figure")
        number = figure and figure.select_one("figcaption .caption-number")
        text = figure and figure.select_one("figcaption .caption-text")
        if not (number and text and text.get_text(strip=True)):
            problems.append(f"image {index} (in #{section}): no numbered caption")
        alt = image.get("alt", "").strip()
        if not alt or IMAGE_FILE.search(alt):
            problems.append(f"image {index} (in #{section}): alt text {alt[:40]!r}")
    assert not problems, (
        f"{notebook.name}: give each figure cell the metadata "
        '{"mystnb": {"figure": {"caption": ..., "name": "fig-..."}, "image": {"alt": ...}}}:\n'
        + "\n".join(problems)
    )


# --- chapters still to come ------------------------------------------------------------------


def test_chapter_map_links_existing_chapters_and_marks_the_others_coming():
    table = next(
        table
        for table in article(HTML / "intro.html").select("table")
        if "What you build or measure" in table.get_text()
    )
    numbers = []
    for row in table.select("tbody tr"):
        number_cell, chapter_cell = row.find_all("td")[:2]
        number = int(number_cell.get_text(strip=True))
        numbers.append(number)
        linked = chapter_cell.find("a") is not None
        coming = chapter_cell.select_one(".grubook-coming") is not None
        assert (linked, coming) == (number in EXISTING, number not in EXISTING), (
            f"chapter map, chapter {number}: linked={linked}, marked coming={coming}, "
            f"notebook {'exists' if number in EXISTING else 'missing'}"
        )
    assert numbers == sorted(numbers) and set(EXISTING) <= set(numbers), numbers


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.stem)
def test_only_missing_chapters_are_coming(path):
    page = article(path)
    for marker in page.select(".grubook-coming"):
        number = int(re.search(r"grubook-chapter-(\d+)", " ".join(marker["class"]))[1])
        assert number not in EXISTING, f"{path.name}: chapter {number} exists but says coming"
    for marker in page.select(".grubook-coming"):
        marker.decompose()
    assert "(coming)" not in page.get_text(), (
        f"{path.name}: '(coming)' typed by hand; use {{grubook-chapter}}`N` (it knows which exist)"
    )


def test_docstring_chapter_mentions_link_to_the_chapter_under_its_title():
    page = article(HTML / "chapters" / "api.html")
    mentions = page.select("[class*='grubook-chapter-']")
    assert mentions, "no 'Introduced in chapter N, *Title*' on the API page"
    for mention in mentions:
        number = int(re.search(r"grubook-chapter-(\d+)", " ".join(mention["class"]))[1])
        if number not in EXISTING:
            continue
        link, title = mention.find("a"), mention.find("em")
        assert link and link["href"].startswith(f"{EXISTING[number].stem}.html"), str(mention)
        expected = notebook_title(EXISTING[number])
        assert title and title.get_text(strip=True) == expected, (
            f"API page: {mention.get_text()!r} names chapter {number}, whose title is {expected!r}"
        )
    for mention in mentions:
        mention.decompose()
    stray = re.findall(r"[Ii]ntroduced in chapter \d+[^.;]*", page.get_text())
    assert not stray, f"chapter mentions not in the form 'chapter N, *Title*': {stray}"


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.stem)
def test_reference_lists_are_labelled_as_the_text_cites(path):
    """Lists use the in-text author-year form ("[Elman, 1990]"), not pybtex's "[Elm90]"."""
    labels = [label.get_text(strip=True) for label in article(path).select("div.citation .label")]
    wrong = [label for label in labels if not AUTHOR_YEAR.fullmatch(label)]
    assert not wrong, f"{path.name}: reference labels not author-year: {wrong}"
