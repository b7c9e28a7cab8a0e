"""grubook.plots.plot_history: training curves from fit's History, one or several runs."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from grubook.plots import plot_history
from grubook.train import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def history(losses, val_losses=(), metric=(0.5, 0.7, 0.8)):
    return History(
        train_loss=list(losses),
        train_metric=list(metric),
        val_loss=list(val_losses),
        val_metric=[m - 0.1 for m in metric][: len(val_losses)],
        epoch_seconds=[1.0] * len(losses),
    )


def lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_one_history_draws_train_solid_and_validation_dashed():
    ax = plot_history(history([0.9, 0.5, 0.3], [1.0, 0.6, 0.4]))
    drawn = lines(ax)
    assert list(drawn) == ["train", "validation"]
    np.testing.assert_array_equal(drawn["train"].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(drawn["train"].get_ydata(), [0.9, 0.5, 0.3])
    np.testing.assert_array_equal(drawn["validation"].get_ydata(), [1.0, 0.6, 0.4])
    assert drawn["train"].get_linestyle() == "-" and drawn["validation"].get_linestyle() == "--"
    assert drawn["train"].get_color() == drawn["validation"].get_color()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")


def test_several_runs_share_one_axes_in_their_own_colours():
    fig, ax = plt.subplots()
    runs = {
        "reset_after=True": history([0.5, 0.2, 0.1]),
        "reset_after=False": history([0.6, 0.3, 0.2]),
    }
    assert plot_history(runs, ax, title="two runs") is ax
    drawn = lines(ax)
    assert list(drawn) == ["reset_after=True", "reset_after=False"]  # no validation: plain labels
    assert drawn["reset_after=True"].get_color() != drawn["reset_after=False"].get_color()
    assert ax.get_title() == "two runs" and len(fig.axes) == 1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(runs)


def test_the_metric_panel_and_errors():
    ax = plot_history(history([0.9, 0.5, 0.3], [1.0, 0.6, 0.4]), key="metric")
    assert ax.get_ylabel() == "accuracy"
    np.testing.assert_allclose(lines(ax)["validation"].get_ydata(), [0.4, 0.6, 0.7])
    with pytest.raises(ValueError, match="key must be 'loss' or 'metric', got 'acc'"):
        plot_history(history([0.9]), key="acc")
    with pytest.raises(ValueError, match="history 'a' has no train_metric values"):
        plot_history({"a": history([0.9], metric=())}, key="metric")
    with pytest.raises(ValueError, match="history is empty"):
        plot_history({})
