"""
The post's deep sigmoid network, and its vanishing gradient
===========================================================

The post trains a 784-50x6-10 network: six hidden layers of 50 sigmoid units, the standard normal
start, mini-batches of 10 and a learning rate of 0.002, for 1,000 epochs. Here are its first few
epochs on all 60,000 MNIST images, with the size of each layer's gradient measured after every
epoch. The layers near the input learn more slowly than the layers near the output: each sigmoid
layer multiplies the error on its way back by :math:`\\sigma'(z) \\le 1/4`, and saturated units
by almost 0. That is the vanishing gradient.
"""

# %%
# Training
# --------
# ``Network`` keeps samples as rows; ``fit`` takes raw pixels and learns their standardization.
# Every row of the history holds, per layer :math:`l`, the gradients' sizes on a fixed probe
# batch of 1,024 training images: ``grad_norm_l``, the norm of the weight gradient
# :math:`\nabla_{\Theta^{(l)}} C`, and ``bias_grad_norm_l``, the norm of
# :math:`\nabla_{b^{(l)}} C`, the average error :math:`\delta^{(l)}` of the layer's units: how
# fast they learn.
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
net

# %%
# The gradient, layer by layer
# ----------------------------
# How fast each layer's units learn after the last epoch, :math:`\lVert \nabla_{b^{(l)}} C
# \rVert`, on a log scale: the error reaching layer 1 (the input side) is several times smaller
# than at layer 7 (the output), and falls at almost every layer on its way back. (The weight
# gradient of layer 1 is larger than its error suggests: it has 784 inputs to sum over.)
last = history.rows[-1]
L = len(sizes) - 1
speed = np.array([last[f"bias_grad_norm_{l}"] for l in range(1, L + 1)])
weights = np.array([last[f"grad_norm_{l}"] for l in range(1, L + 1)])
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(
    range(1, L + 1), speed, marker="o", label=r"$\|\nabla_{b^{(l)}} C\|$, how fast units learn"
)
ax.semilogy(range(1, L + 1), weights, marker="s", label=r"$\|\nabla_{\Theta^{(l)}} C\|$")
ax.set_xlabel("layer l (1 = input side)")
ax.set_title(
    f"after epoch {last['epoch']}: layer {L} learns {speed[-1] / speed[0]:.1f}x faster than layer 1"
)
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize="small")
fig.tight_layout()
print("how fast each layer learns, layer 1 to 7:", " ".join(f"{v:.2e}" for v in speed))

# %%
# Every epoch, and the saturated units
# ------------------------------------
# :func:`glassnet.plots.gradient_norms_figure` draws the same figures for every epoch (left), by
# depth at the first and last epoch (middle), and the share of each hidden layer's units that
# are saturated, passing almost nothing back (right). ``glassnet train --preset seed --plots``
# draws it for the whole 1,000-epoch run.
gradient_norms_figure(history.rows, layer_sizes=sizes, activation="sigmoid")
