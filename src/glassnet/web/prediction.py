"""The model side of the drawing page: a canvas in, the network's reading out, with no HTTP in sight.

``POST /api/predict`` sends rows of a grayscale canvas, ink bright on black. :func:`parse_pixels`
checks them (shape, types, range) and :func:`predict_canvas` reads them: the canvas becomes the
28x28 image the network saw, made by :func:`glassnet.images.to_mnist` exactly as
``glassnet predict`` makes it from a file, and the answer holds the class probabilities, the most
probable classes, that image and every hidden layer's activations. :func:`model_info` is what
``GET /api/model`` says about the network.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError
from glassnet.images import FIELD_SIZE, NoInkError, mnist_pixels, to_mnist

if TYPE_CHECKING:
    from glassnet.network import Network

__all__ = [
    "FIELD_SIZE",
    "MAX_CANVAS_SIDE",
    "MIN_CANVAS_SIDE",
    "check_network",
    "drawing_image",
    "model_info",
    "parse_pixels",
    "predict_canvas",
]

#: Sides of the canvas a prediction request may send, in pixels.
MIN_CANVAS_SIDE, MAX_CANVAS_SIDE = 8, 1024


def check_network(network: Network) -> None:
    """Refuse a network that cannot read 28x28 drawings.

    Raises
    ------
    ValueError
        If the network does not take ``28 * 28 = 784`` inputs.
    """
    if network.n_inputs != FIELD_SIZE * FIELD_SIZE:
        raise InputError(
            f"the network takes {network.n_inputs} inputs; drawings are "
            f"{FIELD_SIZE}x{FIELD_SIZE} = {FIELD_SIZE * FIELD_SIZE} pixels"
        )


def parse_pixels(payload: Any, also: Collection[str] = ()) -> NDArray[np.float32]:
    """Check a ``/api/predict`` request's decoded JSON and return its canvas.

    Parameters
    ----------
    payload : object
        The decoded request body: ``{"pixels": [[...], ...]}``.
    also : collection of str
        Other fields the object may hold (``"session"``, ``"label"``), checked by their endpoint.

    Returns
    -------
    canvas : (height, width) float32 array
        Values in ``0..255``, ink bright.

    Raises
    ------
    ValueError
        With a one-line reason: not an object, unknown keys, rows of unequal length, a side outside
        8..1024, an element that is not a number (booleans and strings are not), a value that is
        not finite or outside 0..255.
    """
    if not isinstance(payload, dict):
        raise InputError('the body must be a JSON object {"pixels": [[...], ...]}')
    unknown = sorted(set(payload) - {"pixels", *also})
    if unknown:
        allowed = ", ".join(f'"{name}"' for name in ("pixels", *also))
        raise InputError(f"unknown field {unknown[0]!r}; the body holds only {allowed}")
    rows = payload.get("pixels")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise InputError('"pixels" must be a list of rows, each a list of numbers')
    height = len(rows)
    width = len(rows[0]) if rows else 0
    for side, name in ((height, "rows"), (width, "columns")):
        if not MIN_CANVAS_SIDE <= side <= MAX_CANVAS_SIDE:
            raise InputError(
                f'"pixels" has {side} {name}; expected {MIN_CANVAS_SIDE} to {MAX_CANVAS_SIDE}'
            )
    if any(len(row) != width for row in rows):
        raise InputError(f'"pixels" rows differ in length; expected {width} numbers in every row')
    # Exact types, not isinstance: bool is a subclass of int, and NumPy would take True as 1.
    # set(map(type, row)) runs in C; a Python loop over 78,400 values would cost milliseconds.
    kinds: set[type] = set().union(*(set(map(type, row)) for row in rows))
    if not kinds <= {int, float}:
        bad = sorted(k.__name__ for k in kinds - {int, float})
        raise InputError(f'"pixels" must hold numbers only, found {", ".join(bad)}')
    try:
        canvas = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError):
        raise InputError('"pixels" holds a number too large to represent') from None
    if not np.all(np.isfinite(canvas)):
        raise InputError('"pixels" holds a value that is not finite')
    if canvas.min() < 0.0 or canvas.max() > 255.0:
        raise InputError('"pixels" values must lie in 0..255')
    return canvas.astype(np.float32)


def predict_canvas(
    network: Network, canvas: NDArray[np.floating], *, top: int = 3
) -> dict[str, Any]:
    """Read a drawing: the dictionary ``/api/predict`` answers with (without ``milliseconds``).

    Parameters
    ----------
    network : Network
        A network taking 784 inputs.
    canvas : (height, width) array
        Values in ``0..255``, ink bright on black, as :func:`parse_pixels` returns.
    top : int, default 3
        How many of the most probable classes to list.

    Returns
    -------
    dict
        ``empty`` (bool), ``probabilities`` (list of ``n_classes`` floats, or ``None`` when empty),
        ``top`` (list of ``{"class", "name", "probability"}``), ``input`` (28 rows of 28 floats in
        [0, 1]), ``activations`` (a list per hidden layer of its units' outputs).
    """
    image = drawing_image(canvas)
    if image is None:
        return {
            "empty": True,
            "probabilities": None,
            "top": [],
            "input": np.zeros((FIELD_SIZE, FIELD_SIZE)).tolist(),
            "activations": [[0.0] * n for n in network.layer_sizes[1:-1]],
        }
    outputs = network.layer_outputs(network.prepare(mnist_pixels(image)))
    probabilities = outputs[-1][0].astype(np.float64)
    order = np.argsort(-probabilities, kind="stable")[:top]
    return {
        "empty": False,
        "probabilities": probabilities.tolist(),
        "top": [
            {
                "class": int(k),
                "name": network.class_names[k],
                "probability": float(probabilities[k]),
            }
            for k in order
        ],
        "input": np.round(image.astype(np.float64), 4).tolist(),
        "activations": [np.round(a[0].astype(np.float64), 4).tolist() for a in outputs[:-1]],
    }


def drawing_image(canvas: NDArray[np.floating]) -> NDArray[np.float32] | None:
    """The 28x28 image the network reads from a canvas (``0..255``, ink bright), or ``None`` if
    the canvas has no ink.

    Made by :func:`glassnet.images.to_mnist` exactly as ``glassnet predict`` makes it from a file,
    told that the ink is bright.
    """
    try:
        return to_mnist(np.asarray(canvas, np.float32) / np.float32(255.0), invert=False)
    except NoInkError:
        return None


def model_info(network: Network) -> dict[str, Any]:
    """What ``GET /api/model`` answers: the network's shape, classes, size and stored metrics."""
    return {
        "layer_sizes": list(network.layer_sizes),
        "activation": network.activation,
        "class_names": list(network.class_names),
        "n_parameters": network.n_parameters,
        "input_shape": [FIELD_SIZE, FIELD_SIZE],
        "dataset": _json_safe(network.training_settings.get("dataset")),
        "metrics": _json_safe(network.metrics),
    }


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and anything exotic as a string."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return str(value)
