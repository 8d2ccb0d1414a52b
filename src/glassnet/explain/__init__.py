"""``glassnet explain``: the post's walkthrough, finished with real numbers.

The post walks through backpropagation on a network with one hidden layer of three neurons and a
mini-batch of 75 samples, derives the output layer's gradients, claims that ``∇ŶC ⊙ ∇ZŶ``
simplifies to ``Ŷ − Y``, and leaves the rest "to do yourself". This package does the rest, on
real MNIST:

- :mod:`~glassnet.explain.walkthrough`: every equation in the post's notation, the shapes it
  produces and some of its numbers, the derivations the post skips, and one step of descent;
- :mod:`~glassnet.explain.softmax`: the ``Ŷ − Y`` claim, shown with the softmax Jacobian;
- :mod:`~glassnet.explain.numbers`: the arithmetic behind them, and the gradient checks;
- :mod:`~glassnet.explain.document`: showing the result in a terminal or as Markdown.

From Python::

    from glassnet.explain import build_walkthrough, render_markdown
    found = build_walkthrough(network, X, labels)     # X standardized, network in float64
    print(render_markdown(found.blocks), found.passed)
"""

from __future__ import annotations

from glassnet.explain.document import render_markdown, render_terminal
from glassnet.explain.walkthrough import TOLERANCE, Walkthrough, build_walkthrough

__all__ = ["TOLERANCE", "Walkthrough", "build_walkthrough", "render_markdown", "render_terminal"]
