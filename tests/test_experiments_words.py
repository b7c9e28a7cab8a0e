"""Chapter 6's experiments reproduce the chapter, and train reproducibly."""

from pathlib import Path

import pytest
import torch
from test_experiments import stored_glue

from grubook.experiments import language_id, run, word_lm

pytest.importorskip("wordfreq")
pytest.importorskip("sklearn")

CHAPTER = "06_language_id.ipynb"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def glue():
    if not (ROOT / "chapters" / CHAPTER).exists():
        pytest.skip("chapter 6 is not in this checkout")
    return stored_glue(CHAPTER)


def test_shipped_ensemble_gives_the_chapters_accuracies(glue):
    # the settings the validation words chose, as the chapter states them
    result = language_id(
        pretrained=True, nb_alphas=(glue["nb_alpha"],), lr_Cs=(glue["lr_c"],), threads=1
    )
    rows = {row["model"]: row for row in result.rows}
    assert rows["GRU ensemble"]["accuracy"] == pytest.approx(glue["ensemble_accuracy"], abs=2e-4)
    assert rows["GRU (one)"]["accuracy"] == pytest.approx(glue["one_accuracy"], abs=2e-4)
    assert rows["Naive Bayes"]["accuracy"] == pytest.approx(glue["nb_accuracy"], abs=2e-4)
    assert rows["logistic regression"]["accuracy"] == pytest.approx(glue["lr_accuracy"], abs=2e-4)
    assert set(rows["GRU ensemble"]) >= {"model", "accuracy", "macro_accuracy", "seeds"}


def test_shipped_language_model_gives_the_chapters_perplexities(glue):
    result = word_lm(pretrained=True)
    rows = {row["model"]: row for row in result.rows}
    assert rows["GRU"]["perplexity"] == pytest.approx(glue["gru_ppl"], rel=1e-3)
    assert rows["n-gram"]["perplexity"] == pytest.approx(glue["ngram_ppl"], rel=1e-3)
    assert rows["GRU"]["perplexity"] < rows["n-gram"]["perplexity"]


def test_language_id_trains_reproducibly_in_one_or_two_processes(tmp_path):
    settings = {"members": 2, "per_language": 200, "nb_alphas": (0.1,)}
    one = run("language-id", quick=True, save=str(tmp_path / "a.pt"), **settings)
    two = run("language-id", quick=True, save=str(tmp_path / "b.pt"), workers=2, **settings)
    a = torch.load(tmp_path / "a.pt", weights_only=True)
    b = torch.load(tmp_path / "b.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert one.rows == two.rows
    assert [row["model"] for row in one.rows] == [
        "Naive Bayes",
        "logistic regression",
        "GRU (one)",
        "GRU ensemble",
    ]
    assert len(one.histories) == 2 and one.config["members"] == 2


def test_word_lm_quick_run_is_deterministic():
    first, second = run("word-lm", quick=True), run("word-lm", quick=True)
    assert first.rows == second.rows and first.samples == second.samples
    assert len(first.curve) == first.config["epochs"]


def test_pretrained_needs_the_default_settings():
    with pytest.raises(ValueError, match="pretrained=True needs hidden_size=128, got 16"):
        language_id(pretrained=True, hidden_size=16)
    with pytest.raises(ValueError, match="pretrained=True needs language='it', got 'fi'"):
        word_lm(pretrained=True, language="fi")
