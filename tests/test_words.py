"""grubook.data.word_languages and the n-gram baselines of chapter 6."""

import math
import sys

import pytest
import torch

import grubook
from grubook.data import CharVocabulary, make_loader, word_languages
from grubook.data.words import LANGUAGES
from grubook.ngram import CharNgramLM, ngram_classifier

pytest.importorskip("wordfreq")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def data():
    return word_languages(["en", "de", "nl", "tr"], per_language=700, seed=3)


def test_splits_are_disjoint_and_no_word_has_two_languages(data):
    words = {s: data.words(s) for s in ("train", "val", "test")}
    for s, ws in words.items():
        assert len(ws) == len(set(ws)), f"a word repeats within {s}"
    assert not set(words["train"]) & set(words["val"])
    assert not set(words["train"]) & set(words["test"])
    assert not set(words["val"]) & set(words["test"])
    everything = [w for ws in words.values() for w in ws]
    assert len(everything) == len(set(everything))  # so no word carries two labels


def test_words_are_lower_case_in_their_alphabet_and_shared_words_are_dropped(data):
    for split in ("train", "val", "test"):
        for w, y in zip(data.words(split), data.labels(split), strict=True):
            assert w == w.lower() and w
            assert set(w) <= set(LANGUAGES[data.languages[y]]), (w, data.languages[y])
    everything = {w for s in ("train", "val", "test") for w in data.words(s)}
    import wordfreq

    en, de = set(wordfreq.top_n_list("en", 700)), set(wordfreq.top_n_list("de", 700))
    shared = en & de
    assert {"hand", "was", "film"} <= shared
    assert not shared & everything
    assert "ß" not in "".join(w for w, y in zip(*data.splits["train"], strict=True) if y == 0)


def test_split_is_70_10_20_per_language_and_seeded(data):
    for label in range(len(data.languages)):
        n = {s: data.labels(s).count(label) for s in ("train", "val", "test")}
        total = sum(n.values())
        assert 500 < total <= 700
        assert abs(n["train"] - 0.7 * total) <= 1 and abs(n["val"] - 0.1 * total) <= 1
    again = word_languages(["en", "de", "nl", "tr"], per_language=700, seed=3)
    assert again.splits == data.splits
    other = word_languages(["en", "de", "nl", "tr"], per_language=700, seed=4)
    assert other.words("test") != data.words("test")
    assert sorted(other.words("test") + other.words("train") + other.words("val")) == sorted(
        data.words("test") + data.words("train") + data.words("val")
    )


def test_vocabulary_pads_with_zero_and_marks_unknown_characters(data):
    vocab = data.vocab
    assert set(vocab.chars) == {c for w in data.words("train") for c in w}
    assert len(vocab) == len(vocab.chars) + 3
    word = data.words("train")[0]
    ids = vocab.encode(word)
    assert min(ids) >= 3 and vocab.decode(ids) == word
    assert vocab.encode("a€", boundaries=True) == [2, vocab.encode("a")[0], 1, 2]
    assert vocab.decode([2, 1, 0]) == "?"
    x, lengths, y = next(iter(make_loader(data.dataset("test"), 16)))
    assert x.shape == (int(lengths.max()), 16) and x.dtype == torch.int64
    assert (x[lengths[0] :, 0] == 0).all() and (x[: lengths[0], 0] > 0).all()
    assert y.tolist() == data.labels("test")[:16]
    assert data.dataset("val", boundaries=True)[0][0][0] == CharVocabulary.BOUNDARY


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"languages": ["en", "xx"]}, "unknown language 'xx'"),
        ({"languages": []}, "languages is empty"),
        ({"languages": ["en", "en"]}, "listed twice"),
        ({"per_language": 10**7}, r"per_language=10000000 is larger than wordfreq's list"),
        ({"per_language": 0}, "per_language must be an int >= 1, got 0"),
        ({"fractions": (0.5, 0.5, 0.5)}, "fractions must be 3 shares"),
    ],
)
def test_bad_input_names_the_value(kwargs, message):
    kwargs = {"languages": ["en", "de"], "per_language": 50, **kwargs}
    with pytest.raises(ValueError, match=message):
        word_languages(**kwargs)


def test_a_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "wordfreq", None)
    with pytest.raises(ImportError, match=r'pip install "grubook\[data\]"'):
        word_languages(["en"], per_language=10)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.naive_bayes", None)
    with pytest.raises(ImportError, match=r'pip install "grubook\[data\]"'):
        ngram_classifier("nb", 1.0)


def test_ngram_classifiers_learn_languages(data):
    train, test = data.splits["train"], data.splits["test"]
    for kind, param in (("nb", 0.1), ("lr", 10.0)):
        model = ngram_classifier(kind, param).fit(*train)
        accuracy = (model.predict(test[0]) == torch.tensor(test[1]).numpy()).mean()
        assert accuracy > 0.75, (kind, accuracy)
    with pytest.raises(ValueError, match="kind must be 'nb' or 'lr', got 'svm'"):
        ngram_classifier("svm", 1.0)


def test_char_ngram_lm_is_a_distribution_and_smooths():
    lm = CharNgramLM(order=3, k=0.5).fit(["cat", "car", "cart", "art"])
    symbols = sorted(lm.symbols)
    for context in ("", "\x02\x02", "\x02c", "ca", "zz"):
        total = sum(lm.prob(c, context) for c in symbols)
        assert 0.8 < total < 1.0  # the rest is kept for unseen characters
    assert lm.prob("r", "ca") > lm.prob("t", "ca") > lm.prob("a", "ca")  # car, cart; cat
    assert lm.perplexity(["cat"]) < lm.perplexity(["tca"])
    assert math.isfinite(lm.perplexity(["xyz"]))  # unseen characters get probability too
    with pytest.raises(ValueError, match="order must be an int >= 1, got 0"):
        CharNgramLM(order=0)
    with pytest.raises(ValueError, match="k must be > 0"):
        CharNgramLM(k=0)


def test_language_model_samples_and_ensemble_averages():
    torch.manual_seed(0)
    lm = grubook.GRULanguageModel(10, 4, 8)
    logits, h = lm(torch.randint(1, 10, (5, 3)))
    assert logits.shape == (5, 3, 10) and h.shape == (1, 3, 8)
    g = torch.Generator().manual_seed(1)
    words = lm.sample(6, start=2, end=2, max_length=7, generator=g)
    again = lm.sample(6, start=2, end=2, max_length=7, generator=torch.Generator().manual_seed(1))
    assert words == again and len(words) == 6
    assert all(len(w) <= 7 and 0 not in w and 2 not in w for w in words)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        lm.sample(1, start=2, end=2, temperature=0)
    members = [grubook.GRUClassifier(3, 5, 4) for _ in range(3)]
    x = torch.randn(6, 2, 3)
    mean = torch.stack([m(x).softmax(-1) for m in members]).mean(0)
    torch.testing.assert_close(grubook.Ensemble(members)(x).exp(), mean)
