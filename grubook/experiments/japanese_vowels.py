r"""Chapter 7's tables: who of nine speakers said /ae/, and what each ingredient of the model gave.

:func:`japanese_vowels_table` trains the recipe (:data:`~grubook.experiments.speakers.RECIPE`)
with several seeds on the 270 training utterances and touches the 370 test utterances once,
beside 1-NN DTW, MiniRocket and a plain ``torch.nn.GRU`` on the same split.
:func:`japanese_vowels_ablation` chose the recipe: stratified k-fold cross-validation on the
training set only, the recipe against the recipe without each ingredient. Data: Kudo, Toyama &
Shimbo, Pattern Recognition Letters 20 (1999), via aeon (:func:`grubook.data.japanese_vowels`).
Introduced in chapter 7, *Case study: who is speaking?*
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from grubook.data import PaddedSequences, japanese_vowels
from grubook.experiments.registry import Result, register
from grubook.experiments.speakers import (
    RECIPE,
    dtw_accuracy,
    minirocket_accuracy,
    predict,
    train_speaker_model,
)
from grubook.timing import num_threads

__all__ = ["ABLATIONS", "japanese_vowels_ablation", "japanese_vowels_table", "stratified_folds"]

#: The ablation's rows: each changes the recipe in one way ("plain": one direction of H = 32 units
#: on the cepstra alone, without augmentation).
ABLATIONS: dict[str, dict[str, Any]] = {
    "recipe": {},
    "one direction": {"bidirectional": False},
    "no noise": {"noise": 0.0},
    "no time warp": {"warp": 0.0},
    "no augmentation": {"noise": 0.0, "warp": 0.0},
    "no deltas": {"deltas": 0},
    "no deltas, no augmentation": {"deltas": 0, "noise": 0.0, "warp": 0.0},
    "H = 32": {"hidden_size": 32},
    "dropout 0.3": {"dropout": 0.3},
    "mean+max pooling": {"pooling": "mean+max"},
    "deltas of deltas too": {"deltas": 2},
    "plain": {
        "bidirectional": False,
        "noise": 0.0,
        "warp": 0.0,
        "deltas": 0,
        "hidden_size": 32,
    },
}

MODELS = {
    "dtw": "1-NN DTW (aeon)",
    "rocket": "MiniRocket (aeon, zero-padded)",
    "torch": "torch nn.GRU, same size, no deltas or augmentation",
    "grubook": "grubook GRU, recipe",
    "ensemble": "grubook GRU, recipe, ensemble of the seeds",
}


def _row(model: str, accuracies: list[float]) -> dict[str, Any]:
    std = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    mean = statistics.fmean(accuracies)
    return {"model": model, "accuracy_mean": mean, "accuracy_std": std, "seeds": len(accuracies)}


@register(
    "japanese-vowels",
    "chapter 7: speaker accuracy on Japanese Vowels, the GRU recipe beside DTW, MiniRocket, nn.GRU",
    quick={"seeds": 2, "rocket_seeds": 1, "torch_seeds": 1, "epochs": 2},
)
def japanese_vowels_table(
    *,
    seeds: int = 5,
    rocket_seeds: int = 5,
    torch_seeds: int = 5,
    dtw: bool = True,
    epochs: int = RECIPE["epochs"],
    seed: int = 0,
    threads: int = 1,
) -> Result:
    """Train the recipe over seeds; measure it and the baselines once on the test set.

    Args:
        seeds: grubook GRUs trained, seeds ``seed``, ``seed + 1``, ...; their mean and standard
            deviation are one row, the ensemble (mean of their probabilities) another. Default: 5.
        rocket_seeds: MiniRocket runs (its random kernels' seeds). Default: 5.
        torch_seeds: plain ``torch.nn.GRU`` runs. Default: 5.
        dtw: include 1-NN DTW (deterministic: one run). Default: ``True``.
        epochs: training epochs of every GRU. Default: the recipe's.
        seed: the first seed. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per model, ``{"model",
        "accuracy_mean", "accuracy_std", "seeds"}`` (the ensemble's std is 0: one prediction).
        Extras: ``data`` (:class:`~grubook.data.JapaneseVowels`), ``models`` (the grubook GRUs),
        ``probabilities`` (seeds, N, C) on the test set, ``accuracies`` (per model, per seed),
        ``seconds_by_model``.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k != "start"}
    config["recipe"] = {**RECIPE, "epochs": epochs}
    data = japanese_vowels()
    accuracies: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    models, probabilities = [], []
    with num_threads(threads):
        for key, runs in (("dtw", int(dtw)), ("rocket", rocket_seeds), ("torch", torch_seeds)):
            tic = time.perf_counter()
            for s in range(seed, seed + runs):
                if key == "dtw":
                    accuracy = dtw_accuracy(data.train, data.test)
                elif key == "rocket":
                    accuracy = minirocket_accuracy(data.train, data.test, s)
                else:
                    model = train_speaker_model(data.train, seed=s, kind="torch", epochs=epochs)
                    accuracy = _accuracy(predict(model, data.test), data.test)
                accuracies.setdefault(MODELS[key], []).append(accuracy)
            seconds[MODELS[key]] = time.perf_counter() - tic
        tic = time.perf_counter()
        for s in range(seed, seed + seeds):
            models.append(train_speaker_model(data.train, seed=s, epochs=epochs))
            probabilities.append(predict(models[-1], data.test))
            accuracies.setdefault(MODELS["grubook"], []).append(
                _accuracy(probabilities[-1], data.test)
            )
        seconds[MODELS["grubook"]] = time.perf_counter() - tic
    probabilities = torch.stack(probabilities)  # (seeds, N, C)
    rows = [_row(model, values) for model, values in accuracies.items()]
    if seeds > 1:
        rows.append(_row(MODELS["ensemble"], [_accuracy(probabilities.mean(0), data.test)]))
        rows[-1]["seeds"] = seeds
    extras = {
        "data": data,
        "models": models,
        "probabilities": probabilities,
        "accuracies": accuracies,
        "seconds_by_model": seconds,
    }
    return Result("japanese-vowels", rows, config, time.perf_counter() - start, extras)


def _accuracy(probabilities: torch.Tensor, data: PaddedSequences) -> float:
    return (probabilities.argmax(-1) == data.y).double().mean().item()


def stratified_folds(y: torch.Tensor, k: int, seed: int = 0) -> list[torch.Tensor]:
    """Split the indices of ``y`` into k folds with each class spread evenly over them.

    Each class's indices are shuffled (a generator seeded with ``seed``) and dealt to the folds
    in turn, so each fold holds about 1/k of every class.

    Args:
        y: (N,) class labels.
        k: the number of folds, 2 or more.
        seed: seeds the shuffle. Default: 0.

    Returns:
        k sorted index tensors that together hold every index once.

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    if k < 2:
        raise ValueError(f"stratified_folds: k must be >= 2, got {k}")
    g = torch.Generator().manual_seed(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    dealt = 0
    for c in torch.unique(y).tolist():
        members = (y == c).nonzero().squeeze(1)
        for index in members[torch.randperm(len(members), generator=g)].tolist():
            folds[dealt % k].append(index)
            dealt += 1
    return [torch.tensor(sorted(f)) for f in folds]


def _subset(data: PaddedSequences, index: torch.Tensor) -> PaddedSequences:
    return PaddedSequences(data.x[index], data.lengths[index], data.y[index])


@register(
    "japanese-vowels-ablation",
    "chapter 7: cross-validated accuracy of the recipe without each ingredient (training set only)",
    quick={"folds": 2, "epochs": 2, "variants": ["recipe", "plain"]},
)
def japanese_vowels_ablation(
    *,
    folds: int = 5,
    variants: list[str] | None = None,
    held_out: list[int] | None = None,
    epochs: int = RECIPE["epochs"],
    seed: int = 0,
    threads: int = 1,
) -> Result:
    """Cross-validate the recipe and its variants on the training set; the test set stays unread.

    Args:
        folds: k of the stratified k-fold split of the 270 training utterances. Default: 5.
        variants: names of ``ABLATIONS`` to run, or ``None`` for all. Default: ``None``.
        held_out: the folds (from 0) to hold out in turn, or ``None`` for all k; one fold is a
            single validation split. Default: ``None``.
        epochs: training epochs. Default: the recipe's.
        seed: seeds the folds and the models. Default: 0.
        threads: ``torch.set_num_threads`` during the run (restored after). Default: 1.

    Returns:
        A :class:`~grubook.experiments.Result` with one row per variant, ``{"model",
        "accuracy", "errors", "held_out"}``: the accuracy over the held-out utterances, their
        errors and their number. Extras: ``fold_accuracies`` (per variant, per fold).

    Introduced in chapter 7, *Case study: who is speaking?*
    """
    start = time.perf_counter()
    variants = list(ABLATIONS) if variants is None else list(variants)
    unknown = [v for v in variants if v not in ABLATIONS]
    if unknown:
        raise ValueError(f"japanese_vowels_ablation: unknown variant {unknown[0]!r}")
    train = japanese_vowels().train  # the test set is not used
    splits = stratified_folds(train.y, folds, seed)
    held_out = list(range(folds)) if held_out is None else list(held_out)
    config = {"folds": folds, "held_out": held_out, "variants": variants, "epochs": epochs}
    config["seed"] = seed
    rows, per_fold = [], {}
    with num_threads(threads):
        for name in variants:
            per_fold[name], errors = [], 0
            for k in held_out:
                fit_on = torch.cat([f for i, f in enumerate(splits) if i != k])
                model = train_speaker_model(
                    _subset(train, fit_on), seed=seed, epochs=epochs, **ABLATIONS[name]
                )
                predicted = predict(model, _subset(train, splits[k])).argmax(-1)
                wrong = int((predicted != train.y[splits[k]]).sum())
                errors += wrong
                per_fold[name].append(1 - wrong / len(splits[k]))
            n = sum(len(splits[k]) for k in held_out)
            rows.append(
                {"model": name, "accuracy": 1 - errors / n, "errors": errors, "held_out": n}
            )
    extras = {"fold_accuracies": per_fold}
    return Result("japanese-vowels-ablation", rows, config, time.perf_counter() - start, extras)
