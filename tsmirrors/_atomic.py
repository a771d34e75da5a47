"""Atomic file writes and all-or-nothing output sets.

Every file tsmirrors writes goes to a temporary file in the destination's
folder, is flushed to disk (``fsync``) and then renamed over the destination
with :func:`os.replace`, so a reader sees either the old file or the complete
new one, never a partial file; a failure (a full disk, an interrupt) removes
the temporary file and leaves the old file as it was.

:class:`OutputSet` groups the files of one run: they are written to a hidden
staging folder inside the output folder first; only when every file is
complete are they moved into place, under a lock, followed by a manifest
(``manifest.json``: the run id, each file and its SHA-256) written last.
Files of an earlier run that this run does not write are removed, so the
folder never holds one run's tables beside another run's plot.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = [
    "MANIFEST",
    "OutputSet",
    "atomic_open",
    "atomic_write_bytes",
    "check_output_dir",
    "file_lock",
    "sha256_file",
]

#: Name of the manifest an :class:`OutputSet` writes last.
MANIFEST = "manifest.json"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# permissions of a new file (temporary files are created 0600)
_FILE_MODE = 0o666 & ~_current_umask()


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk where the OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """Open a temporary file beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or path-like
        Destination. Its folder must exist.
    mode : {"w", "wb"}, default="w"
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``).

    Yields
    ------
    file object
        Write to it; on a normal exit it is flushed, fsync-ed and renamed over
        ``path``. On an exception the temporary file is removed and ``path``
        is left untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with contextlib.suppress(OSError):
            os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path`` as a Path."""
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return path


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def file_lock(path, timeout: float = 600.0):
    """Hold an exclusive lock on the lock file ``path`` (created if missing).

    Uses :func:`fcntl.flock` where available; elsewhere an exclusive-create
    lock file (``O_CREAT | O_EXCL``) polled until ``timeout`` seconds, after
    which a ``TimeoutError`` is raised.
    """
    path = Path(path)
    if fcntl is not None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))  # as flock leaves it
    marker = path.with_name(path.name + ".held")
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"could not lock {path} within {timeout} s; remove {marker} "
                    "if no other tsmirrors process is running"
                ) from None
            time.sleep(0.05)
    try:
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(marker)


def check_output_dir(
    out, what: str = "the output folder", create: bool = False
) -> Path:
    """Check that ``out`` can hold output files, before any work is done.

    Raises ``ValueError`` naming ``what`` and the problem when ``out`` is an
    existing file (or would sit below one) or cannot be written. A missing
    folder is checked through its nearest existing parent and created only
    with ``create=True``, so a run that fails later leaves nothing behind.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{what} {out} exists and is not a folder")
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot create {what} {out}: {exc}") from exc
    probe_dir = out
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise ValueError(
            f"cannot create {what} {out}: {probe_dir} exists and is not a folder"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=".write-test.")
    except OSError as exc:
        where = "" if probe_dir == out else f" (its parent {probe_dir} is not)"
        raise ValueError(f"{what} {out} is not writable{where}: {exc}") from exc
    os.close(fd)
    os.unlink(probe)
    return out


class OutputSet:
    """The files of one run, made visible together or not at all.

    Use as a context manager: :meth:`path` gives where to write each file
    (inside a staging folder in ``out``); on a normal exit the files are
    moved into ``out`` and ``manifest.json`` is written last, under a lock on
    ``out/.tsmirrors.lock`` so that two runs never interleave. On an
    exception nothing in ``out`` changes and the staging folder is removed.

    The manifest maps every output file in ``out`` to its SHA-256 and to the
    run and command that wrote it. A run replaces the files of earlier runs
    of the same ``command`` as a whole (one it no longer writes is removed);
    the files of other commands sharing the folder stay, listed with the run
    that wrote them, so a reader can always tell which files belong together.

    Parameters
    ----------
    out : str or path-like
        The output folder (created if missing).
    command : str, default="run"
        What wrote the files (``"backtest"``, ``"path"``, ...).

    Attributes
    ----------
    run_id : str
        Identifier of the run, recorded in the manifest.
    files : list of pathlib.Path
        Final paths of the files committed (after a successful exit).
    """

    def __init__(self, out, command: str = "run"):
        self.out = Path(out)
        self.command = str(command)
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
        self._names: list[str] = []
        self._stage: Path | None = None
        self.files: list[Path] = []

    def __enter__(self) -> OutputSet:
        check_output_dir(self.out, create=True)
        self._stage = Path(tempfile.mkdtemp(dir=self.out, prefix=".staging-"))
        return self

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` (a plain file name) of this run."""
        if self._stage is None:
            raise RuntimeError("OutputSet.path is only valid inside its `with` block")
        if Path(name).name != name or name in (MANIFEST, "", ".", ".."):
            raise ValueError(f"output names must be plain file names, got {name!r}")
        if name not in self._names:
            self._names.append(name)
        return self._stage / name

    def __exit__(self, exc_type, exc, tb):
        stage, self._stage = self._stage, None
        try:
            if exc_type is None:
                self._commit(stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        return False

    def _commit(self, stage: Path) -> None:
        written = [n for n in self._names if (stage / n).is_file()]
        for name in written:  # flush the staged files before they become visible
            with open(stage / name, "rb") as fh:
                os.fsync(fh.fileno())
        checksums = {name: sha256_file(stage / name) for name in written}
        manifest = self.out / MANIFEST
        with file_lock(self.out / ".tsmirrors.lock"):
            previous = _read_manifest_entries(manifest)
            # readers treat a folder without a manifest as "being written"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(manifest)
            for name in written:
                os.replace(stage / name, self.out / name)
            files = {}
            for name, entry in previous.items():
                if name in checksums:
                    continue
                if entry.get("command") == self.command:  # stale: same command
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.out / name)
                elif (self.out / name).is_file():
                    files[name] = entry
            for name, digest in checksums.items():
                files[name] = {
                    "sha256": digest,
                    "run_id": self.run_id,
                    "command": self.command,
                }
            _remove_abandoned_staging(self.out, keep=stage)
            record = {"run_id": self.run_id, "command": self.command, "files": files}
            with atomic_open(manifest, "w") as fh:
                json.dump(record, fh, indent=1)
        self.files = [self.out / n for n in written]


#: Age after which a staging folder is taken as left by a killed run.
_ABANDONED_S = 24 * 3600.0


def _remove_abandoned_staging(out: Path, keep: Path) -> None:
    """Remove staging folders of runs that were killed while writing."""
    now = time.time()
    for folder in out.glob(".staging-*"):
        with contextlib.suppress(OSError):
            if folder != keep and now - folder.stat().st_mtime > _ABANDONED_S:
                shutil.rmtree(folder)


def _read_manifest_entries(path: Path) -> dict[str, dict]:
    """The ``files`` of a manifest, each a dict; plain names only."""
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(files, dict):
        return {}
    return {
        str(name): entry
        for name, entry in files.items()
        if isinstance(entry, dict) and Path(str(name)).name == str(name)
    }
