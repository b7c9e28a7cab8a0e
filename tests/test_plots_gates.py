"""grubook.plots.gates: the gate heatmap, the saturation scatter and the connectivity map."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.image import AxesImage

from grubook.diagnostics import Saturation
from grubook.plots import plot_connectivity, plot_gate_heatmap, plot_saturation


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_gate_heatmap_draws_units_by_steps_with_marks_and_inputs():
    gate = torch.rand(12, 4)  # (T, H)
    inputs = np.linspace(0, 1, 12)
    ax = plot_gate_heatmap(gate, inputs=inputs, marks=[3, 9], name="r")
    (image,) = ax.get_images()
    np.testing.assert_allclose(image.get_array(), gate.numpy().T)  # units down, steps across
    assert image.get_extent() == [0.5, 12.5, -0.5, 3.5]
    assert image.get_clim() == (0.0, 1.0)
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in dashed] == [3, 9]
    (strip,) = ax.child_axes
    bars = strip.patches
    assert len(bars) == 12
    np.testing.assert_allclose([b.get_height() for b in bars], inputs)
    red = [i + 1 for i, b in enumerate(bars) if b.get_facecolor()[:3] == (1.0, 0.0, 0.0)]
    assert red == [3, 9]
    assert ax.figure.axes[-1].get_ylabel() == "$r_t$"  # the colour bar
    ax.figure.canvas.draw()
    assert all(float(t).is_integer() for t in ax.get_yticks())  # units are whole numbers


def test_gate_heatmap_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="inputs has 5 steps, gate has 12"):
        plot_gate_heatmap(np.zeros((12, 4)), inputs=np.zeros(5))
    with pytest.raises(ValueError, match="2-D"):
        plot_gate_heatmap(np.zeros(12))


def test_saturation_one_scatter_per_gate_in_the_unit_square():
    sat = {
        "r": Saturation(torch.tensor([0.1, 0.0]), torch.tensor([0.2, 0.9])),
        "z": (np.array([0.5, 0.3, 0.0]), np.array([0.0, 0.6, 1.0])),
    }
    ax = plot_saturation(sat)
    r, z = ax.collections
    np.testing.assert_allclose(r.get_offsets(), [[0.1, 0.2], [0.0, 0.9]])
    np.testing.assert_allclose(z.get_offsets(), [[0.5, 0.0], [0.3, 0.6], [0.0, 1.0]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["r", "z"]
    assert "left" in ax.get_xlabel() and "right" in ax.get_ylabel()
    (diagonal,) = ax.get_lines()
    np.testing.assert_array_equal(diagonal.get_xdata(), [0, 1])
    with pytest.raises(ValueError, match="empty"):
        plot_saturation({})
    with pytest.raises(ValueError, match="2 left and 3 right"):
        plot_saturation({"r": ([0, 1], [0, 1, 0])})


def test_connectivity_curves_per_model_on_log_scale_with_marks():
    C = {"GRU": torch.tensor([0.5, 0.0, 1.0]), "RNN": [1e-6, 1e-3, 1.0]}
    ax = plot_connectivity(C, marks=[2])
    gru, rnn, mark = ax.get_lines()
    assert (gru.get_label(), rnn.get_label()) == ("GRU", "RNN")
    np.testing.assert_array_equal(gru.get_xdata(), [1, 2, 3])
    assert np.isnan(gru.get_ydata()[1])  # a zero is left out on a log scale
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "input step $t$"
    assert mark.get_xdata()[0] == 2


def test_connectivity_map_output_by_input():
    C = np.tril(np.ones((4, 4)))
    ax = plot_connectivity(C)
    (image,) = [i for i in ax.get_images() if isinstance(i, AxesImage)]
    np.testing.assert_array_equal(image.get_array(), C)
    assert ax.get_ylabel() == "output step $s$"
    with pytest.raises(ValueError, match="2-D"):
        plot_connectivity(np.ones(3))
