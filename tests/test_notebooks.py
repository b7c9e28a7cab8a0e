"""The chapter notebooks follow CONTRIBUTING.md: the structure the build, the site and the course
rely on. Runs on the stored notebooks (no kernel); ``make test-notebooks`` re-runs them.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
MAX_SECONDS = 90
SETUP_URL = re.compile(r'"(?:grubook\[\w+\] @ )?git\+https://github\.com/grubook/grubook@v([^"]+)"')
FENCE = r"^(?:`{3,}|:{3,})"
EXERCISE = re.compile(
    FENCE + r"\{exercise(?:-start)?\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", re.M
)
SOLUTION_START = re.compile(FENCE + r"\{solution-start\}\s+(\S+)", re.M)
SOLUTION_END = re.compile(FENCE + r"\{solution-end\}", re.M)


def source(cell) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def load(path: Path):
    return nbformat.read(path, as_version=4)


def setup_cell_from_contributing() -> str:
    """The setup cell exactly as CONTRIBUTING.md gives it."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^([ \t]*)```python\n(.*?)^\1```", text, re.M | re.S)
    cells = [textwrap.dedent(body) for _, body in blocks if 'find_spec("grubook")' in body]
    assert len(cells) == 1, "CONTRIBUTING.md should show the setup cell once"
    return cells[0].strip()


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(item):
        if isinstance(item, dict):
            if "file" in item:
                files.append(str(item["file"]))
            for key, value in item.items():
                if key != "root":
                    walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(toc)
    return files


def headings_outside_code(markdown: str) -> list[str]:
    """Markdown ATX headings of level 1, skipping fenced code."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if re.match(r"^\s*(```|~~~)", line):
            fenced = not fenced
        elif not fenced and re.match(r"^# \S", line):
            found.append(line)
    return found


chapter = pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)


def test_the_book_has_chapters_1_and_2():
    names = [path.name for path in CHAPTERS]
    for number in ("01", "02"):
        assert any(name.startswith(f"{number}_") for name in names), (
            f"chapter {number} is missing: no chapters/{number}_*.ipynb in {names}"
        )


@chapter
def test_is_valid_nbformat(path):
    json.loads(path.read_text(encoding="utf-8"))
    notebook = load(path)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@chapter
def test_every_code_cell_ran_in_order_without_errors(path):
    counts = []
    for index, cell in enumerate(load(path).cells):
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"cell {index} was not executed"
        counts.append(cell.execution_count)
        for output in cell.outputs:
            if output.output_type == "error":
                assert "raises-exception" in tags(cell), (
                    f"cell {index} stored an error ({output.ename}) without the tag "
                    f"raises-exception"
                )
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"execution counts not strictly increasing: {counts} (run make execute)"
    )


@chapter
def test_first_cell_has_one_title(path):
    first = load(path).cells[0]
    assert first.cell_type == "markdown", "the first cell must be markdown"
    titles = headings_outside_code(source(first))
    assert len(titles) == 1, f"the first cell needs exactly one H1, found {titles}"
    others = [
        (index, title)
        for index, cell in enumerate(load(path).cells[1:], start=1)
        if cell.cell_type == "markdown"
        for title in headings_outside_code(source(cell))
    ]
    assert not others, f"H1 headings after the first cell: {others}"


def optional_extras() -> dict[str, list[str]]:
    """pyproject's extras: {extra: [distribution names]}."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    return {k: [re.split(r"[<>=!~; \[]", d)[0] for d in v] for k, v in extras.items()}


def setup_cell_variants() -> set[str]:
    """CONTRIBUTING's setup cell, and its variant for each extra (CONTRIBUTING.md: the cell also
    installs when a module of the extra is missing, and installs ``grubook[extra]``)."""
    import importlib.metadata

    plain = setup_cell_from_contributing()
    providers = importlib.metadata.packages_distributions()
    variants = {plain}
    for extra, distributions in optional_extras().items():
        wanted = {d.lower().replace("_", "-") for d in distributions}
        for module, dists in providers.items():
            if not {d.lower().replace("_", "-") for d in dists} & wanted or module.startswith("_"):
                continue
            check = f'find_spec("grubook") is None or importlib.util.find_spec("{module}") is None'
            variant = plain.replace('find_spec("grubook") is None', check)
            variant = variant.replace('url = "git+', f'url = "grubook[{extra}] @ git+')
            variants.add(variant)
    return variants


@chapter
def test_second_cell_is_the_setup_cell(path):
    cell = load(path).cells[1]
    assert cell.cell_type == "code" and "setup" in tags(cell), "cell 2 must be code tagged setup"
    assert source(cell).strip() in setup_cell_variants(), (
        "cell 2 must be the setup cell of CONTRIBUTING.md, unchanged (or its variant for an extra)"
    )
    assert "git+https://github.com/grubook/grubook" in source(cell)


@chapter
def test_setup_cell_installs_the_books_version(path):
    """Colab installs the tag of the version the notebook was written for, not whatever main is."""
    import grubook

    found = SETUP_URL.findall(source(load(path).cells[1]))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert found == [grubook.__version__] == [project["version"]], (
        f"setup cell installs {found}; grubook.__version__ is {grubook.__version__}, "
        f"pyproject's version {project['version']}: the three must agree"
    )


@chapter
def test_run_time_is_recorded_and_short(path):
    run = load(path).metadata.get("grubook", {})
    for key in ("execution_seconds", "executed_at", "python", "torch", "platform"):
        assert key in run, f"metadata.grubook.{key} missing: run make execute"
    assert 0 < run["execution_seconds"] <= MAX_SECONDS, (
        f"{path.name} ran {run['execution_seconds']} s, more than {MAX_SECONDS} s"
    )


@chapter
def test_no_figure_reprs_stored(path):
    """A figure is stored as an image; a ``<Figure size ...>`` text output (a returned figure's
    repr) is noise on the site and breaks nbval's comparison. The text/plain fallback that goes
    with an image is fine."""
    for index, cell in enumerate(load(path).cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if any(mime.startswith("image/") for mime in data):
                continue
            text = output.get("text", "") + data.get("text/plain", "")
            assert "<Figure size" not in text, (
                f"cell {index} stores a <Figure ...> repr: assign to _ or end with plt.show()"
            )


@chapter
def test_exercises_have_solutions_tagged_solution(path):
    cells = load(path).cells
    exercises = []
    for cell in cells:
        if cell.cell_type == "markdown":
            for label in EXERCISE.findall(source(cell)):
                assert "solution" not in tags(cell), f"exercise {label} is tagged solution"
                exercises.append(label)
    assert len(exercises) >= 3, f"{path.name} has {len(exercises)} exercises, needs 3 or more"
    assert len(set(exercises)) == len(exercises), f"duplicate exercise labels: {exercises}"

    solved, open_label = [], None
    for index, cell in enumerate(cells):
        text = source(cell) if cell.cell_type == "markdown" else ""
        starts, ends = SOLUTION_START.findall(text), SOLUTION_END.findall(text)
        if starts:
            assert open_label is None, f"cell {index}: solution of {open_label} not ended"
            assert len(starts) == 1, f"cell {index}: two solution-starts in one cell"
            open_label = starts[0]
            assert open_label in exercises, f"cell {index}: solution of unknown {open_label}"
            solved.append(open_label)
        if open_label is not None:
            assert "solution" in tags(cell), (
                f"cell {index} is part of the solution of {open_label} but not tagged solution"
            )
        elif "solution" in tags(cell):
            raise AssertionError(f"cell {index} is tagged solution but is outside a solution")
        if ends:
            assert open_label is not None, f"cell {index}: solution-end without a start"
            open_label = None
    assert open_label is None, f"the solution of {open_label} has no solution-end"
    unsolved = [label for label in exercises if label not in solved]
    assert not unsolved, f"exercises without a solution: {unsolved}"
    assert len(solved) == len(set(solved)), f"an exercise has two solutions: {solved}"


def test_toc_lists_every_chapter_and_only_existing_files():
    files = toc_files()
    for entry in files:
        candidates = [ROOT / entry] + [ROOT / f"{entry}{ext}" for ext in (".md", ".ipynb")]
        assert any(c.is_file() for c in candidates), f"_toc.yml lists {entry}, which is missing"
    listed = {entry.removesuffix(".ipynb") for entry in files}
    for path in CHAPTERS:
        entry = path.relative_to(ROOT).with_suffix("").as_posix()
        assert entry in listed, f"{path.name} is not in _toc.yml"


def test_student_notebooks_lose_exactly_the_solution_cells(tmp_path):
    """What ``make student-notebooks`` does (nbconvert's TagRemovePreprocessor), on chapter 1."""
    from nbconvert.exporters import NotebookExporter
    from traitlets.config import Config

    if not CHAPTERS:
        pytest.fail("no chapter notebooks to check")
    path = CHAPTERS[0]
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = ["solution"]
    body, _ = NotebookExporter(config=config).from_filename(str(path))
    target = tmp_path / path.name
    target.write_text(body, encoding="utf-8")

    original = load(path).cells
    student = load(target).cells
    kept = [cell for cell in original if "solution" not in tags(cell)]
    assert len(kept) < len(original), f"{path.name} has no solution cells"
    assert [source(c) for c in student] == [source(c) for c in kept]
    assert [c.cell_type for c in student] == [c.cell_type for c in kept]
    assert not any("solution" in tags(c) for c in student)
    assert not any(SOLUTION_START.search(source(c)) for c in student)


@chapter
def test_chapter_checks_its_own_results(path):
    """The checked run compares the cells tagged ``nbval-check-output`` exactly and fails on a
    failed ``assert``; a chapter with neither would lean on tolerant comparisons alone."""
    cells = [c for c in load(path).cells if c.cell_type == "code"]
    commented = [source(c) for c in cells if source(c).lstrip().startswith("# NBVAL_")]
    checked = [c for c in cells if "nbval-check-output" in tags(c)]
    assert not commented, f"{path.name}: nbval comment markers, use tags: {commented[:1]}"
    asserts = re.compile(r"^\s*(assert\b|torch\.testing\.assert_close)", re.M)
    asserting = [c for c in cells if asserts.search(source(c))]
    assert checked, f"{path.name}: no cell tagged nbval-check-output"
    assert len(asserting) >= 3, f"{path.name}: only {len(asserting)} cells assert a result"


@chapter
def test_prose_glues_only_names_the_code_glues(path):
    """Every ``{glue:...}`name``` in the prose names a value the stored outputs glue (else the
    build warns), and every glued value is shown in the prose (no dead numbers)."""
    cells = load(path).cells
    prose = "\n".join(source(c) for c in cells if c.cell_type == "markdown")
    used = set(re.findall(r"\{glue(?::\w+)?\}`([A-Za-z_]\w*)", prose))
    glued = {
        output["metadata"]["scrapbook"]["name"]
        for cell in cells
        for output in cell.get("outputs", [])
        if "scrapbook" in (output.get("metadata") or {})
    }
    assert used, f"{path.name}: no number in the prose comes from glue"
    assert used <= glued, f"{path.name}: prose uses names nothing glues: {sorted(used - glued)}"
    assert glued <= used, f"{path.name}: glued but never shown: {sorted(glued - used)}"


@chapter
def test_stored_widget_state_holds_only_shown_widgets(path):
    """The notebook stores the state of every widget its kernel made (``make execute``), shown or
    not, and the site loads all of it. A widget made only to compute (a figure's values) would
    store its whole front end again: compute with plain functions instead."""
    notebook = load(path)
    state = (
        notebook.metadata.get("widgets", {})
        .get("application/vnd.jupyter.widget-state+json", {})
        .get("state", {})
    )
    shown = {
        output["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    }
    reachable, todo = set(), list(shown)
    while todo:  # a shown widget's models: its own and those it names ("IPY_MODEL_<id>")
        model_id = todo.pop()
        if model_id in reachable or model_id not in state:
            continue
        reachable.add(model_id)
        todo += re.findall(r"IPY_MODEL_(\w+)", json.dumps(state[model_id]))
    unshown = sorted(set(state) - reachable)
    assert not unshown, (
        f"{path.name}: {len(unshown)} stored widget models are never shown (made to compute?): "
        f"{unshown[:3]}"
    )
