"""Max-norm (Srivastava et al. 2014): each unit's incoming weights at most ``c`` after every step.

The engines' steps equal the reference's with max-norm in tests/test_engines.py (and broken ones
fail there); here, what the setting promises in a whole run, and how it is given.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import one_line_error, run_main

from glassnet import Network, TrainConfig
from glassnet.engine import available_engines
from glassnet.errors import InputError
from glassnet.optimizers import clip_unit_norms
from glassnet.reference import ReferenceNetwork, one_hot_columns

ENGINES = [
    pytest.param(name, marks=pytest.mark.skipif(name not in available_engines(), reason="absent"))
    for name in ("numpy", "numba")
]


def data(n: int = 300, features: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)


def unit_norms(net: Network) -> list[np.ndarray]:
    """Each unit's incoming weight norm, layer by layer (``W`` has a column per unit)."""
    return [np.linalg.norm(W, axis=0) for W in net.weights]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_after_training_no_unit_has_incoming_weights_longer_than_c(
    engine: str, optimizer: str
) -> None:
    X, y = data()
    c = 0.8
    free = Network([20, 16, 3], seed=1)
    free.fit(X, y, epochs=3, batch_size=10, optimizer=optimizer, learning_rate=0.05, engine=engine)
    assert max(norm.max() for norm in unit_norms(free)) > 1.5 * c  # without it, they grow past c
    net = Network([20, 16, 3], seed=1)
    net.fit(
        X, y, epochs=3, batch_size=10, optimizer=optimizer, learning_rate=0.05, engine=engine,
        max_norm=c,
    )  # fmt: skip
    tolerance = 1e-5 if net.dtype == np.float32 else 1e-12
    for norms in unit_norms(net):
        assert (norms <= c * (1 + tolerance)).all()
    # Many units sit on the bound: the constraint acted; and the biases are not part of it.
    assert sum(int((abs(norms - c) < 1e-4).sum()) for norms in unit_norms(net)) >= 4


def test_units_under_the_bound_are_left_as_they_are() -> None:
    rng = np.random.default_rng(2)
    block = 3.0 + rng.random((6, 5))  # 5 inputs and the bias row, 5 units, norms above 6
    block[:-1, 0] *= 0.01  # unit 0 far under the bound
    block[-1] = 100.0  # huge biases, which must stay
    before = block.copy()
    clip_unit_norms([block], 1.0)
    np.testing.assert_array_equal(block[:, 0], before[:, 0])
    np.testing.assert_array_equal(block[-1], before[-1])
    norms = np.linalg.norm(block[:-1], axis=0)
    np.testing.assert_allclose(norms[1:], 1.0)
    # The direction of each clipped unit's weights is kept.
    for j in range(1, 5):
        np.testing.assert_allclose(block[:-1, j], before[:-1, j] / np.linalg.norm(before[:-1, j]))


def test_the_reference_clips_every_row_of_theta_and_no_bias() -> None:
    ref = ReferenceNetwork([20, 16, 3], "relu", seed=0, dtype="float64")
    X, y = data(40)
    for theta in ref.thetas:
        theta *= 5.0  # every unit far over the bound
    ref.update_mini_batch(X.T, one_hot_columns(y, 3, "float64"), 0.1, max_norm=0.5)
    for theta in ref.thetas:
        np.testing.assert_allclose(np.linalg.norm(theta, axis=1), 0.5)


def test_zero_is_off_and_a_run_with_it_equals_one_without() -> None:
    X, y = data()
    a, b = Network([20, 8, 3], seed=3), Network([20, 8, 3], seed=3)
    a.fit(X, y, epochs=2, engine="numpy")
    b.fit(X, y, epochs=2, engine="numpy", max_norm=0.0)
    np.testing.assert_array_equal(a.get_flat_parameters(), b.get_flat_parameters())
    assert TrainConfig().max_norm == 0.0


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "3", True])
def test_bad_values_are_refused_naming_the_setting(bad: object) -> None:
    with pytest.raises(InputError, match=r"^max norm must be a number, at least 0, got"):
        TrainConfig(max_norm=bad)


def test_the_command_line_takes_it_and_refuses_bad_values_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from glassnet.cli.train import add_parser as add_train
    from glassnet.cli.train import given_settings

    parser = argparse.ArgumentParser()
    add_train(parser.add_subparsers())
    args = parser.parse_args(["train", "--max-norm", "3"])
    assert given_settings(args)["max_norm"] == 3.0
    code, _, err = run_main(["train", "--max-norm", "-1"], capsys)
    assert code == 2
    assert "argument --max-norm: must be a number, at least 0, got '-1'" in one_line_error(
        err, "train"
    )


def test_the_estimator_takes_it() -> None:
    pytest.importorskip("sklearn")
    from glassnet.sklearn import NetClassifier

    X, y = data()
    clf = NetClassifier((16,), epochs=3, max_norm=0.7, random_state=0).fit(X, y)
    assert clf.get_params()["max_norm"] == 0.7
    for norms in unit_norms(clf.network_):
        assert (norms <= 0.7 * (1 + 1e-5)).all()
