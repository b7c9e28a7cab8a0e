"""Every chapter runs as a reader runs it in Colab (``make test-notebooks``).

Colab gives each notebook a fresh runtime that already has a torch and must keep it; the chapter's
setup cell (cell 2, run unchanged) pip-installs grubook from the repository URL at the book's
version tag. Here:

- the repository is a snapshot of this checkout as it is now (tracked and untracked files)
  committed to a temporary git repository and tagged ``v<version>``; git's ``url.<base>.insteadOf``,
  in a temporary ``GIT_CONFIG_GLOBAL``, turns ``https://github.com/grubook/grubook`` into it;
- one fresh venv gets the pinned torch (the CPU build) and ipykernel, nothing else: the setup
  cell's pip resolves numpy, matplotlib and tqdm from the registry at the newest versions that
  pyproject allows (no constraints file), as in a runtime that lacks them;
- before each chapter grubook is uninstalled, so every setup cell installs it; the chapter runs in
  a kernel of that venv, in an empty folder, and no cell may raise unless tagged
  ``raises-exception``. Outputs are not compared here: the checked run does that in the pinned
  environment (``test_notebook_results.py``; CONTRIBUTING.md says why there).

Afterwards torch must still be the pinned CPU build and grubook the tagged commit. The tests share
one venv and one xdist worker (``xdist_group``); the checked runs use the other core meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import notebook_check
import pytest

import grubook

pytestmark = [pytest.mark.notebooks, pytest.mark.xdist_group("colab")]

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = "https://github.com/grubook/grubook"
TORCH = re.search(
    r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(encoding="utf-8"), re.M
).group(1)
# The environment's own git settings stay out of the snapshot and the reader's pip.
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
PROBE = (
    "import importlib.metadata as m, json, torch\n"
    "d = m.distribution('grubook')\n"
    "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda,\n"
    "    'grubook': json.loads(d.read_text('direct_url.json') or 'null'),\n"
    "    'libraries': {n: m.version(n) for n in ('numpy', 'matplotlib', 'tqdm')}}))"
)


def run(*command, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def snapshot(target: Path) -> str:
    """Commit this checkout's files as they are now to a new repository, tagged; its commit."""
    files = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, files.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is left out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    env = {**os.environ, **GIT_ENV}
    git = ["git", "-c", "user.name=grubook test", "-c", "user.email=test@localhost"]
    run(*git, "init", "-q", cwd=target, env=env)
    run(*git, "add", "-A", cwd=target, env=env)
    run(*git, "commit", "-q", "-m", "the checkout under test", cwd=target, env=env)
    run(*git, "tag", f"v{grubook.__version__}", cwd=target, env=env)
    return run("git", "rev-parse", "HEAD", cwd=target, env=env).strip()


class Colab:
    """A fresh venv with torch and ipykernel, and the environment its kernels run with."""

    def __init__(self, base: Path):
        start = time.perf_counter()
        repository, venv = base / "grubook.git", base / "venv"
        repository.mkdir()
        self.commit = snapshot(repository)
        gitconfig = base / "gitconfig"
        gitconfig.write_text(
            f'[url "{repository.as_uri()}"]\n\tinsteadOf = {REPOSITORY}\n', encoding="utf-8"
        )
        self.python = venv / "bin" / "python"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_CONSTRAINT")
        }
        self.env.update(
            GIT_CONFIG_GLOBAL=str(gitconfig),
            GIT_CONFIG_NOSYSTEM="1",
            PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONNOUSERSITE="1",
        )
        self.env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # speed only, see the Makefile
        run(sys.executable, "-m", "venv", venv, cwd=base)
        self.pip("install", "-q", "--upgrade", "pip")
        self.pip("install", "-q", f"torch=={TORCH}")  # the runtime's torch, before anything
        self.pip("install", "-q", "ipykernel")
        self.seconds = time.perf_counter() - start

    def pip(self, *args) -> str:
        return run(self.python, "-m", "pip", *args, cwd=self.python.parent, env=self.env)

    def probe(self) -> dict:
        return json.loads(run(self.python, "-c", PROBE, cwd=self.python.parent, env=self.env))


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    return Colab(tmp_path_factory.mktemp("colab"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_as_in_colab(path, colab, tmp_path, record_property):
    colab.pip("uninstall", "-q", "-y", "grubook")  # a new runtime: grubook missing
    folder = tmp_path / "content"  # an empty folder, as Colab's
    folder.mkdir()
    result = notebook_check.execute(path, python=colab.python, cwd=folder, env=colab.env)
    after = colab.probe()
    libraries = ", ".join(f"{n} {v}" for n, v in after["libraries"].items())
    record_property(
        notebook_check.PROPERTY,
        f"{path.name} (Colab-style): {result.seconds:5.1f} s wall, setup cell included; "
        f"venv built in {colab.seconds:.0f} s; {libraries}",
    )
    if result.error:
        pytest.fail(f"{path.name} in the Colab-style environment: {result.error}", False)
    assert (after["torch"], after["cuda"]) == (f"{TORCH}+cpu", None), (
        f"the setup cell changed torch to {after['torch']} (cuda {after['cuda']})"
    )
    installed = after["grubook"] or {}
    assert installed.get("url") == REPOSITORY, f"grubook installed from {installed}"
    assert installed["vcs_info"]["requested_revision"] == f"v{grubook.__version__}"
    assert installed["vcs_info"]["commit_id"] == colab.commit, "not the checkout under test"
