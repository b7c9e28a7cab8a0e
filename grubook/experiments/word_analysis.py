"""Reading chapter 6's classifiers: their probabilities, accuracy per language, confusions,
belief after each prefix of a word, and gates on words.

Introduced in chapter 6, *Case study: which language is this word?*.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from grubook.classifier import GRUClassifier
from grubook.data import make_loader

__all__ = ["predict_proba", "prefix_beliefs", "summarize", "word_gates"]


@torch.no_grad()
def predict_proba(model: torch.nn.Module, dataset, batch_size: int = 1024) -> np.ndarray:
    """The model's probabilities (N, C) for each word of a :class:`grubook.data.WordDataset`.

    Args:
        model: a classifier called as ``model(x, lengths=lengths)``, returning logits.
        dataset: the words, as ``(ids, label)`` items.
        batch_size: words per forward pass. Default: 1024.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    was_training = model.training
    model.eval()
    out = [
        F.softmax(model(x, lengths=lengths), dim=-1)
        for x, lengths, _ in make_loader(dataset, batch_size)
    ]
    model.train(was_training)
    return torch.cat(out).double().numpy()


def summarize(probs: np.ndarray, labels, num_classes: int) -> dict:
    """Accuracy, accuracy per class, its mean (macro accuracy) and the confusion matrix.

    Args:
        probs: (N, C) predicted probabilities (or any scores).
        labels: (N,) the true classes.
        num_classes: C, the number of classes.

    Returns:
        ``{"accuracy", "macro_accuracy", "per_class" (C,), "confusion" (C, C), "predicted"
        (N,)}``; ``confusion[i, j]`` counts words of class i predicted as j.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    labels = np.asarray(labels)
    predicted = np.asarray(probs).argmax(-1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return {
        "accuracy": float((predicted == labels).mean()),
        "macro_accuracy": float(per_class.mean()),
        "per_class": per_class,
        "confusion": confusion,
        "predicted": predicted,
    }


@torch.no_grad()
def prefix_beliefs(model, vocab, word: str) -> tuple[list[str], np.ndarray]:
    """The classifier's probabilities after each prefix of ``word``, then after its end marker.

    Args:
        model: a classifier of words between boundary markers, called as
            ``model(x, lengths=lengths)``.
        vocab: the :class:`grubook.data.CharVocabulary`.
        word: the word.

    Returns:
        The T = len(word) + 1 prefixes (the last is ``word + ">"``, the whole word) and their
        probabilities (T, C).

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    ids = torch.tensor(vocab.encode(word, boundaries=True))  # (n + 2,)
    T = len(word) + 1
    x = ids.unsqueeze(1).expand(-1, T).contiguous()  # (n + 2, T): one column per prefix
    lengths = torch.arange(2, T + 2)  # the start marker and 1 ... n characters, then the end
    was_training = model.training
    model.eval()
    probs = F.softmax(model(x, lengths=lengths), dim=-1).double().numpy()
    model.train(was_training)
    return [word[:k] for k in range(1, T)] + [word + ">"], probs


@torch.no_grad()
def word_gates(classifier: GRUClassifier, vocab, words: list[str]) -> dict[str, np.ndarray]:
    """The update gate's mean over the units at each step, for each word (boundaries included).

    Args:
        classifier: a :class:`grubook.GRUClassifier` with an embedding.
        vocab: the :class:`grubook.data.CharVocabulary`.
        words: the words.

    Returns:
        ``{word: (len(word) + 2,) mean z_t}``.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    out = {}
    for word in words:
        x = torch.tensor(vocab.encode(word, boundaries=True)).unsqueeze(1)  # (T, 1)
        z = classifier.rnn.gates(classifier.embedding(x)).z  # (L, D, T, 1, H)
        out[word] = z[-1, 0, :, 0].mean(-1).double().numpy()
    return out
