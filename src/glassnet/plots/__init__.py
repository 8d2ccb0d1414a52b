"""Pictures of a training run: what the numbers in the history look like.

Each picture answers one question about a run, and each lives in its own module:

- ``curves.png`` (:mod:`.curves`): is it learning, and is it overfitting? Loss and accuracy per
  epoch, training against validation and test.
- ``learning_rate.png`` (:mod:`.curves`): what step size did the optimizer take in each epoch?
- ``gradients.png`` (:mod:`.gradients`): does the gradient reach the first layer? The gradient of
  each layer's weights on a log scale, from the input layer (dark) to the output layer (light).
  When the early layers' lines lie far below the last layer's, the early layers learn slowly: the
  *vanishing gradient*. Beside it, the fraction of saturated (sigmoid, tanh) or dead (ReLU) units
  per hidden layer.
- ``weights.png`` (:mod:`.weights`): what does the first layer look for? Each hidden unit's 784
  input weights drawn as a 28x28 image; ``weight_changes.png`` the same for what training changed,
  the weights minus their random start.
- ``confusion.png`` (:mod:`.confusion`): which classes does the network confuse with which?
- ``mistakes.png`` (:mod:`.mistakes`): the test images it gets wrong with the most confidence.
- ``augmented.png`` (:mod:`.augmented`): what does augmentation make of the training images? Each
  beside its shifted, turned or distorted variants of the first epochs (``glassnet plot
  --augmented``).

:mod:`.run` draws all of them for a run folder (``glassnet plot``), :mod:`.compare` puts several
runs in one picture (``glassnet compare``), :mod:`.history` reads the per-epoch figures they are
drawn from, and :mod:`.canvas` holds what every picture shares.

Every ``plot_*`` function writes a PNG atomically (a reader never sees half a file) and returns
its path; each ``*_figure`` function builds the same picture as a :class:`matplotlib.figure.Figure`
for a notebook. Matplotlib is an optional dependency (``pip install "glassnet[plot]"``), imported
only when a picture is drawn. Figures are drawn on the Agg canvas directly, without ``pyplot``, so
drawing keeps no global state, never opens a window and never changes a notebook's backend.
docs/plots.md explains how to read each picture.
"""

from __future__ import annotations

from glassnet.plots.augmented import augmented_figure, plot_augmented
from glassnet.plots.canvas import DPI as DPI
from glassnet.plots.canvas import SPLITS as SPLITS
from glassnet.plots.canvas import save_figure
from glassnet.plots.compare import compare_figure, plot_compare
from glassnet.plots.confusion import confusion_figure, plot_confusion
from glassnet.plots.curves import (
    curves_figure,
    learning_rate_figure,
    plot_curves,
    plot_learning_rate,
)
from glassnet.plots.gradients import gradient_norms_figure, plot_gradient_norms
from glassnet.plots.history import Rows as Rows
from glassnet.plots.history import column, gradient_series, learning_speed_series, n_layers
from glassnet.plots.mistakes import mistakes_figure, plot_mistakes, worst_mistakes
from glassnet.plots.run import RUN_PLOTS, describe_network, plot_run, run_label
from glassnet.plots.weights import initial_first_layer, plot_first_layer_weights, weights_figure

__all__ = [
    "RUN_PLOTS",
    "augmented_figure",
    "column",
    "compare_figure",
    "confusion_figure",
    "curves_figure",
    "describe_network",
    "gradient_norms_figure",
    "gradient_series",
    "initial_first_layer",
    "learning_rate_figure",
    "learning_speed_series",
    "mistakes_figure",
    "n_layers",
    "plot_augmented",
    "plot_compare",
    "plot_confusion",
    "plot_curves",
    "plot_first_layer_weights",
    "plot_gradient_norms",
    "plot_learning_rate",
    "plot_mistakes",
    "plot_run",
    "run_label",
    "save_figure",
    "weights_figure",
    "worst_mistakes",
]
