"""Words and their languages: chapter 6's data set, from wordfreq's word lists (shipped, offline).

:func:`word_languages` takes each language's most frequent words (wordfreq, Speer 2022,
doi:10.5281/zenodo.7199437), keeps those written in the language's alphabet, drops every word
that two languages share (``"die"`` is German and English: no model could be right on it), and
splits each language's words 70/10/20 into train, validation and test sets, so that no word is in
two of them. :class:`CharVocabulary` turns words into integer ids, 0 being padding. Introduced in
chapter 6, *Case study: which language is this word?*.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence

import torch
from torch.utils.data import Dataset

__all__ = ["LANGUAGES", "CharVocabulary", "WordDataset", "WordLanguages", "word_languages"]

_LATIN = "abcdefghijklmnopqrstuvwxyz"

#: The letters each language of the chapter writes (lower case): the 26 Latin letters and its own.
LANGUAGES: dict[str, str] = {
    "en": _LATIN,
    "de": _LATIN + "äöüß",
    "fr": _LATIN + "àâæçéèêëîïôœùûüÿ",
    "es": _LATIN + "áéíñóúü",
    "it": _LATIN + "àèéìíîòóùú",
    "nl": _LATIN + "áéíóúàèëïöü",
    "pt": _LATIN + "áâãàçéêíóôõú",
    "sv": _LATIN + "åäöé",
    "pl": _LATIN + "ąćęłńóśźż",
    "fi": _LATIN + "äöåšž",
    "tr": _LATIN + "çğıöşüâî",
    "cs": _LATIN + "áčďéěíňóřšťúůýž",
}

_INSTALL = 'pip install "grubook[data]"'


def _wordfreq():
    """Import wordfreq, or say how to install it."""
    try:
        import wordfreq
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"word_languages needs wordfreq, one of grubook's data extras: {_INSTALL}"
        ) from error
    return wordfreq


class CharVocabulary:
    """Characters to integer ids and back: 0 is padding, 1 an unknown character, 2 a word boundary.

    Args:
        chars: the characters to give ids (3, 4, ... in sorted order); duplicates are ignored.

    Attributes:
        chars: the known characters, in id order.
        PAD, UNK, BOUNDARY: the special ids 0, 1 and 2.

    Example::

        >>> vocab = CharVocabulary("abc")
        >>> vocab.encode("cab"), vocab.encode("cat"), vocab.decode([5, 3, 4])
        ([5, 3, 4], [5, 3, 1], 'cab')

    Introduced in chapter 6, *Case study: which language is this word?*.
    """

    PAD, UNK, BOUNDARY = 0, 1, 2
    SPECIALS = ("<pad>", "<unk>", "<w>")

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = sorted(set(chars))
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("CharVocabulary: expected single characters")
        self._ids = {c: i for i, c in enumerate(self.chars, start=len(self.SPECIALS))}

    def __len__(self) -> int:
        return len(self.SPECIALS) + len(self.chars)

    def __repr__(self) -> str:
        return f"CharVocabulary({len(self.chars)} characters + {len(self.SPECIALS)} special ids)"

    def encode(self, word: str, *, boundaries: bool = False) -> list[int]:
        """The ids of the characters of ``word`` (UNK for unknown ones).

        Args:
            word: the word.
            boundaries: put the boundary id before and after the word. Default: ``False``.
        """
        ids = [self._ids.get(c, self.UNK) for c in word]
        return [self.BOUNDARY, *ids, self.BOUNDARY] if boundaries else ids

    def decode(self, ids: Iterable[int]) -> str:
        """The characters of ``ids``; padding and boundaries are left out, unknown ones are '?'.

        Args:
            ids: integer ids in [0, len(vocab)).
        """
        n = len(self.SPECIALS)
        return "".join(
            self.chars[i - n] if i >= n else ("?" if i == self.UNK else "") for i in map(int, ids)
        )


class WordDataset(Dataset):
    """Words as items ``(ids, label)`` for :func:`grubook.data.make_loader`: (T_i,) ids, an int.

    Args:
        words: the words.
        labels: one class index per word.
        vocab: the :class:`CharVocabulary` that encodes them.
        boundaries: put the boundary id before and after each word. Default: ``False``.

    Introduced in chapter 6, *Case study: which language is this word?*.
    """

    def __init__(
        self,
        words: Sequence[str],
        labels: Sequence[int],
        vocab: CharVocabulary,
        *,
        boundaries: bool = False,
    ) -> None:
        if len(words) != len(labels):
            raise ValueError(f"WordDataset: {len(words)} words but {len(labels)} labels")
        self.words, self.labels = list(words), list(labels)
        self.items = [
            (torch.tensor(vocab.encode(w, boundaries=boundaries)), int(y))
            for w, y in zip(self.words, self.labels, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.items[index]


@dataclasses.dataclass
class WordLanguages:
    """Words labelled with their language, split by word; what :func:`word_languages` returns.

    Each argument is also an attribute of the same name.

    Args:
        languages: the language codes; a word's label is its language's index here.
        splits: ``{"train": (words, labels), "val": ..., "test": ...}``.
        vocab: the characters of the training words, as a :class:`CharVocabulary`.
        config: the arguments that made it (``languages``, ``per_language``, ``seed``).

    Introduced in chapter 6, *Case study: which language is this word?*.
    """

    languages: list[str]
    splits: dict[str, tuple[list[str], list[int]]]
    vocab: CharVocabulary
    config: dict

    def words(self, split: str) -> list[str]:
        """The words of a split.

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``.
        """
        return self._split(split)[0]

    def labels(self, split: str) -> list[int]:
        """The labels (language indices) of a split's words.

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``.
        """
        return self._split(split)[1]

    def dataset(self, split: str, *, boundaries: bool = False) -> WordDataset:
        """``split`` as a :class:`WordDataset` of ``(ids, label)`` items.

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``.
            boundaries: put the boundary id before and after each word. Default: ``False``.
        """
        words, labels = self._split(split)
        return WordDataset(words, labels, self.vocab, boundaries=boundaries)

    def _split(self, split: str) -> tuple[list[str], list[int]]:
        if split not in self.splits:
            raise ValueError(f"WordLanguages: no split {split!r}; the splits are train, val, test")
        return self.splits[split]


def _check_languages(languages: object) -> list[str]:
    if isinstance(languages, str):
        languages = [languages]
    languages = list(languages)
    if not languages:
        raise ValueError("word_languages: languages is empty; give at least one language code")
    for code in languages:
        if code not in LANGUAGES:
            raise ValueError(
                f"word_languages: unknown language {code!r}; the known ones are "
                f"{', '.join(LANGUAGES)}"
            )
    if len(set(languages)) != len(languages):
        raise ValueError(f"word_languages: a language is listed twice in {languages}")
    return languages


def _top_words(wordfreq, code: str, per_language: int) -> list[str]:
    """The ``per_language`` most frequent words of ``code``, lower-cased, in its alphabet."""
    words = wordfreq.top_n_list(code, per_language)
    if len(words) < per_language:
        raise ValueError(
            f"word_languages: per_language={per_language} is larger than wordfreq's list for "
            f"{code!r} ({len(words)} words)"
        )
    alphabet = set(LANGUAGES[code])
    kept = dict.fromkeys(w.lower() for w in words)  # ordered, no duplicates
    return [w for w in kept if w and set(w) <= alphabet]


def word_languages(
    languages: Sequence[str] = tuple(LANGUAGES),
    per_language: int = 5000,
    seed: int = 0,
    *,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
) -> WordLanguages:
    """Frequent words of several languages, labelled, deduplicated and split by word.

    For each language: wordfreq's ``per_language`` most frequent words, lower-cased, kept if
    every letter is in the language's alphabet (``grubook.data.LANGUAGES``). A word kept by two
    or more languages is dropped from all of them. Each language's words are then shuffled
    (``seed``) and split by ``fractions`` into train, validation and test, so each split has the
    languages in the same proportions and no word is in two splits. The vocabulary holds the
    characters of the training words; other characters become the unknown id.

    Args:
        languages: language codes, keys of ``grubook.data.LANGUAGES``. Default: all twelve.
        per_language: how many of each language's most frequent words to take. Default: 5000.
        seed: seeds the shuffle before the split. Default: 0.
        fractions: the train, validation and test shares. Default: ``(0.7, 0.1, 0.2)``.

    Returns:
        A :class:`WordLanguages`.

    Raises:
        ValueError: for an unknown language code, ``per_language`` larger than a language's
            list or below 1, or a language left with no word.
        ImportError: if wordfreq is missing (``pip install "grubook[data]"``).

    Example::

        >>> data = word_languages(["en", "de"], per_language=1000)
        >>> words, labels = data.splits["train"]
        >>> loader = make_loader(data.dataset("train"), 64, shuffle=True)

    Introduced in chapter 6, *Case study: which language is this word?*.
    """
    languages = _check_languages(languages)
    if isinstance(per_language, bool) or not isinstance(per_language, int) or per_language < 1:
        raise ValueError(f"word_languages: per_language must be an int >= 1, got {per_language!r}")
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(
            f"word_languages: fractions must be 3 shares summing to 1, got {fractions}"
        )
    wordfreq = _wordfreq()
    lists = {code: _top_words(wordfreq, code, per_language) for code in languages}
    seen: dict[str, int] = {}
    for words in lists.values():
        for w in words:
            seen[w] = seen.get(w, 0) + 1
    splits: dict[str, tuple[list[str], list[int]]] = {s: ([], []) for s in ("train", "val", "test")}
    rng = random.Random(seed)
    for label, code in enumerate(languages):
        words = [w for w in lists[code] if seen[w] == 1]
        if not words:
            raise ValueError(f"word_languages: no words left for {code!r} after deduplication")
        rng.shuffle(words)
        n_train = round(fractions[0] * len(words))
        n_val = round(fractions[1] * len(words))
        parts = (words[:n_train], words[n_train : n_train + n_val], words[n_train + n_val :])
        for split, part in zip(splits, parts, strict=True):
            splits[split][0].extend(part)
            splits[split][1].extend([label] * len(part))
    vocab = CharVocabulary(c for w in splits["train"][0] for c in w)
    config = {"languages": languages, "per_language": per_language, "seed": seed}
    return WordLanguages(languages, splits, vocab, config)
