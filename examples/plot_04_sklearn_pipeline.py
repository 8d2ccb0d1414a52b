"""
NetClassifier in a scikit-learn pipeline, tuned by grid search
==============================================================

:class:`glassnet.sklearn.NetClassifier` is a scikit-learn estimator whose parameters are
glassnet's training settings, so it fits where scikit-learn's own models do: in a ``Pipeline``,
in ``GridSearchCV``, in ``cross_val_score``. Here it classifies a table, the Wisconsin breast
cancer measurements that ship with scikit-learn (569 rows, 30 numeric columns, two classes),
with its hidden size and learning rate chosen by a cross-validated grid search.
"""

# %%
# The table
# ---------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from glassnet.sklearn import NetClassifier

table = load_breast_cancer()
X, y = table.data, table.target_names[table.target]  # labels as words: "benign", "malignant"
print(
    X.shape, "columns such as", [str(n) for n in table.feature_names[:3]], "labels such as", y[:3]
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# A pipeline and a grid
# ---------------------
# The scaler standardizes each column (``NetClassifier`` would standardize all features by one
# mean otherwise); the grid tries two hidden sizes and three learning rates, each scored by
# 3-fold cross-validation on the training part.
pipeline = Pipeline(
    [
        ("scale", StandardScaler()),
        ("net", NetClassifier(activation="relu", epochs=30, batch_size=32, random_state=0)),
    ]
)
grid = {"net__hidden": [(16,), (64,)], "net__learning_rate": [3e-4, 1e-3, 3e-3]}
search = GridSearchCV(pipeline, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0))
search.fit(X_train, y_train)
print("best:", search.best_params_, f"cross-validated accuracy {search.best_score_:.3f}")
print(f"held-out test accuracy {search.score(X_test, y_test):.3f}")

# %%
# The grid's scores
# -----------------
scores = search.cv_results_["mean_test_score"].reshape(2, 3)
fig, ax = plt.subplots(figsize=(5, 2.6))
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(3), [f"{lr:g}" for lr in grid["net__learning_rate"]])
ax.set_yticks(range(2), [str(h) for h in grid["net__hidden"]])
ax.set_xlabel("learning rate")
ax.set_ylabel("hidden")
for (i, j), score in np.ndenumerate(scores):
    ax.text(j, i, f"{score:.3f}", ha="center", va="center", color="white")
fig.colorbar(image, ax=ax)
fig.tight_layout()

# %%
# The best model on the held-out rows
# -----------------------------------
ConfusionMatrixDisplay.from_estimator(search.best_estimator_, X_test, y_test, colorbar=False)
