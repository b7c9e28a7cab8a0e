r"""Character n-gram baselines: word classifiers from scikit-learn, and a smoothed n-gram model.

A word's character n-grams (``"^ca"``, ``"cat"``, ``"at$"``, ...) say much about its language:
:func:`ngram_classifier` counts the 1- to 4-grams of each word (scikit-learn's
``CountVectorizer(analyzer="char_wb")``, which marks the word's edges with spaces) and fits a
multinomial Naive Bayes or a logistic regression on the counts. :class:`CharNgramLM` predicts the
next character from the n - 1 before it, smoothed by interpolating with the shorter contexts
(a Dirichlet prior on each context's counts; MacKay & Peto 1995, and Chen & Goodman 1999 for
the family). Both are the baselines a recurrent model must beat in chapter 6, *Case study: which
language is this word?*, where they are introduced.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

__all__ = ["CharNgramLM", "ngram_classifier"]

_INSTALL = 'pip install "grubook[data]"'


def ngram_classifier(kind: str, param: float, *, ngram_range: tuple[int, int] = (1, 4)):
    """An unfitted scikit-learn pipeline: character n-gram counts, then a linear classifier.

    Args:
        kind: ``"nb"`` (``MultinomialNB(alpha=param)``) or ``"lr"``
            (``LogisticRegression(C=param)``, on counts scaled by tf-idf).
        param: Naive Bayes' smoothing ``alpha``, or the logistic regression's inverse
            regularisation strength ``C``.
        ngram_range: the shortest and longest n-grams counted. Default: ``(1, 4)``.

    Returns:
        A ``sklearn.pipeline.Pipeline``: ``.fit(words, labels)``, ``.predict_proba(words)``.

    Raises:
        ValueError: for another ``kind``.
        ImportError: if scikit-learn is missing (``pip install "grubook[data]"``).

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    try:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.naive_bayes import MultinomialNB
        from sklearn.pipeline import make_pipeline
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"ngram_classifier needs scikit-learn, one of grubook's data extras: {_INSTALL}"
        ) from error
    counts = CountVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=False)
    if kind == "nb":
        return make_pipeline(counts, MultinomialNB(alpha=param))
    if kind == "lr":
        lr = LogisticRegression(C=param, max_iter=1000)
        return make_pipeline(counts, TfidfTransformer(sublinear_tf=True), lr)
    raise ValueError(f"ngram_classifier: kind must be 'nb' or 'lr', got {kind!r}")


class CharNgramLM:
    r"""A character n-gram model of words, smoothed by interpolation with shorter contexts.

    .. math::
        P(c \mid h) = \frac{N(h, c) + k \, P(c \mid h')}{N(h) + k}

    where h is the n - 1 characters before c (the start marker before the word's first
    characters), h' is h without its first character, :math:`N` counts in the training words,
    k > 0 is the smoothing strength, and below the 1-gram is the uniform distribution over the
    characters seen and the end marker.

    Args:
        order: n, the characters in an n-gram (context n - 1). Default: 3.
        k: the smoothing strength. Default: 1.0.

    Example::

        >>> lm = CharNgramLM(order=3, k=0.5).fit(["cat", "car", "cart"])
        >>> lm.perplexity(["cat"]) < lm.perplexity(["tac"])
        True

    Introduced in chapter 6, *Case study: which language is this word?*.
    """

    START, END = "\x02", "\x03"

    def __init__(self, order: int = 3, k: float = 1.0) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"CharNgramLM: order must be an int >= 1, got {order!r}")
        if not k > 0:
            raise ValueError(f"CharNgramLM: k must be > 0, got {k!r}")
        self.order, self.k = order, float(k)
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.symbols: set[str] = set()

    def fit(self, words: Iterable[str]) -> CharNgramLM:
        """Count the n-grams of every order up to n in ``words``; return the model.

        Args:
            words: the training words.
        """
        for word in words:
            padded = self.START * (self.order - 1) + word + self.END
            self.symbols.update(word + self.END)
            for i in range(self.order - 1, len(padded)):
                for n in range(self.order):  # contexts of length 0 .. order - 1
                    self.counts[padded[i - n : i]][padded[i]] += 1
        if not self.symbols:
            raise ValueError("CharNgramLM: fit got no words")
        self._totals = {h: sum(c.values()) for h, c in self.counts.items()}
        return self

    def prob(self, char: str, context: str) -> float:
        """P(char | the last n - 1 characters of context), context holding start markers.

        Args:
            char: one character, or ``END``.
            context: the characters before it.
        """
        p = 1.0 / (len(self.symbols) + 1)  # uniform, one share kept for unseen characters
        context = context[len(context) - self.order + 1 :] if self.order > 1 else ""
        for n in range(len(context) + 1):  # from the empty context up to the longest
            h = context[len(context) - n :]
            counts = self.counts.get(h)
            if counts is None:
                break
            p = (counts[char] + self.k * p) / (self._totals[h] + self.k)
        return p

    def log_prob(self, word: str) -> float:
        """The natural log of the word's probability, its end marker included.

        Args:
            word: the word.
        """
        padded = self.START * (self.order - 1) + word + self.END
        return sum(
            math.log(self.prob(padded[i], padded[:i])) for i in range(self.order - 1, len(padded))
        )

    def perplexity(self, words: Sequence[str]) -> float:
        """exp of the mean negative log probability per character (end markers counted).

        Args:
            words: the words, e.g. a held-out set.
        """
        total = sum(self.log_prob(w) for w in words)
        return math.exp(-total / sum(len(w) + 1 for w in words))
