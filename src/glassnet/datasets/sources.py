"""Where each dataset comes from: its four files, their digests, mirrors and class names.

MNIST and Fashion-MNIST are published as the same four gzip-compressed IDX files::

    train-images-idx3-ubyte.gz   (60000, 28, 28) uint8
    train-labels-idx1-ubyte.gz   (60000,)        uint8
    t10k-images-idx3-ubyte.gz    (10000, 28, 28) uint8
    t10k-labels-idx1-ubyte.gz    (10000,)        uint8

Each file carries two SHA-256 digests. ``sha256`` is that of the *decompressed* IDX bytes: it
identifies the data itself, so it accepts every faithful copy, whoever compressed it (Debian, for
one, recompressed its Fashion-MNIST files). ``gz_sha256`` is that of the exact ``.gz`` the mirrors
serve; downloads are checked against it before they are moved into place, and the decompressed
digest is checked after. Because both digests are fixed here, a mirror reached over plain HTTP
cannot slip in other data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

__all__ = ["SOURCES", "DatasetSource", "IdxFile", "get_source"]


@dataclass(frozen=True)
class IdxFile:
    """One file of a dataset.

    Attributes
    ----------
    name : str
        The file name mirrors serve, e.g. ``"train-images-idx3-ubyte.gz"``.
    sha256 : str
        SHA-256 (hex) of the decompressed IDX bytes.
    gz_sha256 : str
        SHA-256 (hex) of the ``.gz`` file as the mirrors serve it.
    shape : tuple of int
        The array the file holds, e.g. ``(60000, 28, 28)``.
    """

    name: str
    sha256: str
    gz_sha256: str
    shape: tuple[int, ...]

    @property
    def names(self) -> tuple[str, str]:
        """The names a local copy may have: compressed first, then uncompressed."""
        stem = self.name.removesuffix(".gz")
        return (self.name, stem)


@dataclass(frozen=True)
class DatasetSource:
    """Everything needed to find, download and check one dataset.

    Attributes
    ----------
    name : str
        The name users type, e.g. ``"fashion-mnist"``.
    title : str
        One line saying what the dataset is.
    train_images, train_labels, test_images, test_labels : IdxFile
        The four files.
    class_names : tuple of str
        Label ``i`` means ``class_names[i]``.
    mirrors : tuple of str
        Base URLs (ending in ``/``) tried in order; a file's URL is base + file name.
    system_dirs : tuple of pathlib.Path
        Directories where an operating-system package installs the files, looked in after
        the user's own.
    homepage : str
        Where the dataset is described.
    """

    name: str
    title: str
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    class_names: tuple[str, ...]
    mirrors: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    homepage: str = ""

    @property
    def files(self) -> tuple[IdxFile, IdxFile, IdxFile, IdxFile]:
        """The four files: train images, train labels, test images, test labels."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


_MNIST = DatasetSource(
    name="mnist",
    title="MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 + 10,000 images, 28x28",
    train_images=IdxFile(
        "train-images-idx3-ubyte.gz",
        sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        gz_sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        shape=(60000, 28, 28),
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte.gz",
        sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        gz_sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        shape=(60000,),
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte.gz",
        sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        gz_sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        shape=(10000, 28, 28),
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        gz_sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        shape=(10000,),
    ),
    class_names=tuple(str(digit) for digit in range(10)),
    # The original site (yann.lecun.com) now often refuses downloads; these serve the same files.
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
)

_FASHION_MNIST = DatasetSource(
    name="fashion-mnist",
    title="Fashion-MNIST (Zalando Research): 60,000 + 10,000 clothing images, 28x28",
    train_images=IdxFile(
        "train-images-idx3-ubyte.gz",
        sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        gz_sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        shape=(60000, 28, 28),
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte.gz",
        sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        gz_sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        shape=(60000,),
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte.gz",
        sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        gz_sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        shape=(10000, 28, 28),
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte.gz",
        sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        gz_sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        shape=(10000,),
    ),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    # The project's own bucket answers only plain HTTP; the SHA-256 check makes that safe.
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    # Debian's package dataset-fashion-mnist installs the four .gz files here.
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)

#: Every dataset glassnet knows, by name.
SOURCES: Mapping[str, DatasetSource] = MappingProxyType(
    {source.name: source for source in (_MNIST, _FASHION_MNIST)}
)


def get_source(name: str) -> DatasetSource:
    """Look a dataset up by name.

    Parameters
    ----------
    name : str
        ``"mnist"`` or ``"fashion-mnist"`` (case-insensitive; ``_`` may stand for ``-``).

    Returns
    -------
    DatasetSource

    Raises
    ------
    ValueError
        If no dataset has that name; the message lists the known ones.
    """
    key = name.strip().lower().replace("_", "-")
    try:
        return SOURCES[key]
    except KeyError:
        known = ", ".join(SOURCES)
        raise ValueError(f"unknown dataset {name!r} (known: {known})") from None
