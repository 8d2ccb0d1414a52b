"""``glassnet gradcheck`` estimates its work from the layers as well as the parameters, for every
activation it checks, and refuses a check that would take over five minutes, saying how long; one
of more than ten seconds says so before it starts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from helpers import one_line_error, run_glassnet, run_main

from glassnet.gradcheck import check_seconds, evaluation_seconds
from glassnet.network import Network
from glassnet.preprocess import one_hot


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hidden", ",".join(["5"] * 3000)], "in 3,001 layers"),
        (["--hidden", "2000", "--batch-size", "500"], "at batch 500"),
    ],
    ids=["3000-layers", "wide-layer-large-batch"],
)
def test_a_check_of_hours_is_refused_at_once(tmp_path: Path, args: list[str], words: str) -> None:
    started = time.monotonic()
    result = run_glassnet(["gradcheck", *args], tmp_path, timeout=60)
    line = one_line_error(result.stderr, "gradcheck")
    assert result.returncode == 1 and words in line and "hours" in line and "5 minutes" in line
    assert len(line) <= 400 and time.monotonic() - started < 30


def test_a_long_check_says_how_long_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from glassnet.cli import gradcheck

    monkeypatch.setattr(gradcheck, "WARN_SECONDS", 0.0)
    code, out, err = run_main(["gradcheck", "--activation", "tanh", "--hidden", "3"], capsys)
    assert code == 0 and "this takes about" in err and "pass" in out


def test_the_estimate_is_within_a_few_times_the_truth() -> None:
    rng = np.random.default_rng(0)
    for sizes, m in [([8, 7, 6, 5, 4], 5), ([8, *[5] * 200, 4], 5), ([8, 600, 4], 200)]:
        net = Network(sizes, "tanh", seed=0, dtype="float64")
        X, Y = rng.normal(size=(m, sizes[0])), one_hot(np.zeros(m, int), sizes[-1], np.float64)
        net.loss(X, Y)
        started = time.perf_counter()
        for _ in range(10):
            net.loss(X, Y)
        measured = (time.perf_counter() - started) / 10
        estimate = evaluation_seconds(sizes, m)
        assert measured / 10 < estimate < measured * 10, (sizes, m, measured, estimate)
    assert check_seconds([8, 5, 4], 5, activations=4) == 4 * check_seconds([8, 5, 4], 5)
