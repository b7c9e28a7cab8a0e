"""What every figure function shares: the Axes it draws on."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes


def axes_or_new(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """Return ``ax``, or the Axes of a new figure of size ``figsize`` (inches) if it is ``None``."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax
