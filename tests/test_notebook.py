"""glassnet in a Jupyter notebook: the network's table, the drawn history, and the live chart.

The first tests call :mod:`glassnet.notebook` directly. The last runs a real notebook in a real
IPython kernel through nbclient, as Jupyter would, and reads what the kernel sent: the network's
HTML table (``Network._repr_html_``), a notebook progress bar per epoch (``verbose=1``), one
picture updated in place once per epoch (``live_plot=True``; counted from the kernel's
``update_display_data`` messages, not only from the saved notebook), the history drawn by
``History._repr_html_``, and the final accuracy.
"""

from __future__ import annotations

import re
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from glassnet import History, Network
from glassnet.notebook import LivePlot, history_html, network_html


def rows(epochs: int) -> list[dict[str, Any]]:
    return [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "train_accuracy": 0.5 + 0.1 * e,
            "val_loss": None,
            "val_accuracy": None,
            "test_loss": 1.2 / e,
            "test_accuracy": 0.45 + 0.1 * e,
            "learning_rate": 0.05,
            "seconds": 0.1,
        }
        for e in range(1, epochs + 1)
    ]


def test_the_network_table_names_each_layer() -> None:
    net = Network([784, 50, 50, 10], "sigmoid", seed=0)
    page = network_html(net)
    assert "Network 784-50-50-10" in page and "Not trained yet." in page
    for sizes, parameters in (("784 → 50", "39,250"), ("50 → 50", "2,550"), ("50 → 10", "510")):
        assert re.search(rf"{sizes}</td>.*?{parameters}</td>", page), sizes
    assert page.count("<tr>") == 4  # the header and three layers
    assert f"{net.n_parameters:,} parameters, float32" in page
    assert page.count("softmax") == 2 and "numpy engine" in page


def test_a_trained_network_says_how_well_and_nothing_is_left_unescaped() -> None:
    net = SimpleNamespace(
        layer_sizes=[4, 3],
        activation="<script>",
        initializer="he",
        dtype=np.dtype("float64"),
        n_parameters=15,
        engine=SimpleNamespace(name="numba"),
        training_settings={"epochs": 7},
        metrics={"test_accuracy": 0.98765},
    )
    page = network_html(net)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Trained (7 epochs): 98.77% test accuracy." in page and "numba engine" in page
    net.metrics = {}
    assert "Trained (7 epochs).</p>" in network_html(net)


def test_a_history_draws_itself() -> None:
    history = History(rows(5), stopped="completed 5 epochs", best_epoch=None, test_accuracy=0.95)
    page = history_html(history)
    assert page.count("<svg") == 2 and "loss per epoch" in page and "accuracy per epoch" in page
    assert "History: 5 epochs, train accuracy 100.00%, test accuracy 95.00%" in page
    assert "stopped: completed 5 epochs" in page
    assert page.count("<polyline") == 4  # train and test, in both charts; no validation data
    assert "no epochs yet" in history_html(History())
    assert history_html(History(rows(1))).count("<circle") == 4


def test_the_live_chart_redraws_one_picture(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("IPython")
    import IPython.display

    shown: list[tuple[str, int]] = []

    class Handle:
        def update(self, image: Any, metadata: dict[str, Any]) -> None:
            shown.append(("update", metadata["glassnet"]["epoch"]))

    def display(image: Any, metadata: dict[str, Any], display_id: bool) -> Handle:
        assert image.data.startswith(b"\x89PNG") and display_id is True
        shown.append(("display", metadata["glassnet"]["epoch"]))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    live = LivePlot()
    live(rows(1)[0], None)  # a plain script, as pytest is: nothing to update in place
    assert shown == [] and live.updates == 0 and len(live.rows) == 1
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    live = LivePlot()
    for row in rows(3):
        live(row, None)
    assert shown == [("display", 1), ("update", 2), ("update", 3)] and live.updates == 3
    assert live.png().startswith(b"\x89PNG")


def test_without_ipython_the_live_chart_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "IPython.display", None)
    with pytest.raises(ImportError, match=r"^LivePlot needs IPython and matplotlib: pip install"):
        LivePlot()(rows(1)[0], None)


# ------------------------------------------------------------------------- a real notebook
CELLS = [
    """\
import numpy as np

import glassnet

rng = np.random.default_rng(0)
centres = rng.normal(size=(3, 20))
y = rng.integers(0, 3, size=600)
X = centres[y] + rng.normal(size=(600, 20))""",
    """\
net = glassnet.Network([20, 16, 3], activation="relu", seed=0)
net""",
    """\
history = net.fit(X[:500], y[:500], epochs=EPOCHS, batch_size=16, learning_rate=0.05,
                  test_data=(X[500:], y[500:]), verbose=1, live_plot=True)
print(f"final test accuracy: {history.rows[-1]['test_accuracy']:.4f}")""",
    """\
history""",
]
EPOCHS = 4


@pytest.mark.slow
def test_a_real_notebook_shows_the_table_the_live_chart_and_the_accuracy() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")

    messages: list[dict[str, Any]] = []

    class Recording(nbclient.NotebookClient):  # type: ignore[misc, name-defined]
        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            messages.append(msg)
            return super().process_message(msg, cell, cell_index)

    notebook = nbformat.v4.new_notebook()
    source = [c.replace("EPOCHS", str(EPOCHS)) for c in CELLS]
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in source]
    Recording(notebook, timeout=180, kernel_name="python3").execute()

    shown = notebook.cells[1].outputs[0]["data"]
    table = shown["text/html"]
    assert "Network 20-16-3" in table and "20 → 16" in table and "16 → 3" in table
    assert shown["text/plain"].startswith("Network(20-16-3, activation='relu'")

    # The live chart: displayed once, then updated in place after every later epoch.
    charts = [
        (m["msg_type"], m["content"]["transient"]["display_id"], m["content"]["metadata"])
        for m in messages
        if m["msg_type"] in ("display_data", "update_display_data")
        and "glassnet" in m["content"].get("metadata", {})
    ]
    assert [kind for kind, _, _ in charts] == ["display_data"] + ["update_display_data"] * (
        EPOCHS - 1
    )
    assert len({display_id for _, display_id, _ in charts}) == 1
    assert [meta["glassnet"]["epoch"] for _, _, meta in charts] == list(range(1, EPOCHS + 1))
    outputs = notebook.cells[2].outputs
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 1 and pictures[0]["metadata"]["glassnet"]["epoch"] == EPOCHS

    # A notebook progress bar (a widget) for each epoch, and the final accuracy printed.
    bars = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert [b["data"]["text/plain"].split(":")[0] for b in bars] == [
        f"epoch {e}/{EPOCHS}" for e in range(1, EPOCHS + 1)
    ]
    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    found = re.search(r"final test accuracy: (\d\.\d{4})", printed)
    assert found is not None and 0.5 < float(found.group(1)) <= 1.0, printed

    drawn = notebook.cells[3].outputs[0]["data"]["text/html"]
    assert drawn.count("<svg") == 2 and f"History: {EPOCHS} epochs" in drawn
