"""Every engine equals the reference: the code you read is the code that trains.

glassnet.reference writes the post's formulas one NumPy expression each, samples as columns. Every
engine (glassnet.engine) lays the same numbers out for speed. Here, from the same weights, on the same
batches, with the same dropout masks, several steps of each engine must give the reference's
parameters, for every activation, optimizer, dtype and a few layer shapes (the post's 784-50x6-10
among them); and engines broken on purpose (a wrong sign, a missing 1/m, a wrong derivative) must
fail the same comparison.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import glassnet.engine.numpy
from glassnet import Network, TrainConfig
from glassnet.activations import ACTIVATIONS, Sigmoid
from glassnet.engine import ENGINE_CHOICES, available_engines, with_ones
from glassnet.optimizers import OPTIMIZERS, SGD
from glassnet.reference import Optimizer, ReferenceNetwork, one_hot_columns

#: Every engine glassnet has. One that cannot run here (the compiled one without glassnet[fast])
#: shows as skipped, with the reason, in every comparison: never silently left out.
ENGINES = [name for name in ENGINE_CHOICES if name != "auto"]
RUNS_HERE = available_engines()


def engine_param(name: str, value: Any = None, id: str | None = None) -> Any:
    """``value`` (the engine's name by default) as a test parameter, skipped where ``name`` cannot
    run."""
    reason = f"the {name} engine cannot run here (pip install 'glassnet[fast]')"
    skip = pytest.mark.skipif(name not in RUNS_HERE, reason=reason)
    return pytest.param(name if value is None else value, marks=skip, id=id)


#: Largest relative error ‖engine − reference‖ / ‖reference‖ of any layer's weights or biases.
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
SHAPES = {
    "post": [784, 50, 50, 50, 50, 50, 50, 10],
    "one-hidden": [30, 16, 4],
    "two-hidden": [20, 12, 8, 5],
}
LEARNING_RATES = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 0.001, "adam": 0.002}
# RMSprop and Adam divide by √v + ε. With the default ε = 1e-8, a float32 gradient that is a sum
# cancelling to about 1e-7 (within rounding of its terms) steps by about η in either tier, in a
# direction set by rounding. The float32 cases use an ε above float32's rounding of the gradients,
# where the step is again a smooth function of the gradient; float64 keeps the default.
FLOAT32_EPS = 1e-4
STEPS, BATCH = 4, 10


@dataclass(frozen=True)
class Case:
    engine: str
    sizes: tuple[int, ...]
    activation: str
    optimizer: str
    dtype: str
    dropout: float = 0.0
    weight_decay: float = 0.0
    clip_norm: float = 0.0
    max_norm: float = 0.0


@dataclass
class Outcome:
    error: float  # the largest relative difference, engine against reference
    moved: float  # how far the steps moved the parameters, relative to their size


def run_both(case: Case, seed: int = 0) -> Outcome:
    """A few steps of the engine and of the reference from the same start on the same batches.

    In float32 each step starts the reference from the engine's parameters and optimizer state:
    a step's rounding can leave a ReLU's input a hair above zero in one tier and below in the other,
    and from there on the two would be different networks. In float64 they run apart, unsynced.
    """
    rng = np.random.default_rng(seed)
    net = Network(list(case.sizes), case.activation, seed=seed, dtype=case.dtype)
    for b in net.biases:  # non-zero biases, so that their gradients matter from the first step
        b[...] = rng.normal(0.0, 0.1, b.shape)
    engine = net.use_engine(case.engine)
    ref = ReferenceNetwork(list(case.sizes), case.activation, seed=seed, dtype=case.dtype)
    start = net.get_flat_parameters()

    lr = LEARNING_RATES.get(case.optimizer.removesuffix("w"), 0.1)
    config = TrainConfig(
        optimizer=case.optimizer, learning_rate=lr, weight_decay=case.weight_decay, momentum=0.9
    )
    optimizer = config.make_optimizer()
    textbook = Optimizer(case.optimizer, momentum=0.9, weight_decay=case.weight_decay)
    if case.dtype == "float32" and hasattr(optimizer, "eps"):
        optimizer.eps = textbook.eps = FLOAT32_EPS
    X = rng.normal(size=(STEPS * BATCH, case.sizes[0])).astype(case.dtype)
    labels = rng.integers(0, case.sizes[-1], STEPS * BATCH)
    Y = np.eye(case.sizes[-1], dtype=case.dtype)[labels]
    engine_rng, ref_rng = np.random.default_rng(7), np.random.default_rng(7)
    error = 0.0
    for k in range(STEPS):
        if k == 0 or case.dtype == "float32":
            sync(ref, textbook, net, optimizer)
        rows = slice(k * BATCH, (k + 1) * BATCH)
        eta = lr * (1.0 - 0.2 * k)  # a learning rate that changes, as a schedule's does
        with np.errstate(over="ignore"):
            engine.step(
                with_ones(X[rows]), Y[rows], optimizer, eta, dropout=case.dropout, rng=engine_rng,
                clip_norm=case.clip_norm, max_norm=case.max_norm,
            )  # fmt: skip
        ref.update_mini_batch(
            X[rows].T, one_hot_columns(labels[rows], case.sizes[-1], case.dtype), eta, textbook,
            dropout=case.dropout, clip_norm=case.clip_norm, rng=ref_rng, max_norm=case.max_norm,
        )  # fmt: skip
        error = max(error, largest_difference(net, ref))
    moved = np.linalg.norm(net.get_flat_parameters() - start) / np.linalg.norm(start)
    return Outcome(error, float(moved))


def largest_difference(net: Network, ref: ReferenceNetwork) -> float:
    """The largest ‖ours − reference‖ / ‖reference‖ over every layer's weights and biases."""
    pairs = [(W.T, theta) for W, theta in zip(net.weights, ref.thetas, strict=True)]
    pairs += [(b, bias.ravel()) for b, bias in zip(net.biases, ref.biases, strict=True)]
    return float(
        max(np.linalg.norm(ours - theirs) / np.linalg.norm(theirs) for ours, theirs in pairs)
    )


#: The engine optimizers' state arrays, by the reference's names for them.
STATE_NAMES = {"velocity": "v", "square_average": "v", "m": "m", "v": "v"}


def sync(ref: ReferenceNetwork, textbook: Optimizer, net: Network, optimizer: Any) -> None:
    """Give the reference the network's parameters and the optimizer's state, layer by layer."""
    ref.thetas = [W.T.copy() for W in net.weights]
    ref.biases = [b.reshape(-1, 1).copy() for b in net.biases]
    textbook.t = optimizer.iterations
    for name, flat in optimizer.state[0].items() if optimizer.state else []:
        weights, biases = net.engine.params.split(flat)
        for l, (W, b) in enumerate(zip(weights, biases, strict=True)):
            for key, value in ((("theta", l), W.T), (("b", l), b.reshape(-1, 1))):
                textbook.state.setdefault(key, {"m": 0.0 * value, "v": 0.0 * value})
                textbook.state[key][STATE_NAMES[name]] = value.copy()


def cases() -> Iterator[Any]:
    for engine in ENGINES:
        for shape in SHAPES.values():
            for activation in ACTIVATIONS:
                for optimizer in OPTIMIZERS:
                    for dtype in ("float32", "float64"):
                        for dropout in (0.0, 0.3):
                            case = Case(engine, tuple(shape), activation, optimizer, dtype, dropout)
                            yield engine_param(engine, case, case_id(case))


def case_id(case: Case) -> str:
    shape = next(name for name, sizes in SHAPES.items() if tuple(sizes) == case.sizes)
    extra = f"-dropout{case.dropout}" if case.dropout else ""
    extra += f"-decay{case.weight_decay}" if case.weight_decay else ""
    extra += f"-clip{case.clip_norm}" if case.clip_norm else ""
    extra += f"-maxnorm{case.max_norm}" if case.max_norm else ""
    return f"{case.engine}-{shape}-{case.activation}-{case.optimizer}-{case.dtype}{extra}"


@pytest.mark.parametrize("case", list(cases()))
def test_every_engine_steps_as_the_reference_does(case: Case) -> None:
    outcome = run_both(case)
    assert outcome.error <= TOLERANCE[case.dtype]
    # The comparison means something only if the steps moved the parameters well past it.
    assert outcome.moved > 100 * TOLERANCE[case.dtype]


@pytest.mark.parametrize("engine", [engine_param(name) for name in ENGINES])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("weight_decay", "clip_norm"), [(0.05, 0.0), (0.0, 0.05), (0.05, 0.05)])
def test_weight_decay_and_clipping_step_as_the_reference_does(
    engine: str, optimizer: str, dtype: str, weight_decay: float, clip_norm: float
) -> None:
    sizes = tuple(SHAPES["two-hidden"])
    case = Case(engine, sizes, "tanh", optimizer, dtype, 0.3, weight_decay, clip_norm)
    outcome = run_both(case)
    assert outcome.error <= TOLERANCE[dtype]
    assert outcome.moved > 100 * TOLERANCE[dtype]


#: A max-norm that binds on some units of the two-hidden network and not on others: He/Glorot
#: weights over 20 and 12 inputs have norms about 1 to 1.5, which the steps then change.
MAX_NORM = 1.1


@pytest.mark.parametrize("engine", [engine_param(name) for name in ENGINES])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("weight_decay", "clip_norm"), [(0.0, 0.0), (0.05, 0.05)])
def test_max_norm_steps_as_the_reference_does(
    engine: str, optimizer: str, dtype: str, weight_decay: float, clip_norm: float
) -> None:
    sizes = tuple(SHAPES["two-hidden"])
    case = Case(engine, sizes, "relu", optimizer, dtype, 0.3, weight_decay, clip_norm, MAX_NORM)
    outcome = run_both(case)
    assert outcome.error <= TOLERANCE[dtype]
    assert outcome.moved > 100 * TOLERANCE[dtype]
    # The comparison means something only if the norm binds: without it the steps differ.
    unclipped = run_both(dataclasses.replace(case, max_norm=0.0))
    assert unclipped.moved != pytest.approx(outcome.moved, rel=1e-6)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_network_backprop_is_the_references_transposed(
    activation: str, dtype: str, shape: str
) -> None:
    sizes = SHAPES[shape]
    rng = np.random.default_rng(3)
    net = Network(sizes, activation, seed=3, dtype=dtype)
    ref = ReferenceNetwork(sizes, activation, seed=3, dtype=dtype)
    X = rng.normal(size=(12, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], 12)
    weight_gradients, bias_gradients = net.backprop(X, labels)
    nabla_theta, nabla_b = ref.backprop(X.T, one_hot_columns(labels, sizes[-1], dtype))
    for ours, theirs in zip(weight_gradients, nabla_theta, strict=True):
        assert np.linalg.norm(ours.T - theirs) <= TOLERANCE[dtype] * np.linalg.norm(theirs)
    for ours, theirs in zip(bias_gradients, nabla_b, strict=True):
        assert np.linalg.norm(ours - theirs.ravel()) <= TOLERANCE[dtype] * np.linalg.norm(theirs)


def test_one_seed_gives_both_tiers_the_same_start() -> None:
    for activation in ACTIVATIONS:
        net = Network(SHAPES["post"], activation, seed=11, dtype="float64")
        ref = ReferenceNetwork(SHAPES["post"], activation, seed=11, dtype="float64")
        for W, theta in zip(net.weights, ref.thetas, strict=True):
            np.testing.assert_array_equal(W.T, theta)


def test_the_reference_sgd_rule_is_the_posts_update() -> None:
    """``update_mini_batch`` without an optimizer (the post's Θ ← Θ − η∇C) and with the textbook
    SGD rule give the same numbers."""
    sizes = SHAPES["two-hidden"]
    rng = np.random.default_rng(4)
    x, labels = rng.normal(size=(sizes[0], 10)), rng.integers(0, sizes[-1], 10)
    y = one_hot_columns(labels, sizes[-1], "float64")
    post, rule = ReferenceNetwork(sizes, seed=4), ReferenceNetwork(sizes, seed=4)
    for _ in range(3):
        post.update_mini_batch(x, y, 0.3)
        rule.update_mini_batch(x, y, 0.3, Optimizer("sgd"))
    for a, b in zip(post.thetas + post.biases, rule.thetas + rule.biases, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("engine", [engine_param(name) for name in ENGINES])
@pytest.mark.parametrize(
    ("optimizer", "dropout"), [("sgd", 0.0), ("momentum", 0.25), ("adam", 0.25)]
)
def test_two_epochs_of_fit_equal_two_epochs_of_the_reference(
    engine: str, optimizer: str, dropout: float
) -> None:
    """The whole training loop (shuffling, batches, dropout masks, the optimizer's state across
    epochs) against the reference's ``train_epoch`` with the same generator."""
    sizes = [16, 12, 8, 3]
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(95, 16)), rng.integers(0, 3, 95)
    net = Network(sizes, "sigmoid", seed=5, dtype="float64")
    ref = ReferenceNetwork(sizes, "sigmoid", seed=5, dtype="float64")
    lr = 0.3 if optimizer != "adam" else 0.01
    net.fit(
        X, y, epochs=2, batch_size=10, learning_rate=lr, optimizer=optimizer, dropout=dropout,
        standardize=False, seed=9, engine=engine,
    )  # fmt: skip
    generator = np.random.default_rng(9)
    textbook = None if optimizer == "sgd" else Optimizer(optimizer, momentum=0.9)
    for _ in range(2):
        ref.train_epoch(
            X.T, one_hot_columns(y, 3, "float64"), 10, lr, generator, textbook, dropout=dropout
        )
    for W, theta in zip(net.weights, ref.thetas, strict=True):
        assert np.linalg.norm(W.T - theta) <= 1e-12 * np.linalg.norm(theta)
    for b, bias in zip(net.biases, ref.biases, strict=True):
        assert np.linalg.norm(b - bias.ravel()) <= 1e-12 * np.linalg.norm(bias)


# ------------------------------------------------------------------- engines broken on purpose
# (Adam and RMSprop are not among them: they divide the gradient by its own size, so an engine
# that forgot 1/m would step almost as the reference does.)
BROKEN_CASES = [
    Case("numpy", tuple(SHAPES["post"]), "sigmoid", "sgd", "float64"),
    Case("numpy", tuple(SHAPES["one-hidden"]), "relu", "nesterov", "float32", dropout=0.3),
    Case("numpy", tuple(SHAPES["two-hidden"]), "tanh", "momentum", "float64", weight_decay=0.05),
]


def _subtract(params: list[np.ndarray], grads: list[np.ndarray]) -> None:
    for p, g in zip(params, grads, strict=True):
        p -= g


def _negate(grads: list[np.ndarray]) -> None:
    for g in grads:
        g *= -1.0


def broken_delta(sign: float, average: bool):  # type: ignore[no-untyped-def]
    def delta(P, Y, out=None, scale=1.0):  # type: ignore[no-untyped-def]
        out = np.subtract(P, Y, out=out)
        out *= sign * scale / (P.shape[0] if average else 1.0)
        return out

    return delta


def _bias_rows_too(blocks: list[np.ndarray], max_norm: float) -> None:
    """Max-norm over each unit's weights and its bias: the bias is not part of it."""
    for block in blocks:
        norms = np.sqrt(np.einsum("ij,ij->j", block, block))
        block *= max_norm / np.maximum(norms, max_norm)


def _rows_not_columns(blocks: list[np.ndarray], max_norm: float) -> None:
    """Max-norm over each input's outgoing weights rather than each unit's incoming ones."""
    for block in blocks:
        W = block[:-1]
        W *= max_norm / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), max_norm)


@pytest.mark.parametrize(
    "broken", [_bias_rows_too, _rows_not_columns, lambda blocks, max_norm: None]
)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_broken_max_norm_fails_the_comparison(
    broken: Any, optimizer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = Case("numpy", tuple(SHAPES["two-hidden"]), "relu", optimizer, "float64", 0.0, 0.0, 0.0)
    case = dataclasses.replace(case, max_norm=MAX_NORM)
    assert run_both(case).error <= TOLERANCE[case.dtype]  # the same case passes unbroken
    monkeypatch.setattr(glassnet.engine.numpy, "clip_unit_norms", broken)
    assert run_both(case).error > 100 * TOLERANCE[case.dtype]


@pytest.mark.parametrize("case", BROKEN_CASES, ids=case_id)
@pytest.mark.parametrize(
    "breakage", ["wrong sign of the delta", "no 1/m", "wrong derivative", "update added"]
)
def test_a_broken_engine_fails_the_comparison(
    case: Case, breakage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_both(case).error <= TOLERANCE[case.dtype]  # the same case passes unbroken
    delta = "glassnet.engine.numpy.softmax_cross_entropy_delta"
    if breakage == "wrong sign of the delta":
        monkeypatch.setattr(delta, broken_delta(-1.0, True))
    elif breakage == "no 1/m":
        monkeypatch.setattr(delta, broken_delta(1.0, False))
    elif breakage == "wrong derivative":
        derivative = ACTIVATIONS["tanh" if case.activation != "tanh" else "sigmoid"]().backward
        monkeypatch.setattr(
            ACTIVATIONS[case.activation], "backward", lambda self, *a: derivative(*a)
        )
    elif case.optimizer == "sgd":  # θ + η g where θ − η g belongs, on the folded route
        monkeypatch.setattr(
            SGD, "step_folded", lambda self, params, grads: _subtract(params, grads)
        )
    else:  # the same on the general route, through a clip that turns the gradient round
        monkeypatch.setattr(
            glassnet.engine.numpy, "clip_global_norm", lambda grads, norm: _negate(grads)
        )
        case = dataclasses.replace(case, clip_norm=1e9)
    assert run_both(case).error > 100 * TOLERANCE[case.dtype]


def test_the_sigmoid_derivative_breakage_reaches_the_sigmoid_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The monkeypatch above replaces the method every engine's activation object calls."""
    case = BROKEN_CASES[0]
    monkeypatch.setattr(Sigmoid, "backward", lambda self, A, delta, scratch: delta)
    assert run_both(case).error > 100 * TOLERANCE[case.dtype]


# ---------------------------------------------------------- the compiled engine broken on purpose
#: One line of the compiled kernels' source, and what it becomes: each a mistake in the kernels'
#: own arithmetic (not in the Python around them), which the comparison must catch.
COMPILED_BREAKS = {
    "wrong sigmoid derivative": (
        Case("numba", tuple(SHAPES["post"]), "sigmoid", "sgd", "float64"),
        "g[j] *= a[j] - a[j] * a[j]  # σ' = a (1 − a)",
        "g[j] *= a[j]",
    ),
    "plain SGD's update added": (
        Case("numba", tuple(SHAPES["two-hidden"]), "relu", "sgd", "float64"),
        "scale = -lr if fused else 1.0",
        "scale = lr if fused else 1.0",
    ),
    "Adam's update added": (
        Case("numba", tuple(SHAPES["two-hidden"]), "tanh", "adam", "float64", dropout=0.3),
        "p -= step_size * mo / (math.sqrt(ve) * root_correction + eps)",
        "p += step_size * mo / (math.sqrt(ve) * root_correction + eps)",
    ),
    "max-norm scaling units under the norm": (
        Case("numba", tuple(SHAPES["two-hidden"]), "relu", "sgd", "float64", max_norm=MAX_NORM),
        "squares[j] = max_norm / norm if norm > max_norm else 1.0",
        "squares[j] = max_norm / norm",
    ),
    "max-norm with the bias row": (
        Case("numba", tuple(SHAPES["two-hidden"]), "relu", "adam", "float64", max_norm=MAX_NORM),
        "k, n = sizes[l], sizes[l + 1]\n        W = params[offsets[l] : offsets[l] + k * n]",
        "k, n = sizes[l] + 1, sizes[l + 1]\n        W = params[offsets[l] : offsets[l] + k * n]",
    ),
    "momentum's velocity forgotten": (
        Case("numba", tuple(SHAPES["one-hidden"]), "leaky_relu", "momentum", "float64"),
        "first[i] = v\n",
        "first[i] = 0.0 * v\n",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "breakage", [engine_param("numba", name, name) for name in COMPILED_BREAKS]
)
def test_a_broken_compiled_engine_fails_the_comparison(
    breakage: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernels compiled again from their source with one line changed: the comparison that
    the real kernels pass must fail."""
    import importlib.util
    from pathlib import Path

    import glassnet.engine.numba as compiled

    case, old, new = COMPILED_BREAKS[breakage]
    assert run_both(case).error <= TOLERANCE[case.dtype]  # the real kernels pass
    source = Path(compiled.kernels.__file__).read_text(encoding="utf-8")
    assert source.count(old) == 1, old
    path = tmp_path / "broken_kernels.py"
    path.write_text(source.replace(old, new), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("broken_kernels", path)
    assert spec is not None and spec.loader is not None
    broken = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(broken)
    monkeypatch.setattr(compiled, "kernels", broken)
    assert run_both(case).error > 100 * TOLERANCE[case.dtype]


# ------------------------------------------------------------------- the NumPy engine's caches
def numpy_engine_pair(dropout: float = 0.0) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """Two NumPy engines on equal networks, and an epoch's prepared rows and one-hot labels."""
    sizes = SHAPES["two-hidden"]
    rng = np.random.default_rng(8)
    X1 = with_ones(rng.normal(size=(60, sizes[0])))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 60)]
    nets = [Network(sizes, "tanh", seed=8, dtype="float64") for _ in range(2)]
    return nets[0].use_engine("numpy"), nets[1].use_engine("numpy"), X1, Y


def test_the_numpy_engine_follows_a_new_batch_size_on_the_same_arrays() -> None:
    """Its views of an epoch's batches are cached by the arrays: a new batch size must not reuse
    them."""
    used, fresh, X1, Y = numpy_engine_pair()
    used.steps(X1, Y, SGD(), 0.1, start=0, count=6, batch_size=10)
    fresh.steps(X1, Y, SGD(), 0.1, start=0, count=6, batch_size=10)
    used.steps(X1, Y, SGD(), 0.1, start=0, count=4, batch_size=15)
    for start in range(0, 60, 15):  # batches of 15, one step at a time
        fresh.step(X1[start : start + 15], Y[start : start + 15], SGD(), 0.1)
    np.testing.assert_array_equal(used.params.flat, fresh.params.flat)


def test_the_numpy_engine_draws_dropout_after_a_plain_forward_pass_of_the_same_size() -> None:
    """Its buffers are cached by batch size: a dropout step after a plain forward pass of the same
    size needs the buffers that hold masks."""
    used, fresh, X1, Y = numpy_engine_pair()
    batch = slice(0, 10)
    used.forward(X1[batch])
    used.step(X1[batch], Y[batch], SGD(), 0.1, dropout=0.5, rng=np.random.default_rng(1))
    fresh.step(X1[batch], Y[batch], SGD(), 0.1, dropout=0.5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(used.params.flat, fresh.params.flat)
    # and the other way round: a plain step after a dropout step drops nothing
    used.step(X1[batch], Y[batch], SGD(), 0.1)
    fresh.step(X1[batch], Y[batch], SGD(), 0.1)
    np.testing.assert_array_equal(used.params.flat, fresh.params.flat)
