"""Build a C++ extension from ``grubook/csrc/`` on first use, or say once why it cannot.

:func:`load_extension` compiles a source file with ``torch.utils.cpp_extension.load`` (ninja and
the C++ compiler a Linux or macOS machine, or Colab, has) into torch's extension folder
(``~/.cache/torch_extensions``, or ``TORCH_EXTENSIONS_DIR``), where later sessions find it
already built; torch's file lock lets two processes ask at once. When the build fails it warns
once per extension and returns ``None``, so the caller falls back to pure PyTorch. Setting the
environment variable ``GRUBOOK_NO_CPP=1`` skips the build (to test the fallback). Introduced in
chapter 8, *Making it fast*.
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
        flags.append("-march=native")  # built where it runs, so the native unit is safe
    if platform.system() == "Linux":
        flags.append("-fopenmp")  # the fused step's threads (libgomp, which PyTorch loads too)
    return flags


def _ninja_on_path() -> None:
    """Put the ``ninja`` of the ``ninja`` package on PATH when the shell has none (a venv)."""
    if shutil.which("ninja") is None:
        try:
            import ninja  # the PyPI package ships the binary
        except ImportError:
            return
        os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + os.environ.get("PATH", "")


def _build(name: str, path: pathlib.Path) -> types.ModuleType:
    from torch.utils import cpp_extension  # imported late: it is slow to import

    _ninja_on_path()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # compiler-version notes: the result is what counts
        return cpp_extension.load(
            name=f"grubook_{name}",
            sources=[str(path)],
            extra_cflags=_cflags(),
            extra_ldflags=["-fopenmp"] if platform.system() == "Linux" else [],
            verbose=False,
        )


def load_extension(name: str, source: str | pathlib.Path) -> types.ModuleType | None:
    """Return the compiled extension ``name`` built from ``grubook/csrc/<source>``, or ``None``.

    The first call in a session builds it (tens of seconds) or loads it from torch's extension
    folder (a second or less); later calls return the same module. If it cannot be built, one
    ``RuntimeWarning`` says why and this and every later call for ``name`` return ``None``.

    Args:
        name: the extension's name (``"gru"``); the compiled module is ``grubook_<name>``.
        source: a file name inside ``grubook/csrc/`` (``"gru.cpp"``).

    Returns:
        The extension module (its functions are the ones the source binds), or ``None`` if it
        could not be built or ``GRUBOOK_NO_CPP=1`` is set.

    Example::

        >>> ext = load_extension("gru", "gru.cpp")
        >>> backend = "C++" if ext is not None else "pure PyTorch"

    Introduced in chapter 8, *Making it fast*.
    """
    if os.environ.get("GRUBOOK_NO_CPP", "") not in ("", "0"):
        return None
    if name in _loaded:  # every call after the first: no lock
        return _loaded[name]
    with _lock:
        if name not in _loaded:
            path = CSRC / source
            try:
                if not path.is_file():
                    raise FileNotFoundError(f"no source file {path}")
                _loaded[name] = _build(name, path)
            except Exception as error:  # a missing compiler, ninja, header, or a compile error
                reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                warnings.warn(
                    f"grubook: could not build the C++ extension {name!r} from {source} "
                    f"({type(error).__name__}: {reason[:300]}); using the pure-PyTorch fallback, "
                    f"which is slower",
                    RuntimeWarning,
                    stacklevel=2,
                )
                _loaded[name] = None
        return _loaded[name]
