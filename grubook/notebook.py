"""Helpers for the chapters themselves: glue numbers into the prose, on the site and in Colab.

On the site, myst-nb's ``glue`` stores a value under a name so that the prose can show it with
``{glue:text}`name:.3f```. In Colab myst-nb is not installed; there :func:`glue` still works and
shows the value when asked to. Introduced in chapter 1, *Recurrent networks*.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, display: bool = False) -> Any:
    """Store ``value`` under ``name`` for the book's prose (myst-nb), and return it.

    Without myst-nb (Colab, a bare Jupyter) nothing is stored; the value is shown if ``display``.

    Args:
        name: the key the prose uses, as in ``{glue:text}`name```.
        value: the number, text or figure to store.
        display: also show the value in the notebook's output. Default: ``False``.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return value
    myst_glue(name, value, display=display)
    return value
