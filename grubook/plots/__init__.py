"""The book's figures: each function draws on a Matplotlib ``Axes`` and returns it.

Every function takes an optional ``ax`` (a new figure is made without one), draws with Matplotlib
only, prints nothing and returns the ``Axes``, so a chapter can add to the figure and a test can
inspect what was drawn. The module ``curves`` plots measurements, ``diagrams`` draws the
networks, ``gates`` reads a trained model's gates (chapter 4, *Gating*), ``words`` a word
classifier (chapter 6), ``speakers`` a classifier's errors
(chapter 7, *Case study: who is speaking?*); every name is
imported from here, as ``grubook.plots.NAME``.

Introduced in chapter 1, *Recurrent networks*.
"""

from grubook.plots.curves import (
    GRADIENT_NORM_LABEL,
    plot_gradient_norms,
    plot_history,
    plot_learning_curves,
)
from grubook.plots.diagrams import GRU_CELL_STAGES, draw_gru_cell, draw_unrolled_rnn
from grubook.plots.gates import plot_connectivity, plot_gate_heatmap, plot_saturation
from grubook.plots.speakers import (
    plot_accuracy_by_length,
    plot_projection,
    plot_speaker_confusion,
)
from grubook.plots.words import plot_confusion, plot_prefix_beliefs, plot_word_gates

__all__ = [
    "GRADIENT_NORM_LABEL",
    "GRU_CELL_STAGES",
    "draw_gru_cell",
    "draw_unrolled_rnn",
    "plot_connectivity",
    "plot_gate_heatmap",
    "plot_gradient_norms",
    "plot_history",
    "plot_learning_curves",
    "plot_saturation",
    "plot_confusion",
    "plot_prefix_beliefs",
    "plot_word_gates",
    "plot_accuracy_by_length",
    "plot_projection",
    "plot_speaker_confusion",
]
