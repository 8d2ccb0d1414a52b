"""The exceptions glassnet raises on bad input.

Every message is one line that names what is wrong, so the command line can print it as it is.
"""

from __future__ import annotations


class GlassnetError(Exception):
    """Base class: something the user gave glassnet is not usable."""


class FormatError(GlassnetError, ValueError):
    """A file's bytes are not what its format promises (IDX, model file, image)."""


class DatasetNotFoundError(GlassnetError, FileNotFoundError):
    """A dataset's files are nowhere glassnet looks, and cannot be downloaded."""


class DownloadError(GlassnetError):
    """Every mirror failed, or what came back did not match its SHA-256 digest."""


class TrainingDivergedError(GlassnetError, FloatingPointError):
    """The loss became NaN or infinite, or rose far above where it started, during training.

    ``history`` holds the :class:`~glassnet.training.History` of the epochs before it happened.
    """

    history: object | None = None
