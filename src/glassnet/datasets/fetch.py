"""Find a dataset's files on this machine, check them, and download them when they are missing.

Where glassnet looks, in order:

1. ``data_dir``, when the caller gives one (``--data-dir`` on the command line). It is the
   directory holding the four files. Nothing else is searched then: if a file is missing there,
   that is an error naming the directory and the file, so a typo never silently loads data
   from somewhere else.
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

Downloads try each mirror in turn with :func:`pooch.retrieve`, which writes to a temporary file
in the target directory, checks the SHA-256 of the ``.gz`` and only then renames it into place;
glassnet then checks the SHA-256 of the decompressed bytes too, and removes the file and tries
the next mirror if that fails. A failed download never leaves a file behind.

Checking on every load. The decompressed SHA-256 is computed by the IDX reader over the very
bytes it has just parsed, so what is checked is exactly what is used, with no window for the
file to change in between, no side files, and it works in read-only directories such as
``/usr/share``. It adds about 30 ms to reading MNIST's 47 MB of training images (about a tenth of
the decompression time), so there is nothing worth caching; ``load(..., verify=False)`` skips it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from glassnet.datasets.idx import read_idx
from glassnet.datasets.sources import DatasetSource, IdxFile, get_source
from glassnet.errors import DatasetNotFoundError, DownloadError, FormatError

__all__ = [
    "ENV_VAR",
    "FileCheck",
    "Location",
    "cache_dir",
    "download_file",
    "fetch",
    "locate",
    "not_found_message",
    "search_dirs",
    "verify",
]

#: Environment variable naming a root directory with one folder per dataset.
ENV_VAR = "GLASSNET_DATA_DIR"

#: How long to wait for a mirror to answer, in seconds.
DEFAULT_TIMEOUT = 60.0


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
        Whether it is well formed and has the expected decompressed SHA-256.
    problem : str
        What is wrong (one line), or ``""``.
    """

    file: IdxFile
    path: Path
    ok: bool
    problem: str = ""


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
    return f"{source.name} not found: it needs {names}; " + ", ".join(ways)


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
        directory = Path(data_dir).expanduser()
        if not directory.is_dir():
            raise DatasetNotFoundError(f"{directory}: no such directory (for {source.name})")
        found, missing = _find_files(source, directory)
        if missing:
            raise DatasetNotFoundError(
                f"{directory}: {source.name} files missing: {', '.join(missing)} "
                f"(download them with 'glassnet datasets fetch {source.name} "
                f"--data-dir {directory}')"
            )
        return Location(source, directory, "data_dir", tuple(found))
    for directory, origin in search_dirs(source):
        found, missing = _find_files(source, directory)
        if not missing:
            return Location(source, directory, origin, tuple(found))
    return None


def _check(file: IdxFile, path: Path) -> FileCheck:
    try:
        read_idx(path, sha256=file.sha256)
    except (FormatError, FileNotFoundError) as exc:
        return FileCheck(file, path, False, str(exc))
    return FileCheck(file, path, True)


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
    return [_check(file, path) for file, path in zip(source.files, location.paths, strict=True)]


def _failure(exc: Exception) -> str:
    """A short reason for a failed download attempt."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".strip()
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        # requests nests the cause deep inside a long message; keep only the system's words.
        cause = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
        return f"cannot connect: {cause.group(1).strip()}" if cause else "cannot connect"
    if isinstance(exc, requests.RequestException):
        return "connection broken before the download was complete"
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():
        return "SHA-256 of the download does not match"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def download_file(
    file: IdxFile,
    directory: str | os.PathLike[str],
    mirrors: tuple[str, ...] | list[str],
    *,
    progressbar: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """Download one file into ``directory``, trying each mirror until a copy checks out.

    Parameters
    ----------
    file : IdxFile
        What to download; the result is ``directory / file.name``.
    directory : str or os.PathLike
        Where to put it; created if needed.
    mirrors : sequence of str
        Base URLs tried in order; the file's URL is base + ``file.name``.
    progressbar : bool, default True
        Show a tqdm progress bar on standard error.
    timeout : float, default 60
        Seconds to wait for a mirror to answer.

    Returns
    -------
    pathlib.Path
        The downloaded file, whose ``.gz`` and decompressed SHA-256 both match.

    Raises
    ------
    glassnet.errors.DownloadError
        If every mirror fails; the message gives each mirror's reason. No file is left behind.
    """
    import pooch
    import requests

    target = Path(directory).expanduser()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{target}: cannot create directory: {exc.strerror}") from None
    path = target / file.name
    failures: list[str] = []
    for base in mirrors:
        url = base if base.endswith(file.name) else base.rstrip("/") + "/" + file.name
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{file.gz_sha256}",
                fname=file.name,
                path=target,
                progressbar=progressbar,
                downloader=pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout),
            )
        except (requests.RequestException, ValueError, OSError) as exc:
            failures.append(f"{url}: {_failure(exc)}")
            continue
        check = _check(file, path)
        if not check.ok:
            path.unlink(missing_ok=True)
            failures.append(f"{url}: {check.problem}")
            continue
        return path
    if not failures:
        raise DownloadError(f"cannot download {file.name}: no mirrors given")
    raise DownloadError(f"cannot download {file.name}: " + "; ".join(failures))


def fetch(
    dataset: str | DatasetSource,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progressbar: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Location:
    """Make sure a dataset is on this machine and intact, downloading what is missing.

    Without ``data_dir``: if a complete copy is found (see the search order), its files are
    checked and it is used; a bad file in the cache is downloaded again, a bad file elsewhere is
    an error (glassnet does not write outside its cache unless told to). With nothing found,
    the files are downloaded into the cache. With ``data_dir``: the files must end up there;
    those missing or failing their check are downloaded into it.

    Parameters
    ----------
    dataset : str or DatasetSource
        A name, or a source of one's own (its ``mirrors`` and digests are used).
    data_dir : str or os.PathLike, optional
        The directory to fill.
    progressbar : bool, default True
        Show download progress on standard error.
    timeout : float, default 60
        Seconds to wait for a mirror to answer.

    Returns
    -------
    Location
        Where the four verified files are.

    Raises
    ------
    glassnet.errors.DownloadError
        If a file cannot be downloaded from any mirror.
    glassnet.errors.FormatError
        If a copy found outside the cache and ``data_dir`` fails its check.
    """
    source = _source(dataset)
    origin = "data_dir"
    if data_dir is None:
        location = locate(source)
        if location is not None and location.origin != "cache":
            for file, path in zip(source.files, location.paths, strict=True):
                check = _check(file, path)
                if not check.ok:
                    raise FormatError(check.problem)
            return location
        target = cache_dir(source)
        origin = "cache"
    else:
        target = Path(data_dir).expanduser()

    paths: list[Path] = []
    for file in source.files:
        # Check the copy locate() would pick (the .gz before the uncompressed file); a download
        # replaces it, or, if it was the uncompressed one, takes precedence over it.
        present = next((target / name for name in file.names if (target / name).is_file()), None)
        if present is not None and _check(file, present).ok:
            paths.append(present)
        else:
            paths.append(
                download_file(
                    file, target, source.mirrors, progressbar=progressbar, timeout=timeout
                )
            )
    return Location(source, target, origin, tuple(paths))
