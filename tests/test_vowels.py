"""Chapter 7: the Japanese Vowels data, delta features, pooling, and the speaker experiments."""

import json
import subprocess
import sys

import pytest
import torch
from test_experiments import stored_glue

import grubook
from grubook.data import delta_features, japanese_vowels
from grubook.experiments import japanese_vowels_ablation, japanese_vowels_table
from grubook.experiments.japanese_vowels import stratified_folds
from grubook.experiments.speakers import Augmented, train_speaker_model

pytest.importorskip("aeon")  # the speech extra


@pytest.fixture(scope="module")
def data():
    return japanese_vowels()


def test_japanese_vowels_shapes_lengths_and_speakers(data):
    x, lengths, y = data.train.tensors()
    assert x.shape == (29, 270, 12) and x.dtype == torch.float32
    assert data.test.x.shape == (370, 29, 12)
    assert int(lengths.min()) == 7 and int(lengths.max()) == 26
    assert int(data.test.lengths.min()) == 7 and int(data.test.lengths.max()) == 29
    assert torch.equal(torch.bincount(data.train.y), torch.full((9,), 30))  # 30 per speaker
    counts = torch.bincount(data.test.y).tolist()
    assert counts == [31, 35, 88, 44, 29, 24, 40, 50, 29]
    valid = grubook.length_mask(lengths, 29)  # (T, N)
    assert (x[~valid] == 0).all()  # zero past every length
    assert (x[valid].abs().sum(-1) > 0).all()


def test_normalisation_is_fitted_on_the_training_frames_only(data):
    x, lengths, _ = data.train.tensors()
    frames = x[grubook.length_mask(lengths, 29)]  # (frames, 12): padding excluded
    torch.testing.assert_close(frames.mean(0), torch.zeros(12), atol=1e-5, rtol=0)
    torch.testing.assert_close(frames.std(0), torch.ones(12), atol=1e-5, rtol=0)
    raw = japanese_vowels(normalize=False)
    torch.testing.assert_close(raw.mean, torch.zeros(12))
    # the test set is mapped with the training set's numbers, not its own
    torch.testing.assert_close(data.test.x, (raw.test.x - data.mean) / data.std * _valid(raw.test))
    test_frames = data.test.x[grubook.length_mask(data.test.lengths, 29, batch_first=True)]
    assert test_frames.mean(0).abs().max() > 0.05  # so its own mean is not zero


def _valid(split):
    return grubook.length_mask(split.lengths, 29, batch_first=True).unsqueeze(-1)


def test_missing_aeon_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "grubook\[speech\]"'):
        japanese_vowels()


def test_grubook_imports_without_aeon_or_numba():
    code = "import sys, grubook.experiments; print(sorted({'aeon', 'numba'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _deltas_by_hand(x, width=2):  # x (T, I): HTK's regression with the ends repeated
    T = len(x)
    padded = torch.cat([x[:1].expand(width, -1), x, x[-1:].expand(width, -1)])
    num = sum(
        n * (padded[width + n : width + n + T] - padded[width - n : width - n + T])
        for n in range(1, width + 1)
    )
    return num / (2 * sum(n * n for n in range(1, width + 1)))


def test_delta_features_per_sequence_ignore_the_padding():
    torch.manual_seed(0)
    x, lengths = torch.randn(11, 3, 4), torch.tensor([11, 5, 2])
    out = delta_features(x, lengths, order=2)
    assert out.shape == (11, 3, 12)
    for b, n in enumerate(lengths.tolist()):
        d1 = _deltas_by_hand(x[:n, b])
        torch.testing.assert_close(out[:n, b], torch.cat([x[:n, b], d1, _deltas_by_hand(d1)], -1))
        assert (out[n:, b] == 0).all()
    torch.testing.assert_close(delta_features(x, lengths, order=0)[:5, 1], x[:5, 1])
    line = torch.arange(6.0).view(6, 1, 1)  # a straight line: delta 1 away from the ends
    assert torch.equal(delta_features(line, torch.tensor([6]))[2:4, 0, 1], torch.ones(2))
    with pytest.raises(ValueError, match="order must be 0, 1 or 2, got 3"):
        delta_features(x, lengths, order=3)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "mean+max"])
def test_classifier_pooling_reads_only_valid_steps(pooling):
    torch.manual_seed(0)
    model = grubook.GRUClassifier(3, 5, 4, bidirectional=True, pooling=pooling)
    x, lengths = torch.randn(7, 2, 3), torch.tensor([7, 3])
    out = model(x, lengths=lengths)
    noisy = x.clone()
    noisy[3:, 1] = 1e3  # padding
    torch.testing.assert_close(model(noisy, lengths=lengths), out)
    torch.testing.assert_close(model(x[:3, 1:], lengths=[3])[0], out[1])
    batch_first = grubook.GRUClassifier(
        3, 5, 4, bidirectional=True, pooling=pooling, batch_first=True
    )
    batch_first.load_state_dict(model.state_dict())
    torch.testing.assert_close(batch_first(x.transpose(0, 1), lengths=lengths), out)


def test_classifier_mean_pooling_is_the_mean_of_the_outputs():
    torch.manual_seed(1)
    model = grubook.GRUClassifier(3, 5, 4, pooling="mean+max")
    x, lengths = torch.randn(6, 2, 3), torch.tensor([6, 4])
    output, _ = model.rnn(x, lengths=lengths)
    features = torch.cat([output[:4, 1].mean(0), output[:4, 1].amax(0)])
    torch.testing.assert_close(model(x, lengths=lengths)[1], model.head(features))
    with pytest.raises(ValueError, match="Unknown pooling 'sum'"):
        grubook.GRUClassifier(3, 5, 4, pooling="sum")


def test_augmented_items_warp_and_add_noise(data):
    g = torch.Generator().manual_seed(0)
    warped = Augmented(data.train, noise=0.0, warp=0.2, generator=g)
    lengths = [warped[i][1] for i in range(40)]
    original = data.train.lengths[:40].tolist()
    assert all(0.8 * n - 1 <= m <= 1.2 * n + 1 for m, n in zip(lengths, original, strict=True))
    assert lengths != original
    x, length, y = Augmented(data.train, noise=0.1, warp=0.0, generator=g)[3]
    assert length == data.train.lengths[3] and x.shape == (length, 12) and y == data.train.y[3]
    assert 0.05 < (x - data.train.x[3, :length]).std() < 0.15


def test_stratified_folds_spread_each_speaker(data):
    folds = stratified_folds(data.train.y, 5, seed=0)
    assert sorted(torch.cat(folds).tolist()) == list(range(270))
    for fold in folds:
        assert torch.equal(torch.bincount(data.train.y[fold], minlength=9), torch.full((9,), 6))
    with pytest.raises(ValueError, match="k must be >= 2"):
        stratified_folds(data.train.y, 1)


def test_train_speaker_model_refuses_unknown_settings(data):
    with pytest.raises(ValueError, match="unknown setting 'hidden'"):
        train_speaker_model(data.train, seed=0, hidden=3)
    with pytest.raises(ValueError, match="unknown variant 'louder'"):
        japanese_vowels_ablation(variants=["louder"])


def test_experiment_reproduces_the_chapters_first_seed():
    """The chapter's seed 0 of the recipe, trained again with the same function (~10 s)."""
    glue = stored_glue("07_japanese_vowels.ipynb")
    result = japanese_vowels_table(seeds=1, rocket_seeds=0, torch_seeds=0, dtw=False)
    assert result.row("grubook GRU, recipe")["accuracy_mean"] == pytest.approx(
        glue["gru_seed0_accuracy"], abs=1e-9
    )
    assert result.rows == [result.row("grubook GRU, recipe")]  # one seed: no ensemble row
    assert result.row("grubook GRU, recipe")["seeds"] == 1


def test_cli_quick_json_has_every_model_in_one_run():
    """DTW and MiniRocket (numba compiles them on a fresh machine: ~25 s once), nn.GRU, grubook."""
    command = [sys.executable, "-m", "grubook.experiments", "japanese-vowels", "--quick", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    models = [row["model"] for row in printed["rows"]]
    assert models == [
        "1-NN DTW (aeon)",
        "MiniRocket (aeon, zero-padded)",
        "torch nn.GRU, same size, no deltas or augmentation",
        "grubook GRU, recipe",
        "grubook GRU, recipe, ensemble of the seeds",
    ]
    for row in printed["rows"]:
        assert set(row) == {"model", "accuracy_mean", "accuracy_std", "seeds"}
        assert 0 < row["accuracy_mean"] <= 1
    assert printed["rows"][0]["accuracy_mean"] > 0.9  # DTW needs no training
    assert printed["rows"][1]["accuracy_mean"] > 0.95  # nor MiniRocket's kernels
    assert printed["rows"][3]["seeds"] == 2 and printed["config"]["recipe"]["epochs"] == 2


def test_ablation_predicts_only_the_held_out_training_fold(monkeypatch):
    import grubook.experiments.japanese_vowels as module

    calls = []
    monkeypatch.setattr(module, "predict", _spy(module.predict, calls))
    result = japanese_vowels_ablation(folds=3, held_out=[1], epochs=1, variants=["plain"])
    assert result.rows[0]["held_out"] == 90 and result.config["held_out"] == [1]
    assert [len(data) for data in calls] == [90]  # predictions on the held-out fold only
    assert 0 <= result.rows[0]["errors"] <= 90


def _spy(function, calls):
    def spy(model, data):
        calls.append(data)
        return function(model, data)

    return spy
