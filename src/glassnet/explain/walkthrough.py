"""The post's walkthrough, finished with real numbers: what ``glassnet explain`` shows.

:func:`build_walkthrough` takes a network and a mini-batch and returns the walkthrough as blocks
(:mod:`glassnet.explain.document`), in the post's notation: samples as columns, layers counted from
1, ``A⁽¹⁾ = X``, ``Z⁽ˡ⁾ = Θ⁽ˡ⁾A⁽ˡ⁾ + b⁽ˡ⁾``, ``A⁽ˡ⁺¹⁾ = σ(Z⁽ˡ⁾)``, ``Ŷ = softmax(Z⁽ᴸ⁾)``. In order:

1. the forward pass, each equation with the shapes it multiplies and a few of its numbers;
2. the output layer's gradients, as the post derives them, checked against central differences;
3. why ``∇ŶC ⊙ ∇Z⁽ᴸ⁾Ŷ`` "simplifies to ``Ŷ − Y``": the softmax Jacobian, numerically, for the
   categorical loss and for the post's sum of binary cross-entropies;
4. the hidden layers' gradients, the derivations the post leaves to the reader, checked too;
5. a summary of every check, and one step of gradient descent with the loss before and after.

Every number comes from :meth:`Network.trace` (equal to ``backprop``); every gradient is compared
with central differences of the network's own loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from glassnet.errors import InputError
from glassnet.explain.document import Block, Equation, Heading, Numbers, Paragraph, Table
from glassnet.explain.numbers import (
    GradientCheck,
    check_gradient,
    descent_step,
    exact_loss,
    matrix_lines,
    shape,
    softmax_identity,
    sup,
)
from glassnet.explain.softmax import softmax_blocks

if TYPE_CHECKING:
    from glassnet.network import Network
    from glassnet.trace import LayerTrace, Trace

__all__ = ["TOLERANCE", "Walkthrough", "build_walkthrough"]

#: Largest relative error a gradient check passes with, by activation (float64). A ReLU's kink
#: can fall between ``z − h`` and ``z + h``, so its tolerance is looser, as in ``glassnet gradcheck``.
TOLERANCE = {"sigmoid": 1e-7, "tanh": 1e-7, "relu": 1e-5, "leaky_relu": 1e-5}
#: How each activation's derivative is written through its output.
DERIVATIVE = {
    "sigmoid": ("σ", "σ'(Z{l}) = σ(Z{l}) ⊙ (1 − σ(Z{l})) = A{n} ⊙ (1 − A{n})"),
    "tanh": ("tanh", "tanh'(Z{l}) = 1 − tanh²(Z{l}) = 1 − A{n} ⊙ A{n}"),
    "relu": ("relu", "relu'(Z{l}) = 1 where A{n} > 0, else 0"),
    "leaky_relu": ("f", "f'(Z{l}) = 1 where A{n} > 0, else 0.01"),
}
COLUMNS = 5  # samples shown of a batch


@dataclass
class Walkthrough:
    """The blocks to show, and every gradient check made on the way."""

    blocks: list[Block]
    checks: list[GradientCheck]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def build_walkthrough(
    network: Network,
    X: np.ndarray,
    labels: np.ndarray,
    *,
    learning_rate: float = 0.002,
    seed: int = 0,
    about: str = "",
) -> Walkthrough:
    """The walkthrough for ``network`` on the batch ``X`` (``(m, n_inputs)``, standardized) with
    integer ``labels`` (``(m,)``). ``about`` is a sentence on where the network and batch came
    from. The network should be float64, for central differences to mean something."""
    Y = np.eye(network.n_classes)[labels]
    rng = np.random.default_rng(seed)
    out = Walkthrough([], [])
    # Overflow is looked for below, where it can be named, rather than warned about by NumPy.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        trace = network.trace(X, Y)
        _require_finite(network, trace)
        out.blocks += _introduction(network, trace, labels, about)
        out.blocks += _forward(network, trace)
        out.blocks += _output_layer(network, trace, X, Y, rng, out.checks)
        out.blocks += _softmax_section(trace, labels)
        out.blocks += _hidden_layers(network, trace, X, Y, rng, out.checks)
        out.blocks += _summary(out.checks, network.activation)
        out.blocks += _step(network, trace, X, Y, learning_rate)
        for check in out.checks:
            if not (
                math.isfinite(check.relative_error) and math.isfinite(check.max_abs_difference)
            ):
                raise _overflow(network, f"the central differences of {check.name} are not finite")
    return out


def _overflow(network: Network, where: str) -> InputError:
    return InputError(
        f"the walkthrough of this {network.activation} network overflows: {where}, so its "
        "tables would say nothing; start from smaller weights "
        "(initializer 'he' for ReLU, 'glorot' for sigmoid or tanh) or a smaller network"
    )


def _require_finite(network: Network, trace: Trace) -> None:
    """Refuse a trace with NaN or infinity anywhere: every table and check would be meaningless.
    The forward pass is looked at first, layer by layer, so the first overflow is the one named."""
    L = len(trace.layers)
    forward: list[tuple[str, np.ndarray]] = []
    backward: list[tuple[str, np.ndarray]] = []
    for layer in trace.layers:
        l = layer.index
        forward += [(f"Z{sup(l)}", layer.Z), ("Ŷ" if l == L else f"A{sup(l + 1)}", layer.output)]
        backward[:0] = [  # backprop's order: the last layer first
            (f"δ{sup(l)}", layer.delta),
            (f"∇Θ{sup(l)}C", layer.nabla_theta),
            (f"∇b{sup(l)}C", layer.nabla_b),
        ]
    for name, values in forward + backward:
        if not np.all(np.isfinite(values)):
            raise _overflow(network, f"{name} has NaN or infinite entries")
    if not math.isfinite(trace.loss):
        raise _overflow(network, "the loss C is not finite")


def _introduction(network: Network, trace: Trace, labels: np.ndarray, about: str) -> list[Block]:
    sizes = "-".join(map(str, network.layer_sizes))
    L = len(trace.layers)
    return [
        Heading("The post's walkthrough, with real numbers", 1),
        Paragraph(
            f"A {sizes} network ({network.activation} hidden units, a softmax output) and a "
            f"mini-batch of m = {trace.m} images. {about} Samples are columns and layers count "
            f"from 1, as in the post: `A{sup(1)} = X`, layer l computes `Z{sup('l')} = "
            f"Θ{sup('l')}A{sup('l')} + b{sup('l')}`, and the last, L = {L}, gives "
            f"`Ŷ = softmax(Z{sup('L')})`. Every number below is computed by glassnet "
            "(`Network.trace`, which the tests hold equal to `backprop`), and every gradient is "
            "checked against central differences of the loss, `(C(θ + h) − C(θ − h)) / 2h`, computed "
            "apart from the trace."
        ),
        Numbers(
            f"The labels of the first {min(20, len(labels))} samples:",
            [" ".join(str(int(k)) for k in labels[:20]) + (" …" if len(labels) > 20 else "")],
        ),
    ]


def _forward(network: Network, trace: Trace) -> list[Block]:
    blocks: list[Block] = [Heading("The forward pass")]
    symbol = DERIVATIVE[network.activation][0]
    for layer in trace.layers:
        l, last = layer.index, layer.index == len(trace.layers)
        blocks.append(
            Equation(
                f"Z{sup(l)} = Θ{sup(l)} A{sup(l)} + b{sup(l)}",
                f"({shape(layer.theta)})({shape(layer.A)}) + ({shape(layer.b)}) → {shape(layer.Z)}",
            )
        )
        blocks.append(_columns(f"Z{sup(l)}", layer.Z))
        if last:
            blocks.append(Equation(f"Ŷ = softmax(Z{sup(l)})", f"{shape(layer.output)}"))
            blocks.append(_columns("Ŷ, each column summing to 1,", layer.output))
        else:
            blocks.append(Equation(f"A{sup(l + 1)} = {symbol}(Z{sup(l)})", shape(layer.output)))
            blocks.append(_columns(f"A{sup(l + 1)}", layer.output))
            blocks += _spread(network.activation, layer)
    blocks += [
        Equation("C = −(1/m) Σ Y ⊙ log Ŷ", f"({shape(trace.Y)}) → a number"),
        Paragraph(
            f"C = {trace.loss:.4f} on this batch; a network that knew nothing, giving every class "
            f"1/{network.n_classes}, would score ln {network.n_classes} = "
            f"{np.log(network.n_classes):.4f}."
        ),
    ]
    return blocks + _clipping(network, trace)


#: A hidden layer whose scores spread wider than this (standard deviation) gets a word on why:
#: sigmoid and tanh are flat beyond about ±4.
WIDE = 4.0


def _spread(activation: str, layer: LayerTrace) -> list[Block]:
    """Why a layer's scores are as large as they are, when they are: each is a sum of ``fan_in``
    products, whose spread the weights' variance sets."""
    Z = layer.Z
    spread = float(np.std(Z))
    if spread <= WIDE:
        return []
    fan_in = layer.theta.shape[1]
    weight_variance = float(np.var(layer.theta))
    input_square = float(np.mean(layer.A**2))
    predicted = math.sqrt(fan_in * weight_variance * input_square)
    shown = Z[:10, :COLUMNS]
    extreme = float(shown.flat[int(np.argmax(np.abs(shown)))])
    l, n = sup(layer.index), sup(layer.index + 1)
    text = (
        f"Why the entries of Z{l} are so large: each is a sum of {fan_in:,} products of a weight "
        f"and an input. The weights have variance {weight_variance:.3g} and the inputs a mean "
        f"square of {input_square:.3g}, so each sum spreads with a standard deviation of about "
        f"√({fan_in:,} · {weight_variance:.3g} · {input_square:.3g}) = {predicted:.1f} "
        f"(measured here: {spread:.1f}), and a value like {extreme:.4g} is ordinary."
    )
    if activation == "sigmoid":
        text += (
            f" The sigmoid of such a z is within about e^−|z| of 0 or 1 (σ({extreme:.4g}) = "
            f"{1 / (1 + math.exp(-extreme)):.3g}), hence the tiny entries of A{n}: those units "
            "are saturated, their slope nearly 0."
        )
    elif activation == "tanh":
        text += (
            f" The tanh of such a z is within about 2e^−2|z| of ±1 (tanh({extreme:.4g}) = "
            f"{math.tanh(extreme):.6g}): those units are saturated, their slope nearly 0."
        )
    if weight_variance > 4.0 / fan_in:
        text += (
            f" The post's N(0, 1) weights do this on {fan_in:,} inputs; Glorot's or He's, of "
            f"variance about 1/{fan_in:,} or 2/{fan_in:,}, keep z near ±1."
        )
    return [Paragraph(text)]


def _clipping(network: Network, trace: Trace) -> list[Block]:
    """A word on the samples whose own class got a probability below ε, if there are any."""
    eps = np.finfo(trace.Y_hat.dtype).eps
    clipped = int(np.sum(np.sum(trace.Y * trace.Y_hat, axis=0) < eps))
    if not clipped:
        return []
    X = trace.layers[0].A.T
    unclipped = exact_loss(network.weights, network.biases, network.activation, X, trace.Y.T)
    return [
        Paragraph(
            f"{clipped} of the {trace.m} samples give their own class a probability below the "
            f"machine epsilon, ε = {eps:.1e}. glassnet's loss counts each as ε (−log ε = "
            f"{-np.log(eps):.2f}), so C above is clipped; without the clip it would be "
            f"{unclipped:.4f}. Where the clip holds, the clipped loss is flat, so the central "
            "differences and the descent step below use the unclipped loss, computed from Z by "
            "log-softmax: its gradient is exactly what backprop computes."
        )
    ]


def _columns(name: str, a: np.ndarray) -> Numbers:
    return Numbers(
        f"{name} for the first {min(COLUMNS, a.shape[1])} samples:",
        matrix_lines(a, rows=10, columns=COLUMNS),
    )


def _output_layer(
    network: Network,
    trace: Trace,
    X: np.ndarray,
    Y: np.ndarray,
    rng: np.random.Generator,
    checks: list[GradientCheck],
) -> list[Block]:
    layer = trace.layers[-1]
    L = layer.index
    blocks: list[Block] = [
        Heading("The output layer's gradients, as the post derives them"),
        Paragraph(
            f"Write `δ{sup('l')} = m ∂C/∂Z{sup('l')}` for each layer l: the gradient of the "
            f"loss in the layer's scores, times the batch size m. C is the mean of the m "
            f"samples' losses, so `∂C/∂Z{sup('l')}` carries a factor 1/m; δ leaves it out, so "
            f"each column of δ is one sample's own gradient, and the 1/m comes back once, in "
            f"`∇Θ{sup('l')}C = (1/m) δ{sup('l')} A{sup('l')}ᵀ`. For the output layer a "
            "sample's own gradient is the post's `∇ŶC ⊙ ∇ZŶ`, which for the categorical loss "
            "is exactly `Ŷ − Y` (the section after this one shows why):"
        ),
        Equation(f"δ{sup(L)} = ∇ŶC ⊙ ∇Z{sup(L)}Ŷ = Ŷ − Y", f"{shape(layer.delta)}"),
        _columns(f"δ{sup(L)}", layer.delta),
    ]
    blocks += _gradients(network, trace, layer.index, X, Y, rng, checks)
    return blocks


def _gradients(
    network: Network,
    trace: Trace,
    l: int,
    X: np.ndarray,
    Y: np.ndarray,
    rng: np.random.Generator,
    checks: list[GradientCheck],
) -> list[Block]:
    """``∇Θ⁽ˡ⁾C`` and ``∇b⁽ˡ⁾C``: the equations, some numbers, and their checks."""
    layer = trace.layers[l - 1]
    tolerance = TOLERANCE[network.activation]
    found = [
        check_gradient(
            network,
            X,
            Y,
            network.weights[l - 1],
            trace.weight_gradients[l - 1],
            f"∇Θ{sup(l)}C",
            shape(layer.nabla_theta),
            tolerance,
            rng,
        ),
        check_gradient(
            network,
            X,
            Y,
            network.biases[l - 1],
            trace.bias_gradients[l - 1],
            f"∇b{sup(l)}C",
            shape(layer.nabla_b),
            tolerance,
            rng,
        ),
    ]
    checks += found
    return [
        Equation(
            f"∇Θ{sup(l)}C = (1/m) δ{sup(l)} A{sup(l)}ᵀ",
            f"({shape(layer.delta)})({shape(layer.A.T)}) → {shape(layer.nabla_theta)}",
        ),
        _weight_gradient(layer.nabla_theta, l),
        _check_line(found[0]),
        Equation(
            f"∇b{sup(l)}C = (1/m) Σ δ{sup(l)}",
            f"summed over the m columns → {shape(layer.nabla_b)}",
        ),
        Numbers(f"∇b{sup(l)}C, as a row:", matrix_lines(layer.nabla_b.T, columns=10)),
        _check_line(found[1]),
    ]


def _weight_gradient(gradient: np.ndarray, l: int) -> Numbers:
    """Some columns of ``∇Θ⁽ˡ⁾C``: the first few, or for a wide layer (the inputs) the middle."""
    columns = 6
    if gradient.shape[1] <= 2 * columns:
        return Numbers(f"∇Θ{sup(l)}C:", matrix_lines(gradient, columns=columns))
    # An image's first inputs are its border, 0 in every MNIST digit: their columns are all the
    # same multiple of one number. Inputs from the middle of the image say more.
    n = gradient.shape[1]
    side = math.isqrt(n)
    centre = (side // 2) * side + side // 2 if side * side == n else n // 2
    first = centre - columns // 2
    return Numbers(
        f"∇Θ{sup(l)}C, columns `[:, {first}:{first + columns}]` of its {n} (as NumPy slices, "
        "counting from 0: inputs from the middle of the image):",
        matrix_lines(gradient, columns=columns, first=first),
    )


def _check_line(check: GradientCheck) -> Paragraph:
    entries = (
        f"all {check.total:,} entries"
        if check.checked == check.total
        else f"{check.checked:,} of its {check.total:,} entries, drawn at random"
    )
    verdict = "pass" if check.passed else "FAIL"
    return Paragraph(
        f"Checked against central differences ({entries}): relative error "
        f"{check.relative_error:.1e}, largest difference {check.max_abs_difference:.1e}: "
        f"`{verdict}`."
    )


def _softmax_section(trace: Trace, labels: np.ndarray) -> list[Block]:
    z = trace.layers[-1].Z[:, 0].astype(np.float64)
    y = trace.Y[:, 0].astype(np.float64)
    found = softmax_identity(z, y)
    if not all(np.all(np.isfinite(v)) for v in found.values()):
        # ŷ of exactly 0 or 1 in float64: the logarithms of the losses are infinite.
        raise InputError(
            "the walkthrough's first sample gets a probability of exactly 0 or 1, so the "
            "softmax section's losses and their gradients are infinite; start from smaller "
            "weights (initializer 'he' for ReLU, 'glorot' for sigmoid or tanh) or another batch"
        )
    return softmax_blocks(found, int(labels[0]), len(trace.layers))


def _hidden_layers(
    network: Network,
    trace: Trace,
    X: np.ndarray,
    Y: np.ndarray,
    rng: np.random.Generator,
    checks: list[GradientCheck],
) -> list[Block]:
    symbol, derivative = DERIVATIVE[network.activation]
    if len(trace.layers) == 1:
        return []  # no hidden layer: nothing is left to derive
    blocks: list[Block] = [Heading("The hidden layers' gradients: the derivations the post skips")]
    for l in range(len(trace.layers) - 1, 0, -1):
        layer, above = trace.layers[l - 1], trace.layers[l]
        n = sup(l + 1)
        blocks += [
            Paragraph(
                f"The chain rule, one layer further back: C depends on Θ{sup(l)} only through "
                f"Z{sup(l)}, which feeds A{n} = {symbol}(Z{sup(l)}), which feeds Z{sup(l + 1)}. So "
                f"`∂C/∂Z{sup(l)} = Θ{sup(l + 1)}ᵀ (∂C/∂Z{sup(l + 1)}) ⊙ {symbol}'(Z{sup(l)})`, "
                f"and multiplied by m on both sides, in the δ defined above:"
            ),
            Equation(
                f"δ{sup(l)} = Θ{sup(l + 1)}ᵀ δ{sup(l + 1)} ⊙ {symbol}'(Z{sup(l)})",
                f"({shape(above.theta.T)})({shape(above.delta)}) ⊙ ({shape(layer.Z)}) → "
                f"{shape(layer.delta)}",
            ),
            Equation(derivative.format(l=sup(l), n=n), shape(layer.output)),
            _saturation(network.activation, layer.output, l),
            _columns(f"δ{sup(l)}", layer.delta),
        ]
        blocks += _gradients(network, trace, l, X, Y, rng, checks)
    return blocks


def _saturation(activation: str, A: np.ndarray, l: int) -> Paragraph:
    """How much of the layer passes the gradient on: the vanishing gradient, measured."""
    if activation in ("sigmoid", "tanh"):
        slope = A * (1 - A) if activation == "sigmoid" else 1 - A**2
        top = 0.25 if activation == "sigmoid" else 1.0
        flat = float(np.mean(slope < 0.01 * top))
        return Paragraph(
            f"The slope is at most {top:g}, and here {flat:.0%} of the entries of "
            f"{activation}'(Z{sup(l)}) are below 1% of that: those units are saturated and pass "
            f"almost nothing back. Each {activation} layer multiplies the gradient by such "
            f"slopes, which is how it vanishes in deep {activation} networks."
        )
    dead = float(np.mean(A <= 0))
    return Paragraph(f"{dead:.0%} of the entries of A{sup(l + 1)} are at or below 0.")


def _summary(checks: list[GradientCheck], activation: str) -> list[Block]:
    rows = [
        [
            c.name,
            c.shape,
            f"{c.checked:,} of {c.total:,}",
            f"{c.relative_error:.1e}",
            f"{c.max_abs_difference:.1e}",
            "pass" if c.passed else "FAIL",
        ]
        for c in checks
    ]
    return [
        Heading("Every gradient against central differences"),
        Paragraph(
            f"In float64, h = 1e-5; a check passes with a relative error below "
            f"{TOLERANCE[activation]:.0e} (`‖analytic − numeric‖ / (‖analytic‖ + ‖numeric‖)`)."
        ),
        Table(
            ["gradient", "shape", "entries", "relative error", "largest difference", ""],
            rows,
            align="llrrrl",
        ),
    ]


def _step(
    network: Network, trace: Trace, X: np.ndarray, Y: np.ndarray, learning_rate: float
) -> list[Block]:
    step = descent_step(network, trace, X, Y, learning_rate)
    if not all(math.isfinite(v) for v in (step.loss_before, step.loss_after, step.gradient_norm)):
        raise _overflow(network, "the loss after the descent step is not finite")
    change = step.loss_after - step.loss_before
    # The loss of the forward pass is clipped at ε where a sample's own class is given less; the
    # step's is not (see _clipping), and says so rather than show two losses for one batch.
    clipped = not math.isclose(step.loss_before, trace.loss, rel_tol=1e-9, abs_tol=1e-12)
    which = " (unclipped)" if clipped else ""
    return [
        Heading(f"One step of gradient descent, `α = {learning_rate:g}`"),
        Equation("Θ ← Θ − α ∇ΘC,   b ← b − α ∇bC", "every layer at once"),
        Table(
            ["", "value"],
            [
                [f"loss before{which}", f"{step.loss_before:.6f}"],
                [f"loss after{which}", f"{step.loss_after:.6f}"],
                ["change", f"{change:+.3e}"],
                ["predicted to first order, −α‖∇C‖²", f"{step.predicted_change:+.3e}"],
            ],
        ),
        Paragraph(
            f"The gradient's norm over every weight and bias is ‖∇C‖ = {step.gradient_norm:.4f}. "
            "A small step along −∇C lowers the loss by about α‖∇C‖²: the gradient is the "
            "direction in which the loss falls fastest, and its size says how fast."
        ),
    ]
