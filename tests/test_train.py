"""grubook.train: fit learns, evaluate measures, errors name what went wrong, checkpoints load."""

import functools
import json
import pickle

import pytest
import torch
from torch import nn

import grubook
from grubook.checkpoint import load_checkpoint, save_checkpoint
from grubook.data import SignOfSum, make_loader
from grubook.evaluation import accuracy, evaluate
from grubook.timing import num_threads
from grubook.train import History, fit

ADAM = functools.partial(torch.optim.Adam, lr=2e-2)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread, and a busy machine slows two threads most."""
    with num_threads(1):
        yield


def tiny_task(seed: int = 0):
    """A small SignOfSum (256 sequences of 2 to 8 steps), a validation set and a fresh GRU."""
    train = make_loader(SignOfSum(256, 2, 8, 2, seed=seed), 32, shuffle=True, seed=seed)
    val = make_loader(SignOfSum(256, 2, 8, 2, seed=seed + 100), 256)
    torch.manual_seed(seed)
    return grubook.GRUClassifier(2, 8, 2), train, val


class Batches:
    """A loader from a list of batches (a list has a length, as fit's progress bar wants)."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter(self.batches)


def xy_batches(n_batches=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Batches(
        [
            (torch.randn(8, 3, generator=g), torch.randint(0, 2, (8,), generator=g))
            for _ in range(n_batches)
        ]
    )


def test_fit_learns_a_tiny_task_and_evaluate_agrees():
    model, train, val = tiny_task()
    history = fit(model, train, val, epochs=6, optimizer=ADAM, progress=False)
    # measured: train loss 0.665 -> 0.123, validation accuracy 0.926 (seeds 0-3: <= 0.174, >= 0.926)
    assert history.train_loss[0] > 0.6 and history.train_loss[-1] < 0.3
    assert history.val_metric[-1] > 0.85
    assert history.epochs == len(history.val_loss) == len(history.epoch_seconds) == 6
    assert all(s > 0 for s in history.epoch_seconds)
    final = evaluate(model, val)
    assert final == pytest.approx(
        {"loss": history.val_loss[-1], "accuracy": history.val_metric[-1]}
    )
    x, lengths, y = next(iter(val))
    with torch.no_grad():
        by_hand = (model(x, lengths=lengths).argmax(1) == y).float().mean().item()
    assert final["accuracy"] == pytest.approx(by_hand)


def test_fit_with_a_seed_is_reproducible():
    histories = []
    for _ in range(2):
        model, train, _ = tiny_task()
        histories.append(fit(model, train, epochs=2, optimizer=ADAM, progress=False, seed=0))
    assert histories[0].train_loss == histories[1].train_loss
    assert histories[0].train_metric == histories[1].train_metric


def test_fit_calls_the_model_without_lengths_on_xy_batches():
    model = nn.Linear(3, 2)
    history = fit(model, xy_batches(), epochs=3, progress=False)  # nn.Linear takes no lengths
    assert len(history.train_loss) == 3 and history.val_loss == []
    assert 0 <= history.train_metric[-1] <= 1
    assert History(**json.loads(json.dumps(history.to_dict()))) == history


def test_evaluate_without_lengths_reads_the_padding():
    model, train, val = tiny_task()
    fit(model, train, epochs=4, optimizer=ADAM, progress=False)
    model.train()
    with_lengths = evaluate(model, val)["accuracy"]
    blind = evaluate(model, val, use_lengths=False)["accuracy"]
    assert blind < with_lengths - 0.05
    assert model.training  # evaluate puts the mode back


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.2, 0.1]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 1])) == 0.5
    with pytest.raises(ValueError, match=r"logits \(4, 2\) and targets \(3,\) do not match"):
        accuracy(logits, torch.tensor([0, 1, 1]))


class NaNAt(nn.Module):
    """A linear model whose output turns NaN (or inf) at its n-th call."""

    def __init__(self, n, value=float("nan")):
        super().__init__()
        self.linear, self.n, self.calls, self.value = nn.Linear(3, 2), n, 0, value

    def forward(self, x):
        self.calls += 1
        out = self.linear(x)
        return out * self.value if self.calls == self.n else out


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_loss_names_the_epoch_and_step(value):
    with pytest.raises(FloatingPointError, match=r"the loss is (nan|inf) at epoch 2, step 3;"):
        fit(NaNAt(7, value), xy_batches(4), epochs=3, progress=False)  # call 7 = epoch 2, step 3


@pytest.mark.parametrize(
    ("batch", "described"),
    [
        ({"x": torch.zeros(2, 3)}, "a dict"),
        ((torch.zeros(2, 3),), r"a tuple of 1: \(Tensor\(2, 3\)\)"),
        ((torch.zeros(2, 3), [1, 2], torch.zeros(2)), r"a tuple of 3: \(Tensor\(2, 3\), list, "),
    ],
)
def test_a_loader_of_the_wrong_shape_is_named(batch, described):
    expected = r"fit: expected each batch to be \(x, lengths, y\) or \(x, y\) tensors, got "
    with pytest.raises(TypeError, match=expected + described):
        fit(nn.Linear(3, 2), Batches([batch]), epochs=1, progress=False)
    with pytest.raises(TypeError, match="evaluate: expected each batch"):
        evaluate(nn.Linear(3, 2), [batch])


def test_fit_checks_its_arguments():
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        fit(nn.Linear(3, 2), xy_batches(), epochs=0)
    with pytest.raises(ValueError, match="early_stopping needs a val_loader"):
        fit(nn.Linear(3, 2), xy_batches(), epochs=1, early_stopping=2)
    with pytest.raises(ValueError, match="metric must be 'accuracy', a function"):
        fit(nn.Linear(3, 2), xy_batches(), epochs=1, metric="f1", progress=False)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        fit(nn.Linear(3, 2), xy_batches(), epochs=1, optimizer="adam", progress=False)
    with pytest.raises(ValueError, match="yielded no batches in epoch 1"):
        fit(nn.Linear(3, 2), Batches([]), epochs=1, progress=False)


def _scripted_metric(scores, snapshots, model):
    """A metric that reports ``scores`` in turn, one per evaluation, and saves the weights then."""

    def score(outputs, y):
        if model.training:
            return 0.0  # a training batch
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return scores[len(snapshots) - 1]

    return score


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_early_stopping_restores_the_best_epochs_weights(higher_is_better):
    model, snapshots = nn.Linear(3, 2), []
    scores = [0.5, 0.9, 0.6, 0.55, 0.95] if higher_is_better else [0.5, 0.1, 0.4, 0.45, 0.05]
    metric = _scripted_metric(scores, snapshots, model)
    metric.higher_is_better = higher_is_better
    val = Batches([xy_batches(1, seed=9).batches[0]])  # one batch: one metric call an epoch
    history = fit(
        model,
        xy_batches(),
        val,
        epochs=5,
        metric=metric,
        early_stopping=2,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
        progress=False,
    )
    assert history.stopped_early and history.best_epoch == 2 and history.epochs == 4
    assert history.val_metric == scores[:4]
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshots[1][key])  # epoch 2's weights, not epoch 4's
    assert not torch.equal(model.weight, snapshots[3]["weight"])


def test_early_stopping_on_the_validation_loss_without_a_metric():
    model, train, val = tiny_task()
    history = fit(
        model, train, val, epochs=3, optimizer=ADAM, metric=None, early_stopping=5, progress=False
    )
    assert history.metric is None and history.train_metric == [] and history.val_metric == []
    assert history.best_epoch == 1 + history.val_loss.index(min(history.val_loss))
    assert not history.stopped_early and history.epochs == 3


class RecordingSGD(torch.optim.SGD):
    """SGD that records the total gradient norm it is given at each step."""

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        self.norms = []

    def step(self, closure=None):
        grads = [p.grad for group in self.param_groups for p in group["params"]]
        self.norms.append(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])).item())
        return super().step(closure)


def test_clip_bounds_the_gradient_norm():
    norms = {}
    for clip in (None, 1e-3):
        model = nn.Linear(3, 2)
        optimizer = RecordingSGD(model.parameters(), lr=0.1)
        fit(model, xy_batches(), epochs=1, optimizer=optimizer, clip=clip, progress=False)
        norms[clip] = optimizer.norms
    assert min(norms[None]) > 1e-2
    assert max(norms[1e-3]) == pytest.approx(1e-3, rel=1e-4)


def test_progress_off_prints_nothing_and_piped_progress_stays_off(capfd):
    fit(nn.Linear(3, 2), xy_batches(), epochs=2, progress=False)
    assert capfd.readouterr() == ("", "")
    fit(nn.Linear(3, 2), xy_batches(), epochs=2, progress=True)  # stderr is not a terminal here
    assert capfd.readouterr() == ("", "")


def test_checkpoint_round_trip(tmp_path):
    model, train, val = tiny_task()
    fit(model, train, epochs=1, optimizer=ADAM, progress=False)
    path = tmp_path / "model.pt"
    save_checkpoint(model, path)
    torch.manual_seed(1)
    fresh = grubook.GRUClassifier(2, 8, 2)
    assert load_checkpoint(fresh, path) is fresh
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)
    assert evaluate(fresh, val) == evaluate(model, val)
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_checkpoint(grubook.GRUClassifier(2, 9, 2), path)


class Payload:
    """Any class: a full unpickle would import and build it; weights_only refuses to."""


def test_load_checkpoint_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"weight": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_checkpoint(nn.Linear(3, 2), path)


def test_fit_on_a_loader_without_a_length():
    def batches():
        yield from xy_batches().batches

    class Once:
        def __iter__(self):
            return batches()

    history = fit(nn.Linear(3, 2), Once(), epochs=2, progress=False)
    assert history.epochs == 2
