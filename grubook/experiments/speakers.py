r"""Chapter 7's pieces: a speaker classifier, its training recipe, and the baselines beside it.

The model is :class:`grubook.GRUClassifier` reading each frame's cepstra and their deltas
(:func:`grubook.data.delta_features`); the recipe adds what a speech person would try first:
a bidirectional layer, Gaussian noise on the cepstra and a random change of speed (time warping,
as in speed perturbation, Ko et al., Interspeech 2015) of each training utterance, and an
ensemble over seeds; dropout and mean and max pooling over the utterance are options. The
baselines are aeon's 1-NN DTW and MiniRocket (Dempster, Schmidt & Webb, KDD 2021,
arXiv:2012.08791) and a plain ``torch.nn.GRU`` of the same size. aeon is imported only when a
baseline runs. Introduced in chapter 7, *Case study: who is speaking?*
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.utils.data import Dataset

from grubook.classifier import GRUClassifier
from grubook.data import PaddedSequences, make_loader
from grubook.data.vowels import SPEECH_EXTRA, delta_features
from grubook.seed import seeded
from grubook.train import fit

__all__ = [
    "RECIPE",
    "Augmented",
    "SpeakerGRU",
    "TorchGRUClassifier",
    "dtw_accuracy",
    "minirocket_accuracy",
    "predict",
    "train_speaker_model",
]

#: The chapter's recipe, chosen by cross-validation on the training set (the ablation); dropout
#: and mean+max pooling were tried there and left out.
RECIPE: dict[str, Any] = {
    "hidden_size": 64,
    "bidirectional": True,
    "dropout": 0.0,
    "pooling": "last",
    "deltas": 1,
    "noise": 0.05,
    "warp": 0.1,
    "epochs": 40,
    "batch_size": 64,
    "lr": 5e-3,
}


class Augmented(Dataset):
    r"""A training set whose every item is drawn anew: time-warped, then with noise added.

    Item i's valid frames are resampled linearly to :math:`\text{round}(s T_i)` frames with the
    speed factor s uniform in [1 - warp, 1 + warp] (at least 2 frames), and
    :math:`\mathcal{N}(0, \text{noise}^2)` noise is added to every coefficient.

    Args:
        data: items ``(x_i, length_i, y_i)``, x_i (T, I) zero past length_i.
        noise: the noise's standard deviation (in units of the normalised cepstra).
        warp: the largest relative change of speed, in [0, 1).
        generator: draws the factors and the noise.

    Introduced in chapter 7, *Case study: who is speaking?*
    """

    def __init__(
        self, data: torch.utils.data.Dataset, noise: float, warp: float, generator: torch.Generator
    ) -> None:
        self.data, self.noise, self.warp, self.generator = data, noise, warp, generator

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Tensor, int, Tensor]:
        x, length, y = self.data[i]
        x = x[:length]  # (T_i, I)
        if self.warp > 0:
            s = 1 + self.warp * (2 * torch.rand((), generator=self.generator).item() - 1)
            length = max(2, round(s * length))
            x = F.interpolate(x.T[None], size=length, mode="linear", align_corners=True)[0].T
        if self.noise > 0:
            x = x + self.noise * torch.randn(x.shape, generator=self.generator)
        return x, length, y


class SpeakerGRU(nn.Module):
    """Deltas of the frames (:func:`grubook.data.delta_features`), then a GRUClassifier.

    Args:
        classifier: the :class:`grubook.GRUClassifier` reading (order + 1) I features a frame.
        deltas: the order of the deltas appended, 0, 1 or 2.

    Inputs: x, lengths
        - **x** (T, B, I) normalised cepstra, time-first; **lengths** (B,).

    Outputs: logits (B, C).

    Introduced in chapter 7, *Case study: who is speaking?*
    """

    def __init__(self, classifier: nn.Module, deltas: int) -> None:
        super().__init__()
        self.classifier, self.deltas = classifier, deltas

    def features(self, x: Tensor, lengths: Tensor) -> Tensor:
        """The classifier's input, (T, B, (deltas + 1) I).

        Args:
            x: (T, B, I) frames.
            lengths: (B,) valid frames of each utterance.
        """
        return delta_features(x, lengths, self.deltas)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        return self.classifier(self.features(x, lengths), lengths=lengths)  # (B, C)


class TorchGRUClassifier(nn.Module):
    """The plain baseline: ``torch.nn.GRU`` on packed sequences, a linear layer on its last states.

    Args:
        input_size: I, coefficients per frame.
        hidden_size: H, features of each direction's hidden state.
        num_classes: C, the number of speakers.
        bidirectional: D = 2. Default: ``True``.

    Introduced in chapter 7, *Case study: who is speaking?*
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, bidirectional=True):
        super().__init__()
        self.rnn = nn.GRU(input_size, hidden_size, bidirectional=bidirectional)
        self.head = nn.Linear(self.rnn.num_layers * (1 + bidirectional) * hidden_size, num_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        _, h_n = self.rnn(packed)  # (D, B, H)
        return self.head(h_n.transpose(0, 1).flatten(1))  # (B, C)


def train_speaker_model(
    train: PaddedSequences,
    *,
    seed: int,
    kind: str = "grubook",
    num_classes: int = 9,
    **settings: Any,
) -> nn.Module:
    """Train one speaker classifier on ``train`` with the recipe (``settings`` change it).

    Adam with a cosine learning-rate schedule, cross-entropy, a fresh augmentation of every
    utterance in every epoch; nothing is evaluated while training (no test set, no early stop).

    Args:
        train: the training utterances, items ``(x_i, length_i, y_i)``.
        seed: seeds the weights, the batches' order and the augmentation.
        kind: ``"grubook"`` (:class:`SpeakerGRU` around :class:`grubook.GRUClassifier`) or
            ``"torch"`` (:class:`TorchGRUClassifier`: deltas, dropout, pooling and augmentation
            are not used). Default: ``"grubook"``.
        num_classes: C. Default: 9.
        settings: keys of :data:`RECIPE` to change.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    unknown = sorted(set(settings) - set(RECIPE))
    if unknown:
        raise ValueError(f"train_speaker_model: unknown setting {unknown[0]!r}; see RECIPE")
    s = {**RECIPE, **settings}
    I = train[0][0].shape[-1]
    with seeded(seed):
        if kind == "torch":
            model = TorchGRUClassifier(I, s["hidden_size"], num_classes, s["bidirectional"])
            items: Dataset = train
        else:
            classifier = GRUClassifier(
                (s["deltas"] + 1) * I,
                s["hidden_size"],
                num_classes,
                bidirectional=s["bidirectional"],
                dropout=s["dropout"],
                pooling=s["pooling"],
            )
            model = SpeakerGRU(classifier, s["deltas"])
            items = Augmented(train, s["noise"], s["warp"], torch.Generator().manual_seed(seed))
        fit(
            model,
            make_loader(items, s["batch_size"], shuffle=True, seed=seed),
            epochs=s["epochs"],
            optimizer=functools.partial(torch.optim.Adam, lr=s["lr"]),
            scheduler=functools.partial(
                torch.optim.lr_scheduler.CosineAnnealingLR, T_max=s["epochs"]
            ),
            metric=None,
            progress=False,
        )
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, data: PaddedSequences) -> Tensor:
    """The model's class probabilities (N, C) for every utterance of ``data``, in eval mode.

    Args:
        model: a classifier called as ``model(x, lengths)``.
        data: the utterances, padded, with their lengths.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    model.eval()
    x, lengths, _ = data.tensors()  # (T, N, I), (N,)
    T = int(lengths.max())
    return model(x[:T], lengths).softmax(-1)  # (N, C)


def _aeon(what: str):
    try:
        if what == "knn":
            from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier as cls
        else:
            from aeon.classification.convolution_based import MiniRocketClassifier as cls
    except ImportError as error:
        raise ImportError(
            f"the baselines need aeon, which is not installed; {SPEECH_EXTRA}"
        ) from error
    return cls


def _series(data: PaddedSequences, pad: bool) -> list | Any:
    """aeon's layout: a list of (I, T_i) arrays, or one (N, I, T) array zero-padded to T."""
    x = data.x.transpose(1, 2).double().numpy()  # (N, I, T): zero past each length
    return x if pad else [x[i, :, :length] for i, length in enumerate(data.lengths.tolist())]


def dtw_accuracy(train: PaddedSequences, test: PaddedSequences) -> float:
    """Test accuracy of 1-nearest-neighbour with DTW (aeon), on the utterances as they are.

    Args:
        train: the utterances the neighbours are taken from.
        test: the utterances to classify.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    knn = _aeon("knn")(distance="dtw", n_neighbors=1)
    knn.fit(_series(train, pad=False), train.y.numpy())
    with warnings.catch_warnings():  # numba's note on an index cast inside aeon's DTW
        warnings.filterwarnings("ignore", message="unsafe cast from uint64 to int64")
        predicted = knn.predict(_series(test, pad=False))
    return float((predicted == test.y.numpy()).mean())


def minirocket_accuracy(train: PaddedSequences, test: PaddedSequences, seed: int) -> float:
    """Test accuracy of MiniRocket (aeon), every utterance zero-padded to the longest, T = 29.

    Zero is each coefficient's training mean after normalisation, so the padding is a stretch of
    average frames; MiniRocket needs series of one length.

    Args:
        train: the utterances MiniRocket's classifier is fitted on.
        test: the utterances to classify.
        seed: the seed of MiniRocket's random kernels.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    rocket = _aeon("rocket")(random_state=seed)
    rocket.fit(_series(train, pad=True), train.y.numpy())
    return float((rocket.predict(_series(test, pad=True)) == test.y.numpy()).mean())
