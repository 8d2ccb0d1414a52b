"""Files that pass a first look but would break what reads them later: refused at once, in one
bounded line, or printed safely.

A model file's every value may be finite and well-typed and still be unusable: weights that
overflow on the first product, a standardizer that turns every input into infinity, class names
that are terminal escape sequences, metadata nested a thousand deep. Settings files may be
/dev/zero, or name an optimizer their checkpoint was not trained with.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from helpers import (
    glassnet_command,
    isolated_env,
    one_line_error,
    reaped,
    run_glassnet,
    wait_for_epochs,
)

from glassnet import Network, RunSettings
from glassnet.datasets.preprocess import Standardizer
from glassnet.errors import FormatError
from glassnet.modelfile import METADATA_KEY
from glassnet.runs import read_settings


def model_file(tmp: Path, change: Callable[[dict[str, np.ndarray], dict[str, Any]], None]) -> Path:
    """A valid model file, then ``change`` applied to its arrays and header, written as is."""
    net = Network([6, 5, 3], "relu", seed=0, class_names=["a", "b", "c"])
    net.standardizer = Standardizer(np.array([0.5]), np.array([2.0]))
    good = net.save(tmp / "good.safetensors")
    tensors = safetensors.numpy.load_file(str(good))
    with safetensors.safe_open(str(good), framework="np") as f:
        doc = json.loads(f.metadata()[METADATA_KEY])
    change(tensors, doc)
    path = tmp / "model.safetensors"
    safetensors.numpy.save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(doc)})
    return path


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


CASES: dict[str, tuple[Callable[[dict[str, np.ndarray], dict[str, Any]], None], str]] = {
    "weights that overflow": (
        lambda t, d: t.update({"weights.0": np.full((6, 5), 1e38, np.float32)}),
        "NaN or infinite probabilities",
    ),
    "a standardizer scale of 1e-300": (
        lambda t, d: t.update({"standardizer.scale": np.array([1e-300])}),
        "turns ordinary inputs into infinity",
    ),
    "an escape sequence in a class name": (
        lambda t, d: d.update(class_names=["a", "\x1b[2J\x1b[31mb", "c"]),
        "class name 1 holds the control character U+001B",
    ),
    "a newline in a class name": (
        lambda t, d: d.update(class_names=["a\nfake line", "b", "c"]),
        "U+000A",
    ),
    "a direction override in a class name": (
        lambda t, d: d.update(class_names=["a", "b", "\u202ec"]),
        "U+202E",
    ),
    "a class name a megabyte long": (
        lambda t, d: d.update(class_names=["a", "b" * 1_000_000, "c"]),
        "is 1,000,000 characters long",
    ),
    "settings nested deep": (
        lambda t, d: d.update(training_settings={"notes": nested(50)}),
        "nested more than 4 deep",
    ),
    "a list where a choice belongs": (
        lambda t, d: d["training_settings"].update(optimizer=["adam"]),
        "training_settings: optimizer must be a string",
    ),
    "a number where a name belongs": (
        lambda t, d: d["training_settings"].update(dataset=5),
        "training_settings: dataset must be a string",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_model_that_would_break_later_is_refused_at_load(tmp_path: Path, case: str) -> None:
    change, expected = CASES[case]
    path = model_file(tmp_path, change)
    with pytest.raises(FormatError) as info:
        Network.load(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 500


def test_the_command_line_says_so_in_one_short_line(tmp_path: Path) -> None:
    path = model_file(tmp_path, CASES["a class name a megabyte long"][0])
    result = run_glassnet(["evaluate", str(path)], tmp_path)
    assert result.returncode == 1
    assert len(one_line_error(result.stderr, "evaluate")) < 500


@pytest.mark.slow
def test_a_model_declaring_half_a_million_layers_gets_a_short_message(tmp_path: Path) -> None:
    path = model_file(tmp_path, lambda t, d: d.update(layer_sizes=[6] * 500_000 + [3]))
    with pytest.raises(FormatError) as info:
        Network.load(path)
    assert "missing tensor(s)" in str(info.value)
    assert len(str(info.value)) < 500


def test_a_good_model_still_loads(tmp_path: Path) -> None:
    path = model_file(tmp_path, lambda t, d: None)
    net = Network.load(path)
    assert net.class_names == ["a", "b", "c"]


def test_settings_files_are_read_with_a_bound(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="larger than any settings file"):
        read_settings("/dev/zero")
    huge = tmp_path / "huge.toml"
    huge.write_text('dataset = "' + "x" * 200_000 + '"\n')
    with pytest.raises(ValueError, match="larger than any settings file"):
        read_settings(huge)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        read_settings(binary)


@pytest.mark.slow
def test_a_long_bad_value_is_echoed_as_a_short_prefix(tmp_path: Path) -> None:
    config = tmp_path / "long.toml"
    config.write_text('activation = "' + "y" * 30_000 + '"\n')
    with pytest.raises(ValueError) as info:
        RunSettings.from_dict(read_settings(config), str(config))
    assert len(str(info.value)) < 300
    result = run_glassnet(["train", "--config", str(config)], tmp_path)
    assert result.returncode == 1
    assert len(one_line_error(result.stderr, "train")) < 300


@pytest.mark.slow
@pytest.mark.mnist
def test_a_run_resumed_with_another_optimizer_is_refused(mnist_dir: Path, tmp_path: Path) -> None:
    child = subprocess.Popen(
        [*glassnet_command(), "train", "--train-limit", "500", "--hidden", "8", "--epochs", "400",
         "--optimizer", "momentum", "--data-dir", str(mnist_dir), "--out", "run", "--quiet"],
        cwd=tmp_path, env=isolated_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with reaped(child):
        wait_for_epochs(tmp_path / "run", child, 1)
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=60)
    settings = tmp_path / "run" / "settings.toml"
    settings.write_text(
        settings.read_text().replace('optimizer = "momentum"', 'optimizer = "adam"')
    )
    result = run_glassnet(["train", "--resume", "run", "--data-dir", str(mnist_dir)], tmp_path)
    assert result.returncode == 1
    line = one_line_error(result.stderr, "train")
    assert "trained with optimizer momentum" in line and "now says adam" in line


@pytest.mark.slow
@pytest.mark.mnist
def test_evaluate_takes_a_run_folder_and_names_a_text_file_for_what_it_is(
    mnist_dir: Path, tmp_path: Path
) -> None:
    net = Network([6, 5, 3], "relu", seed=0)
    run = tmp_path / "run"
    run.mkdir()
    (run / "settings.toml").write_text('dataset = "mnist"\n')
    result = run_glassnet(["evaluate", "run/settings.toml"], tmp_path)
    assert "looks like a text file" in one_line_error(result.stderr, "evaluate")
    empty = run_glassnet(["evaluate", "run"], tmp_path)
    assert "a folder without a trained model (model.safetensors)" in one_line_error(
        empty.stderr, "evaluate"
    )
    net.save(run / "model.safetensors")
    found = run_glassnet(["evaluate", "run", "--data-dir", str(mnist_dir)], tmp_path)
    # The run's model is the one read: 6 inputs, which MNIST's test set does not fit.
    assert "run/model.safetensors takes 6 inputs and 3 classes" in one_line_error(
        found.stderr, "evaluate"
    )
