"""The settings that name a run's data, and the four sources they may name.

A run's data is one of four sources, and its settings say which:

- a dataset glassnet knows by name (``dataset = "mnist"``, ``"kmnist"``, ``"emnist-letters"``,
  ...), found in ``data_dir`` or where glassnet looks (:func:`glassnet.datasets.load`);
- a folder of IDX files of one's own (``dataset = "idx"`` with ``data_dir``; ``--dataset idx:DIR``
  on the command line);
- a folder of pictures, one folder per class (``data = DIR``; ``dataset`` then records
  ``"pictures"``), with ``image_size``, ``color``, ``image_prep`` and ``test_split``;
- a table (``data = FILE.csv`` or ``.parquet``; ``dataset`` records ``"table"``), with
  ``target``, ``features`` and ``test_split``.

The rules of these settings are declared with every other setting's, in
:data:`glassnet.config.RULES`; :class:`DatasetRule` checks a dataset's name against the catalogue,
and :func:`check_data_source` refuses settings that name two sources, or a setting of
one source given to another. :func:`glassnet.datasets.choose.load_for_settings` reads the data.
Every run records its data's SHA-256 (``data_sha256``).
"""

from __future__ import annotations

from typing import Any

from glassnet.config import SCALINGS
from glassnet.datasets.sources import check_dataset_name, known_names
from glassnet.datasets.table import is_table
from glassnet.errors import InputError, short
from glassnet.rules import Rule

__all__ = ["DATA_KINDS", "SCALINGS", "DatasetRule", "check_data_source"]

#: What ``dataset`` records for data of one's own given with ``data``.
DATA_KINDS = ("pictures", "table")


class DatasetRule(Rule):
    """The ``dataset`` setting: a known dataset's name, or ``idx:DIR``, checked when given, so an
    unknown name is a bad option (exit 2) rather than a failure to find data."""

    def parse(self, text: str) -> Any:
        return check_dataset_name(text)

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and value in (*DATA_KINDS, "idx"):
            return value  # how a run's settings record its own data (see RunSettings)
        if not isinstance(value, str):
            raise InputError(f"{name} must be {self.allowed()}, got {short(value)}")
        try:
            return check_dataset_name(value)
        except ValueError as exc:
            raise InputError(f"{name}: {exc}") from None

    def allowed(self) -> str:
        return "one of " + known_names()


def check_data_source(settings: Any) -> None:
    """Make the data settings name one source, and say which in ``dataset``.

    ``dataset = "idx:DIR"`` becomes ``dataset = "idx"`` with ``data_dir = DIR``; with ``data``,
    ``dataset`` becomes ``"pictures"`` or ``"table"``. Settings that belong to another source are
    refused rather than ignored.
    """
    if settings.data_sha256 is not None:
        digest = settings.data_sha256.strip().lower()
        if digest and (len(digest) != 64 or set(digest) - set("0123456789abcdef")):
            raise InputError(f"data sha256 must be 64 hex digits, got {short(digest)}")
        settings.data_sha256 = digest or None  # "": train on the data as it is now
    if settings.dataset.startswith("idx:"):
        folder = settings.dataset[len("idx:") :]
        if settings.data_dir not in (None, folder):
            raise InputError(f"dataset idx:{folder} and data_dir {settings.data_dir} disagree")
        settings.dataset, settings.data_dir = "idx", folder
    if settings.data is not None:
        kind = "table" if is_table(settings.data) else "pictures"
        if settings.dataset not in ("mnist", kind):
            raise InputError(
                f"dataset {settings.dataset} and data {settings.data} name two sources; give one"
            )
        settings.dataset = kind
    elif settings.dataset in DATA_KINDS:
        raise InputError(f"dataset {settings.dataset} needs data = PATH (--data PATH)")
    if settings.dataset == "idx" and settings.data_dir is None:
        raise InputError("dataset idx needs a folder: --dataset idx:DIR")
    unused = {
        "table": ("image_size", "color", "image_prep", "data_dir"),
        "pictures": ("target", "features", "data_dir"),
    }.get(
        settings.dataset, ("target", "features", "test_split", "image_size", "color", "image_prep")
    )
    given = [name for name in unused if getattr(settings, name) is not None]
    if given:
        raise InputError(
            f"{given[0].replace('_', ' ')} does not apply to {_source_words(settings)}"
        )
    if settings.dataset == "table" and settings.target is None:
        raise InputError(
            f"a table needs the column of its classes: --target COLUMN ({settings.data})"
        )
    size, color = settings.image_size or 28, settings.color or "gray"
    if settings.image_prep == "mnist" and (size, color) != (28, "gray"):
        raise InputError(
            "image prep mnist makes 28x28 gray pictures; leave out image size and color"
        )


def _source_words(settings: Any) -> str:
    if settings.dataset == "table":
        return f"a table ({settings.data})"
    if settings.dataset == "pictures":
        return f"a folder of pictures ({settings.data})"
    return f"the IDX dataset {settings.dataset}"
