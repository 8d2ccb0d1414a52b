"""Make sure a dataset is on this machine and intact, downloading the files that are missing.

Where glassnet looks for a dataset and how it checks one is :mod:`glassnet.datasets.local`; its
public names (:func:`locate`, :func:`verify`, :func:`cache_dir`, ...) are offered here as well.

Downloads try each mirror in turn with :func:`pooch.retrieve`, which writes to a temporary file
in the target directory, checks the SHA-256 of the ``.gz`` and only then renames it into place;
glassnet then checks the SHA-256 of the decompressed bytes too, and removes the file and tries
the next mirror if that fails. A failed download never leaves a file behind. Pooch's own log
lines are silenced: what glassnet says of a download is one line of its own.

A dataset published as one archive (EMNIST's six splits) is downloaded whole, checked against its
publisher's digest, and every split it holds is unpacked into its own cache folder (or, with
``data_dir``, the one asked for into that folder); the archive is then removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

from glassnet.datasets.idx import DEFAULT_MAX_BYTES
from glassnet.datasets.local import (
    ENV_VAR,
    FileCheck,
    Location,
    cache_dir,
    check_file,
    locate,
    not_found_message,
    search_dirs,
    verify,
)
from glassnet.datasets.sources import SOURCES, Archive, DatasetSource, IdxFile, get_source
from glassnet.errors import DownloadError, FormatError, InputError, one_line

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

#: How long to wait for a mirror to answer, in seconds.
DEFAULT_TIMEOUT = 60.0


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
        reason = f": {cause.group(1).strip()}" if cause else ""
        return f"cannot connect (offline?){reason}"
    if isinstance(exc, requests.RequestException):
        return "connection broken before the download was complete"
    if isinstance(exc, ValueError) and "hash" in str(exc).lower():
        return "SHA-256 of the download does not match"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = one_line(exc)
    return text if text == type(exc).__name__ else f"{type(exc).__name__}: {text}"


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
    target = _make_directory(directory)
    failures: list[str] = []
    for base in mirrors:
        url = base if base.endswith(file.name) else base.rstrip("/") + "/" + file.name
        problem = _download_from(url, file, target, progressbar=progressbar, timeout=timeout)
        if problem is None:
            return target / file.name
        failures.append(f"{url}: {problem}")
    if not failures:
        raise DownloadError(f"cannot download {file.name}: no mirrors given")
    raise DownloadError(f"cannot download {file.name}: " + "; ".join(failures))


def _make_directory(directory: str | os.PathLike[str]) -> Path:
    target = Path(directory).expanduser()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"{target}: cannot create directory: {exc.strerror}") from None
    return target


def _download_from(
    url: str, file: IdxFile, target: Path, *, progressbar: bool, timeout: float
) -> str | None:
    """Download ``url`` to ``target / file.name`` and check it: ``None``, or why it failed.

    A copy that fails the decompressed check is removed; pooch removes one that fails the
    ``.gz`` check itself.
    """
    problem = _retrieve(
        url, f"sha256:{file.gz_sha256}" if file.gz_sha256 else None, target / file.name,
        progressbar=progressbar, timeout=timeout,
    )  # fmt: skip
    if problem is not None:
        return problem
    path = target / file.name
    check = check_file(file, path)
    if not check.ok:
        path.unlink(missing_ok=True)
        return check.problem
    return None


def _retrieve(
    url: str, known_hash: str | None, path: Path, *, progressbar: bool, timeout: float
) -> str | None:
    """Download ``url`` to ``path`` through a temporary file, checking ``known_hash``: ``None``,
    or why it failed."""
    import pooch
    import requests

    with _quiet(pooch):
        try:
            pooch.retrieve(
                url,
                known_hash=known_hash,
                fname=path.name,
                path=path.parent,
                progressbar=progressbar,
                downloader=pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout),
            )
        except (requests.RequestException, ValueError, OSError) as exc:
            return _failure(exc)
    return None


@contextlib.contextmanager
def _quiet(pooch: object) -> Iterator[None]:
    """Pooch logs each download on standard error; glassnet's errors are to be one line."""
    logger = pooch.get_logger()  # type: ignore[attr-defined]
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def fetch(
    dataset: str | DatasetSource,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progressbar: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Location:
    """Make sure a dataset is on this machine and intact, downloading what is missing.

    Without ``data_dir``: if a complete copy is found (see the search order in
    :mod:`glassnet.datasets.local`), its files are checked and it is used; a bad file in the cache
    is downloaded again, a bad file elsewhere is an error (glassnet does not write outside its
    cache unless told to). With nothing found, the files are downloaded into the cache. With
    ``data_dir``: the files must end up there; those missing or failing their check are downloaded
    into it.

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
    source = dataset if isinstance(dataset, DatasetSource) else get_source(dataset)
    if data_dir is not None:
        target, origin = Path(data_dir).expanduser(), "data_dir"
    else:
        location = locate(source)
        if location is not None and location.origin != "cache":
            _require_intact(location)
            return location
        target, origin = cache_dir(source), "cache"
    if source.archive is not None:
        return _fetch_from_archive(source, target, origin, progressbar=progressbar, timeout=timeout)
    paths = [
        _checked_or_downloaded(
            file, target, source.mirrors, progressbar=progressbar, timeout=timeout
        )
        for file in source.files
    ]
    return Location(source, target, origin, tuple(paths))


def _require_intact(location: Location) -> None:
    """Raise the first failing check of a copy glassnet may not overwrite."""
    for file, path in zip(location.source.files, location.paths, strict=True):
        check = check_file(file, path)
        if not check.ok:
            raise FormatError(check.problem)


def _checked_or_downloaded(
    file: IdxFile,
    target: Path,
    mirrors: tuple[str, ...],
    *,
    progressbar: bool,
    timeout: float,
) -> Path:
    """The copy of ``file`` in ``target`` if it checks out, else a fresh download."""
    # Check the copy locate() would pick (the .gz before the uncompressed file); a download
    # replaces it, or, if it was the uncompressed one, takes precedence over it.
    present = next((target / name for name in file.names if (target / name).is_file()), None)
    if present is not None and check_file(file, present).ok:
        return present
    return download_file(file, target, mirrors, progressbar=progressbar, timeout=timeout)


def _fetch_from_archive(
    source: DatasetSource, target: Path, origin: str, *, progressbar: bool, timeout: float
) -> Location:
    """The source's files in ``target``, unpacked from its archive unless already there."""
    if source.archive is None:
        raise InputError(f"{source.name} comes as separate files, not in an archive")
    present = [
        next((target / name for name in file.names if (target / name).is_file()), None)
        for file in source.files
    ]
    if all(
        p is not None and check_file(f, p).ok for f, p in zip(source.files, present, strict=True)
    ):
        return Location(source, target, origin, tuple(p for p in present if p is not None))
    # The cache takes every split the archive holds; a data_dir only the one asked for.
    wanted = {source.name: target}
    if origin == "cache":
        for other in SOURCES.values():
            if other.archive == source.archive:
                wanted[other.name] = cache_dir(other)
    sources = {name: SOURCES.get(name, source) for name in wanted}
    sources[source.name] = source
    archive = _download_archive(source.archive, target, progressbar=progressbar, timeout=timeout)
    try:
        for name, folder in wanted.items():
            _unpack(archive, source.archive, sources[name], folder)
    finally:
        archive.unlink(missing_ok=True)
    paths = []
    for file in source.files:
        check = check_file(file, target / file.name)
        if not check.ok:
            raise FormatError(check.problem)
        paths.append(target / file.name)
    return Location(source, target, origin, tuple(paths))


def _download_archive(archive: Archive, near: Path, *, progressbar: bool, timeout: float) -> Path:
    """Download the archive beside ``near`` (so unpacking it is a rename away), trying each
    mirror against its own digest."""
    folder = _make_directory(near.parent)
    path = folder / archive.name
    failures = []
    for url, digest in archive.mirrors:
        problem = _retrieve(url, digest, path, progressbar=progressbar, timeout=timeout)
        if problem is None:
            return path
        path.unlink(missing_ok=True)
        failures.append(f"{url}: {problem}")
    reasons = "; ".join(failures) or "no mirrors given"
    raise DownloadError(f"cannot download {archive.name} ({archive.size / 1e6:.0f} MB): {reasons}")


def _unpack(path: Path, archive: Archive, source: DatasetSource, folder: Path) -> None:
    """Write ``source``'s files from the archive into ``folder``, each bounded in size and
    renamed into place only when complete."""
    from glassnet.atomic import atomic_write

    _make_directory(folder)
    try:
        with zipfile.ZipFile(path) as zipped:
            for file in source.files:
                member = archive.folder + file.name
                try:
                    info = zipped.getinfo(member)
                except KeyError:
                    raise FormatError(f"{path}: the archive holds no {member}") from None
                if info.file_size > DEFAULT_MAX_BYTES:
                    raise FormatError(f"{path}: {member} is {info.file_size:,} bytes; refused")
                with zipped.open(info) as packed, atomic_write(folder / file.name, "wb") as out:
                    shutil.copyfileobj(packed, out, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise FormatError(f"{path}: not a readable zip archive ({exc})") from None
