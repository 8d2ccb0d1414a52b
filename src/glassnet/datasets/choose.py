"""The data a run's settings name, read whichever source it is.

:func:`load_for_settings` reads the data flat settings name (see
:mod:`glassnet.datasets.datasettings` for the four sources and the settings that name them), for a
run and for the commands that test its model later: the same settings give the same data, with the
same test part held out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glassnet.datasets.dataset import Dataset
from glassnet.datasets.table import is_table
from glassnet.errors import InputError, short

__all__ = ["feature_list", "load_for_settings"]


def feature_list(text: str | None) -> list[str] | None:
    """The ``features`` setting (``"a,b,c"``) as a list of column names, or ``None``."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise InputError(f"features must be comma-separated column names, got {short(text)}")
    return names


def load_for_settings(settings: Mapping[str, Any], *, download: bool = True) -> Dataset:
    """The data flat settings name (a run's ``settings.toml``, a model's ``training_settings``).

    Parameters
    ----------
    settings : mapping
        ``dataset``, ``data_dir``, ``data``, ``target``, ``features``, ``test_split``,
        ``image_size``, ``color``, ``image_prep`` and ``seed``, as :class:`~glassnet.settings.
        RunSettings` records them; those missing take their defaults.
    download : bool, default True
        Download a named dataset that is found nowhere.

    Returns
    -------
    Dataset
        With the test part the run held out: the same settings give the same parts.
    """
    seed = int(settings.get("seed") or 0)
    data = settings.get("data")
    if data:
        split = float(settings.get("test_split") or 0.2)
        if is_table(data):
            from glassnet.datasets.table import read_table

            features = feature_list(settings.get("features"))
            return read_table(
                data, settings["target"], features=features, test_split=split, seed=seed
            )
        from glassnet.datasets.pictures import read_picture_folder

        return read_picture_folder(
            data,
            size=int(settings.get("image_size") or 28),
            color=str(settings.get("color") or "gray"),
            prep=str(settings.get("image_prep") or "resize"),
            test_split=split,
            seed=seed,
        )
    name = str(settings.get("dataset") or "mnist")
    if name == "idx":
        from glassnet.datasets.idxfolder import load_idx_folder

        return load_idx_folder(settings["data_dir"])
    from glassnet.datasets import load

    return load(name, data_dir=settings.get("data_dir"), download=download)
