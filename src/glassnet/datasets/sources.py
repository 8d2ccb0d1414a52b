"""Where each dataset comes from: its four files, their digests, mirrors and class names.

MNIST, Fashion-MNIST and Kuzushiji-MNIST are published as the same four gzip-compressed IDX files::

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

Not every publisher gives both. Kuzushiji-MNIST's publishers give the ``.gz`` files' digests only,
so a copy of it is checked by the SHA-256 of its ``.gz`` (an uncompressed copy can only be checked
for its shape; ``glassnet datasets verify`` says so). EMNIST is published as one 536 MB archive
holding every split (``gzip/emnist-<split>-train-images-idx3-ubyte.gz``, ...), whose digest is the
one published: fetching any split downloads it once, checks it and unpacks all six splits.

EMNIST stores each image transposed against MNIST's (column after column), and its ``letters``
split labels its 26 classes from 1; a source says so (``transposed``, ``first_label``) and
:func:`glassnet.datasets.load` turns both back, so a network sees letters the right way up and
labels from 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from glassnet.errors import InputError

__all__ = [
    "EMNIST_ARCHIVE",
    "EMNIST_SPLITS",
    "IDX_PREFIX",
    "SOURCES",
    "Archive",
    "DatasetSource",
    "IdxFile",
    "check_dataset_name",
    "get_source",
]


@dataclass(frozen=True)
class IdxFile:
    """One file of a dataset.

    Attributes
    ----------
    name : str
        The file name mirrors serve, e.g. ``"train-images-idx3-ubyte.gz"``.
    sha256 : str or None
        SHA-256 (hex) of the decompressed IDX bytes, where it is known.
    gz_sha256 : str or None
        SHA-256 (hex) of the ``.gz`` file as the mirrors serve it, where it is known.
    shape : tuple of int
        The array the file holds, e.g. ``(60000, 28, 28)``.
    """

    name: str
    sha256: str | None
    gz_sha256: str | None
    shape: tuple[int, ...]

    @property
    def names(self) -> tuple[str, str]:
        """The names a local copy may have: compressed first, then uncompressed."""
        stem = self.name.removesuffix(".gz")
        return (self.name, stem)


@dataclass(frozen=True)
class Archive:
    """One archive holding the files of several datasets, as EMNIST is published.

    Attributes
    ----------
    name : str
        The file name it is saved under while it is unpacked, e.g. ``"emnist-gzip.zip"``.
    mirrors : tuple of (str, str)
        ``(url, digest)`` pairs tried in order; a digest is ``"sha256:<hex>"`` or ``"md5:<hex>"``,
        whichever its publisher gives.
    folder : str
        The folder inside the archive that holds the files, e.g. ``"gzip/"``.
    size : int
        Its size in bytes, to say before downloading it.
    """

    name: str
    mirrors: tuple[tuple[str, str], ...]
    folder: str
    size: int


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
    transposed : bool
        Images are stored transposed (EMNIST): they are turned back when read.
    first_label : int
        The label of the first class as stored (1 for EMNIST letters); labels are shifted to 0.
    archive : Archive or None
        Download this archive and unpack the files from it, rather than the files one by one.
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
    transposed: bool = False
    first_label: int = 0
    archive: Archive | None = None

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


def _gz_only(name: str, gz_sha256: str, shape: tuple[int, ...]) -> IdxFile:
    """A file whose publisher gives the digest of its ``.gz`` only."""
    return IdxFile(name, sha256=None, gz_sha256=gz_sha256, shape=shape)


_KMNIST = DatasetSource(
    name="kmnist",
    title="Kuzushiji-MNIST (ROIS-CODH): 60,000 + 10,000 cursive Japanese characters, 28x28",
    train_images=_gz_only(
        "train-images-idx3-ubyte.gz",
        "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
        (60000, 28, 28),
    ),
    train_labels=_gz_only(
        "train-labels-idx1-ubyte.gz",
        "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
        (60000,),
    ),
    test_images=_gz_only(
        "t10k-images-idx3-ubyte.gz",
        "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
        (10000, 28, 28),
    ),
    test_labels=_gz_only(
        "t10k-labels-idx1-ubyte.gz",
        "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
        (10000,),
    ),
    # One character for each row of the hiragana table, in the romanization its publishers use.
    class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    # The publisher's site answers both; the SHA-256 of each .gz makes plain HTTP safe.
    mirrors=(
        "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    ),
    homepage="https://github.com/rois-codh/kmnist",
)

#: EMNIST's one archive of every split. NIST publishes its MD5, the authors' university mirror
#: the SHA-256 of its copy; each mirror is checked against its own publisher's digest.
EMNIST_ARCHIVE = Archive(
    name="emnist-gzip.zip",
    mirrors=(
        (
            "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
            "md5:58c8d27c78d21e728a6bc7b3cc06412e",
        ),
        (
            "https://rds.westernsydney.edu.au/Institutes/MARCS/BENS/EMNIST/emnist-gzip.zip",
            "sha256:909a2a39c5e86bdd7662425e9b9c4a49bb582bf8d0edad427f3c3a9d0c6f7259",
        ),
    ),
    folder="gzip/",
    size=561_753_746,
)

_DIGITS = tuple("0123456789")
_UPPER = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# The balanced and bymerge splits merge the 15 lowercase letters written like their capitals.
_MERGED_LOWER = tuple("abdefghnqrt")

#: EMNIST's splits: classes and the sizes of the training and test parts.
EMNIST_SPLITS: dict[str, tuple[tuple[str, ...], int, int]] = {
    "digits": (_DIGITS, 240_000, 40_000),
    "letters": (_UPPER, 124_800, 20_800),
    "balanced": (_DIGITS + _UPPER + _MERGED_LOWER, 112_800, 18_800),
    "bymerge": (_DIGITS + _UPPER + _MERGED_LOWER, 697_932, 116_323),
    "byclass": (_DIGITS + _UPPER + tuple("abcdefghijklmnopqrstuvwxyz"), 697_932, 116_323),
    "mnist": (_DIGITS, 60_000, 10_000),
}


def _emnist(split: str) -> DatasetSource:
    """One EMNIST split: its files are unpacked from :data:`EMNIST_ARCHIVE`."""
    classes, n_train, n_test = EMNIST_SPLITS[split]

    def file(part: str, kind: str, shape: tuple[int, ...]) -> IdxFile:
        idx = "idx3" if kind == "images" else "idx1"
        return IdxFile(f"emnist-{split}-{part}-{kind}-{idx}-ubyte.gz", None, None, shape)

    return DatasetSource(
        name=f"emnist-{split}",
        title=f"EMNIST {split} (Cohen et al., NIST): {n_train:,} + {n_test:,} images, "
        f"{len(classes)} classes, 28x28",
        train_images=file("train", "images", (n_train, 28, 28)),
        train_labels=file("train", "labels", (n_train,)),
        test_images=file("test", "images", (n_test, 28, 28)),
        test_labels=file("test", "labels", (n_test,)),
        class_names=classes,
        mirrors=(),
        homepage="https://www.nist.gov/itl/products-and-services/emnist-dataset",
        transposed=True,
        first_label=1 if split == "letters" else 0,
        archive=EMNIST_ARCHIVE,
    )


#: Every dataset glassnet knows, by name.
SOURCES: Mapping[str, DatasetSource] = MappingProxyType(
    {
        source.name: source
        for source in (
            _MNIST,
            _FASHION_MNIST,
            _KMNIST,
            *(_emnist(split) for split in EMNIST_SPLITS),
        )
    }
)

#: The prefix of a dataset name that stands for a folder of IDX files of one's own: ``idx:DIR``.
IDX_PREFIX = "idx:"


def get_source(name: str) -> DatasetSource:
    """Look a dataset up by name.

    Parameters
    ----------
    name : str
        ``"mnist"``, ``"fashion-mnist"``, ``"kmnist"``, ``"emnist-letters"``, ... (see
        :data:`SOURCES`; case-insensitive, ``_`` may stand for ``-``).

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
        raise InputError(f"unknown dataset {name!r} (known: {known_names()})") from None


def known_names() -> str:
    """The names :func:`get_source` knows, and the ``idx:DIR`` form, in words."""
    return ", ".join(SOURCES) + ", or idx:DIR for a folder of IDX files"


def check_dataset_name(name: str) -> str:
    """``name`` in its standard spelling if it names a dataset or an ``idx:DIR`` folder.

    Raises
    ------
    ValueError
        If it is neither; the message lists the known names.
    """
    if name.strip().lower().startswith(IDX_PREFIX):
        folder = name.strip()[len(IDX_PREFIX) :].strip()
        if not folder:
            raise InputError("idx: needs a folder, as in idx:DIR")
        return IDX_PREFIX + folder
    return get_source(name).name
