"""What the pages show can be read: the live page can show a first layer's change since the run
began (its start drawn again from the run's seed), and the drawing page's captions and scales say
what they mean (checked in a browser by ``test_browser_hardening.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassnet import Network
from glassnet.runs.folder import write_settings
from glassnet.web.runview import RunView

STATIC = Path(__file__).resolve().parents[1] / "src" / "glassnet" / "web" / "static"


def test_the_live_page_shows_the_change_since_the_start(tmp_path: Path) -> None:
    start = Network([784, 12, 10], "sigmoid", seed=7, dtype="float64")
    write_settings(tmp_path, {"hidden": [12], "activation": "sigmoid", "seed": 7,
                              "initializer": start.initializer, "dtype": "float64"})  # fmt: skip
    trained = Network([784, 12, 10], "sigmoid", seed=7, dtype="float64")
    learned = np.zeros((784, 12))
    learned[:392, 3] = 0.5  # unit 3 learned to like the top half of the picture
    trained.weights[0][...] += learned
    trained.save(tmp_path / "model.safetensors")
    answer = RunView(tmp_path).weights()
    assert answer["has_change"] is True
    change = np.array(answer["units"][3]["change"])
    np.testing.assert_allclose(change, learned[:, 3].reshape(28, 28) / 0.5, atol=1e-3)
    assert np.abs(np.array(answer["units"][0]["change"])).max() < 1e-9  # untouched
    # Settings that do not say how the run began: the weights only.
    write_settings(tmp_path, {"hidden": [12], "activation": "sigmoid"})
    trained.save(tmp_path / "model.safetensors")
    assert RunView(tmp_path).weights()["has_change"] is False


def test_the_drawing_pages_words_say_what_they_mean() -> None:
    backward = (STATIC / "backward.js").read_text()
    assert "ŷ − y · " not in backward  # read as "y times 10"
    assert "one square per class" in backward and "Math.log10" not in backward
    page = (STATIC / "index.html").read_text()
    assert 'id="output-deltas"' in page and 'id="gradient-scale"' in page
    assert "on a log scale" not in page
    watch = (STATIC / "watch.js").read_text()
    assert "LAYER_COLOURS" in watch and '"#ff7a1a"' not in watch.split("LAYER_COLOURS")[1]
