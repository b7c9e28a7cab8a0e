r"""Chapter 6's table: which language is this word? A character GRU against n-gram baselines.

The words are :func:`grubook.data.word_languages`' (twelve languages, split 70/10/20 by word).
Every model learns from the training words and is chosen on the validation words: Naive Bayes'
smoothing, the logistic regression's regularisation, and the GRU's epoch; the test words are
read once, at the end. The GRU row is an ensemble of K character-level
:class:`grubook.GRUClassifier` s trained from K seeds, whose probabilities are averaged
(:class:`grubook.Ensemble`); each member's own accuracy is a row too. Introduced in chapter 6,
*Case study: which language is this word?*.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import multiprocessing
import time
from importlib import resources

import numpy as np
import torch
from torch.nn import functional as F

from grubook.checkpoint import load_checkpoint, save_checkpoint
from grubook.classifier import GRUClassifier
from grubook.data import make_loader
from grubook.data.words import LANGUAGES, WordLanguages, word_languages
from grubook.ensemble import Ensemble
from grubook.experiments.registry import Result, register
from grubook.experiments.training import flush_denormal
from grubook.experiments.word_analysis import predict_proba, summarize
from grubook.ngram import ngram_classifier
from grubook.seed import seeded
from grubook.timing import num_threads
from grubook.train import fit

__all__ = [
    "check_pretrained",
    "language_id",
    "make_word_classifier",
]

NAME = "language-id"

#: The file of the shipped ensemble, in the package: what ``language_id()`` trains by default.
WEIGHTS = "language_id.pt"


def make_word_classifier(
    vocab_size: int, num_classes: int, *, embedding_dim: int, hidden_size: int, dropout: float
) -> GRUClassifier:
    """The chapter's classifier: embedding, a one-layer GRU, dropout and a linear layer.

    Args:
        vocab_size: V, the character ids (0 is padding).
        num_classes: C, the languages.
        embedding_dim: E, the embedding size.
        hidden_size: H, features of the hidden state.
        dropout: before the output layer, in training.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    return GRUClassifier(
        embedding_dim,
        hidden_size,
        num_classes,
        vocab_size=vocab_size,
        dropout=dropout,
    )


def _tune_baseline(kind: str, params, data: WordLanguages):
    """Fit one classifier per setting; return (best setting, its validation accuracy, pipeline).

    The n-gram counts are computed once: only the last step of the pipeline changes.
    """
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    template = ngram_classifier(kind, params[0])
    features = template[:-1].fit(data.words("train"))  # the counts (and tf-idf), fitted once
    x_train, x_val = features.transform(data.words("train")), features.transform(data.words("val"))
    name = "alpha" if kind == "nb" else "C"
    best = None
    for param in params:
        classifier = clone(template[-1]).set_params(**{name: param})
        classifier.fit(x_train, data.labels("train"))
        val = float((classifier.predict(x_val) == np.asarray(data.labels("val"))).mean())
        if best is None or val > best[1]:
            best = (param, val, classifier)
    pipeline = Pipeline([*features.steps, (template.steps[-1][0], best[2])])
    return best[0], best[1], pipeline


def _train_member(data, seed, *, epochs, lr, weight_decay, label_smoothing, batch_size, shape):
    """One GRU classifier from ``seed``; the weights of its best validation epoch."""
    with seeded(seed), flush_denormal():
        model = make_word_classifier(len(data.vocab), len(data.languages), **shape)
        history = fit(
            model,
            make_loader(
                data.dataset("train", boundaries=True), batch_size, shuffle=True, seed=seed
            ),
            make_loader(data.dataset("val", boundaries=True), 1024),
            epochs=epochs,
            optimizer=functools.partial(torch.optim.AdamW, lr=lr, weight_decay=weight_decay),
            loss_fn=functools.partial(F.cross_entropy, label_smoothing=label_smoothing),
            clip=1.0,
            early_stopping=epochs,  # never stops early; keeps the best validation epoch's weights
            scheduler=functools.partial(torch.optim.lr_scheduler.CosineAnnealingLR, T_max=epochs),
            progress=False,
        )
    return model, history


def _member_in_worker(data_config: dict, seed: int, train: dict):
    """:func:`_train_member` in a worker process, one thread: the state_dict and the history."""
    torch.set_num_threads(1)
    data = word_languages(**data_config)
    model, history = _train_member(data, seed, **train)
    return model.state_dict(), history


@contextlib.contextmanager
def _members(data, seeds, train, workers):
    """Train the members, in ``workers`` processes if > 1 (started at once, in the background).

    Yields a function that returns the trained ``(model, history)`` pairs, in the order of
    ``seeds``, waiting for the workers if need be; in one process it trains them when called.
    """
    if workers <= 1 or not seeds:
        yield lambda: [_train_member(data, s, **train) for s in seeds]
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(seeds))) as pool:
        pending = pool.starmap_async(_member_in_worker, [(data.config, s, train) for s in seeds])

        def collect():
            trained = []
            for state, history in pending.get():
                shape = train["shape"]
                model = make_word_classifier(len(data.vocab), len(data.languages), **shape)
                model.load_state_dict(state)
                trained.append((model, history))
            return trained

        yield collect


def check_pretrained(func, settings: dict) -> None:
    """Raise ValueError if a setting that shapes the shipped weights differs from its default.

    Args:
        func: the experiment function whose defaults trained the shipped weights.
        settings: the settings of this call that the weights depend on, by name.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    defaults = inspect.signature(func).parameters
    for name, value in settings.items():
        default = defaults[name].default
        if value != default:
            raise ValueError(
                f"{func.__name__}: pretrained=True needs {name}={default!r}, got {value!r} "
                "(the shipped weights were trained with the defaults)"
            )


def _shipped_path():
    return resources.files("grubook") / "weights" / WEIGHTS


@register(
    NAME,
    "chapter 6: test accuracy on words of 12 languages, character GRUs against n-gram "
    "Naive Bayes and logistic regression",
    aggregate=("accuracy", "macro_accuracy", "val_accuracy"),
    quick={"per_language": 300, "members": 1, "epochs": 1, "hidden_size": 16, "lr_Cs": (10.0,)},
)
def language_id(
    *,
    languages: tuple[str, ...] = tuple(LANGUAGES),
    per_language: int = 5000,
    members: int = 3,
    embedding_dim: int = 32,
    hidden_size: int = 128,
    dropout: float = 0.5,
    epochs: int = 8,
    lr: float = 5e-3,
    weight_decay: float = 0.01,
    label_smoothing: float = 0.0,
    batch_size: int = 128,
    nb_alphas: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001),
    lr_Cs: tuple[float, ...] = (3.0, 10.0, 30.0, 100.0),
    pretrained: bool = False,
    save: str | None = None,
    seed: int = 0,
    threads: int = 1,
    workers: int = 1,
    progress: bool = False,
) -> Result:
    """Tune and test Naive Bayes, logistic regression and an ensemble of character GRUs.

    Args:
        languages: the language codes. Default: the twelve of ``grubook.data.LANGUAGES``.
        per_language: words taken from each language's list. Default: 5000.
        members: K, GRU classifiers in the ensemble (seeds ``seed`` to ``seed + K - 1``).
            Default: 3.
        embedding_dim: E of each GRU classifier. Default: 32.
        hidden_size: H of each GRU classifier. Default: 128.
        dropout: before each GRU classifier's output layer. Default: 0.5.
        epochs: passes over the training words (cosine learning-rate schedule). Default: 8.
        lr: AdamW's initial learning rate. Default: 5e-3.
        weight_decay: AdamW's weight decay. Default: 0.01.
        label_smoothing: of the cross-entropy. Default: 0.
        batch_size: B, words per step. Default: 128.
        nb_alphas: Naive Bayes' smoothing values tried on the validation words.
        lr_Cs: the logistic regression's C values tried on the validation words.
        pretrained: load the ensemble shipped in the package (trained by this function with
            its defaults) instead of training; only with the default GRU settings.
            Default: ``False``.
        save: a file to save the trained ensemble's ``state_dict`` to. Default: ``None``.
        seed: seeds the split and the first member. Default: 0.
        threads: ``torch.set_num_threads`` during the run. Default: 1.
        workers: train the members in this many processes (one thread each); the results
            are the same as in one process. Default: 1.
        progress: unused (the runs are silent); kept for the command line. Default: ``False``.

    Returns:
        A :class:`~grubook.experiments.Result` with rows ``{"model", "accuracy",
        "macro_accuracy", "val_accuracy", "setting", "seeds"}`` for ``"Naive Bayes"``,
        ``"logistic regression"``, ``"GRU (one)"`` (the members' mean) and ``"GRU ensemble"``.
        Extras: ``data`` (the :class:`grubook.data.WordLanguages`), ``models`` (by row name:
        the two pipelines, the :class:`grubook.Ensemble`), ``summaries`` (by row name:
        :func:`~grubook.experiments.word_analysis.summarize` of the test words),
        ``member_accuracy`` (each member's test accuracy), ``member_summaries`` (their
        summaries), ``histories`` (each member's :class:`grubook.History`, empty when pretrained).

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k not in ("start", "progress", "workers")}
    config.update(languages=list(languages), nb_alphas=list(nb_alphas), lr_Cs=list(lr_Cs))
    data = word_languages(languages, per_language, seed)
    C, test_labels = len(data.languages), data.labels("test")
    rows, models, summaries = [], {}, {}
    shape = {"embedding_dim": embedding_dim, "hidden_size": hidden_size, "dropout": dropout}
    train = {"epochs": epochs, "lr": lr, "weight_decay": weight_decay}
    train.update(label_smoothing=label_smoothing, batch_size=batch_size, shape=shape)
    histories = []
    if pretrained:
        check_pretrained(language_id, {"per_language": per_language, "members": members, **shape})
        check_pretrained(language_id, {"languages": tuple(languages), "seed": seed})
    seeds = [] if pretrained else [seed + k for k in range(members)]
    with _members(data, seeds, train, workers) as trained_members:  # workers start now
        for name, kind, grid in (
            ("Naive Bayes", "nb", nb_alphas),
            ("logistic regression", "lr", lr_Cs),
        ):
            param, val, model = _tune_baseline(kind, grid, data)
            models[name] = model
            summaries[name] = summarize(model.predict_proba(data.words("test")), test_labels, C)
            setting = f"{'alpha' if kind == 'nb' else 'C'}={param:g}"
            rows.append({"model": name, "val_accuracy": val, "setting": setting, "seeds": 1})
        with num_threads(threads):
            if pretrained:
                grus = [make_word_classifier(len(data.vocab), C, **shape) for _ in range(members)]
                ensemble = load_checkpoint(Ensemble(grus), _shipped_path())
            else:
                trained = trained_members()
                ensemble = Ensemble(m for m, _ in trained)
                histories = [h for _, h in trained]
    with num_threads(threads):
        if save is not None:
            save_checkpoint(ensemble, save)
        test, val = data.dataset("test", boundaries=True), data.dataset("val", boundaries=True)
        probs = {
            split: [predict_proba(m, dataset) for m in ensemble.members]
            for split, dataset in (("val", val), ("test", test))
        }
    member_val = [summarize(p, data.labels("val"), C) for p in probs["val"]]
    member_test = [summarize(p, test_labels, C) for p in probs["test"]]
    # the ensemble's probabilities: the members' mean, as Ensemble computes it (once here)
    summaries["GRU ensemble"] = summarize(np.mean(probs["test"], 0), test_labels, C)
    ensemble_val = summarize(np.mean(probs["val"], 0), data.labels("val"), C)["accuracy"]
    gru_setting = f"H={hidden_size}, {epochs} epochs"
    rows.append(
        {
            "model": "GRU (one)",
            "accuracy": float(np.mean([s["accuracy"] for s in member_test])),
            "macro_accuracy": float(np.mean([s["macro_accuracy"] for s in member_test])),
            "val_accuracy": float(np.mean([s["accuracy"] for s in member_val])),
            "setting": gru_setting,
            "seeds": members,
        }
    )
    rows.append(
        {
            "model": "GRU ensemble",
            "val_accuracy": ensemble_val,
            "setting": f"{members} x {gru_setting}",
            "seeds": members,
        }
    )
    for row in rows:
        if row["model"] in summaries:
            s = summaries[row["model"]]
            row.update(accuracy=s["accuracy"], macro_accuracy=s["macro_accuracy"])
    rows = [
        {
            k: r[k]
            for k in ("model", "accuracy", "macro_accuracy", "val_accuracy", "setting", "seeds")
        }
        for r in rows
    ]
    models["GRU ensemble"] = ensemble
    extras = {
        "data": data,
        "models": models,
        "summaries": summaries,
        "member_accuracy": [s["accuracy"] for s in member_test],
        "member_summaries": member_test,
        "histories": histories,
    }
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
