"""Every chapter runs where the book is not installed from this checkout, as in Colab.

A wheel of grubook goes into a fresh virtual environment (with the pinned CPU torch, never a CUDA
build: requirements.txt is passed as constraints); each chapter is copied into an empty folder of
its own and executed there in that environment's kernel. Its setup cell must find grubook
(installed from the wheel) and do nothing; every cell must run, and only cells tagged
``raises-exception`` may raise. Takes a minute or two, most of it installing torch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "grubook-colab-test"

RUNNER = textwrap.dedent(
    """
    import json, sys
    import nbformat
    from nbclient import NotebookClient

    path, kernel = sys.argv[1], sys.argv[2]
    notebook = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(
        "import grubook, json, sys\\n"
        "print(json.dumps({'grubook': grubook.__file__, 'python': sys.executable}))"
    )
    notebook.cells.append(probe)
    NotebookClient(notebook, timeout=300, kernel_name=kernel,
                   resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}}
                   ).execute()
    setup = notebook.cells[1]
    errors = [
        o for c in notebook.cells for o in c.get("outputs", [])
        if o.output_type == "error" and "raises-exception" not in c.metadata.get("tags", [])
    ]
    print(json.dumps({
        "setup_outputs": setup.outputs,
        "errors": len(errors),
        "probe": json.loads(notebook.cells[-1].outputs[0]["text"]),
    }))
    """
)


def run(*command: str | Path, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def test_chapters_run_from_the_wheel_in_a_fresh_environment(tmp_path):
    assert CHAPTERS, "no chapter notebook in chapters/"
    start = time.perf_counter()
    wheels, venv, workdir = tmp_path / "wheels", tmp_path / "venv", tmp_path / "colab"
    workdir.mkdir()
    build = tmp_path / "src"  # build from a copy, so no build/ or egg-info lands in the checkout
    shutil.copytree(
        ROOT, build, ignore=shutil.ignore_patterns(".venv", "_build", ".git", "*.ipynb", "build")
    )
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", ".",
        "-w", wheels, "-q", cwd=build)  # fmt: skip
    (wheel,) = wheels.glob("grubook-*.whl")

    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", wheel, "nbclient", "ipykernel",
        "-c", ROOT / "requirements.txt", cwd=tmp_path)  # fmt: skip
    run(python, "-m", "ipykernel", "install", "--prefix", venv, "--name", KERNEL, cwd=tmp_path)
    installed = time.perf_counter() - start

    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_PATH"] = str(venv / "share" / "jupyter")
    for chapter in CHAPTERS:
        folder = workdir / chapter.stem  # an empty folder, as Colab's
        folder.mkdir()
        notebook = folder / chapter.name
        shutil.copy2(chapter, notebook)
        output = run(python, runner, notebook, KERNEL, cwd=folder, env=env)
        result = json.loads(output.strip().splitlines()[-1])
        name = chapter.name
        assert result["errors"] == 0, f"{name}: a cell stored an error"
        assert result["setup_outputs"] == [], f"{name}: the setup cell did something"
        grubook_file = Path(result["probe"]["grubook"]).resolve()
        assert grubook_file.is_relative_to(venv.resolve()), f"{name}: grubook from {grubook_file}"
        kernel_python = Path(result["probe"]["python"])  # venv/bin/python, a link: do not resolve
        assert kernel_python.parent.resolve() == (venv / "bin").resolve(), (
            f"kernel: {kernel_python}"
        )
    torch_version = run(python, "-c", "import torch; print(torch.__version__)", cwd=tmp_path)
    assert "+cu" not in torch_version, f"a CUDA build of torch was installed: {torch_version}"
    total = time.perf_counter() - start
    print(f"\ncolab test: install {installed:.0f} s, total {total:.0f} s")
