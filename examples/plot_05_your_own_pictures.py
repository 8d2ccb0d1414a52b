"""
A folder of your own pictures
=============================

The post ends with "now try it on something of your own". glassnet reads a folder of pictures
with one sub-folder per class (``shapes/circle/*.png``, ``shapes/square/*.png``, ...), as
torchvision's ``ImageFolder`` does, brings every picture to one size, and trains the same
network on it: ``glassnet train --data shapes`` on the command line, or
:func:`glassnet.datasets.pictures.read_picture_folder` and ``fit`` from Python. Here we draw such
a folder ourselves, three kinds of shapes in random sizes and places, so the example runs
anywhere; point it at your own folder instead.
"""

# sphinx_gallery_thumbnail_number = 2

# %%
# A folder of pictures
# --------------------
# 300 PNG files per class, drawn with Pillow: outlines of circles, squares and triangles.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image, ImageDraw

import glassnet
from glassnet.datasets.pictures import read_picture_folder

folder = Path(tempfile.mkdtemp()) / "shapes"
rng = np.random.default_rng(0)


def draw(kind: str) -> Image.Image:
    picture = Image.new("L", (64, 64), color=255)
    pen = ImageDraw.Draw(picture)
    r = rng.uniform(10, 22)
    cx, cy = rng.uniform(r + 4, 60 - r, size=2)
    width = int(rng.integers(2, 5))
    if kind == "circle":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], outline=0, width=width)
    elif kind == "square":
        pen.rectangle([cx - r, cy - r, cx + r, cy + r], outline=0, width=width)
    else:
        corners = [
            (cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.pi / 2 + np.arange(3) * 2.094
        ]
        pen.polygon(corners, outline=0, width=width)
    return picture


for kind in ("circle", "square", "triangle"):
    (folder / kind).mkdir(parents=True)
    for k in range(300):
        draw(kind).save(folder / kind / f"{k:03d}.png")
print(sorted(p.name for p in folder.iterdir()), sum(1 for _ in folder.rglob("*.png")), "files")

# %%
# Read, sized and split
# ---------------------
# Every picture becomes 28x28 gray, and a
# stratified fifth of each class is held out for testing.
data = read_picture_folder(folder, size=28, test_split=0.2, seed=0)
print("classes:", data.class_names)
print("train", data.train_images.shape, " test", data.test_images.shape)

fig, axes = plt.subplots(1, 9, figsize=(9, 1.3))
for ax, image, label in zip(axes, data.train_images, data.train_labels, strict=False):
    ax.imshow(image, cmap="gray")
    ax.set_title(data.class_names[label], fontsize=8)
    ax.axis("off")

# %%
# The same network, on your data
# ------------------------------
net = glassnet.Network(
    [28 * 28, 64, len(data.class_names)], activation="relu", seed=0, class_names=data.class_names
)
history = net.fit(
    data.train_images,
    data.train_labels,
    epochs=40,
    batch_size=16,
    learning_rate=0.02,
    test_data=(data.test_images, data.test_labels),
    verbose=0,
)
accuracy = net.score(data.test_images, data.test_labels)
print(f"test accuracy after {len(history.rows)} epochs: {accuracy:.1%}")
history

# %%
# What it says about the held-out pictures
# ----------------------------------------
probabilities = net.predict_proba(data.test_images)
fig, axes = plt.subplots(2, 8, figsize=(9, 2.8))
shown = zip(axes.flat, data.test_images, probabilities, data.test_labels, strict=False)
for ax, image, p, label in shown:
    guess = int(np.argmax(p))
    ax.imshow(image, cmap="gray")
    colour = "#2ca02c" if guess == label else "#d62728"
    ax.set_title(f"{data.class_names[guess]} {p[guess]:.0%}", fontsize=8, color=colour)
    ax.axis("off")
fig.tight_layout()
