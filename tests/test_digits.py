"""grubook.data's digits (chapter 5): shapes, scaling, disjoint stratified splits, clear errors."""

import sys

import pytest
import torch

from grubook.data import (
    PaddedSequences,
    Splits,
    digit_ink,
    make_loader,
    pad_first,
    sequential_digits,
    split_indices,
)
from grubook.data.digits import load_digit_images
from grubook.experiments.baselines import (
    LSTMClassifier,
    MLPClassifier,
    make_classifier,
    matched_hidden,
)

N_DIGITS = 1797  # scikit-learn's bundled digits


@pytest.fixture(scope="module")
def images():
    return load_digit_images()


def test_sequential_digits_shapes_scaling_and_rows(images):
    splits = sequential_digits(seed=0)
    assert isinstance(splits, Splits) and sum(len(s) for s in splits) == N_DIGITS
    train, val, test = splits
    assert (len(train), len(val), len(test)) == (1079, 359, 359)
    for part in splits:
        assert part.x.shape[1:] == (8, 8) and part.x.dtype == torch.float32
        assert part.x.min() == 0 and part.x.max() == 1
        assert torch.equal(part.lengths, torch.full((len(part),), 8))
        assert part.y.dtype == torch.int64 and set(part.y.tolist()) == set(range(10))
    x, lengths, y = train.tensors()
    assert x.shape == (8, 1079, 8) and lengths.shape == y.shape == (1079,)
    # step t of a sequence is row t of its image, scaled by 1/16
    all_images, labels = images
    index = split_indices(labels, 0.2, 0.2, seed=0)[0]
    torch.testing.assert_close(train.x, all_images[index] / 16)
    columns = sequential_digits(by="columns", seed=0).train
    torch.testing.assert_close(columns.x, train.x.transpose(1, 2))


def test_splits_are_disjoint_stratified_and_seeded(images):
    _, labels = images
    train, val, test = split_indices(labels, 0.2, 0.2, seed=0)
    together = torch.cat([train, val, test])
    assert len(together) == N_DIGITS and torch.equal(together.sort().values, torch.arange(N_DIGITS))
    for c in range(10):
        n_c = int((labels == c).sum())
        assert int((labels[test] == c).sum()) == round(0.2 * n_c)
        assert int((labels[val] == c).sum()) == round(0.2 * n_c)
    again = split_indices(labels, 0.2, 0.2, seed=0)
    other = split_indices(labels, 0.2, 0.2, seed=1)
    assert all(torch.equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    assert not torch.equal(test, other[2])
    # the datasets hold exactly those images and labels, split for split
    all_images, _ = images
    for part, index in zip(sequential_digits(seed=0), (train, val, test), strict=True):
        torch.testing.assert_close(part.x, all_images[index] / 16)
        assert torch.equal(part.y, labels[index])


def test_digit_ink_sequences(images):
    all_images, labels = images
    train, val, test = digit_ink(threshold=8, seed=0)
    assert sum(map(len, (train, val, test))) == N_DIGITS
    T = train.x.shape[1]
    assert T == int((all_images >= 8).flatten(1).sum(1).max()) == val.x.shape[1] == test.x.shape[1]
    index = split_indices(labels, 0.2, 0.2, seed=0)[0]
    for k in (0, 5, 100):
        image, x, length = all_images[index[k]], train.x[k], int(train.lengths[k])
        rows, cols = (image >= 8).nonzero(as_tuple=True)  # reading order
        assert length == len(rows)
        expected = torch.stack([rows / 7, cols / 7, image[rows, cols] / 16], dim=1)
        torch.testing.assert_close(x[:length], expected)
        assert torch.all(x[length:] == 0)  # zeros past the end
    assert train.x.min() >= 0 and train.x.max() <= 1
    lengths = torch.cat([train.lengths, val.lengths, test.lengths])
    assert lengths.min() >= 1 and lengths.max() > lengths.min() + 10  # the lengths really vary
    assert digit_ink(threshold=12).train.x.shape[1] < T


def test_pad_first_moves_the_padding_in_front():
    x = torch.arange(12.0).view(3, 4, 1)
    data = pad_first(PaddedSequences(x, torch.tensor([1, 3, 4]), torch.tensor([0, 1, 2])))
    assert data.x.squeeze(-1).tolist() == [[1, 2, 3, 0], [7, 4, 5, 6], [8, 9, 10, 11]]
    assert data.lengths.tolist() == [1, 3, 4] and data.y.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sequential_digits(by="diagonals"), "by must be 'rows' or 'columns', got by='diag"),
        (lambda: sequential_digits(test_fraction=1.5), "test_fraction=1.5"),
        (lambda: sequential_digits(val_fraction=0), "val_fraction=0"),
        (lambda: sequential_digits(val_fraction=0.5, test_fraction=0.5), r"got 0.5 \+ 0.5"),
        (lambda: sequential_digits(seed=-3), "seed=-3"),
        (lambda: digit_ink(threshold=17), "threshold=17"),
        (lambda: digit_ink(threshold=0), "threshold=0"),
        (lambda: digit_ink(test_fraction="0.2"), "test_fraction='0.2'"),
    ],
)
def test_bad_arguments_name_the_value(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(
        ImportError, match=r'sequential_digits needs scikit-learn.*"grubook\[data\]"'
    ):
        sequential_digits()
    with pytest.raises(ImportError, match="digit_ink needs scikit-learn"):
        digit_ink()


def test_loader_batches_of_the_ink_task():
    train = digit_ink().train
    x, lengths, y = next(iter(make_loader(train, 16)))
    assert x.shape == (train.x.shape[1], 16, 3) and lengths.shape == y.shape == (16,)
    torch.testing.assert_close(x.transpose(0, 1), train.x[:16])


@pytest.mark.parametrize("kind", ["GRU", "RNN", "LSTM", "MLP"])
def test_matched_classifiers_have_the_counted_parameters(kind):
    H, params = matched_hidden(kind, 32, 3, 30, 10)
    model = make_classifier(kind, 3, H, 10, steps=30)
    assert sum(p.numel() for p in model.parameters()) == params
    gru_params = matched_hidden("GRU", 32, 3, 30, 10)[1]
    assert abs(params - gru_params) < 0.05 * gru_params


def test_lstm_classifier_reads_each_sequence_at_its_own_last_step():
    torch.manual_seed(0)
    model = LSTMClassifier(3, 8, 4)
    x, lengths = torch.randn(7, 3, 3), torch.tensor([7, 2, 5])
    logits = model(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(logits[b], model(x[:n, b : b + 1])[0])


def test_mlp_classifier_ignores_the_padding_and_checks_steps():
    torch.manual_seed(0)
    model = MLPClassifier(5, 2, 6, 3)
    x, lengths = torch.randn(5, 2, 2), torch.tensor([3, 5])
    noisy = x.clone()
    noisy[3:, 0] = 100.0  # padding of sequence 0
    torch.testing.assert_close(model(x, lengths), model(noisy, lengths))
    with pytest.raises(ValueError, match="x has 4 steps, expected steps=5"):
        model(x[:4])
