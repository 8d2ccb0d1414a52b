"""NetClassifier inside optuna_integration's OptunaSearchCV, pruning by partial_fit.

With ``enable_pruning=True`` OptunaSearchCV trains each fold's clone one ``partial_fit`` call (one
epoch) at a time, reports the mean validation score after each, and stops the trial when the
pruner says so. ``error_score="raise"`` matters here: by default a ``partial_fit`` that raised
would only score NaN, and a search of broken trials would still seem to run.

OptunaSearchCV's pruning path reads its data through pandas (it checks for a ``pandas.Series``), so
the test needs pandas beside optuna-integration.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("optuna_integration")
pytest.importorskip("sklearn")
pytest.importorskip("pandas", reason="OptunaSearchCV(enable_pruning=True) needs pandas")

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from glassnet.sklearn import NetClassifier

MAX_ITER = 6


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_net_classifier_is_searched_and_pruned_by_optuna_search_cv() -> None:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_digits(return_X_y=True)  # bundled with scikit-learn: nothing downloaded
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=4),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    )
    search = OptunaSearchCV(
        NetClassifier(epochs=MAX_ITER, batch_size=32, random_state=0),
        {
            "learning_rate": FloatDistribution(1e-5, 1e-1, log=True),
            "hidden": CategoricalDistribution([16, 64]),
        },
        enable_pruning=True,
        max_iter=MAX_ITER,
        n_trials=10,
        cv=3,
        error_score="raise",
        study=study,
        random_state=0,
    )
    search.fit(X_train, y_train)

    states = [t.state.name for t in study.trials]
    assert "PRUNED" in states and "COMPLETE" in states, states
    for trial in study.trials:
        steps = sorted(trial.intermediate_values)
        assert steps == list(range(len(steps)))  # one report per partial_fit, from step 0
        if trial.state.name == "COMPLETE":
            assert len(steps) == MAX_ITER
            assert trial.value == pytest.approx(trial.user_attrs["mean_test_score"])
        else:
            assert 1 <= len(steps) < MAX_ITER
    # partial_fit goes on from the last call: the best trial's score grows epoch by epoch.
    best = study.best_trial
    curve = [best.intermediate_values[s] for s in range(MAX_ITER)]
    assert curve[-1] > curve[0] and best.value > 0.9, curve
    # Refit on all the training rows with the best values: a classifier that works.
    fitted = search.best_estimator_
    assert fitted.learning_rate == best.params["learning_rate"]
    assert fitted.n_iter_ == MAX_ITER
    assert np.mean(fitted.predict(X_test) == y_test) > 0.9
