"""Presets: every one builds a valid run, and the fast recipe learns MNIST quickly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import glassnet
from glassnet.config import DATA_RULES
from glassnet.presets import PRESETS, get_preset
from glassnet.settings import RunSettings
from glassnet.training import TrainConfig

NETWORK_KEYS = {"hidden", "activation", "initializer"}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_training_config(name: str) -> None:
    settings = get_preset(name)
    TrainConfig.from_settings(settings)
    # The rest: the network's settings, and the data's (record-fashion names its dataset).
    rest = set(settings) - set(TrainConfig.field_names()) - NETWORK_KEYS
    assert rest <= set(DATA_RULES), f"{name} holds settings that are neither: {sorted(rest)}"
    assert RunSettings.resolve(name).to_dict()["preset"] == name  # a whole run's settings, checked
    glassnet.Network(
        [784, *settings["hidden"], 10],
        settings["activation"],
        initializer=settings.get("initializer"),
    )


def test_the_seed_preset_is_the_posts_run_unchanged() -> None:
    seed = get_preset("seed")
    assert seed["hidden"] == [50] * 6
    assert (seed["activation"], seed["initializer"], seed["optimizer"]) == (
        "sigmoid",
        "normal",
        "sgd",
    )
    assert (seed["learning_rate"], seed["batch_size"], seed["epochs"]) == (0.002, 10, 1000)
    net = glassnet.Network([784, *seed["hidden"], 10], "sigmoid", initializer="normal")
    assert net.n_parameters == 52_510


def test_get_preset_returns_a_copy_and_names_the_choices() -> None:
    get_preset("seed")["hidden"].append(7)
    assert PRESETS["seed"]["hidden"] == [50] * 6
    with pytest.raises(ValueError, match="fast"):
        get_preset("nope")


@pytest.mark.slow
def test_the_fast_recipe_learns_a_slice_of_mnist(mnist_dir: Path) -> None:
    # The fast preset's exact settings on the first 10,000 training images: measured 95.2-95.4%
    # on the full test set over seeds 0-2; the floor leaves room for BLAS rounding differences.
    data = glassnet.datasets.load("mnist", data_dir=mnist_dir)
    settings = get_preset("fast")
    net = glassnet.Network([784, *settings.pop("hidden"), 10], settings.pop("activation"), seed=0)
    net.fit(data.train_images[:10_000], data.train_labels[:10_000], **settings)
    accuracy = net.score(data.test_images, data.test_labels)
    assert accuracy >= 0.94
    assert np.isfinite(net.get_flat_parameters()).all()
