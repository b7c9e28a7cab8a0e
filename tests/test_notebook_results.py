"""Each chapter, run once in a fresh kernel, gives its stored outputs (``make test-notebooks``).

The rules (tolerance, timings, tags) are in ``tests/notebook_check.py``; CONTRIBUTING.md says how
to mark a cell. Each chapter is one test, so pytest-xdist runs two notebooks at once on two cores.
"""

from __future__ import annotations

from pathlib import Path

import notebook_check
import pytest

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_fresh_run_gives_the_stored_outputs(path, record_property):
    run, problems = notebook_check.check(path)
    record_property(
        notebook_check.PROPERTY,
        f"{path.name}: {run.seconds:5.1f} s wall, kernel CPU {run.kernel_cpu_seconds:5.1f} s",
    )
    if problems:
        pytest.fail(
            f"{path.name}, fresh run against stored outputs:\n" + "\n".join(problems), False
        )
