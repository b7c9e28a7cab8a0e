"""grubook.data's long-memory tasks: the adding problem, the copy task and the fresh-item stream."""

import math

import pytest
import torch

from grubook.data import AddingProblem, CopyTask, Stream, make_generator, make_loader

# ---------------------------------------------------------------- the adding problem


@pytest.mark.parametrize("T", [2, 3, 50, 101])
def test_adding_problem_shapes_markers_and_targets(T):
    data = AddingProblem(500, T, seed=3)
    assert data.x.shape == (500, T, 2) and data.x.dtype == torch.float32
    assert data.y.shape == (500,) and len(data) == 500
    values, markers = data.x[..., 0], data.x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert (markers.sum(1) == 2).all()  # exactly two markers
    half = T // 2
    marked = markers.nonzero()  # (2N, 2): (sequence, step), in row order
    first, second = marked[0::2, 1], marked[1::2, 1]
    assert (first < half).all() and (second >= half).all()  # one in each half
    assert torch.equal(torch.stack([first, second], 1), data.positions)
    torch.testing.assert_close(data.y, (values * markers).sum(1))  # the marked sum


def test_adding_problem_items_and_tensors():
    data = AddingProblem(8, 6, seed=0)
    x, y = data[3]
    assert torch.equal(x, data.x[3]) and y.dim() == 0 and y == data.y[3]
    x_tb, y_all = data.tensors()
    assert x_tb.shape == (6, 8, 2) and torch.equal(x_tb[:, 3], data.x[3])
    assert torch.equal(data.tensors(batch_first=True)[0], data.x) and y_all is data.y


def test_adding_problem_is_deterministic_per_seed_and_leaves_the_global_generator():
    state = torch.get_rng_state()
    a, b, c = AddingProblem(64, 20, seed=7), AddingProblem(64, 20, seed=7), AddingProblem(64, 20)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)
    assert torch.equal(torch.get_rng_state(), state)
    g = make_generator(7)  # one stream: the second set continues where the first stopped
    first, second = AddingProblem(64, 20, seed=g), AddingProblem(64, 20, seed=g)
    assert torch.equal(first.x, a.x) and not torch.equal(second.x, a.x)


def test_adding_problem_baseline_is_the_variance_of_the_sum():
    data = AddingProblem(200_000, 10, seed=1)
    mse_of_the_mean = (data.y - 1.0).square().mean().item()  # predict E[y] = 1
    # the standard error of a mean of squared deviations, here about 0.0004
    assert mse_of_the_mean == pytest.approx(AddingProblem.BASELINE_MSE, abs=2e-3)
    assert AddingProblem.BASELINE_MSE == pytest.approx(0.1667, abs=1e-4)
    assert data.y.mean().item() == pytest.approx(1.0, abs=5e-3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0, "T": 5}, ValueError, "n must be >= 1, got n=0"),
        ({"n": 4, "T": 1}, ValueError, "T must be >= 2, got T=1"),
        ({"n": 4, "T": 5.0}, TypeError, "T must be an int, got float 5.0"),
        ({"n": 4, "T": 5, "seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_adding_problem_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        AddingProblem(**kwargs)


# ---------------------------------------------------------------- the copy task


@pytest.mark.parametrize(("T", "symbols", "length"), [(1, 8, 10), (30, 8, 10), (7, 3, 4)])
def test_copy_task_layout(T, symbols, length):
    data = CopyTask(300, T, symbols=symbols, length=length, seed=2)
    steps = T + 2 * length
    assert data.x.shape == data.y.shape == (300, steps) and data.x.dtype == torch.int64
    message = data.x[:, :length]
    assert ((message >= 1) & (message <= symbols)).all()
    assert set(message.unique().tolist()) == set(range(1, symbols + 1))  # all symbols occur
    delimiter = data.x[:, length + T - 1]
    assert (delimiter == symbols + 1).all() and data.delimiter == symbols + 1
    rest = torch.cat([data.x[:, length : length + T - 1], data.x[:, length + T :]], 1)
    assert (rest == CopyTask.BLANK).all() and rest.shape[1] == T - 1 + length
    assert (data.y[:, : T + length] == CopyTask.BLANK).all()
    assert torch.equal(data.y[:, -length:], message)  # recall, in order
    assert data.num_classes == symbols + 2


def test_copy_task_is_deterministic_per_seed():
    a, b, c = CopyTask(32, 5, seed=4), CopyTask(32, 5, seed=4), CopyTask(32, 5, seed=5)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)
    x, y = a[0]
    assert torch.equal(x, a.x[0]) and torch.equal(y, a.y[0])
    x_tb, y_tb = a.tensors()
    assert x_tb.shape == (25, 32) and torch.equal(y_tb, a.y.T)


@pytest.mark.parametrize(("T", "symbols", "length"), [(50, 8, 10), (100, 8, 10), (9, 4, 3)])
def test_copy_task_memoryless_baseline_from_the_data(T, symbols, length):
    data = CopyTask(20_000, T, symbols=symbols, length=length, seed=0)
    assert data.baseline_loss == pytest.approx(length * math.log(symbols) / (T + 2 * length))
    # the best prediction that sees no input: each step's target distribution, estimated from
    # the data; its cross-entropy is the mean entropy of those distributions
    counts = torch.nn.functional.one_hot(data.y, data.num_classes).sum(0).double()  # (T', C)
    p = counts / counts.sum(1, keepdim=True)
    entropy = -(p * p.clamp_min(1e-300).log()).sum(1)  # (T',)
    assert entropy.mean().item() == pytest.approx(data.baseline_loss, rel=2e-3)
    assert (entropy[: T + length] == 0).all()  # the blanks before the recall are certain


def test_copy_task_baseline_matches_arjovsky_formula():
    assert CopyTask(1, 50).baseline_loss == pytest.approx(10 * math.log(8) / 70)


# ---------------------------------------------------------------- the stream


def test_stream_draws_fresh_items_each_pass_and_repeats_per_seed():
    stream = Stream(AddingProblem, 64, 12, seed=0)
    loader = make_loader(stream, batch_size=32)
    assert len(stream) == 64 and len(loader) == 2
    first, second = list(loader), list(loader)
    x, lengths, y = first[0]
    assert x.shape == (12, 32, 2) and y.shape == (32,) and (lengths == 12).all()
    assert not torch.equal(first[0][0], second[0][0])  # a new pass, new items
    assert stream.passes == 2
    again = list(make_loader(Stream(AddingProblem, 64, 12, seed=0), batch_size=32))
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[2], b[2])
    # the first pass is the dataset drawn from the same seed
    assert torch.equal(first[0][0], AddingProblem(64, 12, seed=0).x[:32].transpose(0, 1))


def test_stream_passes_keyword_arguments_and_makes_time_first_copy_batches():
    stream = Stream(CopyTask, 8, 5, symbols=4, length=3, seed=1)
    x, _, y = next(iter(make_loader(stream, batch_size=8, target_padding=-100)))
    assert x.shape == y.shape == (11, 8)  # time-first targets through target_padding
    assert torch.equal(x.T, CopyTask(8, 5, symbols=4, length=3, seed=1).x)
    with pytest.raises(ValueError, match="n must be >= 1"):
        Stream(AddingProblem, 0, 5)
