"""
The post, step by step: backprop on a batch of 75
=================================================

The post's example network, 784-3-10 with sigmoid hidden units and a softmax output, on a
mini-batch of :math:`m = 75` MNIST images, computed with
:class:`glassnet.reference.ReferenceNetwork`, the post's code written the post's way: samples as
columns, one NumPy expression per equation. We run the forward pass, form the output error
:math:`\\hat{Y} - Y`, compute every gradient, check each one against central differences of the
cost, and take one step of gradient descent.
"""

# sphinx_gallery_thumbnail_number = 2

# %%
# The batch
# ---------
# 75 training images, standardized by the mean and standard deviation of all training pixels,
# and laid out as the post lays them out: one image per *column*, so :math:`X` is
# :math:`784 \times 75`. The labels become one-hot columns, :math:`Y` is :math:`10 \times 75`.
import matplotlib.pyplot as plt
import numpy as np

import glassnet
from glassnet.reference import ReferenceNetwork, one_hot_columns

data = glassnet.datasets.load("mnist")
pixels = data.train_images.reshape(len(data.train_images), -1).astype(np.float64)
mean, std = pixels.mean(), pixels.std()

rng = np.random.default_rng(0)
chosen = rng.choice(len(pixels), 75, replace=False)
X = ((pixels[chosen] - mean) / std).T  # (784, 75): samples as columns
labels = data.train_labels[chosen]
Y = one_hot_columns(labels, 10, "float64")  # (10, 75)
print("X", X.shape, " Y", Y.shape, " first labels:", labels[:12])

fig, axes = plt.subplots(1, 12, figsize=(9, 1.2))
for ax, column, label in zip(axes, X.T, labels, strict=False):
    ax.imshow(column.reshape(28, 28), cmap="gray_r")
    ax.set_title(int(label), fontsize=9)
    ax.axis("off")

# %%
# The forward pass
# ----------------
# :math:`Z^{(l)} = \Theta^{(l)} A^{(l)} + b^{(l)}`, :math:`A^{(l+1)} = \sigma(Z^{(l)})`, and
# :math:`\hat{Y} = \operatorname{softmax}(Z^{(L)})`. ``feedforward`` returns every layer's
# activations, :math:`A^{(1)} = X` first and :math:`\hat{Y}` last. The weights are the post's
# standard normal draws.
net = ReferenceNetwork([784, 3, 10], "sigmoid", initializer="normal", seed=0, dtype="float64")
A = net.feedforward(X)
for l, a in enumerate(A, start=1):
    print(f"A({l})", a.shape)
Y_hat = A[-1]
print("each column of Ŷ sums to 1:", np.allclose(Y_hat.sum(axis=0), 1.0))
print(f"cost C = {net.cost(X, Y):.4f}   (a network that knew nothing: ln 10 = {np.log(10):.4f})")

# %%
# The output error :math:`\hat{Y} - Y`
# ------------------------------------
# For softmax with categorical cross-entropy the error of the output layer is exactly the
# predicted probabilities minus the one-hot labels. Each column has one negative entry, at the
# sample's own class: the network should raise that probability and lower the others.
delta_L = Y_hat - Y  # (10, 75)
fig, ax = plt.subplots(figsize=(8, 2.6))
image = ax.imshow(delta_L[:, :30], cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
ax.set_xlabel("sample (the first 30 of 75)")
ax.set_ylabel("class k")
ax.set_title(r"$\delta^{(L)} = \hat{Y} - Y$")
fig.colorbar(image, ax=ax)

# %%
# Every gradient
# --------------
# ``backprop`` returns :math:`\nabla_{\Theta^{(l)}} C = \frac{1}{m} \delta^{(l)} A^{(l)\top}` and
# :math:`\nabla_{b^{(l)}} C = \frac{1}{m} \sum \delta^{(l)}` for every layer, shaped like the
# weights and biases.
nabla_theta, nabla_b = net.backprop(X, Y)
for l, (g, gb) in enumerate(zip(nabla_theta, nabla_b, strict=True), start=1):
    print(f"∇Θ({l})C {g.shape}   ∇b({l})C {gb.shape}   ‖∇Θ({l})C‖ = {np.linalg.norm(g):.3e}")

# %%
# Every quantity at once
# ----------------------
# ``trace`` keeps everything the two passes computed, layer by layer in the post's numbering:
# :math:`\Theta^{(l)}`, :math:`A^{(l)}`, :math:`Z^{(l)}`, the error :math:`\delta^{(l)}` and both
# gradients, the same numbers ``backprop`` returns. The error shrinks on its way back: each
# sigmoid layer multiplies it by :math:`\sigma'(Z) \le 1/4`.
trace = net.trace(X, Y)
for layer in trace.layers:
    print(
        f"layer {layer.index}: Θ {layer.theta.shape}  A {layer.A.shape}  Z {layer.Z.shape}  "
        f"δ {layer.delta.shape}  mean |δ| = {np.abs(layer.delta).mean():.3e}"
    )
same = zip(trace.layers, nabla_theta, strict=True)
assert all(np.array_equal(layer.nabla_theta, g) for layer, g in same)

# %%
# Checked against central differences
# -----------------------------------
# Nudge one parameter by :math:`\pm h`, recompute the cost, and divide:
# :math:`(C(\theta + h) - C(\theta - h)) / 2h`. The first layer has 2,352 weights; we check a
# seeded sample of 200 of them (and every entry of the smaller arrays), and say so.
h = 1e-5


def central_difference(array: np.ndarray, index: tuple[int, ...]) -> float:
    saved = array[index]
    array[index] = saved + h
    plus = net.cost(X, Y)
    array[index] = saved - h
    minus = net.cost(X, Y)
    array[index] = saved
    return (plus - minus) / (2 * h)


check_rng = np.random.default_rng(1)
results = []
for l in range(len(net.thetas)):
    for name, params, grads in (("Θ", net.thetas, nabla_theta), ("b", net.biases, nabla_b)):
        target, analytic = params[l], grads[l]
        count = min(target.size, 200)
        flat = check_rng.choice(target.size, count, replace=False)
        indices = [np.unravel_index(i, target.shape) for i in flat]
        numeric = np.array([central_difference(target, ix) for ix in indices])
        exact = np.array([analytic[ix] for ix in indices])
        error = np.linalg.norm(exact - numeric) / (np.linalg.norm(exact) + np.linalg.norm(numeric))
        results.append((f"∇{name}({l + 1})C", count, target.size, error))
        print(f"∇{name}({l + 1})C: {count} of {target.size} entries, relative error {error:.1e}")
assert all(error < 1e-7 for *_, error in results)

fig, ax = plt.subplots(figsize=(6, 2.4))
ax.barh([r[0] for r in results], [r[3] for r in results], color="#1f77b4")
ax.axvline(1e-7, color="#d62728", linestyle="--", label="pass below 1e-7")
ax.set_xscale("log")
ax.set_xlabel("relative error against central differences")
ax.legend(loc="lower right", fontsize="small")
fig.tight_layout()

# %%
# One step of gradient descent
# ----------------------------
# :math:`\Theta \leftarrow \Theta - \alpha \nabla_\Theta C` with the post's
# :math:`\alpha = 0.002`. To first order the cost falls by :math:`\alpha \lVert \nabla C \rVert^2`.
alpha = 0.002
before = net.cost(X, Y)
squared = sum(float(np.sum(g**2)) for g in nabla_theta + nabla_b)
net.update_mini_batch(X, Y, eta=alpha)
after = net.cost(X, Y)
print(f"cost before {before:.6f}, after {after:.6f}")
print(f"change {after - before:+.3e}, predicted -α‖∇C‖² = {-alpha * squared:+.3e}")
