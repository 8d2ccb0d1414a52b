"""Tests for accuracy, the confusion matrix, per-class accuracy and the text table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet.metrics import accuracy, confusion_matrix, format_confusion, per_class_accuracy

Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2, 1]
Y_PRED = [0, 1, 0, 1, 1, 2, 0, 2, 1, 1]
# Hand count, true class down, prediction across:
#   class 0: predicted 0, 1, 0          -> [2, 1, 0]
#   class 1: predicted 1, 1, 1          -> [0, 3, 0]
#   class 2: predicted 2, 0, 2, 1       -> [1, 1, 2]
EXPECTED = np.array([[2, 1, 0], [0, 3, 0], [1, 1, 2]])


def test_accuracy() -> None:
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(7 / 10)
    assert accuracy([3], [3]) == 1.0
    assert math.isnan(accuracy([], []))


def test_accuracy_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="equal 1-D shapes"):
        accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError):
        accuracy([[0, 1]], [[0, 1]])


def test_confusion_matrix_counts_by_hand() -> None:
    C = confusion_matrix(Y_TRUE, Y_PRED, 3)
    np.testing.assert_array_equal(C, EXPECTED)
    assert np.issubdtype(C.dtype, np.integer)
    assert C.sum() == len(Y_TRUE)
    np.testing.assert_array_equal(C.sum(axis=1), np.bincount(Y_TRUE))
    np.testing.assert_array_equal(C.sum(axis=0), np.bincount(Y_PRED))


def test_confusion_matrix_has_room_for_classes_never_seen() -> None:
    C = confusion_matrix([1, 1], [1, 3], 5)
    assert C.shape == (5, 5)
    assert C[1, 1] == 1 and C[1, 3] == 1 and C.sum() == 2


def test_confusion_matrix_agrees_with_a_plain_loop() -> None:
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 7, 500), rng.integers(0, 7, 500)
    expected = np.zeros((7, 7), int)
    for a, b in zip(t, p, strict=True):
        expected[a, b] += 1
    np.testing.assert_array_equal(confusion_matrix(t, p, 7), expected)


@pytest.mark.parametrize(("t", "p"), [([0, 3], [0, 1]), ([0, 1], [0, -1]), ([-1, 0], [0, 0])])
def test_confusion_matrix_rejects_labels_outside_the_classes(t: list, p: list) -> None:
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        confusion_matrix(t, p, 3)


def test_per_class_accuracy_is_each_rows_recall() -> None:
    np.testing.assert_allclose(per_class_accuracy(EXPECTED), [2 / 3, 1.0, 2 / 4])


def test_per_class_accuracy_is_nan_for_a_class_without_samples() -> None:
    result = per_class_accuracy(np.array([[3, 1], [0, 0]]))
    assert result[0] == pytest.approx(0.75)
    assert math.isnan(result[1])


def test_format_confusion_is_an_aligned_table() -> None:
    text = format_confusion(EXPECTED, ["zero", "one", "two"])
    lines = text.splitlines()
    assert lines[0] == "true \\ predicted"
    assert lines[1].split() == ["zero", "one", "two"]
    assert [line.split() for line in lines[2:]] == [
        ["zero", "2", "1", "0"],
        ["one", "0", "3", "0"],
        ["two", "1", "1", "2"],
    ]
    assert len({len(line) for line in lines[1:]}) == 1  # every column right-aligned


def test_format_confusion_truncates_long_names_and_fits_big_counts() -> None:
    C = np.array([[1234567, 0], [5, 6]])
    lines = format_confusion(C, ["Ankle boot, long", "T-shirt/top"]).splitlines()
    assert "Ankle boo" in lines[1] and "Ankle boot" not in lines[1]
    assert "T-shirt/t" in lines[1] and "T-shirt/to" not in lines[1]
    assert lines[2].lstrip().startswith("Ankle boo")
    assert "1234567" in lines[2]
    assert len({len(line) for line in lines[1:]}) == 1
