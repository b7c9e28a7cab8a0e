"""GRUClassifier: logits from each sequence's last valid state, checked against nn.GRU by hand."""

from __future__ import annotations

import pytest
import torch
from conftest import TOL, check_gradients
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.testing import assert_close

import grubook

T, B, I, H, C = 6, 4, 3, 5, 7
LENGTHS = [6, 2, 4, 1]


def _garbage_past_lengths(x: torch.Tensor, lengths: list[int], fill: torch.Tensor) -> torch.Tensor:
    """A copy of time-first ``x`` whose steps t >= length hold ``fill`` instead."""
    x = x.clone()
    for b, length in enumerate(lengths):
        x[length:, b] = fill[length:, b]
    return x


def _hand_logits(model: grubook.GRUClassifier, x: torch.Tensor, lengths, h0=None):
    """The head applied to nn.GRU's (or nn.RNN's) top-layer final states, on packed input."""
    ref = model.rnn.to_torch()
    packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    _, h_n = ref(packed, h0)
    if model.rnn.bidirectional:
        features = torch.cat([h_n[-2], h_n[-1]], dim=1)  # top layer: forward, backward
    else:
        features = h_n[-1]
    return model.head(features)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"num_layers": 2},
        {"bidirectional": True},
        {"num_layers": 3, "bidirectional": True},
        {"rnn_type": "rnn"},
        {"rnn_type": "rnn", "num_layers": 2, "bidirectional": True},
    ],
)
def test_logits_equal_hand_computation_from_nn_gru(kw):
    torch.manual_seed(0)
    model = grubook.GRUClassifier(I, H, C, **kw).eval()
    x = torch.randn(T, B, I)
    logits = model(x, lengths=LENGTHS)
    assert logits.shape == (B, C)
    expected = grubook.RNN if kw.get("rnn_type") == "rnn" else grubook.GRU
    assert type(model.rnn) is expected
    assert_close(logits, _hand_logits(model, x, LENGTHS), **TOL)


@pytest.mark.parametrize("kw", [{}, {"num_layers": 2, "bidirectional": True}, {"rnn_type": "rnn"}])
def test_padding_garbage_does_not_change_logits(kw):
    torch.manual_seed(0)
    model = grubook.GRUClassifier(I, H, C, **kw).eval()
    x = torch.randn(T, B, I)
    with torch.no_grad():
        logits = model(x, lengths=LENGTHS)
        noisy = _garbage_past_lengths(x, LENGTHS, 1e3 * torch.randn(T, B, I))
        assert not torch.equal(noisy, x)
        assert torch.equal(model(noisy, lengths=LENGTHS), logits)
        # Without lengths the garbage is read as data, and the logits change.
        assert not torch.allclose(model(noisy), logits)


def test_padding_garbage_does_not_change_logits_for_token_ids():
    torch.manual_seed(0)
    V = 11
    model = grubook.GRUClassifier(I, H, C, vocab_size=V, bidirectional=True).eval()
    tokens = torch.randint(1, V, (T, B))
    with torch.no_grad():
        logits = model(tokens, lengths=LENGTHS)
        noisy = _garbage_past_lengths(tokens, LENGTHS, torch.randint(0, V, (T, B)))
        assert not torch.equal(noisy, tokens)
        assert torch.equal(model(noisy, lengths=LENGTHS), logits)


def test_vocab_variant():
    torch.manual_seed(0)
    V, E = 13, 6
    model = grubook.GRUClassifier(I, H, C, vocab_size=V, embedding_dim=E).eval()
    assert isinstance(model.embedding, nn.Embedding)
    assert (model.embedding.num_embeddings, model.embedding.embedding_dim) == (V, E)
    assert model.embedding.padding_idx == 0
    assert torch.all(model.embedding.weight[0] == 0)
    assert model.rnn.input_size == E
    tokens = torch.randint(1, V, (T, B))
    for b, length in enumerate(LENGTHS):
        tokens[length:, b] = 0  # padding id
    logits = model(tokens, lengths=LENGTHS)
    assert logits.shape == (B, C)
    assert_close(logits, _hand_logits(model, model.embedding(tokens), LENGTHS), **TOL)


def test_embedding_dim_defaults_to_input_size():
    model = grubook.GRUClassifier(I, H, C, vocab_size=9)
    assert model.embedding.embedding_dim == I == model.rnn.input_size


def test_batch_first_variant():
    torch.manual_seed(0)
    model = grubook.GRUClassifier(I, H, C, batch_first=True, num_layers=2).eval()
    time_first = grubook.GRUClassifier(I, H, C, num_layers=2).eval()
    time_first.load_state_dict(model.state_dict())
    x = torch.randn(B, T, I)
    assert_close(model(x, lengths=LENGTHS), time_first(x.transpose(0, 1), lengths=LENGTHS))


def test_first_version_call_style_with_h0():
    torch.manual_seed(0)
    model = grubook.GRUClassifier(I, H, C, num_layers=2).eval()
    x, h0 = torch.randn(T, B, I), torch.randn(2, B, H)
    logits = model(x, h0)  # the first version's model(x, h0)
    assert logits.shape == (B, C)
    assert_close(logits, _hand_logits(model, x, [T] * B, h0), **TOL)
    assert not torch.allclose(logits, model(x))  # h0 is used
    assert torch.equal(model(x), model(x, torch.zeros(2, B, H)))


def test_lengths_all_full_equals_no_lengths():
    model = grubook.GRUClassifier(I, H, C, bidirectional=True).eval()
    x = torch.randn(T, B, I)
    assert_close(model(x, lengths=[T] * B), model(x), **TOL)


def test_batch_of_one_and_single_step():
    model = grubook.GRUClassifier(I, H, C).eval()
    x = torch.randn(T, 3, I)
    one = model(x[:, :1], lengths=[2])
    assert one.shape == (1, C)
    assert_close(one, model(x, lengths=[2, T, 1])[:1], **TOL)
    assert_close(model(x[:1]), model(x, lengths=[1, 1, 1]), **TOL)


def test_gradcheck():
    torch.manual_seed(0)
    model = grubook.GRUClassifier(2, 2, 3, num_layers=2, bidirectional=True).double()
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert check_gradients(model, (x,), {"lengths": [3, 1]})


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_head_dropout_acts_on_the_features_in_training_only(p):
    """One layer: no dropout inside the GRU, so the head's dropout is the only random draw."""
    torch.manual_seed(0)
    model = grubook.GRUClassifier(I, H, C, dropout=p, bidirectional=True)
    assert model.rnn.dropout == 0.0  # one layer: nothing between layers
    x = torch.randn(T, B, I)
    _, h_n = model.rnn(x, lengths=LENGTHS)
    features = torch.cat([h_n[0], h_n[1]], dim=1)  # (B, 2H)
    torch.manual_seed(1)
    logits = model.train()(x, lengths=LENGTHS)
    torch.manual_seed(1)
    expected = model.head(torch.nn.functional.dropout(features, p, training=True))
    assert_close(logits, expected, **TOL)
    if p == 1.0:  # every feature dropped: only the head's bias is left
        assert_close(logits, model.head.bias.expand(B, C), **TOL)
    assert_close(model.eval()(x, lengths=LENGTHS), model.head(features), **TOL)


def test_dropout_reaches_the_recurrent_layers_with_several_layers():
    model = grubook.GRUClassifier(I, H, C, num_layers=2, dropout=0.25)
    assert (model.rnn.dropout, model.dropout.p) == (0.25, 0.25)


def test_save_and_load_weights_only(tmp_path):
    torch.manual_seed(0)
    model = grubook.GRUClassifier(I, H, C, vocab_size=9, num_layers=2, bidirectional=True)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    torch.manual_seed(1)
    fresh = grubook.GRUClassifier(I, H, C, vocab_size=9, num_layers=2, bidirectional=True)
    tokens = torch.randint(1, 9, (T, B))
    model.eval()
    fresh.eval()
    assert not torch.equal(fresh(tokens), model(tokens))
    fresh.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    assert torch.equal(fresh(tokens, lengths=LENGTHS), model(tokens, lengths=LENGTHS))


def test_reset_after_option_reaches_the_gru():
    model = grubook.GRUClassifier(3, 5, 2, reset_after=False)
    assert model.rnn.reset_after is False
    x = torch.randn(4, 2, 3)
    ref = grubook.GRU(3, 5, reset_after=False)
    ref.load_state_dict(model.rnn.state_dict())
    _, h_n = ref(x)
    torch.testing.assert_close(model(x), model.head(h_n[-1]))
    with pytest.raises(ValueError, match="reset_after=False needs rnn_type='gru'"):
        grubook.GRUClassifier(3, 5, 2, rnn_type="rnn", reset_after=False)
