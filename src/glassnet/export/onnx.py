"""ONNX export: a network as a graph of standard operators, to run where glassnet is not installed.

`ONNX <https://onnx.ai>`_ is the common file format of inference runtimes (onnxruntime, OpenVINO,
TensorRT, ONNX.js, ...). The graph written here computes what :meth:`Network.predict_proba` computes,
one standard operator per step of the post's forward pass, in the network's dtype::

    pixels  (n, n_inputs) float32             raw inputs, as glassnet takes them (0..255 for MNIST)
    X   = (pixels - mean) / scale             Sub, Div       (for a network that standardizes)
    A_l = f(A_{l-1} @ W_l + b_l)              Gemm, then Sigmoid, Tanh, Relu or LeakyRelu(0.01)
    P   = softmax(A_{L-1} @ W_L + b_L)        Gemm, Softmax(axis=1)           -> "probabilities"
    k   = argmax(P)                           ArgMax(axis=1, keepdims=0)      -> "predicted_class"

``n`` is free: one image or ten thousand per call. A float64 network casts its float32 input to
double first (``Cast``), then computes in double, like glassnet. The weights keep the names they
have in the model file (``weights.0``, ``biases.0``, ``standardizer.mean``, ...), and the model's
metadata carries the class names, the activation and what the glassnet file recorded of its
training, so a deployed model still says what it is.

Before writing, :func:`export_onnx` checks the graph with ``onnx.checker`` and, where onnxruntime is
installed, runs it beside glassnet on a few hundred inputs and refuses to write a graph whose
probabilities differ (beyond :data:`TOLERANCE`). The file is written atomically: a failed export
leaves nothing behind.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from glassnet import __version__
from glassnet.activations import LeakyReLU
from glassnet.errors import GlassnetError, one_line
from glassnet.export.output import write_output
from glassnet.modelfile import STANDARDIZER_MEAN, STANDARDIZER_SCALE, bias_name, weight_name
from glassnet.tensorfile import Invalid, jsonable

if TYPE_CHECKING:
    import onnx

    from glassnet.network import Network

__all__ = [
    "CHECK_ROWS",
    "INPUT",
    "ONNX_ACTIVATIONS",
    "OPSET",
    "PREDICTED_CLASS",
    "PROBABILITIES",
    "TOLERANCE",
    "OnnxExport",
    "build_model",
    "compare_with_onnxruntime",
    "export_onnx",
    "require_onnx",
]

#: The ONNX operator set the graph uses: 17 (2022) is run by every maintained runtime.
OPSET = 17
INPUT = "pixels"
PROBABILITIES = "probabilities"
PREDICTED_CLASS = "predicted_class"

#: glassnet's activation name -> the ONNX operator computing it, and that operator's attributes.
#: A network whose activation is not here cannot be exported (the message says so).
ONNX_ACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LeakyReLU.alpha}),
}

#: Largest difference in any probability allowed between onnxruntime and glassnet, per dtype: the
#: two sum the same products in different orders, so they differ by rounding only. In float64 the
#: bound is looser than rounding needs because ONNX stores LeakyRelu's alpha as a float32
#: (0.0099999998 for 0.01): a leaky ReLU network's float64 probabilities then differ by about 1e-9.
TOLERANCE = {"float32": 1e-5, "float64": 1e-7}
#: How many inputs onnxruntime runs beside glassnet before a file is written.
CHECK_ROWS = 256

INSTALL_HINT = 'ONNX export needs the onnx package, an optional extra: pip install "glassnet[onnx]"'

INPUT_DOC = (
    "Raw inputs, one row per sample, float32: the values glassnet was trained on (for MNIST, the "
    "784 pixels of a 28x28 image, row by row, 0 = background to 255 = ink). The graph "
    "standardizes them itself."
)
PROBABILITIES_DOC = "Class probabilities, one row per sample (softmax output; each row sums to 1)."
PREDICTED_CLASS_DOC = "The index of the most probable class for each sample (int64)."


@dataclass(frozen=True)
class OnnxExport:
    """What :func:`export_onnx` wrote.

    Attributes
    ----------
    path : Path
        The ONNX file.
    n_bytes : int
        Its size.
    opset : int
        The ONNX operator set it uses.
    checked_rows : int
        How many inputs onnxruntime ran beside glassnet before the file was written (0 when
        onnxruntime is not installed).
    max_difference : float or None
        The largest difference between their probabilities over those inputs.
    """

    path: Path
    n_bytes: int
    opset: int
    checked_rows: int
    max_difference: float | None


def require_onnx() -> None:
    """Raise a :class:`GlassnetError` with the install command if ``onnx`` is missing."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise GlassnetError(INSTALL_HINT) from None


def onnx_operator(activation: str) -> tuple[str, dict[str, Any]]:
    """The ONNX operator (and attributes) for a glassnet activation; a one-line error if none."""
    try:
        return ONNX_ACTIVATIONS[activation]
    except KeyError:
        known = ", ".join(ONNX_ACTIVATIONS)
        raise GlassnetError(
            f"activation {activation!r} has no ONNX operator here, so the network cannot be "
            f"exported to ONNX (glassnet exports {known})"
        ) from None


# ------------------------------------------------------------------------------------- the graph
def build_model(network: Network) -> onnx.ModelProto:
    """The ONNX model of ``network``: raw inputs in, class probabilities and classes out.

    Parameters
    ----------
    network : Network
        Any glassnet network whose activation is in :data:`ONNX_ACTIVATIONS`.

    Returns
    -------
    onnx.ModelProto
        Input ``"pixels"`` ``(n, n_inputs)`` float32; outputs ``"probabilities"``
        ``(n, n_classes)`` in the network's dtype and ``"predicted_class"`` ``(n,)`` int64.
        Already checked by ``onnx.checker`` with shape inference.

    Raises
    ------
    GlassnetError
        For an activation ONNX cannot express here, a parameter that is NaN or infinite, or when
        ``onnx`` is not installed.
    """
    onnx_operator(network.activation)  # an activation ONNX cannot express is refused first
    _refuse_non_finite(network)
    require_onnx()
    from onnx import TensorProto, helper

    dtype = np.dtype(network.dtype)
    elem_type = helper.np_dtype_to_tensor_dtype(dtype)
    nodes, initializers, current = _standardize(network, dtype)
    layer_nodes, parameters = _layers(network, current, dtype)
    nodes += layer_nodes
    for i, node in enumerate(nodes):
        node.name = f"{i}_{node.op_type}"
    graph = helper.make_graph(
        nodes,
        "glassnet",
        [_value(INPUT, TensorProto.FLOAT, ["n", network.n_inputs], INPUT_DOC)],
        [
            _value(PROBABILITIES, elem_type, ["n", network.n_classes], PROBABILITIES_DOC),
            _value(PREDICTED_CLASS, TensorProto.INT64, ["n"], PREDICTED_CLASS_DOC),
        ],
        initializer=initializers + parameters,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="glassnet",
        producer_version=__version__,
        doc_string=_description(network),
    )
    # The lowest IR version that holds this opset, so that older runtimes read the file too.
    model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
    helper.set_model_props(model, _metadata(network))
    _check(model)
    return model


def _refuse_non_finite(network: Network) -> None:
    """A network with a NaN or infinite parameter gives NaN for every input: there is nothing for
    a graph to reproduce, and a model file could not hold it either."""
    named = [(weight_name(l), W) for l, W in enumerate(network.weights)]
    named += [(bias_name(l), b) for l, b in enumerate(network.biases)]
    if network.standardizer is not None:
        named += [(STANDARDIZER_MEAN, network.standardizer.mean)]
        named += [(STANDARDIZER_SCALE, network.standardizer.scale)]
    for name, array in named:
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise GlassnetError(
                f"the network's {name} holds {bad} NaN or infinite value{'s' * (bad > 1)}, so "
                "it has no numbers to export (did its training diverge?); nothing was written"
            )


def _standardize(
    network: Network, dtype: np.dtype[Any]
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto], str]:
    """The nodes from the float32 input to the first layer's input, their constants, and the name
    of their output: a Cast for a float64 network, then ``(x - mean) / scale``."""
    from onnx import helper

    nodes: list[onnx.NodeProto] = []
    current = INPUT
    if dtype != np.float32:
        current = f"{INPUT}_{dtype.name}"
        to = helper.np_dtype_to_tensor_dtype(dtype)
        nodes.append(helper.make_node("Cast", [INPUT], [current], to=to))
    standardizer = network.standardizer
    if standardizer is None:
        return nodes, [], current
    # In the network's dtype, as Standardizer.transform computes it, so the numbers are the same.
    mean = _tensor(STANDARDIZER_MEAN, standardizer.mean, dtype)
    scale = _tensor(STANDARDIZER_SCALE, standardizer.scale, dtype)
    nodes.append(helper.make_node("Sub", [current, mean.name], ["centred"]))
    nodes.append(helper.make_node("Div", ["centred", scale.name], ["standardized"]))
    return nodes, [mean, scale], "standardized"


def _layers(
    network: Network, current: str, dtype: np.dtype[Any]
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Gemm and the activation per hidden layer, Gemm and Softmax for the output, then ArgMax;
    and the weights and biases, under their names in the model file."""
    from onnx import helper

    operator, attributes = onnx_operator(network.activation)
    nodes, parameters = [], []
    n_layers = len(network.weights)
    for l, (W, b) in enumerate(zip(network.weights, network.biases, strict=True)):
        weights, biases = _tensor(weight_name(l), W, dtype), _tensor(bias_name(l), b, dtype)
        parameters += [weights, biases]
        z = f"z{l + 1}"  # the post counts layers from 1
        nodes.append(helper.make_node("Gemm", [current, weights.name, biases.name], [z]))
        if l < n_layers - 1:
            current = f"a{l + 1}"
            nodes.append(helper.make_node(operator, [z], [current], **attributes))
    nodes.append(helper.make_node("Softmax", [z], [PROBABILITIES], axis=1))
    nodes.append(helper.make_node("ArgMax", [PROBABILITIES], [PREDICTED_CLASS], axis=1, keepdims=0))
    return nodes, parameters


def _tensor(name: str, array: Any, dtype: np.dtype[Any]) -> onnx.TensorProto:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ascontiguousarray(array, dtype=dtype), name)


def _value(name: str, elem_type: int, shape: list[Any], doc: str) -> onnx.ValueInfoProto:
    from onnx import helper

    return helper.make_tensor_value_info(name, elem_type, shape, doc_string=doc)


def _description(network: Network) -> str:
    sizes = "-".join(map(str, network.layer_sizes))
    return (
        f"A {sizes} multilayer perceptron with {network.activation} hidden layers and a softmax "
        f"output, in {np.dtype(network.dtype).name}, exported by glassnet {__version__}. Input "
        f"{INPUT!r}: (n, {network.n_inputs}) float32 raw values; outputs {PROBABILITIES!r} "
        f"(n, {network.n_classes}) and {PREDICTED_CLASS!r} (n,). The metadata entry "
        "'glassnet.class_names' names the classes in output order."
    )


def _metadata(network: Network) -> dict[str, str]:
    """Metadata strings: what the network is, and what its model file recorded of its training."""
    try:
        recorded = {
            "glassnet.training_settings": jsonable(network.training_settings, "training_settings"),
            "glassnet.metrics": jsonable(network.metrics, "metrics"),
        }
    except Invalid as exc:
        raise GlassnetError(f"cannot record the network's {exc}") from None
    return {
        "glassnet.version": __version__,
        "glassnet.layer_sizes": json.dumps(network.layer_sizes),
        "glassnet.activation": network.activation,
        "glassnet.dtype": np.dtype(network.dtype).name,
        "glassnet.class_names": json.dumps(network.class_names),
        "glassnet.standardizer": json.dumps(network.standardizer is not None),
        **{key: json.dumps(value) for key, value in recorded.items()},
    }


def _check(model: onnx.ModelProto) -> None:
    import onnx

    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # ValidationError or InferenceError: a graph glassnet built wrong
        raise GlassnetError(f"the ONNX graph fails onnx's own check: {one_line(exc)}") from None


# ------------------------------------------------------------------------------ check and write
def compare_with_onnxruntime(
    network: Network, model: bytes, *, rows: int = CHECK_ROWS, seed: int = 0
) -> float | None:
    """Run the serialized ``model`` in onnxruntime beside ``network`` on ``rows`` inputs.

    The inputs are drawn at the scale the network was trained on: standard normal after its
    standardization, mapped back to raw values.

    Returns
    -------
    float or None
        The largest difference between any two probabilities; None when onnxruntime is not
        installed.
    """
    try:
        import onnxruntime
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: the command line promises one line on stderr
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    z = np.random.default_rng(seed).standard_normal((rows, network.n_inputs))
    if network.standardizer is not None:
        z = network.standardizer.mean + network.standardizer.scale * z
    pixels = z.astype(np.float32)
    (probabilities,) = session.run([PROBABILITIES], {INPUT: pixels})
    return float(np.max(np.abs(probabilities - network.predict_proba(pixels))))


def export_onnx(
    network: Network, path: str | os.PathLike[str], *, check: bool = True
) -> OnnxExport:
    """Write ``network`` to ``path`` as an ONNX model, atomically.

    Parameters
    ----------
    network : Network
    path : str or os.PathLike
        The file to write (``.onnx`` by convention); an existing file is replaced.
    check : bool, default True
        Where onnxruntime is installed, run the graph beside glassnet first and write nothing if
        their probabilities differ by more than :data:`TOLERANCE`.

    Returns
    -------
    OnnxExport

    Raises
    ------
    GlassnetError
        For an activation ONNX cannot express, a NaN or infinite parameter, a missing ``onnx``
        package, or a graph whose numbers are not glassnet's (NaN where glassnet's are not,
        too). Nothing is written.
    OSError
        If the file cannot be written; nothing is left behind.
    """
    data = build_model(network).SerializeToString()
    difference = compare_with_onnxruntime(network, data) if check else None
    tolerance = TOLERANCE[np.dtype(network.dtype).name]
    if difference is not None and not difference <= tolerance:  # NaN fails too
        raise GlassnetError(
            f"onnxruntime's probabilities differ from glassnet's by up to {difference:.3g} "
            f"(more than {tolerance:g}); the ONNX file was not written"
        )
    target = write_output(path, data)
    rows = 0 if difference is None else CHECK_ROWS
    return OnnxExport(target, len(data), OPSET, rows, difference)
