"""A dataset's copy on this machine: where glassnet looks for its files, and checking them.

Where glassnet looks, in order:

1. ``data_dir``, when the caller gives one (``--data-dir`` on the command line). It is the
   directory holding the four files, or a root holding one folder per dataset (the form
   ``$GLASSNET_DATA_DIR`` takes), in which ``data_dir/<name>`` is used. Nothing else is searched
   then: if a file is missing there, that is an error naming the directory and the file, so a
   typo never silently loads data from somewhere else.
2. ``$GLASSNET_DATA_DIR/<name>``, e.g. ``$GLASSNET_DATA_DIR/fashion-mnist``. The variable names
   a root with one folder per dataset, because MNIST and Fashion-MNIST use the very same file
   names.
3. The user cache, ``platformdirs.user_cache_dir("glassnet")/<name>``, e.g.
   ``~/.cache/glassnet/mnist`` on Linux. Downloads go here.
4. Directories an operating-system package installs into, e.g. Debian's
   ``dataset-fashion-mnist`` puts ``train-images-idx3-ubyte.gz`` and the three others in
   ``/usr/share/datasets/fashion-mnist``.

A directory counts only if it holds all four files. Each may be gzip-compressed
(``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``).

Checking on every load. Every array must have the shape its source declares. The decompressed
SHA-256 (where its publisher gives one, see :mod:`glassnet.datasets.sources`) is computed by the
IDX reader over the very bytes it has just parsed, so what is checked is exactly what is used,
with no window for the file to change in between, no side files, and it works in read-only directories such as
``/usr/share``. It adds about 30 ms to reading MNIST's 47 MB of training images (about a tenth of
the decompression time), so there is nothing worth caching; ``load(..., verify=False)`` skips it.

Downloading what is missing is :mod:`glassnet.datasets.fetch`; it offers the public names here too,
so that the command line and callers import from one place.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glassnet.datasets.idx import read_idx
from glassnet.datasets.sources import DatasetSource, IdxFile, get_source
from glassnet.errors import DatasetNotFoundError, FormatError

__all__ = [
    "ENV_VAR",
    "FileCheck",
    "Location",
    "cache_dir",
    "check_file",
    "locate",
    "not_found_message",
    "read_checked",
    "search_dirs",
    "verify",
]

#: Environment variable naming a root directory with one folder per dataset.
ENV_VAR = "GLASSNET_DATA_DIR"


@dataclass(frozen=True)
class Location:
    """Where a dataset's four files were found.

    Attributes
    ----------
    source : DatasetSource
        The dataset.
    directory : pathlib.Path
        The directory holding the files.
    origin : str
        How the directory was found: ``"data_dir"``, ``"GLASSNET_DATA_DIR"``, ``"cache"`` or
        ``"system"``.
    paths : tuple of pathlib.Path
        The four files, in the order of ``source.files``.
    """

    source: DatasetSource
    directory: Path
    origin: str
    paths: tuple[Path, ...]

    @property
    def size(self) -> int:
        """Total size of the four files on disk, in bytes."""
        return sum(path.stat().st_size for path in self.paths)


@dataclass(frozen=True)
class FileCheck:
    """The result of checking one file against its SHA-256.

    Attributes
    ----------
    file : IdxFile
        Which file.
    path : pathlib.Path
        The copy that was checked.
    ok : bool
        Whether it is well formed, of the expected shape, and has the expected digest.
    problem : str
        What is wrong (one line), or ``""``.
    checked : str
        What was checked: ``"SHA-256"`` (of the decompressed bytes), ``"SHA-256 of the .gz"``, or
        ``"shape only"`` where no digest of this copy is published.
    """

    file: IdxFile
    path: Path
    ok: bool
    problem: str = ""
    checked: str = "SHA-256"


def _source(dataset: str | DatasetSource) -> DatasetSource:
    return dataset if isinstance(dataset, DatasetSource) else get_source(dataset)


def cache_dir(dataset: str | DatasetSource) -> Path:
    """The user-cache directory for a dataset, where downloads go.

    Parameters
    ----------
    dataset : str or DatasetSource

    Returns
    -------
    pathlib.Path
        ``platformdirs.user_cache_dir("glassnet") / name``; it need not exist.
    """
    import platformdirs  # imported here: it takes longer to import than all of glassnet.datasets

    return Path(platformdirs.user_cache_dir("glassnet")) / _source(dataset).name


def search_dirs(dataset: str | DatasetSource) -> list[tuple[Path, str]]:
    """The directories searched when no ``data_dir`` is given, in order, with their origin.

    Parameters
    ----------
    dataset : str or DatasetSource

    Returns
    -------
    list of (pathlib.Path, str)
        ``$GLASSNET_DATA_DIR/<name>`` (if the variable is set), the cache directory, then the
        operating system's directories.
    """
    source = _source(dataset)
    dirs: list[tuple[Path, str]] = []
    root = os.environ.get(ENV_VAR, "").strip()
    if root:
        dirs.append((Path(root).expanduser() / source.name, ENV_VAR))
    dirs.append((cache_dir(source), "cache"))
    dirs.extend((directory, "system") for directory in source.system_dirs)
    return dirs


def _find_files(source: DatasetSource, directory: Path) -> tuple[list[Path], list[str]]:
    """The copies of the four files present in ``directory``, and the names of those missing."""
    found: list[Path] = []
    missing: list[str] = []
    for file in source.files:
        for name in file.names:
            if (directory / name).is_file():
                found.append(directory / name)
                break
        else:
            missing.append(file.name)
    return found, missing


def not_found_message(dataset: str | DatasetSource) -> str:
    """One line saying which files a dataset needs and every way to supply them."""
    source = _source(dataset)
    names = ", ".join(file.name for file in source.files)
    ways = [
        "pass --data-dir DIR (data_dir=DIR) naming a folder that holds them",
        f"put them in ${ENV_VAR}/{source.name}",
        f"put them in {cache_dir(source)}",
    ]
    ways += [f"put them in {directory}" for directory in source.system_dirs]
    if source.name == "fashion-mnist":
        ways[-1] += " (Debian: apt install dataset-fashion-mnist)"
    ways.append(f"or run 'glassnet datasets fetch {source.name}' to download them")
    if source.archive is not None:
        ways[-1] += f" (EMNIST's archive of every split, {source.archive.size / 1e6:.0f} MB)"
    return f"{source.name} not found: it needs {names}; " + ", ".join(ways)


def _data_dir_location(source: DatasetSource, directory: Path) -> Location:
    """The copy in ``directory``, or in ``directory/<name>`` when it is a root of dataset folders."""
    if not directory.is_dir():
        raise DatasetNotFoundError(f"{directory}: no such directory (for {source.name})")
    found, missing = _find_files(source, directory)
    if not missing:
        return Location(source, directory, "data_dir", tuple(found))
    nested = directory / source.name
    if nested.is_dir():
        found_nested, missing_nested = _find_files(source, nested)
        if not missing_nested:
            return Location(source, nested, "data_dir", tuple(found_nested))
        directory, missing = nested, missing_nested
    elif len(missing) == len(source.files):
        # Nothing of the dataset here: the folder may be meant as a root, as GLASSNET_DATA_DIR is.
        raise DatasetNotFoundError(
            f"{directory}: no {source.name} files, and no {source.name} folder in it (it needs "
            f"{', '.join(missing)}); download them with 'glassnet datasets fetch {source.name} "
            f"--data-dir {directory / source.name}'"
        )
    raise DatasetNotFoundError(
        f"{directory}: {source.name} files missing: {', '.join(missing)} "
        f"(download them with 'glassnet datasets fetch {source.name} --data-dir {directory}')"
    )


def locate(
    dataset: str | DatasetSource, data_dir: str | os.PathLike[str] | None = None
) -> Location | None:
    """Find the directory holding a dataset's four files, without reading them.

    Parameters
    ----------
    dataset : str or DatasetSource
        ``"mnist"``, ``"fashion-mnist"``, or a source of one's own.
    data_dir : str or os.PathLike, optional
        Look only here, and insist the files are here.

    Returns
    -------
    Location or None
        The first complete directory in the search order (see the module docstring), or
        ``None`` if there is none (only when ``data_dir`` is not given).

    Raises
    ------
    glassnet.errors.DatasetNotFoundError
        If ``data_dir`` is given and does not hold all four files; the message names the
        directory and the missing files.
    """
    source = _source(dataset)
    if data_dir is not None:
        return _data_dir_location(source, Path(data_dir).expanduser())
    for directory, origin in search_dirs(source):
        found, missing = _find_files(source, directory)
        if not missing:
            return Location(source, directory, origin, tuple(found))
    return None


def check_file(file: IdxFile, path: Path) -> FileCheck:
    """Read ``path`` as ``file``, checking its decompressed SHA-256; never raises for bad data.

    Parameters
    ----------
    file : IdxFile
        Which file it should be.
    path : pathlib.Path
        The copy to check.

    Returns
    -------
    FileCheck
        ``ok`` true, or false with the reader's one-line ``problem``.
    """
    try:
        checked = read_checked(file, path, verify=True)[1]
    except (FormatError, FileNotFoundError) as exc:
        return FileCheck(file, path, False, str(exc))
    return FileCheck(file, path, True, checked=checked)


def read_checked(file: IdxFile, path: Path, *, verify: bool = True) -> tuple[np.ndarray, str]:
    """Read ``path`` as ``file``: its array, and what was checked (see :class:`FileCheck`).

    The shape is always checked; with ``verify``, the digest its publisher gives: the SHA-256 of
    the decompressed bytes, or, where only the ``.gz``'s is known, that of a compressed copy.

    Raises
    ------
    glassnet.errors.FormatError
        If the file is malformed, of another shape, or fails its digest.
    FileNotFoundError
        If it does not exist.
    """
    array = read_idx(path, sha256=file.sha256 if verify else None)
    if array.shape != file.shape:
        raise FormatError(
            f"{path}: holds an array of shape {array.shape}, expected {file.shape} "
            f"(is it {file.name}?)"
        )
    if not verify:
        return array, "shape only"
    if file.sha256 is not None:
        return array, "SHA-256"
    if file.gz_sha256 is not None and _is_gzip(path):
        digest = _file_sha256(path)
        if digest != file.gz_sha256:
            raise FormatError(
                f"{path}: SHA-256 of the .gz is {digest}, expected {file.gz_sha256} (only the "
                "publisher's .gz can be checked: its publisher gives no digest of the data itself)"
            )
        return array, "SHA-256 of the .gz"
    return array, "shape only"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(
    dataset: str | DatasetSource, data_dir: str | os.PathLike[str] | None = None
) -> list[FileCheck]:
    """Check every file of a dataset against the SHA-256 of its decompressed bytes.

    Parameters
    ----------
    dataset : str or DatasetSource
    data_dir : str or os.PathLike, optional
        Check the copy here instead of the first one found.

    Returns
    -------
    list of FileCheck
        One per file, in the order of ``source.files``.

    Raises
    ------
    glassnet.errors.DatasetNotFoundError
        If the dataset is not found (nothing is downloaded).
    """
    source = _source(dataset)
    location = locate(source, data_dir)
    if location is None:
        raise DatasetNotFoundError(not_found_message(source))
    return [check_file(file, path) for file, path in zip(source.files, location.paths, strict=True)]
