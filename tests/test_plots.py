"""grubook.plots: each function draws what it says on the Axes it returns."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from grubook.plots import (
    GRADIENT_NORM_LABEL,
    GRU_CELL_STAGES,
    draw_gru_cell,
    draw_unrolled_rnn,
    plot_gradient_norms,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_gradient_norms_one_line_per_model_on_log_scale():
    norms = {"RNN": np.logspace(-6, 0, 7), "GRU": torch.linspace(0.1, 1.0, 5)}
    ax = plot_gradient_norms(norms)
    lines = [line for line in ax.get_lines() if line.get_label() in norms]
    assert [line.get_label() for line in lines] == ["RNN", "GRU"]
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(1, 8))
    np.testing.assert_allclose(lines[0].get_ydata(), np.logspace(-6, 0, 7))
    np.testing.assert_array_equal(lines[1].get_xdata(), np.arange(1, 6))
    assert ax.get_yscale() == "log"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["RNN", "GRU"]


def test_gradient_norms_labels_title_and_reference_line():
    ax = plot_gradient_norms({"a": [0.5, 1.0]}, title="T", xlabel="x", ylabel="y")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("T", "x", "y")
    reference = [line for line in ax.get_lines() if line.get_label() != "a"]
    assert len(reference) == 1
    np.testing.assert_array_equal(reference[0].get_ydata(), [1.0, 1.0])


def test_gradient_norms_default_labels_name_the_quantity():
    ax = plot_gradient_norms({"a": [0.5, 1.0]})
    assert ax.get_xlabel() == "step $t$"
    assert ax.get_ylabel() == GRADIENT_NORM_LABEL and r"\partial \mathcal{L}" in ax.get_ylabel()
    assert ax.get_title() != ""
    assert plot_gradient_norms({"a": [1.0]}, title=None).get_title() == ""


def test_gradient_norms_styles_apply_per_label():
    ax = plot_gradient_norms(
        {"RNN": [0.1, 1.0], "GRU": [0.5, 1.0]}, styles={"GRU": {"linestyle": "--", "color": "red"}}
    )
    rnn, gru = ax.get_lines()[:2]
    assert (rnn.get_linestyle(), gru.get_linestyle()) == ("-", "--")
    assert gru.get_color() == "red" and gru.get_linewidth() == 1.8


def test_gradient_norms_masks_zeros_on_log_scale_only():
    ax = plot_gradient_norms({"a": [0.0, 1e-3, 1.0]})
    y = ax.get_lines()[0].get_ydata()
    assert np.isnan(y[0]) and y[1] == pytest.approx(1e-3)
    ax = plot_gradient_norms({"a": [0.0, 0.5, 1.0]}, logy=False)
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [0.0, 0.5, 1.0])


def test_gradient_norms_draws_on_the_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_gradient_norms({"a": [1.0, 2.0]}, ax=right) is right
    assert len(left.get_lines()) == 0
    assert len(plt.get_fignums()) == 1


@pytest.mark.parametrize("norms", [{}, {"a": []}, {"a": [[1.0, 2.0]]}])
def test_gradient_norms_rejects_bad_input(norms):
    with pytest.raises(ValueError, match="plot_gradient_norms"):
        plot_gradient_norms(norms)


@pytest.mark.parametrize("T", [1, 4, 7])
def test_unrolled_rnn_has_one_box_per_step(T):
    ax = draw_unrolled_rnn(T)
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == T
    assert len(arrows) == 3 * T + 1  # input and output per step, T + 1 hidden-state arrows
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("RNN") == T
    assert "$h_0$" in texts and f"$x_{T}$" in texts and f"$h_{T}$" in texts
    assert not ax.axison


def test_unrolled_rnn_title_and_given_axes():
    fig, ax = plt.subplots()
    assert draw_unrolled_rnn(2, ax=ax, title="Unrolled") is ax
    assert ax.get_title() == "Unrolled"


@pytest.mark.parametrize("T", [0, 9, 2.0, True])
def test_unrolled_rnn_rejects_bad_T(T):
    with pytest.raises(ValueError, match="draw_unrolled_rnn: T must be"):
        draw_unrolled_rnn(T)


# The texts each stage of the GRU cell diagram adds to the one before.
GRU_CELL_TEXTS = {
    "gates": {"$h_{t-1}$", "$x_t$", "$z_t$", "$r_t$", r"$\sigma$", "update", "reset"},
    "candidate": {"tanh", "candidate", "$n_t$", r"$W_{hn} h + b_{hn}$", r"$\odot$"},
    "state": {"$h_t$", "+", "$1-$", "copy path"},
}


def gru_cell_texts(stage):
    return {text.get_text() for text in draw_gru_cell(stage).texts}


def test_gru_cell_stages_add_to_each_other():
    expected = set()
    counts = []
    for stage in GRU_CELL_STAGES:
        expected |= GRU_CELL_TEXTS[stage]
        ax = draw_gru_cell(stage)
        assert {text.get_text() for text in ax.texts} == expected, stage
        counts.append((len(ax.patches), len(ax.lines), len(ax.texts)))
        assert not ax.axison
    assert counts[0] < counts[1] < counts[2]  # element-wise: every kind of element grows


def test_gru_cell_highlights_the_copy_path_only_in_the_state_stage():
    def highlighted(ax):
        return [line for line in ax.lines if line.get_linewidth() >= 3] + [
            patch for patch in ax.patches if patch.get_linewidth() >= 3
        ]

    assert not highlighted(draw_gru_cell("candidate"))
    copy_path = highlighted(draw_gru_cell("state"))
    assert len(copy_path) >= 3  # h_{t-1} -> ⊙ -> + -> h_t
    assert (
        len(
            {
                str(element.get_edgecolor())
                for element in copy_path
                if isinstance(element, FancyArrowPatch)
            }
        )
        == 1
    )


@pytest.mark.parametrize("stage", GRU_CELL_STAGES)
def test_gru_cell_texts_do_not_overlap_and_fit_the_figure(stage):
    ax = draw_gru_cell(stage)
    figure = ax.figure
    width, height = figure.get_size_inches()
    assert 1.2 <= width / height <= 1.45  # about 4:3, so it is large on a phone
    renderer = figure.canvas.get_renderer()
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in ax.texts]
    for i, (name_a, a) in enumerate(boxes):
        assert figure.bbox.contains(a.x0, a.y0) and figure.bbox.contains(a.x1, a.y1), name_a
        for name_b, b in boxes[i + 1 :]:
            assert not a.overlaps(b), f"{stage}: {name_a!r} overlaps {name_b!r}"


def test_gru_cell_draws_on_the_given_axes_without_showing(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: pytest.fail("plt.show called"))
    fig, ax = plt.subplots()
    assert draw_gru_cell("gates", ax=ax, title="Gates") is ax
    assert ax.get_title() == "Gates" and len(plt.get_fignums()) == 1


@pytest.mark.parametrize("stage", ["reset", "", None, "State"])
def test_gru_cell_rejects_an_unknown_stage(stage):
    with pytest.raises(ValueError, match=r"'gates', 'candidate', 'state'"):
        draw_gru_cell(stage)
