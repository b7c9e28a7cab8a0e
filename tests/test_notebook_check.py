"""The comparison rules of the notebook check (tests/notebook_check.py), on notebooks made here."""

from __future__ import annotations

import copy

import notebook_check as check
import pytest
from nbformat import v4

TOLERANCE = check.Tolerance()


def glue(name: str, text: str) -> dict:
    """A display output as myst-nb's glue stores it."""
    prefix = "application/papermill.record/"
    return v4.new_output(
        "display_data",
        data={f"{prefix}text/plain": text},
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


def stdout(text: str) -> dict:
    return v4.new_output("stream", name="stdout", text=text)


def code(*outputs, tags=(), source="x = 1") -> dict:
    cell = v4.new_code_cell(source, outputs=list(outputs))
    cell.metadata["tags"] = list(tags)
    return cell


def notebook(*cells, tolerance=None) -> dict:
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# Title"), *cells])
    if tolerance is not None:
        nb.metadata["grubook"] = {"tolerance": tolerance}
    return nb


@pytest.mark.parametrize(
    ("stored", "fresh", "agree"),
    [
        ("97.4609375", "99.9", False),  # the hand edit the check exists for
        ("97.4609375", "97.46093751", True),  # rounding
        ("0.50", "0.51", True),  # one unit in the last printed digit
        ("0.50", "0.52", False),
        ("4.01e-15", "4.02e-15", True),
        ("4.01e-15", "4.01e-13", False),  # ATOL 0: a tiny number's size is the result
        ("(5, 3, 8)", "(5, 3, 9)", False),  # integers exactly
        ("7680", "7681", False),
        ("weight_hh_l0", "weight_hh_l1", False),  # digits in a name are text
        ("ratio -14.4 done", "ratio -14.4 done.", False),  # text between numbers exactly
        ("GRU: 6 features", "GRU: 6 features", True),
    ],
)
def test_texts_agree(stored, fresh, agree):
    assert check.texts_agree(stored, fresh, TOLERANCE) is agree


def test_exact_rule_compares_numbers_exactly():
    assert check.texts_agree("0.50", "0.50", None)
    assert not check.texts_agree("0.50", "0.51", None)


@pytest.mark.parametrize(
    ("name", "timing"),
    [("exp_seconds", True), ("ms_first", True), ("step_us", True), ("fused_speedup", True)]
    + [("exp_acc_after", False), ("lag", False), ("msg_count", False), ("seconds2", False)],
)
def test_timing_names(name, timing):
    assert check.is_timing(name) is timing


def test_edited_glue_is_named_with_cell_and_both_values():
    stored = notebook(code(glue("exp_acc_after", "99.9")))
    fresh = notebook(code(glue("exp_acc_after", "97.4609375")))
    assert check.differences(stored, fresh) == [
        "cell 1, glue 'exp_acc_after': stored 99.9, fresh 97.4609375 "
        "(floats within rtol 0.01, atol 0)"
    ]


def test_timings_and_their_cells_are_not_compared_but_must_be_glued():
    timing_cell = code(glue("exp_seconds", "3.7"), stdout("took 3.7 s\n"))
    stored = notebook(timing_cell, code(stdout("1.5 ms\n"), tags=["timing"]))
    fresh = copy.deepcopy(stored)
    fresh.cells[1].outputs = [glue("exp_seconds", "9.1"), stdout("took 9.1 s\n")]
    fresh.cells[2].outputs = [stdout("4.5 ms\n")]
    assert check.differences(stored, fresh) == []
    fresh.cells[1].outputs = [stdout("took 9.1 s\n")]
    assert check.differences(stored, fresh) == [
        "cell 1, glue 'exp_seconds': not glued by the fresh run"
    ]


def test_printed_numbers_within_tolerance_text_exactly():
    stored = notebook(code(stdout("loss 0.4321\nshape (3, 8)\n")))
    fresh = copy.deepcopy(stored)
    fresh.cells[1].outputs = [stdout("loss 0.4322\nshape (3, 8)\n")]
    assert check.differences(stored, fresh) == []
    fresh.cells[1].outputs = [stdout("loss 0.4322\nshape (3, 9)\n")]
    (problem,) = check.differences(stored, fresh)
    assert problem.startswith("cell 1, stdout (floats within rtol 0.01, atol 0): line 2:")


@pytest.mark.parametrize("marker", ["tag", "comment"])
def test_check_output_cells_are_exact_ignore_output_cells_skipped(marker):
    def cell(kind, text):
        if marker == "tag":
            return code(stdout(text), tags=[f"nbval-{kind}-output"])
        return code(stdout(text), source=f"# NBVAL_{kind.upper()}_OUTPUT\nprint(x)")

    stored = notebook(cell("check", "0.4321\n"), cell("ignore", "0.4321\n"))
    fresh = copy.deepcopy(stored)
    fresh.cells[1].outputs = [stdout("0.4322\n")]
    fresh.cells[2].outputs = [stdout("whatever\n")]
    (problem,) = check.differences(stored, fresh)
    assert problem.startswith("cell 1, stdout (exactly): line 1")


def test_errors_compared_and_extra_outputs_named():
    error = v4.new_output("error", ename="ValueError", evalue="GRU: input has 6 features")
    stored = notebook(code(error, tags=["raises-exception"]), code(stdout("a\n")))
    fresh = copy.deepcopy(stored)
    fresh.cells[1].outputs = [v4.new_output("error", ename="ValueError", evalue="other")]
    result = v4.new_output("execute_result", data={"text/plain": "1"})
    fresh.cells[2].outputs = [stdout("a\n"), result]
    assert check.differences(stored, fresh) == [
        "cell 1, error (floats within rtol 0.01, atol 0): line 1: stored 'ValueError: GRU: "
        "input has 6 features', fresh 'ValueError: other'",
        "cell 2: stored outputs ['stdout'], fresh ['stdout', 'result']",
    ]


def test_images_and_widgets_are_not_compared():
    figure = v4.new_output(
        "display_data", data={"image/png": "iVBOR", "text/plain": "<Figure size 640x480>"}
    )
    widget = v4.new_output(
        "display_data",
        data={"application/vnd.jupyter.widget-view+json": {}, "text/plain": "IntSlider(value=3)"},
    )
    assert check.text_outputs(code(figure, widget, stdout("a\n"))) == [("stdout", "a\n")]


def test_tolerance_of_the_notebook_and_of_one_name():
    names = {"chaotic": {"rtol": 0.5}}
    stored = notebook(code(glue("chaotic", "502.0"), glue("steady", "1.000")), tolerance={})
    stored.metadata["grubook"]["tolerance"] = {"rtol": 0.05, "names": names}
    fresh = notebook(code(glue("chaotic", "636.0"), glue("steady", "1.040")))
    assert check.differences(stored, fresh) == []
    fresh = notebook(code(glue("chaotic", "636.0"), glue("steady", "1.060")))
    assert [p.split(":")[0] for p in check.differences(stored, fresh)] == ["cell 1, glue 'steady'"]
    stored.metadata["grubook"]["tolerance"] = {"rtool": 0.1}
    with pytest.raises(ValueError, match="unknown keys \\['rtool'\\]"):
        check.differences(stored, fresh)


def test_only_cells_before_an_error_are_compared():
    stored = notebook(code(glue("a", "1.0")), code(glue("b", "2.0")))
    fresh = notebook(code(glue("a", "1.5")), code())
    assert [p.split(":")[0] for p in check.differences(stored, fresh, upto=2)] == [
        "cell 1, glue 'a'"
    ]


def test_first_error_names_the_cell_and_the_failing_line():
    arrow = "\x1b[32m---> \x1b[39m\x1b[32m10\x1b[39m assert messages[0] == 'x'"
    raised = v4.new_output("error", ename="AssertionError", evalue="", traceback=["Cell", arrow])
    expected = v4.new_output("error", ename="ValueError", evalue="meant", traceback=[])
    nb = notebook(code(expected, tags=["raises-exception"]), code(raised))
    assert check.first_error(nb) == (
        2,
        "cell 2 raised AssertionError:  (at ---> 10 assert messages[0] == 'x')",
    )
