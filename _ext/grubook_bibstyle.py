"""Author–year labels in the book's reference lists, to match its author–year citations.

The text cites as ``[Elman, 1990]`` or ``Cho et al. [2014]`` (``bibtex_reference_style:
author_year``); pybtex's default list style labels the same works ``[Elm90]`` and ``[CvMG+14]``.
This extension registers the pybtex formatting style ``grubook`` (``bibtex_default_style`` in
``_config.yml``): entries sorted by author, year and title, each labelled as the text cites it —
``[Elman, 1990]``, ``[Hochreiter and Schmidhuber, 1997]``, ``[Bengio et al., 1994]`` — with
``a``, ``b``, ... after the year when two works would share a label.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from pybtex.database import Entry, Person
from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx


def last_name(person: Person) -> str:
    r"""The surname as it is printed: "van Merriënboer" from ``{van Merri{\\"e}nboer}``."""
    latex = " ".join(person.prelast_names + person.last_names)
    return Text.from_latex(latex).render_as("text")


def author_label(entry: Entry) -> str:
    """ "Elman", "Hochreiter and Schmidhuber" or "Bengio et al." (authors, else editors)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [last_name(person) for person in persons]
    if not names:
        return entry.fields.get("key", entry.key)
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Author, year", made unique by a letter after the year."""

    def format_labels(self, sorted_entries: Iterable[Entry]) -> Iterator[str]:
        labels = [self.format_label(entry) for entry in sorted_entries]
        total = Counter(labels)
        seen: Counter[str] = Counter()
        for label in labels:
            if total[label] > 1:
                yield label + string.ascii_lowercase[seen[label]]
                seen[label] += 1
            else:
                yield label

    def format_label(self, entry: Entry) -> str:
        year = entry.fields.get("year", "n.d.")
        return f"{author_label(entry)}, {year}"


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` style (sorted by author, year, title) with author–year labels."""

    default_label_style = "grubook-author-year"


register_plugin("pybtex.style.labels", "grubook-author-year", AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", "grubook", AuthorYearStyle)


def setup(app: Sphinx) -> dict[str, Any]:
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
