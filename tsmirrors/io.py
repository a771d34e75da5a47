"""Saving and loading fitted estimators and forecasters."""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from pathlib import Path

from ._version import __version__

__all__ = ["save", "load"]

_FORMAT = "tsmirrors-model"


def _major_minor(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def save(model, path: str | os.PathLike) -> Path:
    """Save a fitted tsmirrors estimator or forecaster to ``path``.

    The file stores the tsmirrors version, which :func:`load` checks. It is
    written atomically (a temporary file renamed into place).

    Parameters
    ----------
    model : object
        Any fitted tsmirrors estimator, forecaster or network.
    path : str or path-like

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    payload = {
        "format": _FORMAT,
        "version": __version__,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "model": model,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike):
    """Load a model saved by :func:`save`.

    Only load files you trust: the format is a Python pickle.

    Raises
    ------
    ValueError
        If the file is not a tsmirrors model, or was saved by a tsmirrors
        version with a different major.minor version (a different patch
        version only warns).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no saved model at {path}")
    with open(path, "rb") as fh:
        try:
            payload = pickle.load(fh)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ValueError(f"{path} is not a tsmirrors model file: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a tsmirrors model file")
    saved = str(payload.get("version"))
    if _major_minor(saved) != _major_minor(__version__):
        raise ValueError(
            f"{path} was saved by tsmirrors {saved}; this is tsmirrors "
            f"{__version__}. Refit the model, or install tsmirrors=={saved} to "
            "load it"
        )
    if saved != __version__:
        warnings.warn(
            f"{path} was saved by tsmirrors {saved}, loading with {__version__}",
            UserWarning,
            stacklevel=2,
        )
    return payload["model"]
