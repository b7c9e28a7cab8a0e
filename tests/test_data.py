"""grubook.masks and grubook.data: the length mask, padded batches, the seeded datasets, loaders."""

import pytest
import torch

from grubook.data import (
    PaddedSequences,
    SignOfSum,
    collate_sequences,
    length_mask,
    make_generator,
    make_loader,
)

# ---------------------------------------------------------------- length_mask


def _mask_by_hand(lengths, T):
    return torch.tensor([[t < n for n in lengths] for t in range(T)])  # (T, B)


@pytest.mark.parametrize(
    ("lengths", "T"), [([3, 1, 4], 5), ([1], 1), ([2], 3), ([1, 1], 1), ([0, 2], 2)]
)
def test_length_mask_marks_the_first_lengths_steps(lengths, T):
    mask = length_mask(torch.tensor(lengths), T)
    assert mask.dtype == torch.bool and mask.shape == (T, len(lengths))
    assert torch.equal(mask, _mask_by_hand(lengths, T))
    assert torch.equal(length_mask(lengths, T, batch_first=True), mask.T)


def test_length_mask_defaults_to_the_longest_length():
    assert torch.equal(length_mask([2, 5, 3]), _mask_by_hand([2, 5, 3], 5))
    assert torch.equal(
        length_mask(torch.tensor([2, 5], dtype=torch.int32)), _mask_by_hand([2, 5], 5)
    )


@pytest.mark.parametrize(
    ("lengths", "T", "error", "match"),
    [
        ([6, 2], 5, ValueError, "lengths must be <= T=5, got a length of 6"),
        ([-1, 2], 5, ValueError, "lengths must be >= 0, got -1"),
        ([[1, 2]], 5, ValueError, r"must be 1-D \(B,\), got shape \(1, 2\)"),
        ([1.0, 2.0], 5, TypeError, "must hold integers, got dtype torch.float32"),
        ([1, 2], 2.5, TypeError, "T must be a non-negative int, got 2.5"),
    ],
)
def test_length_mask_refuses_bad_arguments(lengths, T, error, match):
    with pytest.raises(error, match=match):
        length_mask(torch.tensor(lengths), T)


# ---------------------------------------------------------------- collate_sequences


def test_collate_pads_time_first_and_keeps_the_values():
    xs = [torch.randn(3, 2), torch.randn(5, 2), torch.randn(1, 2)]
    x, lengths, y = collate_sequences([(xs[0], 1), (xs[1], 0), (xs[2], 1)], padding_value=-7)
    assert x.shape == (5, 3, 2) and lengths.dtype == torch.int64
    assert lengths.tolist() == [3, 5, 1] and y.tolist() == [1, 0, 1]
    for b, x_b in enumerate(xs):
        assert torch.equal(x[: len(x_b), b], x_b)
        assert (x[len(x_b) :, b] == -7).all()


def test_collate_batch_first_is_the_transpose():
    items = [(torch.randn(4, 3), 0), (torch.randn(2, 3), 1)]
    x, lengths, y = collate_sequences(items)
    xb, lengths_b, yb = collate_sequences(items, batch_first=True)
    assert xb.shape == (2, 4, 3)
    assert torch.equal(xb, x.transpose(0, 1))
    assert torch.equal(lengths_b, lengths) and torch.equal(yb, y)


@pytest.mark.parametrize("batch_first", [False, True])
def test_collate_one_sequence_of_one_step(batch_first):
    x, lengths, y = collate_sequences([(torch.ones(1, 4), 2)], batch_first=batch_first)
    assert x.shape == (1, 1, 4) and lengths.tolist() == [1] and y.tolist() == [2]


def test_collate_integer_token_ids():
    items = [(torch.tensor([5, 6, 7]), 0), (torch.tensor([9]), 1)]
    x, lengths, y = collate_sequences(items)
    assert x.dtype == torch.int64 and x.shape == (3, 2)
    assert x.T.tolist() == [[5, 6, 7], [9, 0, 0]] and lengths.tolist() == [3, 1]
    xb, _, _ = collate_sequences(items, batch_first=True, padding_value=1)
    assert xb.tolist() == [[5, 6, 7], [9, 1, 1]]


def test_collate_keeps_the_datasets_own_padding():
    x_0 = torch.arange(8.0).reshape(4, 2)  # 4 steps stored, 2 real
    x, lengths, _ = collate_sequences([(x_0, 2, 1), (torch.zeros(3, 2), 3, 0)])
    assert lengths.tolist() == [2, 3]
    assert torch.equal(x[:, 0], x_0)  # steps 2 and 3 kept as the dataset made them


def test_collate_pads_sequence_targets_when_asked():
    items = [
        (torch.randn(3, 2), torch.tensor([1, 2, 3])),
        (torch.randn(2, 2), torch.tensor([4, 5])),
    ]
    with pytest.raises(ValueError, match="targets have different shapes.*target_padding"):
        collate_sequences(items)
    _, _, y = collate_sequences(items, target_padding=-100)
    assert y.T.tolist() == [[1, 2, 3], [4, 5, -100]]
    _, _, yb = collate_sequences(items, batch_first=True, target_padding=-100)
    assert yb.tolist() == [[1, 2, 3], [4, 5, -100]]


@pytest.mark.parametrize(
    ("batch", "error", "match"),
    [
        ([], ValueError, "the batch is empty"),
        (
            [(torch.randn(2, 3),)],
            TypeError,
            r"expected each item to be \(x, y\) or \(x, length, y\), got a tuple of 1",
        ),
        ([{"x": 1}], TypeError, "got a dict at item 0"),
        ([([1.0, 2.0], 0)], TypeError, "item 0's x must be a tensor"),
        ([(torch.randn(2, 3), 3, 0)], ValueError, "item 0 has length 3, expected 1 to its 2 steps"),
        ([(torch.randn(2, 3), 0, 0)], ValueError, "item 0 has length 0"),
        (
            [(torch.randn(2, 3), 0), (torch.randn(2, 5), 1)],
            ValueError,
            r"item 1's x has shape \(2, 5\), expected \(T_i, 3\)",
        ),
    ],
)
def test_collate_refuses_bad_items(batch, error, match):
    with pytest.raises(error, match=match):
        collate_sequences(batch)


# ---------------------------------------------------------------- SignOfSum


def test_sign_of_sum_is_deterministic_and_differs_across_seeds():
    a, b, c = SignOfSum(64, seed=3), SignOfSum(64, seed=3), SignOfSum(64, seed=4)
    for name in ("x", "lengths", "y"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.x, c.x) and not torch.equal(a.lengths, c.lengths)


def test_sign_of_sum_items_and_labels():
    data = SignOfSum(200, t_min=3, t_max=9, features=4, seed=0)
    assert len(data) == 200 and data.x.shape == (200, 9, 4)
    assert 3 <= int(data.lengths.min()) and int(data.lengths.max()) <= 9
    for i in range(0, 200, 17):
        x_i, length, y_i = data[i]
        assert x_i.shape == (9, 4) and isinstance(length, int)
        assert int(y_i) == int(x_i[:length, 0].sum() > 0)


def test_sign_of_sum_random_padding_misleads_a_reader_of_all_steps():
    data = SignOfSum(1000, seed=0)
    x, lengths, y = data.tensors()  # (T, N, I)
    assert x.shape == (30, 1000, 2)
    padding = ~length_mask(lengths, 30)  # (T, N)
    assert (x[padding] != 0).all()  # real-looking noise past every sequence's end
    wrong = ((x[:, :, 0].sum(0) > 0).long() != y).float().mean().item()
    assert wrong > 0.15  # summing the padding too gets many labels wrong


def test_sign_of_sum_zero_padding_draws_the_same_sequences():
    random, zeros = SignOfSum(100, seed=1), SignOfSum(100, seed=1, padding="zeros")
    assert torch.equal(random.lengths, zeros.lengths) and torch.equal(random.y, zeros.y)
    valid = length_mask(zeros.lengths, 30, batch_first=True).unsqueeze(-1)  # (N, T, 1)
    assert torch.equal(zeros.x, random.x * valid)


def test_sign_of_sum_continues_one_stream_like_chapter_2():
    torch.manual_seed(0)  # chapter 2 drew its data from the global generator, in this order
    expected = []
    for n in (50, 20):
        lengths = torch.randint(5, 31, (n,))
        expected.append((torch.randn(30, n, 2), lengths))
    g = make_generator(0)
    for n, (x, lengths) in zip((50, 20), expected, strict=True):
        got_x, got_lengths, _ = SignOfSum(n, seed=g).tensors()
        assert torch.equal(got_x, x) and torch.equal(got_lengths, lengths)


def test_making_a_dataset_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    SignOfSum(10, seed=0)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be >= 1, got n=0"),
        ({"n": 4, "t_min": 9, "t_max": 5}, ValueError, "t_min must be <= t_max, got t_min=9"),
        ({"n": 4, "padding": "noise"}, ValueError, "padding must be 'random' or 'zeros'"),
        ({"n": 4.0}, TypeError, "n must be an int, got float"),
        ({"n": 4, "seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_sign_of_sum_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SignOfSum(**kwargs)


def test_padded_sequences_checks_shapes():
    with pytest.raises(ValueError, match=r"expected x \(N, T, ...\), lengths \(N,\)"):
        PaddedSequences(torch.zeros(4, 3, 2), torch.ones(5, dtype=torch.int64), torch.zeros(4))
    with pytest.raises(ValueError, match="at least one step"):
        PaddedSequences(torch.zeros(2, 3, 2), torch.tensor([0, 3]), torch.zeros(2))


# ---------------------------------------------------------------- make_loader


def test_shuffled_loader_follows_a_randperm_loop_every_epoch():
    data = SignOfSum(100, seed=0)
    x, lengths, y = data.tensors()
    loader = make_loader(data, batch_size=32, shuffle=True, seed=5)
    order = torch.Generator().manual_seed(5)
    for _ in range(3):  # epochs: RandomSampler drifts from the loop from the second one on
        batches = list(loader)
        expected = torch.randperm(100, generator=order).split(32)
        assert len(batches) == len(expected) == 4
        for (xb, lb, yb), index in zip(batches, expected, strict=True):
            assert torch.equal(xb, x[:, index])
            assert torch.equal(lb, lengths[index]) and torch.equal(yb, y[index])


def test_loader_is_reproducible_and_leaves_the_global_generator_alone():
    data = SignOfSum(40, seed=0)
    state = torch.get_rng_state()
    first = [b[2] for b in make_loader(data, 8, shuffle=True, seed=1)]
    again = [b[2] for b in make_loader(data, 8, shuffle=True, seed=1)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert torch.equal(torch.get_rng_state(), state)


def test_unshuffled_batch_first_loader_keeps_the_order():
    data = SignOfSum(10, seed=0)
    xb, lengths, y = next(iter(make_loader(data, 10, batch_first=True)))
    assert torch.equal(xb, data.x) and torch.equal(lengths, data.lengths) and torch.equal(y, data.y)


class Stream(torch.utils.data.IterableDataset):
    """Fresh sequences on every pass, like chapter 3's tasks: no length, no order to shuffle."""

    def __iter__(self):
        g = torch.Generator().manual_seed(0)
        for _ in range(10):
            yield torch.randn(int(torch.randint(1, 5, (), generator=g)), 2, generator=g), 0


def test_loader_over_an_iterable_dataset():
    batches = list(make_loader(Stream(), 4))
    assert [b[0].shape[1] for b in batches] == [4, 4, 2]
    with pytest.raises(ValueError, match="IterableDataset makes its own order"):
        make_loader(Stream(), 4, shuffle=True)
