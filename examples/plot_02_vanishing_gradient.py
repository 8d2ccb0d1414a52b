"""
The post's deep sigmoid network, and its vanishing gradient
===========================================================

The post trains a 784-50x6-10 network: six hidden layers of 50 sigmoid units, the standard normal
start, mini-batches of 10 and a learning rate of 0.002, for 1,000 epochs. Here are its first few
epochs on all 60,000 MNIST images, with the size of each layer's weight gradient measured after
every epoch. The layers near the input learn far more slowly than the layers near the output:
each sigmoid layer multiplies the gradient on its way back by :math:`\\sigma'(z) \\le 1/4`, and
saturated units by almost 0. That is the vanishing gradient.
"""

# %%
# Training
# --------
# ``Network`` keeps samples as rows; ``fit`` takes raw pixels and learns their standardization.
# Every row of the history holds, per layer :math:`l`, ``grad_norm_l``: the norm of the weight
# gradient on a fixed probe batch of 1,024 training images.
import matplotlib.pyplot as plt
import numpy as np

import glassnet
from glassnet.plots import gradient_norms_figure

data = glassnet.datasets.load("mnist")
sizes = [784, 50, 50, 50, 50, 50, 50, 10]
net = glassnet.Network(sizes, activation="sigmoid", initializer="normal", seed=0)
history = net.fit(
    data.train_images,
    data.train_labels,
    epochs=6,
    batch_size=10,
    learning_rate=0.002,
    test_data=(data.test_images, data.test_labels),
    verbose=0,
)
for row in history.rows:
    print(
        f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, "
        f"test accuracy {row['test_accuracy']:.2%}"
    )
net  # noqa: B018 (the network shows itself: a table in a notebook)

# %%
# The gradient, layer by layer
# ----------------------------
# The gradient's size per layer after the last epoch, on a log scale. Layer 1 (the input layer)
# gets a gradient orders of magnitude smaller than layer 7 (the output layer), so its weights
# move that much more slowly.
last = history.rows[-1]
L = len(sizes) - 1
norms = np.array([last[f"grad_norm_{l}"] for l in range(1, L + 1)])
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(range(1, L + 1), norms, marker="o")
ax.set_xlabel("layer l (1 = input side)")
ax.set_ylabel(r"$\|\nabla_{\Theta^{(l)}} C\|$")
ax.set_title(f"after epoch {last['epoch']}: layer {L} / layer 1 = {norms[-1] / norms[0]:,.0f}×")
ax.grid(alpha=0.3, which="both")
fig.tight_layout()
print("ratio of the last layer's gradient to the first's:", f"{norms[-1] / norms[0]:,.0f}")

# %%
# Every epoch, and the saturated units
# ------------------------------------
# :func:`glassnet.plots.gradient_norms_figure` draws the same figures for every epoch (left), by
# depth at the first and last epoch (middle), and the share of each hidden layer's units that
# are saturated, passing almost nothing back (right). ``glassnet train --preset seed --plots``
# draws it for the whole 1,000-epoch run.
gradient_norms_figure(history.rows, layer_sizes=sizes, activation="sigmoid")
