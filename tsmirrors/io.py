"""Saving and loading fitted estimators and forecasters.

Model files hold arrays and JSON only (see :mod:`tsmirrors._modelfile`):
loading one executes no code from the file, and a file that was altered or
cut short is refused with a ``ValueError`` before anything is rebuilt.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

from . import _modelfile
from ._atomic import atomic_write_bytes
from ._version import __version__

__all__ = ["save", "load"]

_FORMAT = "tsmirrors-model"
_MAX_BYTES = 2**31


def _major_minor(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def save(model, path: str | os.PathLike) -> Path:
    """Save a fitted tsmirrors estimator or forecaster to ``path``.

    The file holds the model's arrays in an ``.npz`` archive and everything
    else (its class, parameters and fitted attributes) as JSON, with the
    tsmirrors version, a format version and a SHA-256 checksum that
    :func:`load` checks. It is written atomically (a temporary file in the
    same folder, renamed into place).

    Parameters
    ----------
    model : object
        A tsmirrors estimator or forecaster (``ConvexNetRegressor``,
        ``SGDNetRegressor``, ``ConvexAR``, ``ConvexQuantileAR``,
        ``AR1Forecaster``, ``NaiveForecaster``, ``SGDNetAR``), fitted or not.
    path : str or path-like

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        If the model holds an object the format cannot store.
    ValueError
        If ``path`` is an existing folder, or a folder above it is a file.
    """
    path = Path(path)
    _check_save_path(path)
    meta = {
        "format": _FORMAT,
        "version": __version__,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
    }
    if hasattr(model, "get_params"):
        meta["params"] = {k: repr(v) for k, v in model.get_params(deep=False).items()}
    data = _modelfile.dumps(meta, model)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, data)


def _check_save_path(path: Path) -> None:
    """Refuse, before any work, a destination that cannot become a file."""
    if path.is_dir():
        raise ValueError(
            f"cannot save the model to {path}: it is a folder; give a file "
            f"name, e.g. {path / 'model.tsm'}"
        )
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise ValueError(
                    f"cannot save the model to {path}: {folder} is a file, "
                    "not a folder"
                )
            break


def load(path: str | os.PathLike):
    """Load a model saved by :func:`save`.

    Nothing in the file is executed: arrays are read with
    ``numpy.load(allow_pickle=False)`` and objects are rebuilt only for
    tsmirrors' own classes.

    Raises
    ------
    ValueError
        If the file is missing, is not a tsmirrors model file (a pickle is
        refused without being read), is corrupted or truncated (checksum),
        uses an unknown format version, or was saved by a tsmirrors version
        with a different major.minor version (a different patch version only
        warns).
    """
    path = Path(path)
    try:
        info = path.stat()
    except OSError:
        raise ValueError(f"no saved model at {path}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{path} is not a regular file")
    if info.st_size > _MAX_BYTES:
        raise ValueError(f"{path} is {info.st_size} bytes, too large for a model file")
    meta, arrays = _modelfile.read_checked(path.read_bytes(), str(path))
    if meta.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a tsmirrors model file")
    saved = str(meta.get("version"))
    if _major_minor(saved) != _major_minor(__version__):
        raise ValueError(
            f"{path} was saved by tsmirrors {saved}; this is tsmirrors "
            f"{__version__}. Refit the model, or install tsmirrors=={saved} to "
            "load it"
        )
    model = _modelfile.build(meta, arrays, str(path))
    if saved != __version__:
        warnings.warn(
            f"{path} was saved by tsmirrors {saved}, loading with {__version__}",
            UserWarning,
            stacklevel=2,
        )
    return model
