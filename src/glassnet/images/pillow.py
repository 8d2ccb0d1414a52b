"""Pillow, the one optional library the images need, asked for only when a picture is handled."""

from __future__ import annotations

from typing import Any

from glassnet.errors import GlassnetError

__all__ = ["require_pillow"]


def require_pillow() -> Any:
    """Pillow's ``Image`` module, or a :class:`GlassnetError` saying how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise GlassnetError(
            'reading images needs Pillow; install it with: pip install "glassnet[images]"'
        ) from None
    return Image
