"""The environments agree: environment.yml (authors, conda) pins exactly what requirements.txt
pins; binder/environment.yml (readers, Binder) pins the same versions of what the chapters need
and nothing of the authors' toolchain; the Binder launch buttons point at files that exist.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
READER = ROOT / "binder" / "environment.yml"
# Packages a reader needs that no chapter imports: the kernel, and the widgets a chapter shows.
READER_EXTRAS = {"ipykernel", "ipywidgets"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """{package: version} of the ``name==version`` lines; options and comments are skipped."""
    found = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {raw!r}"
        found[canonical(match[1])] = match[2]
    return found


def requirement_pins() -> dict[str, str]:
    return pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())


def environment(path: Path = ROOT / "environment.yml") -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def environment_pip_pins(path: Path = ROOT / "environment.yml") -> dict[str, str]:
    sections = [d["pip"] for d in environment(path)["dependencies"] if isinstance(d, dict)]
    assert len(sections) == 1, f"{path.name} needs exactly one pip: section"
    return pins(sections[0])


def chapter_imports() -> set[str]:
    """Top-level names of the modules the chapters' code cells import."""
    names = set()
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = "".join(cell["source"])
            code = "\n".join(line for line in code.splitlines() if line.lstrip()[:1] not in "%!")
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names


def distributions_needed_by_readers() -> set[str]:
    """The distributions that provide the chapters' imports and grubook's own dependencies."""
    providers = importlib.metadata.packages_distributions()
    third_party = chapter_imports() - set(sys.stdlib_module_names) - {"grubook"}
    missing = sorted(name for name in third_party if name not in providers)
    assert not missing, f"chapters import {missing}, which this environment does not provide"
    needed = {canonical(providers[name][0]) for name in third_party}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [dep for deps in project.get("optional-dependencies", {}).values() for dep in deps]
    for dep in project["dependencies"] + extras:
        needed.add(canonical(re.split(r"[<>=!~; \[]", dep)[0]))
    return needed


def test_every_requirement_is_pinned_the_same_in_environment_yml():
    required, env = requirement_pins(), environment_pip_pins()
    missing = {name: version for name, version in required.items() if name not in env}
    different = {n: (v, env[n]) for n, v in required.items() if n in env and env[n] != v}
    assert not missing, f"in requirements.txt, not in environment.yml: {missing}"
    assert not different, f"(requirements.txt, environment.yml) differ: {different}"


def test_environment_yml_pins_nothing_else():
    extra = set(environment_pip_pins()) - set(requirement_pins())
    assert not extra, f"in environment.yml, not in requirements.txt: {sorted(extra)}"


def test_environment_yml_is_cpu_only_python_311():
    env = environment()
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda and "pip" in conda
    assert not any(re.match(r"(pytorch|torch|cuda|pytorch-cuda)\b", d) for d in conda), conda
    pip_lines = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_lines


def test_reader_environment_has_what_the_chapters_import_pinned_as_requirements_txt():
    reader, required = environment_pip_pins(READER), requirement_pins()
    needed = distributions_needed_by_readers() | READER_EXTRAS
    assert needed <= reader.keys(), f"readers need {sorted(needed - reader.keys())}"
    different = {n: (v, required.get(n)) for n, v in reader.items() if required.get(n) != v}
    assert not different, f"(binder/environment.yml, requirements.txt) differ: {different}"


def test_reader_environment_has_nothing_more():
    """No author tools (jupyter-book, pytest, playwright, ruff, ...): only what readers need."""
    extra = environment_pip_pins(READER).keys() - distributions_needed_by_readers() - READER_EXTRAS
    assert not extra, f"binder/environment.yml has what no chapter needs: {sorted(extra)}"


def test_reader_environment_is_cpu_python_311_with_jupyter_and_installs_grubook():
    conda = [d for d in environment(READER)["dependencies"] if isinstance(d, str)]
    assert {"python=3.11", "pip", "jupyterlab", "notebook"} <= set(conda), conda
    assert not any(re.match(r"(pytorch|torch|cuda)\b", d) for d in conda), conda
    pip_lines = next(d["pip"] for d in environment(READER)["dependencies"] if isinstance(d, dict))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_lines
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    commands = [line for line in post_build.read_text().splitlines() if not line.startswith("#")]
    assert "python -m pip install --no-cache-dir --no-deps ." in commands


def test_binder_launch_buttons_open_existing_notebooks_on_main():
    """sphinx-book-theme builds {binderhub_url}/v2/gh/{org}/{repo}/{branch}?urlpath=tree/{path}:
    Binder builds binder/ of that branch and opens the path, which must exist."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    launch, repository = config["launch_buttons"], config["repository"]
    assert launch["binderhub_url"].startswith("https://mybinder.org")
    assert launch.get("notebook_interface", "classic") in ("classic", "jupyterlab")
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repository["url"])
    assert repository["branch"] == "main"
    book = ROOT / repository.get("path_to_book", "")
    assert sorted((book / "chapters").glob("[0-9][0-9]_*.ipynb")), "no chapter to open"
    assert READER.is_file() and not (ROOT / ".binder").exists(), "Binder reads binder/ first"
