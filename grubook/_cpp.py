"""Build a C++ extension from ``grubook/csrc/`` on first use, or say once why it cannot.

:func:`load_extension` compiles a source file with ``torch.utils.cpp_extension.load`` into
torch's extension folder (``~/.cache/torch_extensions``, or ``TORCH_EXTENSIONS_DIR``), where later
sessions find it built. When the build fails it warns once and returns ``None``, so the caller
falls back to pure PyTorch; ``GRUBOOK_NO_CPP=1`` skips the build. Introduced in chapter 8,
*Making it fast*.
"""

from __future__ import annotations

import os
import pathlib
import platform
import shutil
import threading
import types
import warnings

__all__ = ["load_extension"]

CSRC = pathlib.Path(__file__).parent / "csrc"
_loaded: dict[str, types.ModuleType | None] = {}
_lock = threading.Lock()


def _cflags() -> list[str]:
    """Optimise, allow ``#pragma omp simd``, and use this machine's vector unit on x86-64."""
    flags = ["-O3", "-fopenmp-simd"]
    if platform.machine().lower() in ("x86_64", "amd64"):
        flags.append("-march=native")  # built where it runs
    return flags


def _build(name: str, path: pathlib.Path) -> types.ModuleType:
    from torch.utils import cpp_extension  # slow to import: only when a build is asked for

    if shutil.which("ninja") is None:
        import ninja  # the PyPI package ships the binary

        os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cpp_extension.load(
            name=f"grubook_{name}",
            sources=[str(path)],
            extra_cflags=_cflags(),
            verbose=False,
        )


def load_extension(name: str, source: str | pathlib.Path) -> types.ModuleType | None:
    """Return the compiled extension ``name`` built from ``grubook/csrc/<source>``, or ``None``.

    Args:
        name: the extension's name (``"mingru"``); the compiled module is ``grubook_<name>``.
        source: a file name inside ``grubook/csrc/`` (``"mingru.cpp"``).

    Returns:
        The extension module, or ``None`` (after one ``RuntimeWarning``) if it could not be built,
        or if the environment variable ``GRUBOOK_NO_CPP=1`` is set.

    Introduced in chapter 8, *Making it fast*.
    """
    if os.environ.get("GRUBOOK_NO_CPP", "") not in ("", "0"):
        return None
    with _lock:
        if name not in _loaded:
            path = CSRC / source
            try:
                if not path.is_file():
                    raise FileNotFoundError(f"no source file {path}")
                _loaded[name] = _build(name, path)
            except Exception as error:  # no compiler, no ninja, a compile error
                reason = (str(error).strip().splitlines() or [""])[0][:300]
                warnings.warn(
                    f"grubook: could not build the C++ extension {name!r} from {source} "
                    f"({type(error).__name__}: {reason}); using the pure-PyTorch fallback",
                    RuntimeWarning,
                    stacklevel=2,
                )
                _loaded[name] = None
        return _loaded[name]
