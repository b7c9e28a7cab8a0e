"""Datasets and collation: the tasks of the book, and the padded batches the models read.

Data code never imports model code. Every dataset yields items ``(x_i, y_i)`` or
``(x_i, length_i, y_i)``; :func:`collate_sequences` pads them into ``(x, lengths, y)`` batches and
:func:`make_loader` makes a reproducibly shuffled ``DataLoader`` of them. Introduced in chapter 2,
*The GRU cell*; the long-memory tasks and :class:`Stream` in
chapter 3, *Long memory: vanishing and exploding gradients on real tasks*; scikit-learn's digits as
sequences in chapter 5, *From cell to classifier*; the words of :func:`word_languages` in
chapter 6, *Case study: which language is this word?*.
"""

from grubook.data.collate import collate_sequences, make_loader
from grubook.data.digits import Splits, digit_ink, pad_first, sequential_digits, split_indices
from grubook.data.synthetic import PaddedSequences, SignOfSum, make_generator
from grubook.data.tasks import AddingProblem, CopyTask, Stream
from grubook.data.vowels import JapaneseVowels, delta_features, japanese_vowels
from grubook.data.words import (
    LANGUAGES,
    CharVocabulary,
    WordDataset,
    WordLanguages,
    word_languages,
)
from grubook.masks import length_mask

__all__ = [
    "AddingProblem",
    "CopyTask",
    "PaddedSequences",
    "SignOfSum",
    "Stream",
    "collate_sequences",
    "length_mask",
    "make_generator",
    "make_loader",
    "Splits",
    "digit_ink",
    "pad_first",
    "sequential_digits",
    "split_indices",
    "LANGUAGES",
    "CharVocabulary",
    "WordDataset",
    "WordLanguages",
    "word_languages",
    "JapaneseVowels",
    "delta_features",
    "japanese_vowels",
]
