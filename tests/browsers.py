"""Kept for the test modules that still import from here: these helpers live in helpers.py now.
Import them from there; this module goes once nothing imports it."""

from helpers import ARTIFACTS, chromium, draw_seven, mnist_folder, probabilities, trained_model

__all__ = ["ARTIFACTS", "chromium", "draw_seven", "mnist_folder", "probabilities", "trained_model"]
