"""
Export to ONNX and run it in onnxruntime
========================================

A trained glassnet model runs without glassnet. :meth:`glassnet.Network.to_onnx` writes one ONNX
graph of standard operators, the standardization, each layer as ``Gemm`` and its activation, and
the softmax, that takes raw pixels ``(n, 784)`` as float32 and gives ``probabilities`` and
``predicted_class``. Any ONNX runtime can run it; here, onnxruntime. (``glassnet export MODEL
--onnx model.onnx`` does the same from the command line.)
"""

# %%
# A model to export
# -----------------
# A 784-128-10 ReLU network, two epochs on 20,000 MNIST images: a few seconds.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnx
import onnxruntime

import glassnet

data = glassnet.datasets.load("mnist")
net = glassnet.Network([784, 128, 10], activation="relu", seed=0)
net.fit(data.train_images[:20_000], data.train_labels[:20_000], epochs=2, batch_size=32,
        learning_rate=0.05, verbose=0)  # fmt: skip
print(f"glassnet test accuracy: {net.score(data.test_images, data.test_labels):.2%}")

# %%
# The graph
# ---------
# ``to_onnx`` checks the graph with ``onnx.checker`` and, with onnxruntime installed, runs it
# beside glassnet before writing anything.
path = net.to_onnx(Path(tempfile.mkdtemp()) / "mnist.onnx")
model = onnx.load(path)
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, opset {model.opset_import[0].version}")
for node in model.graph.node:
    print(f"  {node.op_type:<8} {', '.join(node.input)} -> {', '.join(node.output)}")

# %%
# Running it without glassnet
# ---------------------------
# onnxruntime takes the raw test images, flattened to rows of 784 float32 pixels.
session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
pixels = data.test_images.reshape(len(data.test_images), -1).astype(np.float32)
probabilities, predicted = session.run(["probabilities", "predicted_class"], {"pixels": pixels})
ours = net.predict_proba(data.test_images)
print(f"largest difference from glassnet's probabilities: {np.abs(probabilities - ours).max():.1e}")
print(f"same class for {np.mean(predicted == net.predict(data.test_images)):.2%} of the images")
print(f"onnxruntime's test accuracy: {np.mean(predicted == data.test_labels):.2%}")

# %%
# What onnxruntime sees
# ---------------------
fig, axes = plt.subplots(2, 8, figsize=(9, 2.8))
for ax, k in zip(axes.flat, range(16), strict=True):
    ax.imshow(data.test_images[k], cmap="gray_r")
    good = predicted[k] == data.test_labels[k]
    ax.set_title(f"{predicted[k]} ({probabilities[k].max():.0%})", fontsize=9,
                 color="#2ca02c" if good else "#d62728")  # fmt: skip
    ax.axis("off")
fig.tight_layout()
