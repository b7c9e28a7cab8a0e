"""Run a notebook once in a fresh kernel and check it against the outputs stored in it.

``make test-notebooks`` runs every chapter this way (``tests/test_notebook_results.py``), one
notebook per pytest-xdist worker, and the Colab check (``tests/test_colab.py``) runs them with the
same kernel machinery in another environment. Loaded with ``-p notebook_check``, this module also
prints each notebook's run time at the end of the pytest output.

A run fails when

- a cell raises, unless it is tagged ``raises-exception``;
- a glued value (``grubook.glue``) differs from the stored one, or one is glued in only one of the
  two runs;
- a cell's text output differs from the stored one;
- the notebook takes more than ``MAX_SECONDS`` (90 s) of wall time on this run.

**How two texts are compared.** A glued value's ``text/plain`` repr, a cell's stdout, the
``text/plain`` of a displayed result, an error's ``name: message``: each is cut into numbers and the
text between them. The text between must be equal, integers must be equal, and two floats ``a``,
``b`` agree when ``|a - b| <= max(RTOL * max(|a|, |b|), ATOL, u)``, where ``u`` is one unit in the
last printed digit of either (``0.50`` against ``0.51`` printed with two decimals is rounding,
not a result). **RTOL = 1e-2, ATOL = 0**: runs are seeded with fixed thread counts, so on the same
machine and library versions they repeat to the last bit, and 1 % leaves room for another CPU's
rounding after a few epochs of training (one test sequence of 512 moves an accuracy by 0.2 %),
while chapter 2's accuracy edited from 97.5 to 99.9 (2.5 %) fails. ATOL is 0 because the book
reports ratios like 4e-15 whose size is the result. A notebook may set its own, and one for a
single glued name whose value rounding can move (a chaotic run)::

    metadata.grubook.tolerance = {"rtol": 0.02, "names": {"full_min_rho2_factor": {"rtol": 0.5}}}

**What is compared how** (markers as cell tags, or for now as nbval's ``# NBVAL_...`` first-line
comments):

- ``nbval-skip``: not run, not compared;
- ``nbval-check-output``: text outputs must be equal character for character, numbers too;
- ``nbval-ignore-output``: text outputs not compared (its glued values still are);
- ``timing``, and any cell that glues a timing: text outputs not compared;
- ``gpu``: a cell whose outputs depend on whether the machine has a CUDA GPU (chapter 9): neither
  its text outputs nor the values it glues are compared, since the stored run may have had a GPU
  and CI has none;
- ``raises-exception``: may raise; its error's name and message are compared like text;
- every other cell: text outputs compared with the rule above.

**Timings** are glued names one of whose ``_``-separated words is ``seconds``, ``ms``, ``us`` or
``speedup`` (``exp_seconds``, ``ms_first``, ``step_us``, ``fused_speedup``): their values are never
compared, only that the run glues them.

Never compared: images (and the ``<Figure ...>`` text that comes with one), widget views (their
state is kept in the executed notebook, ``store_widget_state``), stderr (warnings, progress bars),
HTML.

**Time.** The wall time of the run, kernel start to last cell, as ``make execute`` records it,
must be at most 90 s. Under ``-n 2`` two notebooks share the 2 cores (a check beside a Colab run
or another check), and the limit is still 90 s: see CONTRIBUTING.md for why that is kept strict.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

RTOL = 1e-2
ATOL = 0.0
MAX_SECONDS = 90
CELL_TIMEOUT_S = 300
TIMING_WORDS = frozenset({"seconds", "ms", "us", "speedup"})
MARKERS = ("nbval-skip", "nbval-check-output", "nbval-ignore-output", "raises-exception")
COMMENTS = {f"# NBVAL_{m.removeprefix('nbval-').replace('-', '_').upper()}": m for m in MARKERS}
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROPERTY = "notebook_run"  # the user_properties key the summary at the end reads


def is_timing(name: str) -> bool:
    """True for a glue name that holds a timing: one of its words is in ``TIMING_WORDS``."""
    return not TIMING_WORDS.isdisjoint(name.split("_"))


def markers(cell) -> set[str]:
    """The cell's tags, with nbval's first-line comment markers read as the same tags."""
    found = set(cell.get("metadata", {}).get("tags", []))
    lines = cell.get("source", "").lstrip().splitlines()
    if cell.get("cell_type") == "code" and lines and lines[0].strip() in COMMENTS:
        found.add(COMMENTS[lines[0].strip()])
    return found


@dataclass(frozen=True)
class Tolerance:
    """How close two floats must be: ``|a - b| <= max(rtol * max(|a|, |b|), atol, unit)``."""

    rtol: float = RTOL
    atol: float = ATOL

    def __str__(self) -> str:
        return f"rtol {self.rtol:g}, atol {self.atol:g}"


def tolerances(notebook) -> tuple[Tolerance, dict[str, Tolerance]]:
    """The notebook's tolerance and those of single glued names, from ``metadata.grubook``."""
    override = dict(notebook.metadata.get("grubook", {}).get("tolerance", {}))
    names = override.pop("names", {})
    for where, keys in [("", override), *((f".names.{n}", k) for n, k in names.items())]:
        unknown = set(keys) - {"rtol", "atol"}
        if unknown:
            raise ValueError(f"metadata.grubook.tolerance{where}: unknown keys {sorted(unknown)}")
    default = Tolerance(**{key: float(value) for key, value in override.items()})
    return default, {
        name: Tolerance(**{**vars(default), **{k: float(v) for k, v in keys.items()}})
        for name, keys in names.items()
    }


def _unit(token: str) -> float:
    """One unit in the last printed digit of a number: 0.01 for '0.50', 1e-17 for '4.01e-15'."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_agree(stored: str, fresh: str, tolerance: Tolerance) -> bool:
    """Whether two number tokens agree: integers exactly, floats within ``tolerance``."""
    integer = re.compile(r"[-+]?\d+")
    if integer.fullmatch(stored) and integer.fullmatch(fresh):
        return int(stored) == int(fresh)
    a, b = float(stored), float(fresh)
    if a == b:
        return True
    unit = max(_unit(stored), _unit(fresh)) * (1 + 1e-9)  # 0.51 - 0.50 is 0.010000000000000009
    return abs(a - b) <= max(tolerance.rtol * max(abs(a), abs(b)), tolerance.atol, unit)


def texts_agree(stored: str, fresh: str, tolerance: Tolerance | None) -> bool:
    """Equal text between the numbers and agreeing numbers; ``tolerance=None``: equal text."""
    if tolerance is None or stored == fresh:
        return stored == fresh
    if NUMBER.split(stored) != NUMBER.split(fresh):
        return False
    pairs = zip(NUMBER.findall(stored), NUMBER.findall(fresh), strict=True)
    return all(numbers_agree(a, b, tolerance) for a, b in pairs)


def text_difference(stored: str, fresh: str, tolerance: Tolerance | None) -> str | None:
    """None when the texts agree, else the first line that differs, stored against fresh."""
    if texts_agree(stored, fresh, tolerance):
        return None
    old, new = stored.splitlines(), fresh.splitlines()
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if not texts_agree(a, b, tolerance):
            return f"line {number}: stored {a!r}, fresh {b!r}"
    return f"stored {len(old)} lines, fresh {len(new)}: {stored[-200:]!r} against {fresh[-200:]!r}"


def glued(notebook) -> dict[str, tuple[int, str | None]]:
    """{name: (cell index, text/plain repr or None)} of every value the notebook glues."""
    values = {}
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                prefix = scrapbook.get("mime_prefix", "")
                values[scrapbook["name"]] = (index, output["data"].get(f"{prefix}text/plain"))
    return values


def text_outputs(cell) -> list[tuple[str, str]]:
    """(kind, text) of the outputs a cell shows as text: stdout (joined), results, its error."""
    shown, stdout = [], ""
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream" and output["name"] == "stdout":
            stdout += output["text"]
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            skip = "scrapbook" in output.get("metadata", {}) or any(
                mime.startswith("image/") or "widget-view" in mime for mime in data
            )
            if not skip and "text/plain" in data:
                shown.append(("result", data["text/plain"]))
        elif kind == "error":
            shown.append(("error", f"{output['ename']}: {output['evalue']}"))
    return ([("stdout", stdout)] if stdout else []) + shown


def cell_rule(cell, stored_glue: set[str]) -> Tolerance | None | bool:
    """False: not compared; None: compared exactly; True: compared with the notebook's tolerance."""
    found = markers(cell)
    if found & {"nbval-skip", "nbval-ignore-output", "timing", "gpu"}:
        return False
    if any(is_timing(name) for name in stored_glue):
        return False
    return None if "nbval-check-output" in found else True


def differences(stored, fresh, upto: int | None = None) -> list[str]:
    """Every disagreement between the stored notebook and a fresh run of it, one line each.

    Args:
        stored: the notebook as committed.
        fresh: the same notebook executed now.
        upto: compare only the cells before this index (those the fresh run reached).
    """
    upto = len(stored.cells) if upto is None else upto
    tolerance, by_name = tolerances(stored)
    found = []
    old = {n: v for n, v in glued(stored).items() if v[0] < upto}
    new = {n: v for n, v in glued(fresh).items() if v[0] < upto}
    for name in sorted(old.keys() | new.keys(), key=lambda n: (old.get(n) or new[n])[0]):
        if name not in new:
            found.append(f"cell {old[name][0]}, glue {name!r}: not glued by the fresh run")
        elif name not in old:
            found.append(f"cell {new[name][0]}, glue {name!r}: not stored (run make execute)")
        elif is_timing(name) or "gpu" in markers(stored.cells[old[name][0]]):
            continue
        elif not texts_agree(old[name][1] or "", new[name][1] or "", by_name.get(name, tolerance)):
            found.append(
                f"cell {old[name][0]}, glue {name!r}: stored {old[name][1]}, fresh {new[name][1]} "
                f"(floats within {by_name.get(name, tolerance)})"
            )
    for index, (before, after) in enumerate(zip(stored.cells[:upto], fresh.cells, strict=False)):
        if before.cell_type != "code":
            continue
        names = {n for n, (i, _) in old.items() if i == index} | {
            n for n, (i, _) in new.items() if i == index
        }
        rule = cell_rule(before, names)
        if rule is False:
            continue
        rule = tolerance if rule is True else None
        was, now = text_outputs(before), text_outputs(after)
        if [kind for kind, _ in was] != [kind for kind, _ in now]:
            found.append(
                f"cell {index}: stored outputs {[k for k, _ in was]}, fresh {[k for k, _ in now]}"
            )
            continue
        for (kind, a), (_, b) in zip(was, now, strict=True):
            difference = text_difference(a, b, rule)
            if difference:
                how = "exactly" if rule is None else f"floats within {tolerance}"
                found.append(f"cell {index}, {kind} ({how}): {difference}")
    return sorted(found, key=lambda line: int(line.split(",")[0].split(":")[0].split()[1]))


def kernel_manager(python: str | Path, kernel_dir: Path) -> AsyncKernelManager:
    """A manager for an IPython kernel of the interpreter ``python`` (its environment)."""
    spec = kernel_dir / "grubook-check"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "grubook check", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)], ensure_native_kernel=False)
    return AsyncKernelManager(kernel_name="grubook-check", kernel_spec_manager=specs)


@dataclass
class Run:
    """A fresh execution of a notebook: the executed copy, its wall time, where it stopped."""

    notebook: nbformat.NotebookNode
    seconds: float
    kernel_cpu_seconds: float
    error: str | None = None  # "cell N raised Name: message" where a cell raised unexpectedly
    error_cell: int | None = None


def execute(
    path: Path,
    python: str | Path = sys.executable,
    cwd: Path | None = None,
    env: dict | None = None,
) -> Run:
    """Execute a copy of the notebook at ``path`` top to bottom in a fresh kernel of ``python``.

    Args:
        path: the notebook; the stored file is left as it is.
        python: the interpreter whose environment the kernel runs in (default: pytest's own).
        cwd: the kernel's working directory (default: the notebook's folder).
        env: the kernel's whole environment (default: this process's); OpenMP threads wait
            passively unless it says otherwise (``OMP_WAIT_POLICY``, see the Makefile).
    """
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # nbclient reads tags only: turn nbval's comments into tags
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        tags.extend(sorted(markers(cell) - set(tags)))
    cpu = {"seconds": 0.0}

    with tempfile.TemporaryDirectory(prefix="grubook-kernel-") as kernel_dir:
        km = kernel_manager(python, Path(kernel_dir))

        def sample_cpu(**_):
            process = km.provisioner.process if km.provisioner else None
            if process is not None:
                import psutil

                times = psutil.Process(process.pid).cpu_times()
                cpu["seconds"] = times.user + times.system + times.children_user
                cpu["seconds"] += times.children_system

        client = NotebookClient(
            notebook,
            km=km,
            timeout=CELL_TIMEOUT_S,
            skip_cells_with_tag="nbval-skip",
            store_widget_state=True,
            resources={"metadata": {"path": str(cwd or path.parent.resolve())}},
            on_cell_executed=sample_cpu,
        )
        start, error, where = time.perf_counter(), None, None
        env = {"OMP_WAIT_POLICY": "PASSIVE", **(os.environ if env is None else env)}
        kwargs = {"cleanup_kc": True, "env": env}
        try:
            client.execute(**kwargs)
        except CellExecutionError as failure:
            where, error = first_error(notebook) or (None, str(failure)[-2000:])
        seconds = time.perf_counter() - start
    return Run(notebook, seconds, cpu["seconds"], error, where)


def first_error(notebook) -> tuple[int, str] | None:
    """(index, 'cell N raised Name: message (at ----> line)') of the first unexpected error."""
    for index, cell in enumerate(notebook.cells):
        if "raises-exception" in markers(cell):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                lines = ANSI.sub("", "\n".join(output.get("traceback", []))).splitlines()
                at = [line.strip() for line in lines if re.match(r"-+> ", line.lstrip())]
                where = f" (at {at[-1]})" if at else ""
                return index, f"cell {index} raised {output['ename']}: {output['evalue']}{where}"
    return None


def check(path: Path) -> tuple[Run, list[str]]:
    """Run the notebook at ``path`` fresh; return the run and every problem found, one a line."""
    stored = nbformat.read(path, as_version=4)
    run = execute(path)
    problems = differences(stored, run.notebook, upto=run.error_cell)
    if run.error:
        problems.append(run.error)
    if run.seconds > MAX_SECONDS:
        problems.append(f"ran {run.seconds:.1f} s, more than {MAX_SECONDS} s")
    return run, problems


def pytest_terminal_summary(terminalreporter):
    """One line per notebook run: name, wall time, kernel CPU time (the controller under xdist)."""
    lines = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for key, value in getattr(report, "user_properties", []):
                if key == PROPERTY and report.when == "call":
                    lines.append(f"{value}  [{outcome}]")
    if lines:
        terminalreporter.section("notebook runs (wall time; limit 90 s)")
        for line in sorted(lines):
            terminalreporter.line(line)
