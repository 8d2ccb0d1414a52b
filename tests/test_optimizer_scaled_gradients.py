"""Adam's gradients scaled by 1 − β₁ in the backward pass, and AdamW's decay in place.

Each test would fail for a plausible mistake: the moments of scaled gradients not matching those of
plain ones, a factor accepted where the update cannot take it, decay reaching a bias or missing a
weight at the edges of the mask's runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.errors import InputError
from glassnet.optimizers import OPTIMIZERS, SGD, Adam, AdamW, make_optimizer

THETA0 = np.array([0.5, -1.5, 2.0, 0.25, -0.75])


def gradient(theta: np.ndarray) -> np.ndarray:
    return theta**3 - 2.0 * theta + 0.3


@pytest.mark.parametrize(
    "build",
    [
        lambda: Adam(0.05, 0.8, 0.99, 1e-6),
        lambda: AdamW(0.05, 0.8, 0.99, 1e-6),
        lambda: AdamW(0.05, 0.7, 0.9, 1e-6, weight_decay=0.5),
    ],
)
def test_gradients_scaled_by_the_factor_step_as_plain_ones(build) -> None:  # type: ignore[no-untyped-def]
    plain, scaled = THETA0.copy(), THETA0.copy()
    first, second = build(), build()
    factor = second.gradient_factor()
    assert factor == 1.0 - second.beta1
    mask = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    for _ in range(4):
        first.step([plain], [gradient(plain)], [mask])
        second.step([scaled], [factor * gradient(scaled)], [mask], scaled_by=factor)
    assert not np.allclose(plain, THETA0)
    np.testing.assert_allclose(scaled, plain, rtol=1e-13, atol=1e-15)
    for name in ("m", "v"):
        np.testing.assert_allclose(second.state[0][name], first.state[0][name], rtol=1e-13)


def test_only_a_factor_the_update_can_take_is_accepted() -> None:
    coupled = Adam(0.01, weight_decay=0.1)  # adds λθ to the plain gradient: takes it plain
    assert coupled.gradient_factor() == 1.0
    with pytest.raises(InputError, match=r"^adam takes plain gradients, not scaled by 0\.1$"):
        coupled.step([THETA0.copy()], [THETA0.copy()], scaled_by=0.1)
    for name in OPTIMIZERS:
        if name not in ("adam", "adamw"):
            assert make_optimizer(name, 0.1).gradient_factor() == 1.0
    with pytest.raises(InputError, match=r"^sgd takes plain gradients, not scaled by 0\.5$"):
        SGD(0.1).step([THETA0.copy()], [THETA0.copy()], scaled_by=0.5)
    with pytest.raises(InputError, match=r"^adamw takes gradients plain or scaled by 0\.1, not"):
        AdamW(0.1).step([THETA0.copy()], [THETA0.copy()], scaled_by=0.5)


@pytest.mark.parametrize(
    "mask",
    [
        np.array([1, 1, 0, 1, 1, 1, 0, 0, 1, 0], float),  # runs inside and at both ends
        np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1], float),
        np.tile([1.0, 0.0], 100),  # more runs than are worth views
        np.ones(10),
        np.zeros(10),
    ],
    ids=["runs", "leading-zero", "many-runs", "all", "none"],
)
def test_decoupled_decay_scales_exactly_the_masked_entries(mask: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    theta = rng.normal(size=mask.shape)
    before = theta.copy()
    opt = AdamW(0.1, weight_decay=0.5)
    opt.step([theta], [np.zeros_like(theta)], [mask])
    np.testing.assert_allclose(theta[mask == 1], before[mask == 1] * (1 - 0.1 * 0.5), rtol=1e-15)
    np.testing.assert_array_equal(theta[mask == 0], before[mask == 0])
    # The views made for this array and mask are kept and used again: the next step decays too.
    opt.step([theta], [np.zeros_like(theta)], [mask], learning_rate=0.2)
    expected = before[mask == 1] * (1 - 0.1 * 0.5) * (1 - 0.2 * 0.5)
    np.testing.assert_allclose(theta[mask == 1], expected, rtol=1e-15)
    np.testing.assert_array_equal(theta[mask == 0], before[mask == 0])


def test_decoupled_decay_everywhere_and_in_float32() -> None:
    theta = np.array([1.0, -2.0, 4.0], np.float32)
    AdamW(0.1, weight_decay=0.5).step([theta], [np.zeros_like(theta)])
    assert theta.dtype == np.float32
    np.testing.assert_array_equal(theta, np.array([1.0, -2.0, 4.0], np.float32) * np.float32(0.95))
