"""Affine changes and elastic distortions: the displacement fields, the resampling, the seeds.

Each test would fail for a plausible mistake: a field not smoothed or scaled as Simard et al. say, a
resampling off by a pixel or turned the other way, a transpose, an augmentation that depends on how
the epoch is cut or on which thread makes it, a setting that takes a bad value quietly.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, record_shuffled_copies, run_main

import glassnet.training
from glassnet import Network, TrainConfig
from glassnet.augment import (
    BLOCK,
    Augmentation,
    affine_inverse,
    displacement,
    gaussian_matrix,
    shift_images,
    smooth,
    warp,
)
from glassnet.augment import _compiled_warp as compiled_warp
from glassnet.config import RULES
from glassnet.errors import InputError

H = W = 28
NUMBA = compiled_warp() is not None
BOTH = [False, pytest.param(True, marks=pytest.mark.skipif(not NUMBA, reason="needs Numba"))]
HERE = [False, True] if NUMBA else [False]  # the resamplings that run here


def digit(seed: int = 0) -> np.ndarray:
    """A blob of ink away from the edges: distinct values, so any moved pixel shows."""
    rng = np.random.default_rng(seed)
    image = np.zeros((H, W), np.float32)
    image[8:20, 10:18] = rng.uniform(0.5, 1.0, (12, 8))
    return image


# -------------------------------------------------------------------------- the displacement field


def test_smoothing_is_scipys_gaussian_filter_with_zeros_beyond_the_edges() -> None:
    ndimage = pytest.importorskip("scipy.ndimage")
    field = np.random.default_rng(0).uniform(-1, 1, (3, H, W)).astype(np.float32)
    for sigma in (0.7, 4.0, 6.0):
        ours = smooth(field, sigma)
        theirs = np.stack([ndimage.gaussian_filter(f, sigma, mode="constant") for f in field])
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_the_gaussian_weights_sum_to_one_and_reach_four_sigma() -> None:
    matrix = gaussian_matrix(64, 4.0)
    middle = matrix[32]
    assert math.isclose(float(middle.sum()), 1.0, rel_tol=1e-6)
    assert middle[32 + 16] > 0 and middle[32 + 17] == 0  # radius int(4σ + 0.5) = 16
    np.testing.assert_allclose(middle, middle[::-1][np.r_[63, 0:63]], atol=1e-7)  # symmetric


def test_the_fields_statistics_are_those_of_smoothed_uniform_noise() -> None:
    """Uniform [-1, 1] has variance 1/3; a Gaussian with weights w leaves (1/3) Σ w² per axis
    (2-D: the square of the 1-D sum) away from the edges; α scales the spread."""
    alpha, sigma = 34.0, 4.0
    rng = np.random.default_rng(1)
    uniform = rng.uniform(-1, 1, (2000, 2, H, W)).astype(np.float32)
    fields = displacement(uniform, alpha, sigma)
    centre = fields[:, :, 12:16, 12:16]  # more than 4σ from no edge, but the weights lost are tiny
    taps = gaussian_matrix(H, sigma)[14]
    expected = alpha * math.sqrt(float((taps**2).sum()) ** 2 / 3.0)
    assert abs(float(centre.mean())) < 0.05 * expected
    assert float(centre.std()) == pytest.approx(expected, rel=0.05)
    # Smooth: neighbours move together (unsmoothed noise would have correlation 0).
    a, b = fields[:, 0, 14, 14], fields[:, 0, 14, 15]
    assert np.corrcoef(a, b)[0, 1] > 0.9
    # The two axes are independent draws.
    assert abs(np.corrcoef(fields[:, 0, 14, 14], fields[:, 1, 14, 14])[0, 1]) < 0.1


def test_alpha_zero_changes_nothing() -> None:
    images = np.stack([digit(s).reshape(-1) for s in range(5)])
    X = images.copy()
    Augmentation((H, W), elastic=(0.0, 4.0), seed=3).apply(X, 0, len(X), epoch=0)
    np.testing.assert_array_equal(X, images)
    fields = displacement(np.ones((5, 2, H, W), np.float32), 0.0, 4.0)
    for compiled in HERE:
        np.testing.assert_array_equal(
            warp(images.reshape(-1, H, W), None, None, fields, compiled), images.reshape(-1, H, W)
        )


# -------------------------------------------------------------------------- the resampling


@pytest.mark.parametrize("compiled", BOTH)
def test_a_whole_pixel_offset_is_a_shift(compiled: bool) -> None:
    images = np.stack([digit(s) for s in range(4)])
    offsets = np.array([[1, 2], [-3, 0], [0, -1], [2, -2]])
    expected = images.copy()
    shift_images(expected, offsets, 0.0)
    np.testing.assert_array_equal(warp(images, None, offsets, None, compiled), expected)


@pytest.mark.parametrize("compiled", BOTH)
def test_half_a_pixel_is_the_mean_of_two_neighbours(compiled: bool) -> None:
    image = digit()[None]
    down = warp(image, None, np.array([[0.5, 0.0]]), None, compiled)[0]
    expected = np.zeros((H, W), np.float32)
    expected[1:] = (image[0, :-1] + image[0, 1:]) / 2
    expected[0] = image[0, 0] / 2  # half of it reads the blank above the image
    np.testing.assert_allclose(down, expected, atol=1e-6)
    # A field of a quarter pixel to the right everywhere mixes 3/4 of a pixel with 1/4 of the next.
    fields = np.zeros((1, 2, H, W), np.float32)
    fields[0, 1] = 0.25
    right = warp(image, None, None, fields, compiled)[0]
    expected = 0.75 * image[0]
    expected[:, :-1] += 0.25 * image[0, :, 1:]
    np.testing.assert_allclose(right, expected, atol=1e-6)


@pytest.mark.parametrize("compiled", BOTH)
def test_a_quarter_turn_is_numpys_rot90(compiled: bool) -> None:
    image = digit()[None]
    inverse = affine_inverse(np.array([90.0]), np.array([1.0]), np.array([0.0]))
    turned = warp(image, inverse, None, None, compiled)[0]
    np.testing.assert_allclose(turned, np.rot90(image[0]), atol=1e-5)  # counter-clockwise
    inverse = affine_inverse(np.array([-90.0]), np.array([1.0]), np.array([0.0]))
    np.testing.assert_allclose(
        warp(image, inverse, None, None, compiled)[0], np.rot90(image[0], -1), atol=1e-5
    )


def test_scaling_and_shearing_move_pixels_as_said() -> None:
    image = np.zeros((1, 9, 9), np.float32)
    image[0, 4, 6] = 1.0  # two pixels right of the centre (4, 4)
    twice = affine_inverse(np.array([0.0]), np.array([2.0]), np.array([0.0]))
    doubled = warp(image, twice, None, None, False)
    assert doubled[0, 4, 8] == pytest.approx(1.0)  # twice as far from the centre
    sheared_image = np.zeros((1, 9, 9), np.float32)
    sheared_image[0, 6, 4] = 1.0  # two rows below the centre
    sheared = warp(
        sheared_image, affine_inverse(np.array([0.0]), np.array([1.0]), np.array([45.0])), None,
        None, False,
    )  # fmt: skip
    assert sheared[0, 6, 6] == pytest.approx(1.0)  # col += tan(45°) · row


def test_no_draw_mirrors_an_image() -> None:
    """Digits are never flipped: every drawn affine change keeps the orientation (det > 0)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (5000, 3))
    inverse = affine_inverse(180 * a[:, 0], 1 + 0.9 * a[:, 1], 60 * a[:, 2])
    assert (np.linalg.det(inverse) > 0).all()


@pytest.mark.skipif(not NUMBA, reason="needs Numba")
def test_the_compiled_and_numpy_resamplings_agree() -> None:
    rng = np.random.default_rng(2)
    images = rng.standard_normal((64, H, W)).astype(np.float32)
    a = rng.uniform(-1, 1, (64, 3))
    inverse = affine_inverse(30 * a[:, 0], 1 + 0.3 * a[:, 1], 30 * a[:, 2])
    offsets = rng.integers(-3, 4, (64, 2))
    fields = displacement(rng.uniform(-1, 1, (64, 2, H, W)).astype(np.float32), 300.0, 2.0)
    np.testing.assert_allclose(
        warp(images, inverse, offsets, fields, True),
        warp(images, inverse, offsets, fields, False),
        atol=1e-5,
    )


# -------------------------------------------------------------------------- seeds and parts


def distort(seed: int = 7) -> Augmentation:
    return Augmentation((H, W), 2, (15.0, 0.15, 15.0), (34.0, 4.0), seed)


def test_the_same_rows_whichever_way_the_epoch_is_cut() -> None:
    rng = np.random.default_rng(0)
    source = rng.standard_normal((3 * BLOCK + 41, H * W + 1)).astype(np.float32)
    whole = source.copy()
    distort().apply(whole[:, :-1], 0, len(whole), epoch=2)
    for cuts in ([0, 1, 300, 301, 700, len(source)], [0, 128, 256, 555, len(source)]):
        cut = source.copy()
        for lo, hi in itertools.pairwise(cuts):
            distort().apply(cut[:, :-1], lo, hi, epoch=2)
        np.testing.assert_array_equal(cut, whole)
    assert (whole[:, -1] == source[:, -1]).all()  # the ones column is left alone
    other = source.copy()
    distort().apply(other[:, :-1], 0, len(other), epoch=3)
    assert not np.allclose(other, whole)  # another epoch, other draws
    other = source.copy()
    distort(seed=8).apply(other[:, :-1], 0, len(other), epoch=2)
    assert not np.allclose(other, whole)  # another seed, other draws


def test_per_pixel_scaling_resamples_the_raw_image() -> None:
    """With inputs scaled per pixel, the change is that of the raw image, then scaled again."""
    rng = np.random.default_rng(3)
    raw = np.stack([digit(s).reshape(-1) for s in range(6)]).astype(np.float64)
    mean, scale = rng.uniform(0, 0.2, H * W), rng.uniform(0.5, 2.0, H * W)
    scaled = ((raw - mean) / scale).astype(np.float32)
    plain = raw.astype(np.float32)
    Augmentation((H, W), 0, (20.0, 0.1, 10.0), (30.0, 3.0), 5).apply(plain, 0, 6, 0)
    Augmentation(
        (H, W), 0, (20.0, 0.1, 10.0), (30.0, 3.0), 5, blank=-mean / scale, unit=1 / scale
    ).apply(scaled, 0, 6, 0)
    np.testing.assert_allclose(scaled, (plain - mean) / scale, atol=1e-4)


def mnist_like(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, n)
    images = np.zeros((n, 12, 12))
    for k in range(3):
        images[labels == k, 2 + 3 * k : 5 + 3 * k, 3:9] = 1.0
    return images + 0.05 * rng.random((n, 12, 12)), labels


@pytest.mark.parametrize("helper", [False, True])
def test_training_gives_the_same_weights_with_or_without_the_helper_thread(
    monkeypatch: pytest.MonkeyPatch, helper: bool
) -> None:
    X, y = mnist_like()
    settings = {
        "epochs": 3, "batch_size": 16, "augment_elastic": [8.0, 2.0],
        "augment_affine": [10.0, 0.1, 10.0], "augment_shift": 1, "seed": 4, "engine": "numpy",
    }  # fmt: skip
    reference = Network([144, 12, 3], seed=1)
    monkeypatch.setattr(glassnet.training, "cores", lambda: 1)
    reference.fit(X, y, **settings)
    monkeypatch.setattr(glassnet.training, "cores", lambda: 2 if helper else 1)
    made = record_shuffled_copies(monkeypatch)
    net = Network([144, 12, 3], seed=1)
    net.fit(X, y, **settings)
    assert (made[0].pool is not None) == helper and made[0].ahead == helper
    np.testing.assert_array_equal(net.get_flat_parameters(), reference.get_flat_parameters())
    plain = Network([144, 12, 3], seed=1)
    plain.fit(X, y, **{**settings, "augment_elastic": [], "augment_affine": []})
    assert not np.array_equal(plain.get_flat_parameters(), net.get_flat_parameters())


# -------------------------------------------------------------------------- the settings


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("augment_elastic", [34.0], "augment elastic must be 2 numbers ALPHA,SIGMA"),
        ("augment_elastic", [float("nan"), 4.0], "augment elastic's alpha must be a number"),
        (
            "augment_elastic",
            [34.0, -4.0],
            "augment elastic's sigma must be a number greater than 0",
        ),
        ("augment_elastic", [34.0, 0.0], "augment elastic's sigma must be a number greater than 0"),
        ("augment_affine", [15.0, 0.15], "augment affine must be 3 numbers DEGREES,SCALE,SHEAR"),
        ("augment_affine", [15.0, 1.5, 15.0], "augment affine's scale must be a number from 0"),
        ("augment_affine", "15,0.15,15", "augment affine must be 3 numbers"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(name: str, value: object, words: str) -> None:
    with pytest.raises(InputError, match="^" + words.replace("(", r"\(")):
        TrainConfig(**{name: value})


def test_good_values_and_off() -> None:
    config = TrainConfig(augment_elastic=(34, 4), augment_affine=[15, 0.15, 15])
    assert config.augment_elastic == [34.0, 4.0] and config.augment_affine == [15.0, 0.15, 15.0]
    assert TrainConfig().augment_elastic == [] and TrainConfig().augment_affine == []
    assert RULES["augment_elastic"].parse("34, 4") == [34.0, 4.0]
    assert RULES["augment_elastic"].parse("") == [] == RULES["augment_elastic"].parse("off")
    assert RULES["augment_affine"].parse("None") == []  # as the help's "or off" reads either way


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["--augment-elastic", "34"], "must be 2 comma-separated numbers ALPHA,SIGMA, or off, got"),
        (["--augment-elastic", "nan,4"], "ALPHA (in 'nan,4') must be a finite number"),
        (["--augment-elastic", "34,-4"], "SIGMA (in '34,-4') must be a number greater than 0"),
        (["--augment-affine", "15,x,15"], "SCALE (in '15,x,15') must be a number, got 'x'"),
    ],
)
def test_the_command_line_refuses_bad_values_in_one_line(
    words: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["train", *words], capsys)
    assert code == 2
    assert expected in one_line_error(err, "train")


def test_a_table_cannot_be_distorted() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 7)), rng.integers(0, 2, 40)
    for setting in ({"augment_elastic": [34, 4]}, {"augment_affine": [15, 0.1, 15]}):
        with pytest.raises(InputError, match=r"^augment (elastic|affine) changes images: it needs"):
            Network([7, 4, 2], seed=0).fit(X, y, epochs=1, **setting)


def test_the_estimator_takes_the_settings() -> None:
    pytest.importorskip("sklearn")
    from glassnet.sklearn import NetClassifier

    X, y = mnist_like(200)
    clf = NetClassifier(
        (8,), epochs=2, augment_elastic=(8, 2), augment_affine=(10, 0.1, 10), random_state=0
    )
    clf.fit(X.reshape(len(X), -1), y)
    assert clf.get_params()["augment_elastic"] == (8, 2)
    assert clf.network_.training_settings["augment_elastic"] == [8.0, 2.0]


# -------------------------------------------------------------------------- the picture


def test_the_grid_shows_each_original_beside_its_variants(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from glassnet.plots.augmented import augmented_figure, plot_augmented

    images = np.stack([digit(s) for s in range(3)])
    figure = augmented_figure(images, affine=(15, 0.1, 15), elastic=(34, 4), seed=2, variants=4)
    grid = figure.axes
    assert len(grid) == 3 * 5
    first_row = [axes.images[0].get_array() for axes in grid[:5]]
    np.testing.assert_array_equal(first_row[0], images[0])  # the original, unchanged
    assert all(not np.allclose(variant, images[0]) for variant in first_row[1:])
    # Variant e is what the augmentation makes of that row in epoch e - 1, for the seed.
    expected = images.reshape(3, -1).copy()
    Augmentation((H, W), 0, (15, 0.1, 15), (34, 4), 2).apply(expected, 0, 3, 1)
    np.testing.assert_allclose(first_row[2], expected[0].reshape(H, W))
    path = plot_augmented(images, tmp_path / "a" / "aug.png", shift=1)
    assert path.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(InputError, match=r"^no augmentation to draw"):
        augmented_figure(images)


def test_glassnet_plot_draws_the_grid_and_refuses_what_it_cannot_draw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from helpers import write_idx_folder

    folder = tmp_path / "mine"
    write_idx_folder(folder, ("train-images", "train-labels", "t10k-images", "t10k-labels"))
    out = tmp_path / "aug.png"
    code, printed, err = run_main(
        ["plot", "--dataset", f"idx:{folder}", "--augment-elastic", "3,1", "--augment-affine",
         "10,0.1,5", "--rows", "3", "-o", str(out)], capsys,
    )  # fmt: skip
    assert code == 0, err
    assert printed.strip() == str(out) and out.read_bytes().startswith(b"\x89PNG")
    code, _, err = run_main(["plot", "--augmented", "--dataset", f"idx:{folder}"], capsys)
    assert code == 1
    assert "no augmentation to draw" in one_line_error(err)
    code, _, err = run_main(["plot"], capsys)
    assert code == 1 and "give a run folder to plot, or --augmented" in one_line_error(err)
