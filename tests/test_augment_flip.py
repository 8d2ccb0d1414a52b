"""Horizontal flips: each training image mirrored left to right with probability 1/2, every epoch.

Each test would fail for a plausible mistake: a flip upside down or of the wrong axis, flips that are
all or none, draws that depend on how the epoch is cut or which thread makes it, turning flips off
changing the other changes' draws, a setting one of glassnet's doors does not take.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, record_shuffled_copies, run_main

import glassnet.training
from glassnet import Network, TrainConfig
from glassnet.augment import BLOCK, Augmentation, augmentation_of
from glassnet.errors import InputError

H = W = 28


def pictures(n: int, seed: int = 0) -> np.ndarray:
    """``(n, H * W)`` float32 rows of distinct values: any moved pixel shows."""
    return np.random.default_rng(seed).standard_normal((n, H * W)).astype(np.float32)


def mirrored(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per row: whether ``after`` is ``np.fliplr`` of ``before``'s image."""
    return np.array(
        [
            np.array_equal(a.reshape(H, W), np.fliplr(b.reshape(H, W)))
            for b, a in zip(before, after, strict=True)
        ]
    )


# -------------------------------------------------------------------------- the flip itself


def test_each_image_is_either_mirrored_left_to_right_or_left_alone() -> None:
    source = pictures(2 * BLOCK + 10)
    made = source.copy()
    Augmentation((H, W), seed=3, flip=True).apply(made, 0, len(made), epoch=0)
    flipped = mirrored(source, made)
    kept = (made == source).all(axis=1)
    assert (flipped ^ kept).all()
    assert 0.4 < flipped.mean() < 0.6  # about half
    # Left to right, not upside down: the first column is the last column's old pixels.
    k = int(np.flatnonzero(flipped)[0])
    np.testing.assert_array_equal(made[k].reshape(H, W)[:, 0], source[k].reshape(H, W)[:, -1])
    np.testing.assert_array_equal(made[k].reshape(H, W)[0], source[k].reshape(H, W)[0, ::-1])


def test_about_half_are_flipped_and_each_image_afresh_every_epoch() -> None:
    source = pictures(4 * BLOCK)
    flips = []
    for epoch in range(4):
        made = source.copy()
        Augmentation((H, W), seed=0, flip=True).apply(made, 0, len(made), epoch)
        flips.append(mirrored(source, made))
    rates = np.mean(flips, axis=1)
    assert ((rates > 0.45) & (rates < 0.55)).all()
    assert not any(np.array_equal(a, b) for a, b in itertools.combinations(flips, 2))


def test_a_flip_in_standardized_units_is_the_raw_images_flip() -> None:
    """Pixels standardized each by its own mean and scale: the raw image is mirrored."""
    rng = np.random.default_rng(1)
    raw = rng.uniform(0, 1, (64, H * W))
    mean, scale = rng.uniform(0, 0.2, H * W), rng.uniform(0.5, 2.0, H * W)
    scaled = ((raw - mean) / scale).astype(np.float32)
    plain = raw.astype(np.float32)
    Augmentation((H, W), seed=5, flip=True).apply(plain, 0, 64, 0)
    Augmentation((H, W), seed=5, blank=-mean / scale, unit=1 / scale, flip=True).apply(
        scaled, 0, 64, 0
    )
    np.testing.assert_allclose(scaled, (plain - mean) / scale, atol=1e-5)
    assert 0 < mirrored(raw.astype(np.float32), plain).sum() < 64


@pytest.mark.parametrize(
    ("shift", "affine", "elastic"),
    [(2, (), ()), (0, (15.0, 0.1, 10.0), ()), (1, (15.0, 0.1, 10.0), (34.0, 4.0))],
)
def test_with_other_changes_a_flipped_image_is_mirrored_first(
    shift: int, affine: tuple[float, ...], elastic: tuple[float, ...]
) -> None:
    """The same shifts, turns and distortions as without flips, made of the mirrored image."""
    source = pictures(BLOCK + 20, seed=2)
    plain, flipping = source.copy(), source.copy()
    Augmentation((H, W), shift, affine, elastic, 9).apply(plain, 0, len(source), 1)
    Augmentation((H, W), shift, affine, elastic, 9, flip=True).apply(flipping, 0, len(source), 1)
    drawing = Augmentation((H, W), shift, affine, elastic, 9, flip=True)
    flips = np.concatenate([drawing._draws(1, b)["flips"] for b in range(2)])[: len(source)]
    assert 0 < flips.sum() < len(source)
    np.testing.assert_array_equal(flipping[~flips], plain[~flips])
    mirror = source.copy()
    mirror[flips] = source[flips].reshape(-1, H, W)[:, :, ::-1].reshape(-1, H * W)
    expected = mirror.copy()
    Augmentation((H, W), shift, affine, elastic, 9).apply(expected, 0, len(source), 1)
    np.testing.assert_array_equal(flipping[flips], expected[flips])


def test_float64_rows_not_flipped_are_left_exactly_as_they_were() -> None:
    source = pictures(100).astype(np.float64) / 3.0
    made = source.copy()
    Augmentation((H, W), seed=1, flip=True).apply(made, 0, 100, 0)
    kept = ~mirrored(source.astype(np.float32), made.astype(np.float32))
    assert kept.any()
    np.testing.assert_array_equal(made[kept], source[kept])


# -------------------------------------------------------------------------- seeds and parts


def test_the_same_rows_whichever_way_the_epoch_is_cut_and_other_seeds_differ() -> None:
    source = pictures(3 * BLOCK + 41)
    with_ones = np.hstack([source, np.ones((len(source), 1), np.float32)])
    whole = with_ones.copy()
    Augmentation((H, W), 1, seed=7, flip=True).apply(whole[:, :-1], 0, len(whole), epoch=2)
    for cuts in ([0, 1, 300, 301, 700, len(source)], [0, 128, 256, 555, len(source)]):
        cut = with_ones.copy()
        for lo, hi in itertools.pairwise(cuts):
            Augmentation((H, W), 1, seed=7, flip=True).apply(cut[:, :-1], lo, hi, epoch=2)
        np.testing.assert_array_equal(cut, whole)
    assert (whole[:, -1] == 1).all()  # the ones column is left alone
    other = with_ones.copy()
    Augmentation((H, W), 1, seed=8, flip=True).apply(other[:, :-1], 0, len(other), epoch=2)
    assert not np.array_equal(other, whole)


def mirror_pairs(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """12x12 pictures of three classes, each a bar darker to the right, mirrored a bar darker to
    the left: ink where the training set has ink, as a mirrored shirt is."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, n)
    images = np.zeros((n, 12, 12))
    for k in range(3):
        images[labels == k, 2 + 3 * k : 5 + 3 * k, 3:9] = np.linspace(0.4, 1.0, 6)
    return images + 0.05 * rng.random((n, 12, 12)), labels


@pytest.mark.parametrize("helper", [False, True])
def test_training_gives_the_same_weights_with_or_without_the_helper_thread(
    monkeypatch: pytest.MonkeyPatch, helper: bool
) -> None:
    X, y = mirror_pairs()
    settings = {
        "epochs": 3, "batch_size": 16, "augment_flip": True, "augment_shift": 1, "seed": 4,
        "engine": "numpy",
    }  # fmt: skip
    reference = Network([144, 12, 3], seed=1)
    monkeypatch.setattr(glassnet.training, "cores", lambda: 1)
    reference.fit(X, y, **settings)
    monkeypatch.setattr(glassnet.training, "cores", lambda: 2)
    # Flips and shifts alone are cheap: force the helper where the copy is too small to get one.
    monkeypatch.setattr(glassnet.training, "HELPER_BYTES", 0 if helper else 1 << 62)
    made = record_shuffled_copies(monkeypatch)
    net = Network([144, 12, 3], seed=1)
    net.fit(X, y, **settings)
    assert (made[0].pool is not None) == helper
    np.testing.assert_array_equal(net.get_flat_parameters(), reference.get_flat_parameters())
    plain = Network([144, 12, 3], seed=1)
    plain.fit(X, y, **{**settings, "augment_flip": False})
    assert not np.array_equal(plain.get_flat_parameters(), net.get_flat_parameters())


# -------------------------------------------------------------------------- off changes nothing


def test_off_draws_and_makes_exactly_what_it_did_before_flips_existed() -> None:
    """Figures recorded before flips were added, for the same seed: flips off change no draw."""
    source = pictures(300)
    shifted = source.copy()
    Augmentation((H, W), 2, (), (), 7, flip=False).apply(shifted, 0, 300, 3)
    assert hashlib.sha256(shifted.tobytes()).hexdigest()[:16] == "fd2006bb69b6130e"
    every = Augmentation((H, W), 1, (15.0, 0.15, 15.0), (34.0, 4.0), 7)
    draws = every._draws(3, 1)
    assert set(draws) == {"offsets", "affine", "fields"}
    drawn = draws["offsets"].astype(np.int64).tobytes() + draws["affine"].tobytes()
    assert hashlib.sha256(drawn).hexdigest()[:16] == "ef0c6f1b3b672470"
    np.testing.assert_allclose(
        draws["fields"][5, 0, 10, 10:13], [2.1340547, 2.2638452, 2.3874059], rtol=1e-6
    )
    made = source.copy()
    every.apply(made, 0, 300, 3)
    np.testing.assert_allclose(
        made[[0, 100, 299]][:, [0, 300, 400, 783]],
        [
            [0.0, 0.00492563, -0.5350819, 0.0],
            [0.0, 0.42887563, 0.24860293, 0.0],
            [-0.44693312, 0.49513873, 0.29222772, 0.0],
        ],
        atol=1e-5,
    )
    # With flips on, every other draw is the same: flips are drawn after them.
    flipping = Augmentation((H, W), 1, (15.0, 0.15, 15.0), (34.0, 4.0), 7, flip=True)._draws(3, 1)
    for name in ("offsets", "affine", "fields"):
        np.testing.assert_array_equal(flipping[name], draws[name])


def test_off_trains_exactly_as_before() -> None:
    """A short run's weights, recorded before flips were added, for the same seed."""
    rng = np.random.default_rng(0)  # the run recorded: bars at columns 3..8
    labels = rng.integers(0, 3, 300)
    images = np.zeros((300, 12, 12))
    for k in range(3):
        images[labels == k, 2 + 3 * k : 5 + 3 * k, 3:9] = 1.0
    images += 0.05 * rng.random((300, 12, 12))
    settings = {
        "epochs": 2, "batch_size": 16, "augment_shift": 1, "augment_affine": [10.0, 0.1, 10.0],
        "seed": 4, "engine": "numpy",
    }  # fmt: skip
    for extra in ({}, {"augment_flip": False}):
        net = Network([144, 8, 3], seed=1)
        net.fit(images, labels, **settings, **extra)
        flat = net.get_flat_parameters()
        np.testing.assert_allclose(float(np.abs(flat).sum()), 127.90571594238281, rtol=1e-5)
        np.testing.assert_allclose(flat[:3], [0.00856954, 0.1832523, -0.12833466], atol=1e-6)
    assert augmentation_of((H, W), 0, (), (), 0) is None
    assert augmentation_of((H, W), 0, (), (), 0, flip=True) is not None


# -------------------------------------------------------------------------- the settings


def test_a_table_cannot_be_flipped() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 7)), rng.integers(0, 2, 40)
    with pytest.raises(InputError, match=r"^augment flip changes images: it needs") as caught:
        Network([7, 4, 2], seed=0).fit(X, y, epochs=1, augment_flip=True)
    assert "\n" not in str(caught.value)


def test_train_config_and_settings_files_take_it() -> None:
    from glassnet.settings import RunSettings

    assert TrainConfig().augment_flip is False
    assert TrainConfig(augment_flip=True).augment_flip is True
    with pytest.raises(InputError, match=r"^augment flip must be true or false, got 'yes'"):
        TrainConfig(augment_flip="yes")  # type: ignore[arg-type]
    settings = RunSettings.resolve(file={"augment_flip": True, "dataset": "fashion-mnist"})
    assert settings.training.augment_flip is True
    assert settings.to_dict()["augment_flip"] is True
    assert RunSettings.resolve().to_dict()["augment_flip"] is False
    with pytest.raises(InputError, match=r"setting augment flip must be true or false"):
        RunSettings.resolve(file={"augment_flip": "on"}, source="my.toml")


def test_the_command_line_takes_it_and_a_settings_files_value_stands_without_it(
    tmp_path: Path,
) -> None:
    from glassnet.cli import build_parser
    from glassnet.cli.train import resolve_settings

    parser = build_parser()
    config = tmp_path / "flip.toml"
    config.write_text('dataset = "fashion-mnist"\naugment_flip = true\n')
    cases = [
        ([], False),
        (["--augment-flip"], True),
        (["--config", str(config)], True),
        (["--config", str(config), "--no-augment-flip"], False),
    ]
    for words, expected in cases:
        args = parser.parse_args(["train", *words])
        assert resolve_settings(args).training.augment_flip is expected, words
    text = parser._subparsers._group_actions[0].choices["train"].format_help()  # type: ignore[union-attr]
    assert "--augment-flip" in text and "never for digits" in " ".join(text.split())


def test_the_command_line_refuses_a_value_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_main(["train", "--augment-flip=yes"], capsys)
    assert code == 2
    assert "--augment-flip" in one_line_error(err, "train")


def test_the_estimator_takes_it() -> None:
    pytest.importorskip("sklearn")
    from glassnet.sklearn import NetClassifier

    X, y = mirror_pairs(200)
    clf = NetClassifier((8,), epochs=2, augment_flip=True, random_state=0)
    clf.fit(X.reshape(len(X), -1), y)
    assert clf.get_params()["augment_flip"] is True
    assert clf.network_.training_settings["augment_flip"] is True
    assert NetClassifier().get_params()["augment_flip"] is False


# -------------------------------------------------------------------------- the picture


def test_the_grid_shows_flips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from helpers import write_idx_folder

    from glassnet.plots.augmented import augmented_figure

    images = pictures(3).reshape(3, H, W)
    figure = augmented_figure(images, flip=True, seed=2, variants=6)
    variants = [axes.images[0].get_array() for axes in figure.axes[1:7]]
    assert all(
        np.array_equal(v, images[0]) or np.array_equal(v, np.fliplr(images[0])) for v in variants
    )
    assert any(np.array_equal(v, np.fliplr(images[0])) for v in variants)
    assert "mirrored" in figure.texts[0].get_text()

    folder = tmp_path / "mine"
    write_idx_folder(folder, ("train-images", "train-labels", "t10k-images", "t10k-labels"))
    out = tmp_path / "flips.png"
    code, printed, err = run_main(
        ["plot", "--dataset", f"idx:{folder}", "--augment-flip", "--rows", "2", "-o", str(out)],
        capsys,
    )
    assert code == 0, err
    assert printed.strip() == str(out) and out.read_bytes().startswith(b"\x89PNG")
    code, _, err = run_main(["plot", "--augmented", "--dataset", f"idx:{folder}"], capsys)
    assert code == 1 and "--augment-flip" in one_line_error(err)
