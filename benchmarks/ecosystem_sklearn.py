"""glassnet's NetClassifier beside scikit-learn's MLPClassifier, each with its defaults, on the same
data: MNIST (train on the 60,000, test on the 10,000) and two small tables scikit-learn ships
(five-fold cross-validation). Prints the Markdown table of docs/ecosystem.md.

    python benchmarks/ecosystem_sklearn.py [--data-dir ../shared/datasets/mnist] [--skip-mnist]

MNIST's pixels are given to every contender as float32 in [0, 1], as scikit-learn's examples do.
MLPClassifier is shown bare and behind the StandardScaler its documentation recommends;
NetClassifier standardizes each feature itself. Times are wall-clock on this machine, with whatever
BLAS threads each library chooses.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import glassnet
from glassnet.sklearn import NetClassifier

CONTENDERS: dict[str, Callable[[], Any]] = {
    "glassnet NetClassifier()": lambda: NetClassifier(random_state=0),
    "scikit-learn MLPClassifier()": lambda: MLPClassifier(random_state=0),
    "StandardScaler + MLPClassifier()": lambda: make_pipeline(
        StandardScaler(), MLPClassifier(random_state=0)
    ),
}
#: On images already in [0, 1], standardizing each pixel on its own costs accuracy.
MNIST_EXTRA = {"glassnet NetClassifier(standardize=False)": lambda: NetClassifier(
    standardize=False, random_state=0)}  # fmt: skip


def epochs_of(model: Any) -> int:
    last = model.steps[-1][1] if hasattr(model, "steps") else model
    return int(last.n_iter_)


def mnist_rows(data_dir: str | None) -> list[str]:
    data = glassnet.datasets.load("mnist", data_dir=data_dir)
    X = (data.train_images.reshape(len(data.train_images), -1) / 255.0).astype(np.float32)
    X_test = (data.test_images.reshape(len(data.test_images), -1) / 255.0).astype(np.float32)
    rows = []
    for name, make in {**CONTENDERS, **MNIST_EXTRA}.items():
        model = make()
        started = time.perf_counter()
        model.fit(X, data.train_labels)
        seconds = time.perf_counter() - started
        accuracy = model.score(X_test, data.test_labels)
        rows.append(f"| MNIST | {name} | {accuracy:.2%} | {seconds:.1f} s | {epochs_of(model)} |")
        print(rows[-1], flush=True)
    return rows


def table_rows(name: str, loader: Callable[..., Any]) -> list[str]:
    X, y = loader(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    rows = []
    for label, make in CONTENDERS.items():
        started = time.perf_counter()
        scores = cross_val_score(make(), X, y, cv=folds)
        seconds = time.perf_counter() - started
        rows.append(
            f"| {name} ({X.shape[0]}×{X.shape[1]}) | {label} | {scores.mean():.2%} ± "
            f"{scores.std():.2%} | {seconds:.1f} s (5 fits) | |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    parser.add_argument("--skip-mnist", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| data | model | test accuracy | fit time | epochs |\n|---|---|---|---|---|")
    rows = [*table_rows("digits", load_digits), *table_rows("breast cancer", load_breast_cancer)]
    if not args.skip_mnist:
        rows += mnist_rows(args.data_dir)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
