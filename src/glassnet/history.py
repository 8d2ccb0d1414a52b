"""What training leaves behind: a row of figures per epoch, and snapshots to resume from.

:class:`History` is what :meth:`glassnet.Network.fit` returns and what a run folder keeps as
``history.json``; :class:`TrainingState` is the whole state after an epoch, which a checkpoint file
holds so that an interrupted run continues bit for bit; :class:`EpochPrinter` writes the line per
epoch that ``glassnet train`` shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from glassnet.preprocess import Standardizer

Array = NDArray[np.floating[Any]]


@dataclass
class History:
    """What happened in training: one row of figures per epoch, and why it ended.

    Each row holds ``epoch``, ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
    ``test_loss``, ``test_accuracy`` (``None`` without such data), ``learning_rate``, ``seconds``,
    and for each layer ``l`` (from 1), measured after the epoch on a fixed probe batch of the first
    1,024 training rows: ``grad_norm_l`` (Frobenius norm of the weight gradient), ``grad_rms_l``
    (the same per weight), ``bias_grad_norm_l`` (norm of the bias gradient: how fast the layer's
    units learn), ``weight_norm_l`` and, for hidden layers, ``saturation_l``.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""
    best_epoch: int | None = None
    test_accuracy: float | None = None

    def _repr_html_(self) -> str:
        """The loss and accuracy per epoch as small charts in a Jupyter notebook."""
        from glassnet.notebook import history_html

        return history_html(self)

    def column(self, key: str) -> list[Any]:
        """One figure across epochs, e.g. ``history.column("val_accuracy")``."""
        return [row.get(key) for row in self.rows]

    def copy(self) -> History:
        """A copy whose rows can change without changing this one's."""
        return History(
            [dict(r) for r in self.rows], self.stopped, self.best_epoch, self.test_accuracy
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "stopped": self.stopped,
            "best_epoch": self.best_epoch,
            "test_accuracy": self.test_accuracy,
        }


@dataclass
class TrainingState:
    """A snapshot at the end of an epoch: everything needed to continue bit for bit."""

    epoch: int
    parameters: Array
    optimizer: dict[str, Any]
    rng_state: dict[str, Any]
    history: History
    best_parameters: Array | None
    best_loss: float
    bad_epochs: int
    standardizer: Standardizer | None


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``state`` is the snapshot after the last completed epoch."""

    def __init__(self, state: TrainingState | None) -> None:
        super().__init__("training interrupted")
        self.state = state


def learning_speed_ratio(row: Mapping[str, Any]) -> float | None:
    """How fast the first hidden layer learns against the last hidden layer.

    A layer's learning speed is the norm of its bias gradient, ``‖∂C/∂b_l‖`` (Nielsen's measure:
    it sums each unit's delta over the batch, so layers of equal width compare directly). The
    ratio is ``‖∂C/∂b_1‖ / ‖∂C/∂b_{L−1}‖``, below 1 where the gradient vanishes toward the input.
    ``None`` for a network with fewer than two hidden layers, or a row without the figures. Every
    report of the ratio (the epoch lines, the plots, the docs) uses this one.
    """
    layers = sorted(int(k.rsplit("_", 1)[1]) for k in row if k.startswith("bias_grad_norm_"))
    if len(layers) < 3:
        return None
    first, last = row.get("bias_grad_norm_1"), row.get(f"bias_grad_norm_{layers[-1] - 1}")
    if first is None or not last:
        return None
    return float(first) / float(last)


class EpochPrinter:
    """One line per epoch: loss, accuracies, learning rate, time; per-layer figures if verbose."""

    def __init__(self, stream: TextIO, epochs: int, per_layer: bool) -> None:
        self.stream, self.epochs, self.per_layer = stream, epochs, per_layer

    def __call__(self, row: dict[str, Any], history: History) -> None:
        width = len(str(self.epochs))
        parts = [
            f"epoch {row['epoch']:>{width}}/{self.epochs}",
            f"loss {row['train_loss']:.4f}",
            f"acc {row['train_accuracy']:.4f}",
        ]
        if row["val_loss"] is not None:
            parts += [f"val_loss {row['val_loss']:.4f}", f"val_acc {row['val_accuracy']:.4f}"]
        if row["test_loss"] is not None:
            parts += [f"test_acc {row['test_accuracy']:.4f}"]
        parts += [f"lr {row['learning_rate']:.3g}", f"{row['seconds']:.1f}s"]
        print("  ".join(parts), file=self.stream, flush=True)
        if self.per_layer:
            layers = sorted(int(k.rsplit("_", 1)[1]) for k in row if k.startswith("grad_norm_"))
            speed = " ".join(f"{row[f'bias_grad_norm_{l}']:.2e}" for l in layers)
            sat = " ".join(f"{row[f'saturation_{l}']:.2f}" for l in layers[:-1])
            ratio = learning_speed_ratio(row)
            shown = "" if ratio is None else f"  (first/last hidden layer {ratio:.3g})"
            print(
                f"    learning speed |dC/db| by layer 1..{layers[-1]}: {speed}{shown}\n"
                f"    saturated (sigmoid, tanh) or dead (relu) units per hidden layer: {sat}",
                file=self.stream,
                flush=True,
            )
