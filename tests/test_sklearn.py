"""Tests of glassnet.sklearn: scikit-learn's own estimator checks, its tools (Pipeline,
cross-validation, grid search, clone) with NetClassifier in them, and the promises the estimator
makes beyond them: any labels, the same weights as Network.fit, warm starts and partial fits that
continue training exactly, errors that name the setting."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

import glassnet
from glassnet import TrainConfig
from glassnet.preprocess import Standardizer
from glassnet.sklearn import AUTO_EPOCHS, NetClassifier, auto_epochs, expected_failed_checks


@pytest.mark.slow
@parametrize_with_checks(
    [NetClassifier(random_state=0), NetClassifier(dtype="float64", random_state=0)],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator: NetClassifier, check: object) -> None:
    """Every check of scikit-learn's; float32's one expected failure says why."""
    check(estimator)  # type: ignore[operator]


def iris_names() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


def test_parameters_are_every_training_setting() -> None:
    """The constructor takes every TrainConfig field by its own name (the seed as random_state),
    and stores what it is given, unchanged."""
    params = NetClassifier().get_params()
    assert set(TrainConfig.field_names()) - {"seed"} <= set(params)
    odd = NetClassifier(hidden="128,64", learning_rate=-1, epochs="auto").get_params()
    assert (odd["hidden"], odd["learning_rate"], odd["epochs"]) == ("128,64", -1, "auto")


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"learning_rate": -1.0}, "learning rate"),
        ({"activation": "softplus"}, "activation"),
        ({"hidden": [0]}, "hidden"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"epochs": "many"}, "epochs"),
        ({"dropout": 0.99}, "dropout"),
    ],
)
def test_bad_settings_fail_at_fit_naming_the_setting(params: dict, named: str) -> None:
    X, y = iris_names()
    estimator = NetClassifier(**params)  # scikit-learn's rule: the constructor checks nothing
    with pytest.raises(ValueError, match=named):
        estimator.fit(X, y)


def test_string_labels_round_trip_through_predict_and_the_model_file(tmp_path: Path) -> None:
    X, y = iris_names()
    estimator = NetClassifier(hidden=16, random_state=0).fit(X, y)
    assert list(estimator.classes_) == ["setosa", "versicolor", "virginica"]
    predicted = estimator.predict(X)
    assert set(predicted) <= set(y)
    assert np.mean(predicted == y) > 0.9
    probabilities = estimator.predict_proba(X)
    assert np.array_equal(estimator.classes_[probabilities.argmax(axis=1)], predicted)
    # The network inside is an ordinary glassnet model, its classes named by the labels.
    path = estimator.network_.save(tmp_path / "iris.safetensors")
    model = glassnet.load(path)
    assert model.class_names == ["setosa", "versicolor", "virginica"]
    assert np.array_equal(np.array(model.class_names)[model.predict(X)], predicted)


def test_labels_that_are_not_0_to_k(tmp_path: Path) -> None:
    """Numeric labels are sorted as numbers, and the network's class names follow its columns:
    a model file read elsewhere names each prediction as the estimator does."""
    X, y = iris_names()
    numbers = np.array([10, -3, 7])[np.searchsorted(["setosa", "versicolor", "virginica"], y)]
    estimator = NetClassifier(hidden=16, epochs=40, learning_rate=0.01, random_state=0)
    estimator.fit(X, numbers)
    assert list(estimator.classes_) == [-3, 7, 10]  # as numbers, not as text ("-3", "10", "7")
    assert estimator.network_.class_names == ["-3", "7", "10"]  # column k is classes_[k]
    predicted = estimator.predict(X)
    assert set(predicted) <= {-3, 7, 10} and np.mean(predicted == numbers) > 0.9
    model = glassnet.load(estimator.network_.save(tmp_path / "numbers.safetensors"))
    assert model.class_names == ["-3", "7", "10"]
    assert np.array_equal(np.array(model.class_names)[model.predict(X)], predicted.astype(str))


def test_the_same_weights_as_network_fit() -> None:
    """An int random_state is glassnet's seed: NetClassifier is Network + per-feature
    standardization + fit, and nothing else."""
    X, y = load_iris(return_X_y=True)
    estimator = NetClassifier(hidden=8, epochs=5, random_state=3, engine="numpy").fit(X, y)
    network = glassnet.Network([4, 8, 3], "relu", seed=3)
    network.standardizer = Standardizer.fit(X, per_feature=True)
    network.fit(X, y, epochs=5, batch_size=32, learning_rate=0.001, optimizer="adam", seed=3,
                engine="numpy")  # fmt: skip
    assert np.array_equal(network.get_flat_parameters(), estimator.network_.get_flat_parameters())


def test_warm_start_continues_exactly() -> None:
    """Two warm fits of 5 epochs are one fit of 10: weights, optimizer state and the epochs'
    random draws all carry over."""
    X, y = iris_names()
    warm = NetClassifier(hidden=8, epochs=5, dropout=0.1, random_state=3, warm_start=True)
    warm.fit(X, y).fit(X, y)
    once = NetClassifier(hidden=8, epochs=10, dropout=0.1, random_state=3).fit(X, y)
    assert warm.n_iter_ == 10 and len(warm.loss_curve_) == 10
    assert np.array_equal(warm.network_.get_flat_parameters(), once.network_.get_flat_parameters())
    cold = NetClassifier(hidden=8, epochs=5, dropout=0.1, random_state=3)
    assert cold.fit(X, y).fit(X, y).n_iter_ == 5  # without warm_start, a fresh start


def test_warm_start_refuses_new_labels() -> None:
    X, y = iris_names()
    estimator = NetClassifier(hidden=4, epochs=2, random_state=0, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="label 'rose' is not one of the classes"):
        estimator.fit(X, np.where(y == "setosa", "rose", y))


def test_partial_fit_is_fit_an_epoch_at_a_time() -> None:
    X, y = iris_names()
    classes = ["setosa", "versicolor", "virginica"]
    stepwise = NetClassifier(hidden=8, random_state=3)
    for i in range(6):
        stepwise.partial_fit(X, y, classes=classes if i == 0 else None)
    once = NetClassifier(hidden=8, epochs=6, random_state=3).fit(X, y)
    assert stepwise.n_iter_ == 6
    assert np.array_equal(
        stepwise.network_.get_flat_parameters(), once.network_.get_flat_parameters()
    )


def test_partial_fit_needs_classes_first_and_may_see_few_of_them() -> None:
    X, y = iris_names()
    with pytest.raises(ValueError, match="classes="):
        NetClassifier().partial_fit(X, y)
    estimator = NetClassifier(hidden=8, random_state=0)
    estimator.partial_fit(X[y == "setosa"], y[y == "setosa"], classes=np.unique(y))
    assert estimator.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="not one of the classes"):
        estimator.partial_fit(X[:5], np.array(["daisy"] * 5))


def test_partial_fit_refuses_classes_other_than_the_first_calls() -> None:
    X, y = iris_names()
    estimator = NetClassifier(hidden=8, random_state=0)
    estimator.partial_fit(X, y, classes=["setosa", "versicolor", "virginica"])
    estimator.partial_fit(
        X, y, classes=["virginica", "setosa", "versicolor"]
    )  # the same, reordered
    trained = estimator.network_.get_flat_parameters().copy()
    some = y != "virginica"
    for classes in (["setosa", "versicolor"], ["setosa", "versicolor", "virginica", "rose"]):
        with pytest.raises(ValueError, match=r"classes=\[.*\] differ from the first call's"):
            estimator.partial_fit(X[some], y[some], classes=classes)
    # Refused before anything trained: the network and the epoch count are as they were.
    assert np.array_equal(estimator.network_.get_flat_parameters(), trained)
    assert estimator.n_iter_ == 2 and list(estimator.classes_) == [
        "setosa",
        "versicolor",
        "virginica",
    ]


def test_one_class_is_refused_in_words() -> None:
    X, _ = iris_names()
    with pytest.raises(ValueError, match="at least 2 classes"):
        NetClassifier().fit(X, np.array(["setosa"] * len(X)))


def test_auto_epochs_follow_the_size_of_the_data() -> None:
    low, high = AUTO_EPOCHS
    sizes = [10, 300, 3000, 30_000, 60_000, 600_000]
    epochs = [auto_epochs(n, 32) for n in sizes]
    assert epochs == sorted(epochs, reverse=True)  # more rows, fewer epochs
    assert epochs[0] == high and epochs[-1] == low
    X, y = load_iris(return_X_y=True)
    assert NetClassifier(hidden=4, random_state=0).fit(X, y).n_iter_ == auto_epochs(len(X), 32)


def test_clone_pickle_pipeline_and_grid_search() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    estimator = NetClassifier(hidden=(16,), epochs=20, random_state=0)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params() and not hasattr(copy, "network_")
    pipeline = make_pipeline(StandardScaler(), estimator).fit(X, y)
    again = pickle.loads(pickle.dumps(pipeline))
    assert np.array_equal(again.predict_proba(X), pipeline.predict_proba(X))
    grid = {"hidden": [(8,), (32,)], "learning_rate": [1e-3, 1e-2]}
    search = GridSearchCV(estimator, grid, cv=3).fit(X, y)
    assert search.best_params_["hidden"] in grid["hidden"]
    assert len(search.cv_results_["params"]) == 4
    assert search.score(X, y) > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("loader", [load_digits, load_breast_cancer])
def test_defaults_score_like_mlpclassifier_on_small_tables(loader: object) -> None:
    """Out of the box, on scikit-learn's own small data, within two points of MLPClassifier's
    cross-validated accuracy (MLPClassifier with its recommended StandardScaler in front)."""
    X, y = loader(return_X_y=True)  # type: ignore[operator]
    ours = cross_val_score(NetClassifier(random_state=0), X, y, cv=3).mean()
    # One BLAS thread: on a busy machine, threads waiting for each other slow small products down
    # a hundredfold.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=0))
        theirs = cross_val_score(mlp, X, y, cv=3).mean()
    assert ours > theirs - 0.02, (ours, theirs)


@pytest.mark.slow
def test_grid_search_on_a_dask_cluster() -> None:
    """GridSearchCV's fits spread over Dask workers through joblib, as docs/ecosystem.md shows."""
    pytest.importorskip("distributed")
    import joblib
    from distributed import Client, LocalCluster, get_task_stream

    X, y = load_iris(return_X_y=True)
    grid = {"hidden": [(4,), (16,)], "learning_rate": [1e-3, 1e-2]}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                     dashboard_address=":0") as cluster,
        Client(cluster) as client,
        joblib.parallel_backend("dask"),
        get_task_stream(client) as tasks,
    ):  # fmt: skip
        search = GridSearchCV(NetClassifier(epochs=30, random_state=0), grid, cv=3).fit(X, y)
    assert {task["worker"] for task in tasks.data}  # the fits ran on the cluster's workers (in
    # batches of joblib's choosing)
    serial = GridSearchCV(NetClassifier(epochs=30, random_state=0), grid, cv=3).fit(X, y)
    assert search.best_params_ == serial.best_params_
    assert np.array_equal(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_without_scikit_learn_the_import_says_how_to_install() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import glassnet.sklearn\nexcept Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.startswith("GlassnetError")
    assert 'pip install "glassnet[sklearn]"' in result.stdout


def test_class_weight_and_sample_weight_make_a_rare_class_count() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    X = rng.normal(size=(300, 2)) + y[:, None]
    recall = {}
    for name, kwargs, weights in [
        ("none", {}, None),
        ("balanced", {"class_weight": "balanced"}, None),
        ("dict", {"class_weight": {0: 1.0, 1: 9.0}}, None),
        ("sample_weight", {}, np.where(y == 1, 9.0, 1.0)),
    ]:
        clf = NetClassifier(hidden=8, epochs=30, random_state=0, **kwargs)
        clf.fit(X, y, sample_weight=weights)
        recall[name] = float(np.mean(clf.predict(X[y == 1]) == 1))
    assert recall["none"] < 0.3
    assert min(recall["balanced"], recall["dict"], recall["sample_weight"]) > 0.6


def test_partial_fit_takes_sample_weight_but_balanced_needs_every_row() -> None:
    X, y = np.random.default_rng(1).normal(size=(40, 3)), np.arange(40) % 2
    clf = NetClassifier(hidden=4, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1], sample_weight=np.linspace(0.5, 1.5, 40))
    with pytest.raises(ValueError, match="needs every row at once"):
        NetClassifier(hidden=4, class_weight="balanced").partial_fit(X, y, classes=[0, 1])


def test_training_longer_keeps_no_more_memory() -> None:
    """The estimator keeps the last epoch's state, not one per epoch (a 512-512 network's state
    is megabytes: a long fit would grow by that every epoch)."""
    import gc
    import tracemalloc

    X, y = np.random.default_rng(2).normal(size=(100, 20)), np.arange(100) % 3
    kept = []
    for epochs in (2, 12):
        gc.collect()
        tracemalloc.start()
        NetClassifier(hidden=[256, 256], epochs=epochs, random_state=0, engine="numpy").fit(X, y)
        gc.collect()
        kept.append(tracemalloc.get_traced_memory()[1])  # the peak, while it trained
        tracemalloc.stop()
    assert kept[1] < kept[0] + 2_000_000, kept
