"""Re-execute chapter notebooks in place and record how each run went (``make execute``).

Each notebook runs top to bottom in a fresh ``python3`` kernel whose working directory is the
notebook's folder, with at most 300 s a cell; widget state is kept so the site can show it. The run
is stored in ``metadata.grubook``::

    {"execution_seconds": 12.3, "executed_at": "2025-01-01T12:00:00+00:00",
     "python": "3.11.2", "torch": "2.13.0+cpu", "platform": "Linux-...-x86_64",
     "cpu": "AMD EPYC ... (2 cores)"}

(the status page of the book shows them); a ``tolerance`` set there for the notebook check
(tests/notebook_check.py) is kept. A cell error stops the script with a non-zero exit,
and that notebook is left as it was.

Usage: ``python scripts/execute_notebooks.py chapters/01_recurrent_networks.ipynb ...``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

CELL_TIMEOUT_S = 300
KERNEL = "python3"


def cpu_name() -> str:
    """The processor's model name and the number of cores this process may use."""
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name} ({cores} cores)"


def kernel_versions() -> dict[str, str]:
    """Python, torch, platform and CPU of the environment the kernels run in (this one)."""
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": cpu_name(),
    }


def execute(path: Path) -> float:
    """Execute the notebook at ``path`` in place; return its run time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    kept = notebook.metadata.get("grubook", {}).get("tolerance")  # the check's, set by hand
    notebook.metadata["grubook"] = {
        **({"tolerance": kept} if kept else {}),
        "execution_seconds": round(seconds, 1),
        "executed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **kernel_versions(),
    }
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files to re-execute")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        print(f"executing {path} ...", flush=True)
        try:
            seconds = execute(path)
        except CellExecutionError as error:
            print(f"FAILED {path}:\n{error}", file=sys.stderr, flush=True)
            failed.append(path)
            continue
        print(f"  {seconds:.1f} s", flush=True)
    if failed:
        print(f"cell errors in: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
