"""A user's picture of a digit, turned into the 28x28 form MNIST's digits have.

A network trained on MNIST has only ever seen digits prepared one way, so a photo or a drawing
must be prepared the same way before the network can read it. MNIST's authors took each scanned
digit, fitted it into a 20x20 pixel box keeping its aspect ratio (with anti-aliasing, hence the grey
edges), and placed that box in a 28x28 field so that the digit's *centre of mass* sits in the
middle. Its ink is bright (255) on a black (0) background. :func:`to_mnist` repeats those steps:

1. polarity: if the picture's border is bright, it is dark ink on light paper, so invert it;
2. contrast: subtract the paper's level (the border's median) and stretch the brightest ink to 1;
3. noise: zero what stays below a small fraction of full ink (paper grain, JPEG ringing);
4. crop to the bounding box of the ink (a blank picture is an error: :class:`NoInkError`);
5. scale the crop so its longer side is 20 pixels, averaging the area each new pixel covers;
6. paste it into a 28x28 field, shifted so its centre of mass lands on pixel (14, 14).

:func:`load_image` decodes a PNG or JPEG file (and nothing else) into a grayscale array; the web
page sends raw canvas pixels straight to :func:`to_mnist`, so both go through the same steps.

The network's standardizer was fitted on MNIST's raw pixel values, 0 to 255, so the network takes
``255 * to_mnist(...)`` flattened into one row; :func:`mnist_pixels` does exactly that::

    image = load_digit("my-digit.png")               # (28, 28) float32 in [0, 1], ink = 1
    probabilities = network.predict_proba(mnist_pixels(image))   # (1, 10)

Decoding untrusted files is guarded: only the PNG and JPEG decoders are ever run, and files or
images too large, truncated or corrupt are refused, each with one
:class:`~glassnet.errors.FormatError` line (see :mod:`glassnet.images.files`).

The modules, one idea each:

- :mod:`~glassnet.images.prepare`: MNIST's steps, :func:`to_mnist` and :func:`mnist_pixels`;
- :mod:`~glassnet.images.files`: reading PNG and JPEG (:func:`load_image`), writing PNG
  (:func:`save_png`);
- :mod:`~glassnet.images.resize`: any picture brought to one size, as a folder of pictures is read
  for training (:func:`load_picture`);
- :mod:`~glassnet.images.pillow`: asking for Pillow, which only pictures need.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import NDArray

from glassnet.images.files import MAX_FILE_BYTES, MAX_PIXELS, load_image, save_png
from glassnet.images.files import WORKING_SIDE as WORKING_SIDE
from glassnet.images.pillow import require_pillow
from glassnet.images.prepare import BOX_SIZE, FIELD_SIZE, NoInkError, mnist_pixels, to_mnist
from glassnet.images.prepare import MIN_CONTRAST as MIN_CONTRAST
from glassnet.images.prepare import NOISE_LEVEL as NOISE_LEVEL
from glassnet.images.resize import COLORS, PREPARATIONS, load_picture, picture_shape

__all__ = [
    "BOX_SIZE",
    "COLORS",
    "FIELD_SIZE",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "PREPARATIONS",
    "NoInkError",
    "load_digit",
    "load_image",
    "load_picture",
    "mnist_pixels",
    "picture_shape",
    "require_pillow",
    "save_png",
    "to_mnist",
]


def load_digit(
    source: str | os.PathLike[str] | bytes, *, invert: bool | None = None
) -> NDArray[np.float32]:
    """:func:`load_image` then :func:`to_mnist`: a PNG or JPEG file to a (28, 28) MNIST image."""
    return to_mnist(load_image(source), invert=invert)
