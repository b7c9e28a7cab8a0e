r"""Chapter 6's language model: a character GRU against a smoothed character n-gram model.

Both models learn one language's training words of :func:`grubook.data.word_languages` and are
measured on its held-out test words by perplexity per character (the end of each word counted
as one more prediction): :math:`\exp(-\frac{1}{N} \sum \log P(c_t \mid c_{<t}))` over the N
predictions. The n-gram model's order and smoothing are chosen on the validation words, the
GRU's epoch by its validation perplexity. Introduced in chapter 6, *Case study: which language
is this word?*.
"""

from __future__ import annotations

import copy
import math
import time
from importlib import resources

import torch
from torch.nn import functional as F

from grubook.checkpoint import load_checkpoint, save_checkpoint
from grubook.data.words import CharVocabulary, word_languages
from grubook.experiments.language_id import check_pretrained
from grubook.experiments.registry import Result, register
from grubook.experiments.training import flush_denormal
from grubook.language_model import GRULanguageModel
from grubook.ngram import CharNgramLM
from grubook.seed import seeded
from grubook.timing import num_threads

__all__ = ["lm_batch", "lm_perplexity", "word_lm"]

NAME = "word-lm"

#: The file of the shipped GRU model, in the package: what ``word_lm()`` trains by default.
WEIGHTS = "word_lm.pt"


def lm_batch(words: list[str], vocab: CharVocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets (T, B) of words between boundary markers; targets padded with -100.

    Args:
        words: B words.
        vocab: their :class:`grubook.data.CharVocabulary`.
    """
    ids = [torch.tensor(vocab.encode(w, boundaries=True)) for w in words]
    x = torch.nn.utils.rnn.pad_sequence([i[:-1] for i in ids], padding_value=0)  # (T, B)
    y = torch.nn.utils.rnn.pad_sequence([i[1:] for i in ids], padding_value=-100)  # (T, B)
    return x, y


@torch.no_grad()
def lm_perplexity(model: GRULanguageModel, words: list[str], vocab: CharVocabulary) -> float:
    """The model's perplexity per character on ``words`` (end markers counted).

    Args:
        model: a trained :class:`grubook.GRULanguageModel`.
        words: the words to measure on.
        vocab: their :class:`grubook.data.CharVocabulary`.
    """
    was_training = model.training
    model.eval()
    x, y = lm_batch(words, vocab)
    logits, _ = model(x)
    model.train(was_training)
    nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100, reduction="sum")
    return math.exp(nll.item() / int((y != -100).sum()))


def _tune_ngram(train, val, orders, ks):
    """The (perplexity, order, k, model) with the lowest validation perplexity.

    The counts are made once, at the highest order: a model of a lower order uses those of its
    shorter contexts, which are the same, and k only enters the probabilities.
    """
    counted = CharNgramLM(max(orders)).fit(train)
    best = None
    for order in orders:
        for k in ks:
            lm = copy.copy(counted)  # the same counts
            lm.order, lm.k = order, float(k)
            ppl = lm.perplexity(val)
            if best is None or ppl < best[0]:
                best = (ppl, order, k, lm)
    return best


def _train_lm(model, train, val, vocab, *, epochs, lr, batch_size, generator):
    """Adam over shuffled batches; keep the epoch with the lowest validation perplexity."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best, curve = (math.inf, None), []
    for _ in range(epochs):
        order = torch.randperm(len(train), generator=generator).tolist()
        for i in range(0, len(order), batch_size):
            x, y = lm_batch([train[j] for j in order[i : i + batch_size]], vocab)
            logits, _ = model(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        curve.append(lm_perplexity(model, val, vocab))
        if curve[-1] < best[0]:
            best = (curve[-1], copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[1])
    return curve


@register(
    NAME,
    "chapter 6: perplexity per character on held-out words, GRU language model against a "
    "smoothed character n-gram model",
    aggregate=("perplexity", "val_perplexity"),
    quick={
        "epochs": 2,
        "per_language": 1000,
        "hidden_size": 32,
        "embedding_dim": 16,
        "orders": (2, 3),
        "ks": (1.0,),
    },
)
def word_lm(
    *,
    language: str = "it",
    per_language: int = 5000,
    embedding_dim: int = 64,
    hidden_size: int = 256,
    dropout: float = 0.4,
    epochs: int = 25,
    lr: float = 2e-3,
    batch_size: int = 32,
    orders: tuple[int, ...] = tuple(range(1, 11)),
    ks: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0),
    n_samples: int = 12,
    temperature: float = 0.8,
    pretrained: bool = False,
    save: str | None = None,
    seed: int = 0,
    threads: int = 1,
) -> Result:
    """Train a character GRU language model and an n-gram model on one language's words.

    The words are ``language``'s share of ``word_languages(all twelve, per_language, seed)``:
    the same words, split the same way, as the chapter's classifier sees.

    Args:
        language: the language's code. Default: ``"it"``.
        per_language: the words taken from each language's list. Default: 5000.
        embedding_dim: E of the GRU model. Default: 64.
        hidden_size: H of the GRU model. Default: 256.
        dropout: the GRU model's dropout. Default: 0.4.
        epochs: passes over the training words. Default: 25.
        lr: Adam's learning rate. Default: 2e-3.
        batch_size: B, words per batch. Default: 32.
        orders: the n-gram orders tried on the validation words. Default: 1 to 10.
        ks: the smoothing strengths tried. Default: ``(1.0, 3.0, 10.0, 30.0, 100.0)``.
        n_samples: words sampled from the GRU model. Default: 12.
        temperature: the sampling temperature. Default: 0.8.
        pretrained: load the GRU model shipped in the package (trained by this function with
            its defaults) instead of training it; ``curve`` is then empty. Default: ``False``.
        save: a file to save the trained GRU model's ``state_dict`` to. Default: ``None``.
        seed: seeds the split, the weights, the batches and the samples. Default: 0.
        threads: ``torch.set_num_threads`` during the run. Default: 1.

    Returns:
        A :class:`~grubook.experiments.Result` with rows ``{"model", "perplexity",
        "val_perplexity", "setting"}`` for ``"GRU"`` and ``"n-gram"`` (test perplexity per
        character). Extras: ``model`` (the GRU model), ``ngram`` (the :class:`grubook.CharNgramLM`),
        ``vocab``, ``words`` (``{"train", "val", "test"}``), ``curve`` (validation perplexity
        after each epoch), ``samples`` (the sampled words), ``train_words`` (a set).

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    start = time.perf_counter()
    config = {k: v for k, v in locals().items() if k != "start"}
    config.update(orders=list(orders), ks=list(ks))
    data = word_languages(per_language=per_language, seed=seed)
    if language not in data.languages:
        raise ValueError(f"word_lm: unknown language {language!r}")
    label = data.languages.index(language)
    if pretrained:
        shape = {"embedding_dim": embedding_dim, "hidden_size": hidden_size, "dropout": dropout}
        check_pretrained(word_lm, {"language": language, "per_language": per_language, **shape})
        check_pretrained(word_lm, {"seed": seed})
    words = {
        s: [w for w, y in zip(*data.splits[s], strict=True) if y == label]
        for s in ("train", "val", "test")
    }
    vocab = CharVocabulary(c for w in words["train"] for c in w)
    val_ppl, order, k, ngram = _tune_ngram(words["train"], words["val"], orders, ks)
    with seeded(seed), num_threads(threads), flush_denormal():
        model = GRULanguageModel(len(vocab), embedding_dim, hidden_size, dropout=dropout)
        if pretrained:
            load_checkpoint(model, resources.files("grubook") / "weights" / WEIGHTS)
            curve = []
        else:
            g = torch.Generator().manual_seed(seed)
            curve = _train_lm(
                model, words["train"], words["val"], vocab,
                epochs=epochs, lr=lr, batch_size=batch_size, generator=g,
            )  # fmt: skip
        if save is not None:
            save_checkpoint(model, save)
        ids = model.sample(
            n_samples, start=vocab.BOUNDARY, end=vocab.BOUNDARY, temperature=temperature,
            generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip
    rows = [
        {
            "model": "GRU",
            "perplexity": lm_perplexity(model, words["test"], vocab),
            "val_perplexity": lm_perplexity(model, words["val"], vocab),
            "setting": f"H={hidden_size}, {epochs} epochs",
        },
        {
            "model": "n-gram",
            "perplexity": ngram.perplexity(words["test"]),
            "val_perplexity": val_ppl,
            "setting": f"n={order}, k={k:g}",
        },
    ]
    extras = {
        "model": model,
        "ngram": ngram,
        "vocab": vocab,
        "words": words,
        "curve": curve,
        "samples": [vocab.decode(i) for i in ids],
        "train_words": set(words["train"]),
    }
    return Result(NAME, rows, config, time.perf_counter() - start, extras)
