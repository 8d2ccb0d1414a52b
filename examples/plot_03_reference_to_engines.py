"""
From the reference to the engines: the same numbers, faster
===========================================================

glassnet keeps the post's network twice. :class:`glassnet.reference.ReferenceNetwork` is the
post's code, samples as columns, never tuned: the one to read. The engines behind
:class:`glassnet.Network` compute the same numbers laid out for speed: samples as rows, weights
and biases in one block, buffers reused, and on the compiled engine whole runs of steps compiled
with Numba. Here we start both from the same weights, train one epoch on the same batches, check
that they end with the same parameters, and time them.
"""

# %%
# The same start
# --------------
# With the same seed and initializer a ``Network`` and a ``ReferenceNetwork`` draw the same
# weights; the network keeps them transposed, :math:`W^{(l)} = \Theta^{(l)\top}`.
import time

import matplotlib.pyplot as plt
import numpy as np

import glassnet
from glassnet.datasets.preprocess import Standardizer, flatten_images
from glassnet.engine import available_engines
from glassnet.reference import ReferenceNetwork, one_hot_columns

data = glassnet.datasets.load("mnist")
X, y = data.train_images[:10_000], data.train_labels[:10_000]
sizes = [784, 50, 50, 50, 50, 50, 50, 10]  # the post's network


net = glassnet.Network(sizes, "sigmoid", initializer="normal", seed=0, dtype="float64")
ref = ReferenceNetwork(sizes, "sigmoid", initializer="normal", seed=0, dtype="float64")
print(
    "same start:", all(np.array_equal(t, W.T) for t, W in zip(ref.thetas, net.weights, strict=True))
)

# %%
# The same gradients
# ------------------
# ``Network.backprop`` takes standardized rows; it returns the reference's gradients
# transposed. ``ReferenceNetwork.from_network`` gives the reference a network's weights.
# ``prepare`` standardizes raw pixels once the network has a standardizer (``fit`` learns one;
# here we fit it on the training rows first).
net.standardizer = Standardizer.fit(flatten_images(X))
rows = net.prepare(X[:100])  # (100, 784): samples as rows
Y_rows = np.eye(10)[y[:100]]
weight_gradients, bias_gradients = net.backprop(rows, Y_rows)
same = ReferenceNetwork.from_network(net)  # the reference holding the network's numbers
nabla_theta, nabla_b = same.backprop(rows.T, Y_rows.T)
gap = max(np.abs(g.T - t).max() for g, t in zip(weight_gradients, nabla_theta, strict=True))
print(f"largest difference between the gradients: {gap:.1e}")

# %%
# The same epoch
# --------------
# ``fit`` shuffles with a generator seeded by ``seed``; the reference's ``train_epoch`` shuffles
# with the same draws, so both take the same 1,000 steps of 10 images. Every engine installed
# here must end where the reference ends.
engines = [name for name in ("numpy", "numba") if name in available_engines()]
timings = {}
for engine in engines:
    net = glassnet.Network(sizes, "sigmoid", initializer="normal", seed=0, dtype="float64")
    start = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    net.fit(X, y, epochs=1, batch_size=10, learning_rate=0.002, seed=0, engine=engine, verbose=0)
    ref = ReferenceNetwork(sizes, "sigmoid", initializer="normal", seed=0, dtype="float64")
    x, Y = net.prepare(X).T, one_hot_columns(y, 10, "float64")
    ref.train_epoch(x, Y, 10, 0.002, np.random.default_rng(0))
    gap = max(np.abs(t - W.T).max() for t, W in zip(ref.thetas, net.weights, strict=True))
    print(f"{engine} engine after one epoch: largest difference from the reference {gap:.1e}")
    assert gap < 1e-10

# %%
# How much faster
# ---------------
# Seconds per epoch of the post's network on these 10,000 images, float32 as glassnet trains by
# default, batches of 10: the reference's loop against each engine (the second epoch of three,
# so that the compiled engine's one-time compilation is not counted).
x32 = net.prepare(X).T.astype(np.float32)
Y32 = one_hot_columns(y, 10, "float32")
ref = ReferenceNetwork(sizes, "sigmoid", initializer="normal", seed=0, dtype="float32")
began = time.perf_counter()
ref.train_epoch(x32, Y32, 10, 0.002, np.random.default_rng(0))
timings["reference"] = time.perf_counter() - began
for engine in engines:
    net = glassnet.Network(sizes, "sigmoid", initializer="normal", seed=0)
    history = net.fit(X, y, epochs=3, batch_size=10, learning_rate=0.002, engine=engine, verbose=0)
    timings[f"{engine} engine"] = float(np.median(history.column("seconds")))
for name, seconds in timings.items():
    print(f"{name:>14}: {seconds:.3f} s per epoch ({timings['reference'] / seconds:.1f}x)")

fig, ax = plt.subplots(figsize=(6, 2.2))
ax.barh(list(timings), list(timings.values()), color=["#888", "#1f77b4", "#2ca02c"][: len(timings)])
ax.invert_yaxis()
ax.set_xlabel("seconds per epoch (10,000 images, batches of 10)")
fig.tight_layout()
