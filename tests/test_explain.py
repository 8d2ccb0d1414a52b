"""Tests for ``glassnet explain``: the post's walkthrough with real numbers, on real MNIST.

The walkthrough must print every equation with the shapes it produces, check every gradient
against central differences (and fail on a broken one), show the softmax identity, and take a
descent step that lowers the loss as much as the gradient predicts. ``docs/explain.md`` must be
what the command generates, apart from figures that vary from machine to machine.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import mnist_folder

from glassnet import reference
from glassnet.cli import explain as explain_cli
from glassnet.cli import main
from glassnet.explain import build_walkthrough, numbers, render_markdown, render_terminal
from glassnet.explain.document import Equation, Heading, Numbers, Paragraph, Table
from glassnet.explain.numbers import softmax_identity, sup
from glassnet.explain.tex import inline_math, to_tex

DOCS = Path(__file__).resolve().parents[1] / "docs" / "explain.md"
ANSI = re.compile(r"\033\[[0-9;]*m")


@pytest.fixture(scope="module")
def data_dir() -> str:
    folder = mnist_folder()
    if folder is None:
        pytest.skip("no MNIST copy (set GLASSNET_TEST_MNIST)")
    return str(folder)


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["explain", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def default_run(data_dir: str) -> tuple[int, str]:
    """The post's example, printed once for the tests that read it."""
    out = io.StringIO()
    saved, sys.stdout = sys.stdout, out
    try:
        status = main(["explain", "--data-dir", data_dir])
    finally:
        sys.stdout = saved
    return status, out.getvalue()


# ----------------------------------------------------------------------- the post's example
POST_EQUATIONS = [
    ("Z⁽¹⁾ = Θ⁽¹⁾ A⁽¹⁾ + b⁽¹⁾", "(3×784)(784×75) + (3×1) → 3×75"),
    ("A⁽²⁾ = σ(Z⁽¹⁾)", "3×75"),
    ("Z⁽²⁾ = Θ⁽²⁾ A⁽²⁾ + b⁽²⁾", "(10×3)(3×75) + (10×1) → 10×75"),
    ("Ŷ = softmax(Z⁽²⁾)", "10×75"),
    ("C = −(1/m) Σ Y ⊙ log Ŷ", "(10×75) → a number"),
    ("δ⁽²⁾ = ∇ŶC ⊙ ∇Z⁽²⁾Ŷ = Ŷ − Y", "10×75"),
    ("∇Θ⁽²⁾C = (1/m) δ⁽²⁾ A⁽²⁾ᵀ", "(10×75)(75×3) → 10×3"),
    ("∇b⁽²⁾C = (1/m) Σ δ⁽²⁾", "→ 10×1"),
    ("J = diag(ŷ) − ŷŷᵀ", "10×10, symmetric"),
    ("δ⁽¹⁾ = Θ⁽²⁾ᵀ δ⁽²⁾ ⊙ σ'(Z⁽¹⁾)", "(3×10)(10×75) ⊙ (3×75) → 3×75"),
    ("σ'(Z⁽¹⁾) = σ(Z⁽¹⁾) ⊙ (1 − σ(Z⁽¹⁾)) = A⁽²⁾ ⊙ (1 − A⁽²⁾)", "3×75"),
    ("∇Θ⁽¹⁾C = (1/m) δ⁽¹⁾ A⁽¹⁾ᵀ", "(3×75)(75×784) → 3×784"),
    ("∇b⁽¹⁾C = (1/m) Σ δ⁽¹⁾", "→ 3×1"),
    ("Θ ← Θ − α ∇ΘC,   b ← b − α ∇bC", ""),
]


def summary_verdicts(out: str) -> dict[str, str]:
    """Each gradient's verdict in the summary table: {"∇Θ⁽²⁾C": "pass", ...}."""
    summary = out[out.index("Every gradient against central differences") :]
    rows = [line.split() for line in summary.splitlines() if line.strip().startswith("∇")]
    return {row[0]: row[-1] for row in rows}


def equation_line(out: str, formula: str) -> str:
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith(formula)]
    assert lines, f"{formula!r} is not printed"
    return lines[0]


def test_every_equation_of_the_post_is_printed_with_its_shapes(
    default_run: tuple[int, str],
) -> None:
    status, out = default_run
    assert status == 0
    for formula, shapes in POST_EQUATIONS:
        assert equation_line(out, formula).endswith(shapes)
    assert not ANSI.search(out)  # not a terminal: no colour


def test_every_gradient_check_passes_and_the_summary_lists_them(
    default_run: tuple[int, str],
) -> None:
    out = default_run[1]
    summary = out[out.index("Every gradient against central differences") :]
    rows = {}
    for name, shape, entries in (
        ("∇Θ⁽²⁾C", "10×3", "30 of 30"),
        ("∇b⁽²⁾C", "10×1", "10 of 10"),
        ("∇Θ⁽¹⁾C", "3×784", "2,352 of 2,352"),
        ("∇b⁽¹⁾C", "3×1", "3 of 3"),
    ):
        line = next(line for line in summary.splitlines() if line.strip().startswith(name))
        cells = line.split()
        assert cells[1] == shape and " ".join(cells[2:5]) == entries
        assert cells[-1] == "pass"
        rows[name] = float(cells[-3])
    assert all(error < 1e-7 for error in rows.values())
    assert "FAIL" not in out


def test_the_softmax_identity_and_the_posts_binary_loss(default_run: tuple[int, str]) -> None:
    out = default_run[1]
    section = out[out.index("simplifies to Ŷ − Y") : out.index("The hidden layers' gradients")]
    table = [line.split() for line in section.splitlines() if re.match(r"\s+\d\s+[01]\s", line)]
    assert len(table) == 10
    for _k, _y, _y_hat, gap, categorical, numeric_c, binary, numeric_b in table:
        assert categorical == gap == numeric_c  # Jᵀ∇ŶC = ŷ − y, and central differences agree
        assert binary == numeric_b  # the binary sum's own gradient, confirmed
    assert any(row[6] != row[3] for row in table)  # ... which is not ŷ − y
    assert re.search(r"equals ŷ − y to within \d", section)


def test_the_descent_step_lowers_the_loss_as_the_gradient_predicts(
    default_run: tuple[int, str],
) -> None:
    out = default_run[1]
    figures = {}
    for name in ("loss before", "loss after", "change", "predicted to first order"):
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        figures[name] = float(line.split()[-1])
    assert figures["loss after"] < figures["loss before"]
    assert figures["change"] == pytest.approx(figures["predicted to first order"], rel=0.01)
    loss = float(re.search(r"C = (\d+\.\d+) on this batch", out).group(1))  # type: ignore[union-attr]
    assert loss == pytest.approx(figures["loss before"], abs=1e-4)


def test_a_broken_gradient_fails_its_check(
    data_dir: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """σ' written wrong breaks the hidden layer's gradients, not the output layer's."""
    sigmoid, _ = reference.ACTIVATIONS["sigmoid"]
    monkeypatch.setitem(reference.ACTIVATIONS, "sigmoid", (sigmoid, lambda a: 1.5 * a * (1 - a)))
    status, out, err = explain(capsys, "--data-dir", data_dir, "--batch-size", "10")
    assert status == 1
    assert "gradient check failed for ∇Θ⁽¹⁾C, ∇b⁽¹⁾C" in err
    verdicts = summary_verdicts(out)
    assert verdicts == {"∇Θ⁽²⁾C": "pass", "∇b⁽²⁾C": "pass", "∇Θ⁽¹⁾C": "FAIL", "∇b⁽¹⁾C": "FAIL"}


def test_other_networks_and_batches_show_their_own_shapes(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = explain(
        capsys, "--data-dir", data_dir, "--hidden", "5,4", "--activation", "tanh",
        "--initializer", "glorot", "--batch-size", "20", "--learning-rate", "0.1",
    )  # fmt: skip
    assert status == 0
    assert equation_line(out, "Z⁽¹⁾ = Θ⁽¹⁾ A⁽¹⁾ + b⁽¹⁾").endswith("(5×784)(784×20) + (5×1) → 5×20")
    assert equation_line(out, "Z⁽³⁾ = Θ⁽³⁾ A⁽³⁾ + b⁽³⁾").endswith("(10×4)(4×20) + (10×1) → 10×20")
    assert equation_line(out, "δ⁽²⁾ = Θ⁽³⁾ᵀ δ⁽³⁾ ⊙ tanh'(Z⁽²⁾)").endswith(
        "(4×10)(10×20) ⊙ (4×20) → 4×20"
    )
    assert equation_line(out, "∇Θ⁽¹⁾C = (1/m) δ⁽¹⁾ A⁽¹⁾ᵀ").endswith("(5×20)(20×784) → 5×784")
    assert list(summary_verdicts(out).values()) == ["pass"] * 6 and "FAIL" not in out
    assert "One step of gradient descent, α = 0.1" in out


def test_clipped_probabilities_are_explained_and_still_checked(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """No hidden layer and N(0, 1) weights: every sample's own class gets a probability below ε,
    where glassnet's clipped loss is flat. The checks use the unclipped loss, and pass."""
    status, out, _ = explain(capsys, "--data-dir", data_dir, "--hidden", "", "--batch-size", "5")
    assert status == 0, out
    prose = " ".join(out.split())
    assert "5 of the 5 samples give their own class a probability below the machine" in prose
    assert "without the clip it would be" in prose
    assert list(summary_verdicts(out).values()) == ["pass", "pass"]
    assert "the derivations the post skips" not in out
    change = next(line for line in out.splitlines() if line.strip().startswith("change"))
    assert float(change.split()[-1]) < 0


def test_markdown_goes_to_a_file_and_colour_only_to_terminals(
    data_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "walk.md"
    status, out, _ = explain(capsys, "--data-dir", data_dir, "--batch-size", "8",
                             "--markdown", str(target), "--color", "always")  # fmt: skip
    assert status == 0 and out == f"wrote {target}: 4 of 4 gradient checks pass\n"
    text = target.read_text()
    assert text.startswith("<!-- Generated by `glassnet explain --batch-size 8 --markdown")
    assert "\n# The post's walkthrough, with real numbers\n" in text
    assert "| $\\nabla_{\\Theta^{(1)}} C$ | 3×784 |" in text and not ANSI.search(text)
    status, out, _ = explain(capsys, "--data-dir", data_dir, "--batch-size", "8",
                             "--color", "always")  # fmt: skip
    assert ANSI.search(out) and "\033[32mpass" in out


def test_colour_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert explain_cli._colour("auto") is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert explain_cli._colour("auto") is False
    assert explain_cli._colour("always") is True
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert explain_cli._colour("auto") is False
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setenv("TERM", "xterm")
    assert explain_cli._colour("auto") is False


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--batch-size", "0"], 2, "--batch-size"),
        (["--learning-rate", "0"], 2, "--learning-rate"),
        (["--learning-rate", "nan"], 2, "--learning-rate"),
        (["--activation", "swish"], 2, "--activation"),
        (["--hidden", "3,x"], 2, "--hidden"),
        (["--batch-size", "70000"], 1, "on a batch of 70,000 (--batch-size)"),
        (["--markdown", "/nonexistent/dir/walk.md", "--batch-size", "5"], 1, "/nonexistent"),
    ],
)
def test_bad_options_are_one_line(
    data_dir: str, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    try:
        status = main(["explain", "--data-dir", data_dir, *args])
    except SystemExit as exit_info:
        status = int(exit_info.code or 0)
    err = capsys.readouterr().err
    assert status == code and message in err and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_a_missing_data_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = explain(capsys, "--data-dir", str(tmp_path))
    assert status == 1 and err.count("\n") == 1 and "glassnet explain: error:" in err


# ------------------------------------------------------------------------------ the docs page
NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def same_apart_from_varying_figures(expected: str, found: str) -> None:
    """The words must match exactly; the numbers to 1e-3, except tiny ones (roundoff, such as a
    gradient check's error), which vary with the machine's arithmetic libraries."""
    words_expected, words_found = NUMBER.split(expected), NUMBER.split(found)
    assert words_expected == words_found
    for a, b in zip(NUMBER.findall(expected), NUMBER.findall(found), strict=True):
        x, y = (float(v.replace(",", "").replace("−", "-")) for v in (a, b))
        if max(abs(x), abs(y)) < 1e-6:
            continue
        assert x == pytest.approx(y, rel=1e-3, abs=1e-9), (a, b)


def test_the_docs_page_is_what_the_command_generates(data_dir: str, tmp_path: Path) -> None:
    committed = DOCS.read_text()
    command = re.match(r"<!-- Generated by `glassnet explain (.*?)` on mnist", committed)
    assert command is not None, "docs/explain.md lost its header"
    args = command.group(1).split()
    assert args[-2:] == ["--markdown", "docs/explain.md"]
    target = tmp_path / "explain.md"
    assert main(["explain", *args[:-2], "--data-dir", data_dir, "--markdown", str(target)]) == 0
    generated = target.read_text().replace(str(target), "docs/explain.md")
    same_apart_from_varying_figures(committed, generated)


def test_the_comparison_notices_a_changed_word_or_number() -> None:
    text = "loss 2.8609 after 1.2e-10 steps"
    same_apart_from_varying_figures(text, "loss 2.8610 after 3.4e-11 steps")
    with pytest.raises(AssertionError):
        same_apart_from_varying_figures(text, "loss 2.9609 after 1.2e-10 steps")
    with pytest.raises(AssertionError):
        same_apart_from_varying_figures(text, "cost 2.8609 after 1.2e-10 steps")


# ------------------------------------------------------------------------------ the pieces
def test_rendering_blocks_for_a_terminal_and_for_markdown() -> None:
    blocks = [
        Heading("Title", 1),
        Paragraph("Some `code` and words."),
        Equation("Z = ΘA + b", "3×75"),
        Numbers("A matrix:", ["1 2", "3 4"]),
        Table(["name", "value", ""], [["a", "1", "pass"], ["bb", "22", "FAIL"]]),
    ]
    plain = render_terminal(blocks)
    assert "Title\n=====" in plain and "Some code and words." in plain
    assert "    Z = ΘA + b      3×75" in plain and not ANSI.search(plain)
    assert "    a         1  pass" in plain and "    bb       22  FAIL" in plain
    coloured = render_terminal(blocks, colour=True)
    assert ANSI.sub("", coloured) == plain
    assert "\033[31m" in coloured and "\033[32m" in coloured
    markdown = render_markdown(blocks)
    assert markdown.startswith(
        "# Title\n\nSome `code` and words.\n\n"
        "$$\nZ = \\Theta A + b \\qquad {\\color{gray} 3\\times 75}\n$$"
    )
    assert "| name | value |  |\n| --- | ---: | ---: |\n| a | 1 | pass |" in markdown


def test_the_softmax_identity_numerically() -> None:
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=7), np.eye(7)[2]
    found = softmax_identity(z, y)
    np.testing.assert_allclose(found["jacobian"].sum(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(found["delta_categorical"], found["y_hat"] - y, atol=1e-15)
    np.testing.assert_allclose(found["numeric_categorical"], found["y_hat"] - y, atol=1e-8)
    np.testing.assert_allclose(found["numeric_binary"], found["delta_binary"], atol=1e-8)
    assert np.max(np.abs(found["delta_binary"] - (found["y_hat"] - y))) > 1e-3


def test_superscripts() -> None:
    assert (sup(1), sup(12), sup("l"), sup("L")) == ("⁽¹⁾", "⁽¹²⁾", "⁽ˡ⁾", "⁽ᴸ⁾")


# ------------------------------------------------------------------------------ the typeset page
TEX = [
    ("Z⁽¹⁾ = Θ⁽¹⁾ A⁽¹⁾ + b⁽¹⁾", r"Z^{(1)} = \Theta^{(1)} A^{(1)} + b^{(1)}"),
    (
        "δ⁽²⁾ = ∇ŶC ⊙ ∇Z⁽²⁾Ŷ = Ŷ − Y",
        r"\delta^{(2)} = \nabla_{\hat{Y}} C \odot \nabla_{Z^{(2)}} \hat{Y} = \hat{Y} - Y",
    ),
    (
        "∇Θ⁽²⁾C = (1/m) δ⁽²⁾ A⁽²⁾ᵀ",
        r"\nabla_{\Theta^{(2)}} C = \frac{1}{m} \delta^{(2)} A^{(2)\top}",
    ),
    (
        "δ⁽¹⁾ = Θ⁽²⁾ᵀ δ⁽²⁾ ⊙ σ'(Z⁽¹⁾)",
        r"\delta^{(1)} = \Theta^{(2)\top} \delta^{(2)} \odot \sigma'(Z^{(1)})",
    ),
    (
        "Θ ← Θ − α ∇ΘC,   b ← b − α ∇bC",
        r"\Theta \leftarrow \Theta - \alpha \nabla_{\Theta} C, \qquad "
        r"b \leftarrow b - \alpha \nabla_{b} C",
    ),
    ("−α‖∇C‖²", r"-\alpha\Vert\nabla C\Vert^{2}"),
]


@pytest.mark.parametrize(("formula", "tex"), TEX)
def test_formulas_become_tex(formula: str, tex: str) -> None:
    assert to_tex(formula) == tex


def test_prose_keeps_code_and_typesets_formulas() -> None:
    text = "every ŷᵢ depends on (δ⁽²⁾, see `Network.trace` and `J = diag(ŷ) − ŷŷᵀ`)."
    assert inline_math(text) == (
        r"every $\hat{y}_i$ depends on ($\delta^{(2)}$, see `Network.trace` and "
        r"$J = \operatorname{diag}(\hat{y}) - \hat{y}\hat{y}^{\top}$)."
    )


def small_walkthrough(activation: str, sizes: list[int], m: int = 6) -> str:
    from glassnet import Network

    rng = np.random.default_rng(0)
    network = Network(sizes, activation, seed=0, dtype="float64")
    X = rng.normal(size=(m, sizes[0]))
    labels = rng.integers(0, sizes[-1], size=m)
    return render_markdown(build_walkthrough(network, X, labels).blocks)


MATH = re.compile(r"\$\$\n(.*?)\n\$\$|\$([^$\n]+)\$", re.DOTALL)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_every_formula_on_the_page_is_typeset(activation: str) -> None:
    """Every equation is display math, and nothing of the Unicode notation is left inside math
    (a symbol the converter does not know would reach the page as a raw character)."""
    page = small_walkthrough(activation, [12, 5, 4, 3])
    assert "```text\nZ" not in page and page.count("$$\n") >= 2 * 14
    found = [a or b for a, b in MATH.findall(page)]
    assert len(found) > 40
    for tex in found:
        assert tex.isascii(), tex
        assert tex.count("{") == tex.count("}"), tex
    prose = MATH.sub("", re.sub(r"```text\n.*?```", "", page, flags=re.DOTALL))
    assert not re.search(r"[⁽⁾ᵀ∇]", prose), "a formula was left as plain text"


def test_a_wide_layer_says_how_many_of_its_entries_were_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above MAX_CHECKED entries a gradient is checked on a seeded sample, and the check line,
    the summary table and the terminal all say how many entries of how many."""
    monkeypatch.setattr(numbers, "MAX_CHECKED", 50)
    from glassnet import Network

    rng = np.random.default_rng(1)
    network = Network([30, 4, 3], "sigmoid", seed=0, dtype="float64")
    found = build_walkthrough(network, rng.normal(size=(8, 30)), rng.integers(0, 3, size=8))
    wide = next(c for c in found.checks if c.total == 120)
    assert (wide.checked, wide.passed) == (50, True)
    text = render_terminal(found.blocks)
    assert "(50 of its 120 entries, drawn at random)" in text
    assert re.search(r"∇Θ⁽¹⁾C\s+4×30\s+50 of 120\s", text)
    assert "(all 12 entries)" in text  # ∇Θ⁽²⁾C, 3×4: small enough to check whole
    assert "| 50 of 120 |" in render_markdown(found.blocks)


# ------------------------------------------------------------------------- what the text says
def test_delta_is_defined_before_it_is_used(default_run: tuple[int, str]) -> None:
    out = " ".join(default_run[1].split())
    definition = out.index("Write δ⁽ˡ⁾ = m ∂C/∂Z⁽ˡ⁾ for each layer l")
    assert definition < out.index("δ⁽²⁾ = ∇ŶC ⊙ ∇Z⁽²⁾Ŷ = Ŷ − Y")
    assert out.count("δ⁽") > 3 and out.index("δ⁽") >= definition  # no δ before it is defined
    assert "multiplied by m on both sides, in the δ defined above" in out


def test_columns_are_named_as_numpy_slices_them(
    default_run: tuple[int, str], data_dir: str
) -> None:
    out = default_run[1]
    caption = "∇Θ⁽¹⁾C, columns [:, 403:409] of its 784 (as NumPy slices, counting from 0"
    assert caption in " ".join(out.split())
    assert "columns 404 to 409" not in out


def test_large_scores_and_tiny_activations_are_explained_where_they_appear(
    default_run: tuple[int, str],
) -> None:
    out = " ".join(default_run[1].split())
    shown = out.index("-76.79")  # Z⁽¹⁾ of the third sample, as printed
    why = out.index("Why the entries of Z⁽¹⁾ are so large")
    assert shown < out.index("4.471e-34") < why < out.index("Z⁽²⁾ = Θ⁽²⁾ A⁽²⁾ + b⁽²⁾")
    paragraph = out[why : out.index("Z⁽²⁾ = Θ⁽²⁾ A⁽²⁾ + b⁽²⁾")]
    assert "sum of 784 products" in paragraph and "√(784 · 1 · 1.01) = 28.2" in paragraph
    assert "σ(-76.79) = 4.47e-34" in paragraph and "saturated" in paragraph
    assert "N(0, 1) weights do this on 784 inputs" in paragraph


def test_tanh_is_called_tanh_and_starts_from_glorot(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = explain(capsys, "--data-dir", data_dir, "--activation", "tanh",
                             "--batch-size", "10")  # fmt: skip
    prose = " ".join(out.split())
    assert status == 0
    assert "Each tanh layer multiplies the gradient" in prose and "sigmoid layer" not in prose
    assert re.search(
        r"Glorot's weights \(seed 0; the default for tanh, as in `?glassnet train`?\)", prose
    )
    assert "Why the entries" not in prose  # Glorot's weights keep the scores small


def test_relu_starts_from_he_and_gives_numbers(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's RuntimeWarnings fail the test
        status, out, err = explain(capsys, "--data-dir", data_dir, "--activation", "relu",
                                   "--batch-size", "10")  # fmt: skip
    assert status == 0 and err == ""
    prose = " ".join(out.split())
    assert re.search(
        r"He's weights \(seed 0; the default for relu, as in `?glassnet train`?\)", prose
    )
    assert not re.search(r"\bnan\b|\binf\b", out, re.IGNORECASE)
    assert list(summary_verdicts(out).values()) == ["pass"] * 4
    loss = float(re.search(r"C = (\d+\.\d+) on this batch", out).group(1))  # type: ignore[union-attr]
    before = next(line for line in out.splitlines() if line.strip().startswith("loss before"))
    assert before.split()[-1].startswith(f"{loss:.4f}"[:-1])  # one loss for one batch


def test_a_walkthrough_that_overflows_is_refused() -> None:
    """Weights so large that the scores overflow: an error naming where, not NaN tables."""
    from glassnet import Network
    from glassnet.errors import InputError

    rng = np.random.default_rng(0)
    network = Network([12, 5, 5, 3], "relu", seed=0, dtype="float64")
    for W in network.weights[:2]:
        W *= 1e200  # Z⁽²⁾ of order 1e400: infinite in float64
    with pytest.raises(InputError, match=r"overflows: Z⁽²⁾ has NaN or infinite entries"):
        build_walkthrough(network, rng.normal(size=(6, 12)), rng.integers(0, 3, size=6))


def test_the_clipped_loss_and_the_steps_loss_are_told_apart(
    data_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = explain(capsys, "--data-dir", data_dir, "--hidden", "", "--batch-size", "5")
    assert status == 0
    assert re.search(r"loss before \(unclipped\)\s+\d", out)
    assert re.search(r"loss after \(unclipped\)\s+\d", out)


# ------------------------------------------------------------------------------- its bounds
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hidden", "2000", "--batch-size", "60000"], "a walkthrough of 2 layers"),
        (["--hidden", ",".join(["5"] * 3000)], "a walkthrough of 3,001 layers"),
        (["--hidden", "2000"], "over the 5 minutes allowed"),
    ],
)
def test_a_walkthrough_too_big_is_refused_before_the_data_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    import time

    started = time.perf_counter()
    status, out, err = explain(capsys, "--data-dir", str(tmp_path), *args)  # no data there
    assert time.perf_counter() - started < 5
    assert status == 1 and out == "" and err.count("\n") == 1, err
    assert message in err and "evaluates the loss" in err and "about" in err


def test_a_long_walkthrough_says_how_long_before_it_starts(
    data_dir: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(explain_cli, "WARN_SECONDS", 0.0)
    status, _, err = explain(capsys, "--data-dir", data_dir, "--batch-size", "5")
    assert status == 0
    assert err.startswith("glassnet explain: this takes about ")


def test_the_estimate_counts_the_checks() -> None:
    # 784-3-10: all 2,352 + 3 + 30 + 10 entries, twice each, and the step's two losses.
    assert numbers.walkthrough_evaluations([784, 3, 10]) == 2 * (2352 + 3 + 30 + 10) + 2
    # A wide layer is checked on MAX_CHECKED of its entries.
    assert numbers.walkthrough_evaluations([784, 100, 10]) == 2 * (3000 + 100 + 1000 + 10) + 2
    assert numbers.walkthrough_seconds([784, 3, 10], 75) < explain_cli.WARN_SECONDS


@pytest.mark.parametrize("where", ["missing/walk.md", "file/walk.md", "folder"])
def test_markdown_into_a_missing_or_wrong_folder_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "folder").mkdir()
    target = tmp_path / where
    status, out, err = explain(capsys, "--data-dir", str(tmp_path), "--markdown", str(target))
    assert status == 1 and out == "" and err.count("\n") == 1, err
    assert str(target) in err and ".tmp" not in err and "/." not in err
    assert not list(tmp_path.glob("**/.*"))


def test_a_batch_larger_than_the_data_is_one_line(
    data_dir: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the time bound (which refuses it first, unread), a batch larger than the training
    set is refused once the data is read."""
    monkeypatch.setattr(explain_cli, "MAX_SECONDS", float("inf"))
    monkeypatch.setattr(explain_cli, "WARN_SECONDS", float("inf"))
    status, _, err = explain(capsys, "--data-dir", data_dir, "--batch-size", "70000")
    assert status == 1 and "more than the 60,000 images" in err and err.count("\n") == 1


def test_a_probability_of_exactly_one_is_refused_not_shown_as_nan() -> None:
    """Scores a thousand apart: ŷ is exactly 0 or 1 in float64, and the softmax section's
    logarithms would be infinite. An error, with no NumPy warning on the way."""
    import warnings

    from glassnet import Network
    from glassnet.errors import InputError

    rng = np.random.default_rng(0)
    network = Network([12, 3], "sigmoid", seed=0, dtype="float64")
    network.weights[0][...] *= 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="probability of exactly 0 or 1"):
            build_walkthrough(network, rng.normal(size=(6, 12)), rng.integers(0, 3, size=6))
