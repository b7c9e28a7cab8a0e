"""environment.yml (conda, Binder) pins exactly what requirements.txt pins."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
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


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def environment_pip_pins() -> dict[str, str]:
    sections = [d["pip"] for d in environment()["dependencies"] if isinstance(d, dict)]
    assert len(sections) == 1, "environment.yml needs exactly one pip: section"
    return pins(sections[0])


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
